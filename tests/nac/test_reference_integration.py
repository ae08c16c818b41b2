"""The reference NAC against the real in-process mock (create_app + VirtualTimeTransport, SimPy clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mock_world import decide, guid, make_world, request

from harness.model import Decision, Profile
from mock_intune import faults
from mock_intune.model import DEFAULT_PORTAL_URL, AppRegistration, Permission, Surface

H4 = 4 * 3600.0
EXPECTED = {
    "compliant": Decision.ALLOW,
    "noncompliant": Decision.REMEDIATE_REDIRECT,
    "unknown": Decision.REMEDIATE_REDIRECT,
    "unenrolled": Decision.ENROLL_REDIRECT,
}


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("cert", [False, True])
def test_decisions_for_every_state(profile: Profile, cert: bool) -> None:
    world = make_world()
    for n, state in enumerate(EXPECTED, start=1):
        world.add(n, state)
    nac = world.nac(profile)
    assert nac.onboarding_error is None
    for n, (state, expected) in enumerate(EXPECTED.items(), start=1):
        result = decide(nac, n, cert=cert)
        assert result.decision is expected, (state, result.reason)
        if expected.is_redirect:
            assert result.redirect_url == DEFAULT_PORTAL_URL  # RED-01
        uses_guid = cert and profile in (Profile.CR_CISCO, Profile.GRAPH)
        assert result.intune_id == (guid(n) if uses_guid else None)


def test_onb01_discovery_first_then_follows_a_move() -> None:
    world = make_world()
    world.add(1)
    nac = world.nac(Profile.CR_CISCO, cache_ttl_s=0)
    assert decide(nac, 1).decision is Decision.ALLOW
    surfaces = [c.surface for c in world.svc.calls() if c.surface is not Surface.ENTRA]
    assert surfaces[0] is Surface.DISCOVERY and surfaces[1] is Surface.CR_CISCO
    world.svc.set_service_base("/fef-02")
    assert decide(nac, 1).decision is Decision.ALLOW
    calls = world.svc.calls()
    assert sum(c.surface is Surface.DISCOVERY for c in calls) == 2
    assert calls[-1].path.startswith("/fef-02/") and calls[-1].status == 200


def test_onb03_one_token_per_audience_for_many_queries() -> None:
    world = make_world()
    for n in range(1, 31):
        world.add(n)
    nac = world.nac(Profile.CR_CISCO, polling_interval_s=0)
    for n in range(1, 31):
        assert decide(nac, n).decision is Decision.ALLOW
    entra = [c for c in world.svc.calls() if c.surface is Surface.ENTRA]
    assert len(entra) == 2  # Graph (discovery) + manage


def test_onb03_expired_token_is_refreshed() -> None:
    world = make_world(token_lifetime_s=600)
    world.add(1)
    nac = world.nac(Profile.GRAPH, polling_interval_s=0, cache_ttl_s=0, token_refresh_margin_s=60)
    decide(nac, 1)
    world.env.run(until=1000)
    assert decide(nac, 1).decision is Decision.ALLOW
    assert all(c.status != 401 for c in world.svc.calls())
    assert sum(c.surface is Surface.ENTRA for c in world.svc.calls()) == 2


def test_onb04_certificate_assertion_against_the_mock(assertion_cert: tuple[str, str]) -> None:
    cert_pem, key_pem = assertion_cert
    world = make_world(client_certificate_pem=cert_pem, client_secret=None)
    world.add(1)
    nac = world.nac(Profile.CR_CISCO, cert_pem=cert_pem, key_pem=key_pem, client_secret=None)
    assert nac.onboarding_error is None
    assert decide(nac, 1).decision is Decision.ALLOW


def test_onb04_unregistered_certificate_is_an_integration_error(assertion_cert: tuple[str, str]) -> None:
    cert_pem, key_pem = assertion_cert
    world = make_world()  # the app has a secret only
    world.add(1)
    nac = world.nac(Profile.CR_CISCO, cert_pem=cert_pem, key_pem=key_pem, client_secret=None)
    result = decide(nac, 1)
    assert result.decision is Decision.MDM_UNREACHABLE and result.reason.startswith("integration error")


def test_onb05_missing_get_device_compliance() -> None:
    world = make_world()
    world.add(1)
    world.svc.register_app(
        AppRegistration(
            client_id="11111111-2222-4333-8444-555555555555",
            tenant_id=world.svc.tenant_id,
            client_secret="s3cret",
            permissions=frozenset({Permission.APPLICATION_READ_ALL}),
        )
    )
    nac = world.nac(
        Profile.CR_CISCO,
        client_id="11111111-2222-4333-8444-555555555555",
        client_secret="s3cret",
        fail_open=True,
    )
    result = decide(nac, 1)
    assert result.decision is Decision.MDM_UNREACHABLE
    assert result.reason.startswith("integration error") and "403" in result.reason


def test_acc07_latency_reports_injected_intune_latency() -> None:
    world = make_world()
    world.add(1)
    nac = world.nac(Profile.CR_CISCO, processing_s=0.003)
    faults.set_fault(world.svc, Surface.CR_CISCO, {"latency": {"dist": "fixed", "ms": 180}})
    result = decide(nac, 1)
    assert result.decision is Decision.ALLOW
    assert result.latency_s == pytest.approx(0.183)


def test_red02_portal_visit_then_fresh_answer() -> None:
    world = make_world()
    world.add(1, "noncompliant")
    nac = world.nac(Profile.CR_CISCO)
    assert decide(nac, 1).decision is Decision.REMEDIATE_REDIRECT
    world.svc.set_posture(guid(1), True)
    world.svc.portal_visit(guid(1))
    assert decide(nac, 1).decision is Decision.ALLOW


def test_red03_enrollment_completes() -> None:
    world = make_world()
    world.add(1, "unenrolled")
    nac = world.nac(Profile.GRAPH)
    assert decide(nac, 1, cert=True).decision is Decision.ENROLL_REDIRECT
    world.svc.enroll(guid(1))
    assert decide(nac, 1, cert=True).decision is Decision.REMEDIATE_REDIRECT  # Unknown until evaluated
    world.svc.evaluate(guid(1))
    assert decide(nac, 1, cert=True).decision is Decision.ALLOW


@pytest.mark.parametrize(
    "fault",
    [
        {"outages": [{"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T01:00:00Z"}]},
        {"error_rate": 1.0, "error_status": 500},
        {"timeout_rate": 1.0, "timeout_s": 30},
    ],
)
def test_res01_fails_closed_on_the_mocks_faults(fault: dict[str, object]) -> None:
    world = make_world()
    world.add(1)
    nac = world.nac(Profile.CR_CISCO, timeout_s=2.0)
    faults.set_fault(world.svc, Surface.CR_CISCO, fault)
    result = decide(nac, 1)
    assert result.decision is Decision.MDM_UNREACHABLE and result.reason.startswith("MDM unreachable")
    if "timeout_rate" in fault:
        assert result.latency_s == pytest.approx(2.0 + nac.config.processing_s)


def test_sta03_drift_while_connected_gets_coa_within_the_interval() -> None:
    world = make_world()
    world.add(1)
    world.add(2)
    nac = world.nac(Profile.CR_CISCO)
    assert decide(nac, 1, cert=True).decision is Decision.ALLOW
    assert decide(nac, 2).decision is Decision.ALLOW
    world.env.run(until=3600)
    world.svc.set_posture(guid(1), False)
    world.svc.check_in(guid(1))
    world.env.run(until=H4 + 60)
    assert [c.session_id for c in world.coas] == ["s-1"]
    assert world.coas[0].at <= 3600 + H4
    assert decide(nac, 1, cert=True).decision is Decision.REMEDIATE_REDIRECT


def test_res02_mock_503_then_retry_after() -> None:
    world = make_world()
    world.add(1, "noncompliant")
    nac = world.nac(Profile.CR_CISCO)
    world.env.run(until=H4 - 600)
    world.svc.claim_broad_query(world.svc.config.client_id)  # someone else used the window
    world.env.run(until=2 * H4)
    broad = [c for c in world.svc.calls() if "querycriteria=compliance" in c.query]
    assert [c.status for c in broad][:2] == [503, 200]
    assert (broad[1].at - broad[0].at) >= timedelta(seconds=H4 - 600 - 1)
    assert nac.sweeps[0]["outcome"] == "ok"


def test_res04_paging_against_the_mock() -> None:
    world = make_world()
    for n in range(1, 231):
        world.add(n)
    nac = world.nac(Profile.CR_CISCO)
    for n in range(1, 231):
        decide(nac, n, cert=True)
    for n in range(1, 231):
        world.svc.set_posture(guid(n), False)
        world.svc.check_in(guid(n))
    world.env.run(until=H4 + 60)
    assert nac.sweeps[0]["pages"] == 3 and nac.sweeps[0]["devices"] == 230
    assert len(world.coas) == 230


def test_res03_graph_throttling_waits_for_retry_after() -> None:
    world = make_world(graph_rate_limit=5, graph_rate_window_s=20.0)
    for n in range(1, 11):
        world.add(n)
    nac = world.nac(Profile.GRAPH, polling_interval_s=0, cache_ttl_s=0)
    results = [decide(nac, n).decision for n in range(1, 11)]
    assert results[:5] == [Decision.ALLOW] * 5
    assert Decision.MDM_UNREACHABLE in results[5:]
    throttled = [c for c in world.svc.calls() if c.status == 429]
    assert len(throttled) == 1  # one 429, then the NAC waits instead of hammering
    world.env.run(until=nac._lookup_not_before)
    assert decide(nac, 1).decision is Decision.ALLOW


def test_randomised_mac_never_reaches_intune() -> None:
    world = make_world()
    nac = world.nac(Profile.LEGACY_JSON)
    before = len(world.svc.calls())
    result = nac.decide(request(1, raw_mac="3A:11:22:33:44:55"))
    assert result.decision is Decision.ENROLL_REDIRECT
    assert len(world.svc.calls()) == before
