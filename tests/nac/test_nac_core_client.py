"""The fast path on its own: permissions, the mock's faults and limits, modelled latency."""

from __future__ import annotations

import pytest
from mock_world import decide, guid, make_world

from harness.model import Decision, Profile
from harness.nac.core_client import FixedLatency, LogNormalLatency
from mock_intune import faults
from mock_intune.model import AppRegistration, Permission, Surface

H4 = 4 * 3600.0


def test_latency_is_modelled_per_call() -> None:
    world = make_world()
    world.add(1)
    nac = world.fast_nac(Profile.CR_CISCO, latency=FixedLatency(0.12), processing_s=0.005)
    assert decide(nac, 1).latency_s == pytest.approx(0.125)


def test_lognormal_latency_is_seeded() -> None:
    a, b = LogNormalLatency(0.08, 0.5, seed=3), LogNormalLatency(0.08, 0.5, seed=3)
    assert [a.sample() for _ in range(5)] == [b.sample() for _ in range(5)]


def test_fast_path_missing_permission_is_an_integration_error() -> None:
    world = make_world()
    world.add(1)
    world.svc.register_app(
        AppRegistration(
            client_id="c-2",
            tenant_id=world.svc.tenant_id,
            client_secret="x",
            permissions=frozenset({Permission.APPLICATION_READ_ALL}),
        )
    )
    nac = world.fast_nac(Profile.CR_CISCO, client_id="c-2", fail_open=True)
    result = decide(nac, 1)
    assert result.decision is Decision.MDM_UNREACHABLE and result.reason.startswith("integration error")


@pytest.mark.parametrize(
    "fault",
    [
        {"outages": [{"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T01:00:00Z"}]},
        {"error_rate": 1.0, "error_status": 502},
        {"timeout_rate": 1.0, "timeout_s": 30},
    ],
)
def test_fast_path_feels_the_mocks_faults(fault: dict[str, object]) -> None:
    world = make_world()
    world.add(1)
    nac = world.fast_nac(Profile.CR_CISCO, latency=FixedLatency(0.0), timeout_s=1.25)
    faults.set_fault(world.svc, Surface.CR_CISCO, fault)
    result = decide(nac, 1)
    assert result.decision is Decision.MDM_UNREACHABLE
    if "timeout_rate" in fault:
        assert result.latency_s == pytest.approx(1.25 + nac.config.processing_s)


def test_fast_path_broad_query_limit_and_back_off() -> None:
    world = make_world()
    world.add(1, "noncompliant")
    nac = world.fast_nac(Profile.CR_CISCO)
    world.env.run(until=H4 - 600)
    world.svc.claim_broad_query(world.svc.config.client_id)
    world.env.run(until=2 * H4)
    sweep = nac.sweeps[0]
    assert sweep["outcome"] == "ok" and sweep["ended"] >= 2 * H4 - 600


def test_fast_path_graph_throttling() -> None:
    world = make_world(graph_rate_limit=3, graph_rate_window_s=20.0)
    for n in range(1, 6):
        world.add(n)
    nac = world.fast_nac(Profile.GRAPH, polling_interval_s=0, cache_ttl_s=0)
    results = [decide(nac, n).decision for n in range(1, 6)]
    assert results[:3] == [Decision.ALLOW] * 3 and results[3] is Decision.MDM_UNREACHABLE
    assert nac._lookup_not_before > world.env.now


def test_fast_path_legacy_json_rechecks_sessions() -> None:
    world = make_world()
    world.add(1)
    nac = world.fast_nac(Profile.LEGACY_JSON)
    assert decide(nac, 1).decision is Decision.ALLOW
    world.svc.set_posture(guid(1), False)
    world.svc.check_in(guid(1))
    world.env.run(until=H4 + 1)
    assert [c.session_id for c in world.coas] == ["s-1"]
    assert nac.sweeps[0]["outcome"] == "recheck"
