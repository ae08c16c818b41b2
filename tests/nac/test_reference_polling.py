"""STA-03, RES-02, RES-04: polling the noncompliant list in SimPy time, paging, back-off, CoA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_intune import FakeIntune, guid, status
from nac_rig import Rig

from harness.model import CoaKind, Decision, Profile

MakeRig = Callable[..., Rig]
H4 = 4 * 3600.0


@pytest.mark.parametrize(
    "profile", [Profile.CR_CISCO, Profile.LEGACY_CISCO, Profile.GRAPH, Profile.LEGACY_JSON]
)
def test_sta03_coa_for_connected_device_turned_noncompliant(make_rig: MakeRig, profile: Profile) -> None:
    fake = FakeIntune()
    d1 = fake.add(1)
    fake.add(2)
    rig = make_rig(profile, intune=fake)
    assert rig.decide(1).decision is Decision.ALLOW
    assert rig.decide(2).decision is Decision.ALLOW
    rig.env.run(until=1000)
    d1.compliant = False  # drifts while connected
    rig.env.run(until=H4 - 1)
    assert rig.coas == []
    rig.env.run(until=H4 + 60)
    assert [(c.session_id, c.kind) for c in rig.coas] == [("s-1", CoaKind.COA)]
    assert H4 <= rig.coas[0].at <= H4 + 60
    # the next attempt is answered fresh (the cached allow was dropped)
    assert rig.decide(1).decision is Decision.REMEDIATE_REDIRECT
    # and when it turns compliant again, access returns on the next attempt
    d1.compliant = True
    assert rig.decide(1).decision is Decision.ALLOW


def test_sta03_ended_sessions_and_redirected_devices_get_no_coa(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    d1 = fake.add(1)
    fake.add(2, compliant=False)
    rig = make_rig(intune=fake)
    rig.decide(1)
    rig.decide(2)  # already quarantined
    rig.nac.session_ended("s-1")
    d1.compliant = False
    rig.env.run(until=H4 + 1)
    assert rig.coas == []
    assert rig.nac.sweeps[0]["devices"] == 2


def test_res02_broad_query_at_most_once_per_four_hours(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False)
    rig = make_rig(intune=fake)
    rig.env.run(until=3 * H4 + 1)
    broad = [q for q in fake.queries("/devices/") if q.get("querycriteria") == "compliance"]
    assert len(broad) == 3
    assert broad[0]["deviceidentifier"] == "guid" and broad[0]["paging"] == "0"


def test_res02_503_backs_off_by_retry_after_not_a_storm(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False)
    fake.queue("/devices/", status(503, {"Retry-After": "900"}), status(503, {"Retry-After": "900"}))
    rig = make_rig(intune=fake)
    times: list[float] = []
    orig = rig.nac.poll_noncompliant

    def spy(cursor: str | None):  # type: ignore[no-untyped-def]
        times.append(rig.env.now)
        return orig(cursor)

    rig.nac.poll_noncompliant = spy  # type: ignore[method-assign]
    rig.env.run(until=H4 + 3600)
    assert times == [H4, H4 + 900, H4 + 1800]
    assert rig.nac.sweeps[0]["outcome"] == "ok"


def test_res02_503_without_header_exponential_then_gives_up(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.queue("/devices/", *[status(503)] * 20)
    rig = make_rig(intune=fake, backoff_base_s=10, sweep_max_attempts=4)
    rig.env.run(until=H4 + 1000)
    sweep = rig.nac.sweeps[0]
    assert sweep["outcome"].startswith("gave up")
    assert sweep["ended"] - sweep["started"] == pytest.approx(10 + 20 + 40)
    broad = [q for q in fake.queries("/devices/") if q.get("querycriteria") == "compliance"]
    assert len(broad) == 4


@pytest.mark.parametrize("profile", [Profile.CR_CISCO, Profile.LEGACY_CISCO, Profile.GRAPH])
def test_res04_follows_paging_and_misses_none(make_rig: MakeRig, profile: Profile) -> None:
    fake = FakeIntune(page_size=100)
    for n in range(1, 251):
        fake.add(n)
    rig = make_rig(profile, intune=fake)
    for n in range(1, 251):
        rig.decide(n)
    for d in fake.devices.values():
        d.compliant = False
    rig.env.run(until=H4 + 60)
    assert rig.nac.sweeps[0]["pages"] == 3
    assert rig.nac.sweeps[0]["devices"] == 250
    assert len(rig.coas) == 250
    assert {c.session_id for c in rig.coas} == {f"s-{n}" for n in range(1, 251)}


def test_sta03_guid_list_matches_mac_identified_sessions(make_rig: MakeRig) -> None:
    """CR lists guids; a session admitted by MAC is matched through the guid Intune returned."""
    fake = FakeIntune()
    d = fake.add(9)
    rig = make_rig(intune=fake)
    assert rig.decide(9).decision is Decision.ALLOW  # by MAC
    d.compliant = False
    rig.env.run(until=H4 + 1)
    assert [c.session_id for c in rig.coas] == ["s-9"]
    assert rig.nac.sessions["s-9"].intune_id == guid(9)


def test_polling_disabled(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False)
    rig = make_rig(intune=fake, polling_interval_s=0)
    rig.env.run(until=3 * H4)
    assert rig.nac.sweeps == []
