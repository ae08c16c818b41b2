"""The fast-path Intune (compact table) answers and changes state exactly like the mock's core."""

from __future__ import annotations

import itertools

import pytest
import simpy

from harness.population import Population, to_mock_device
from harness.scenario import PopulationSpec
from harness.sim.clock import DEFAULT_EPOCH, SimClock
from harness.sim.fleet import FleetIntune
from mock_intune import compliance
from mock_intune.config import MockConfig
from mock_intune.errors import NotFound, StateError
from mock_intune.model import CallRecord, ComplianceState, NoPolicyMark, Surface, TenantSettings
from mock_intune.service import MockIntune

MIX = {
    "compliant": 0.3,
    "noncompliant": 0.2,
    "in_grace": 0.15,
    "unknown": 0.15,
    "stale": 0.1,
    "no_policy": 0.1,
}


def pair(
    settings: TenantSettings, size: int = 120
) -> tuple[simpy.Environment, Population, MockIntune, FleetIntune]:
    env = simpy.Environment(initial_time=8 * 3600)
    pop = Population(
        PopulationSpec.model_validate(
            {"size": size, "compliance": MIX, "enrollment": {"enrolled": 0.8, "unenrolled": 0.2}}
        ),
        12,
    )
    clock = SimClock(env, DEFAULT_EPOCH)
    slow = MockIntune(MockConfig(), clock=clock)
    slow.update_settings(settings)
    slow.seed(to_mock_device(pop[i], pop, DEFAULT_EPOCH, settings) for i in range(size))
    fast = FleetIntune(pop, range(size), clock=clock, epoch=DEFAULT_EPOCH, settings=settings)
    return env, pop, slow, fast


@pytest.mark.parametrize(
    "settings",
    [
        TenantSettings(),
        TenantSettings(no_policy_mark=NoPolicyMark.NONCOMPLIANT, grace_period_hours=3, validity_days=7),
    ],
)
def test_fleet_agrees_with_the_mock_core_through_a_day_of_changes(settings: TenantSettings) -> None:
    env, pop, slow, fast = pair(settings)
    ids = [pop.intune_id(i) for i in range(pop.size)]

    def same_view() -> None:
        for i, guid in enumerate(ids):
            a, b = slow.find_guid(guid), fast.find_guid(guid)
            assert a is not None and b is not None
            sa, sb = slow.status(a), fast.status(b)
            assert (sa.managed, sa.compliant, sa.state, sa.mac, sa.last_sync_at) == (
                sb.managed,
                sb.compliant,
                sb.state,
                sb.mac,
                sb.last_sync_at,
            ), (i, guid)
            assert fast.status_by_guid(guid) == sb
            brief = (sb.managed, sb.state, sb.intune_id, sb.mac)
            assert fast.brief_by_guid(guid) == brief == fast.brief_by_mac(pop.hardware_mac(i))
            assert fast.find_mac(pop.hardware_mac(i)).intune_id == guid  # type: ignore[union-attr]
        assert [d.intune_id for d in slow.noncompliant()] == [d.intune_id for d in fast.noncompliant()]
        t, cfg_fast = float(env.now), fast.settings()
        scalar = [
            j
            for j in range(pop.size)
            if fast.store.flags[j] & 1 and not fast._status(j).state.grants_access  # 1: managed
        ]
        assert fast.noncompliant_slots(t, cfg_fast) == scalar
        now, cfg = slow.now(), slow.settings()
        graph = [
            d.intune_id
            for d in slow.store.devices(slow.tenant_id, managed_only=True)
            if compliance.effective_state(d, cfg, now) is ComplianceState.NONCOMPLIANT
        ]
        assert graph == [d.intune_id for d in fast.graph_noncompliant(fresh=True)]

    same_view()
    ops = itertools.cycle(["enroll", "posture_bad", "check_in", "posture_good", "portal", "check_in"])
    for step in range(6):
        env.run(until=env.now + 3 * 3600)
        for i, guid in enumerate(ids):
            op = next(ops)
            managed = slow.find_guid(guid).managed  # type: ignore[union-attr]
            if op == "enroll" and not managed:
                slow.enroll(guid), fast.enroll(guid)
            elif op == "posture_bad" and i % 3 == step % 3:
                slow.set_posture(guid, False), fast.set_posture(guid, False)
            elif op == "posture_good":
                slow.set_posture(guid, True), fast.set_posture(guid, True)
            elif op in ("check_in", "portal") and managed:
                slow.check_in(guid), fast.check_in(guid)
            elif op in ("check_in", "portal"):
                with pytest.raises(StateError):
                    fast.check_in(guid)
                with pytest.raises(StateError):
                    slow.check_in(guid)
        same_view()
    env.run(until=env.now + 9 * 86400)  # past the validity period for the short one
    same_view()


def test_full_records_match_the_seeded_devices() -> None:
    env, pop, slow, fast = pair(TenantSettings(), size=20)
    for i in range(20):
        assert fast.device(pop.intune_id(i)) == slow.device(pop.intune_id(i))
    with pytest.raises(NotFound):
        fast.enroll("00000000-0000-4000-8000-000000000000")


def test_a_shard_holds_only_its_own_devices() -> None:
    env = simpy.Environment()
    pop = Population(PopulationSpec(size=30), 3)
    fast = FleetIntune(pop, range(1, 30, 3), clock=SimClock(env), epoch=DEFAULT_EPOCH)
    assert fast.find_guid(pop.intune_id(4)) is not None
    assert fast.find_guid(pop.intune_id(5)) is None
    assert fast.store.count_devices(fast.tenant_id) == 10


def test_calls_are_counted_per_minute_not_stored() -> None:
    from mock_intune.model import CallRecord, Surface

    env = simpy.Environment(initial_time=125)
    pop = Population(PopulationSpec(size=3), 3)
    clock = SimClock(env)
    fast = FleetIntune(pop, range(3), clock=clock, epoch=DEFAULT_EPOCH)
    for status in (200, 200, 503):
        fast.log(CallRecord(clock.now(), "app", Surface.CR_CISCO, "GET", "/devices", "", status, 1.0))
    fast.log(
        CallRecord(
            clock.now(), "app", Surface.CR_CISCO, "GET", "/devices", "querycriteria=compliance", 200, 1.0
        )
    )
    assert fast.store.call_counts == {("cr_cisco", 2): 3, ("cr_cisco list", 2): 1}
    assert fast.store.throttled_counts == {("cr_cisco", 2): 1}
    assert fast.calls() == []


def test_a_counted_lookup_is_logged_like_a_call_record() -> None:
    env, _, _, fast = pair(TenantSettings(), size=10)
    env.run(until=env.now + 61.5)
    fast.count_lookup(Surface.CR_CISCO)
    counted = dict(fast.store.call_counts)
    fast.store.call_counts.clear()
    fast.log(
        CallRecord(
            at=fast.now(),
            app="a",
            surface=Surface.CR_CISCO,
            method="GET",
            path="/devices",
            query="querycriteria=guid&value=x",
            status=200,
            latency_ms=1.0,
            detail={"fast_path": True},
        )
    )
    assert counted == dict(fast.store.call_counts) and sum(counted.values()) == 1
    assert fast.brief_by_guid("not-a-guid") is None and fast.brief_by_mac("00-00-00-00-00-00") is None
