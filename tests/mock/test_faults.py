"""Fault injection: validated specs, reproducible draws, outage windows on the mock's clock, virtual
latency and timeouts (through the virtual-time transport), error shapes per surface."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from nac_world import CR, NAC, START, World, guid, make_world, xml

from mock_intune import faults
from mock_intune.errors import InputError
from mock_intune.faults import FaultSpec, Latency, LatencyKind
from mock_intune.model import GRAPH_RESOURCE, INTUNE_APP_ID, Surface
from mock_intune.virtual_transport import VirtualTimeTransport

GUID_QUERY = f"{CR}/cisco/devices/?paging=0&querycriteria=guid&value={guid(1)}&filter=all"


@pytest.fixture
def w() -> World:
    world = make_world()
    world.add(1)
    return world


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ([], "fault"),
        ({"bogus": 1}, "fault"),
        ({"error_rate": 1.5}, "fault.error_rate"),
        ({"error_rate": "high"}, "fault.error_rate"),
        ({"timeout_rate": -0.1}, "fault.timeout_rate"),
        ({"error_status": 404}, "fault.error_status"),
        ({"error_status": True}, "fault.error_status"),
        ({"outage_status": 200}, "fault.outage_status"),
        ({"timeout_s": 10_000}, "fault.timeout_s"),
        ({"retry_after": "no"}, "fault.retry_after"),
        ({"seed": 1.5}, "fault.seed"),
        ({"latency": 5}, "latency"),
        ({"latency": {"dist": "gaussian"}}, "latency.dist"),
        ({"latency": {"dist": "fixed"}}, "latency.ms"),
        ({"latency": {"dist": "fixed", "ms": -1}}, "latency.ms"),
        ({"latency": {"dist": "uniform", "low_ms": 9, "high_ms": 1}}, "latency.low_ms"),
        ({"latency": {"dist": "fixed", "ms": 1, "mean_ms": 2}}, "latency"),
        ({"latency": {"dist": "lognormal", "median_ms": 10, "sigma": 99}}, "latency.sigma"),
        ({"outages": {"start": "x"}}, "fault.outages"),
        ({"outages": [{"start": "2026-01-05T09:00:00Z"}]}, "fault.outages[0]"),
        ({"outages": [{"start": "yesterday", "end": "2026-01-05T09:00:00Z"}]}, "fault.outages[0].start"),
        (
            {"outages": [{"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T08:00:00Z"}]},
            "fault.outages[0].end",
        ),
    ],
)
def test_bad_specs_name_the_field(w: World, spec: Any, where: str) -> None:
    with pytest.raises(InputError) as err:
        faults.set_fault(w.svc, Surface.CR_CISCO, spec)
    assert err.value.where == where
    assert faults.get_faults(w.svc) == {}


@pytest.mark.parametrize(("surface", "where"), [("admin", "surface"), ("nope", "surface")])
def test_bad_surfaces(w: World, surface: str, where: str) -> None:
    with pytest.raises(InputError) as err:
        faults.set_fault(w.svc, surface, {"error_rate": 1})
    assert err.value.where == where


def test_set_get_clear(w: World) -> None:
    spec = {
        "latency": {"dist": "uniform", "low_ms": 10, "high_ms": 20},
        "error_rate": 0.25,
        "outages": [{"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T10:00:00+00:00"}],
        "seed": 7,
    }
    parsed = faults.set_fault(w.svc, "cr_cisco", spec)
    assert parsed is not None and parsed.latency.kind is LatencyKind.UNIFORM
    stored = faults.get_faults(w.svc)["cr_cisco"]
    assert stored == parsed.to_json() and FaultSpec.from_json(stored) == parsed
    assert stored["outages"][0]["start"] == "2026-01-05T09:00:00+00:00"
    faults.set_fault(w.svc, "cr_cisco", None)
    assert faults.get_faults(w.svc) == {}
    assert w.get(GUID_QUERY).status_code == 200


def statuses(w: World, n: int = 40) -> list[int]:
    return [w.get(GUID_QUERY).status_code for _ in range(n)]


def test_draws_are_reproducible_with_a_seed() -> None:
    runs = []
    for seed in (11, 11, 12):
        world = make_world()
        world.add(1)
        faults.set_fault(world.svc, "cr_cisco", {"error_rate": 0.5, "error_status": 500, "seed": seed})
        runs.append(statuses(world))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 500}


def test_setting_a_spec_again_restarts_its_stream(w: World) -> None:
    spec = {"error_rate": 0.5, "seed": 3}
    faults.set_fault(w.svc, "cr_cisco", spec)
    first = statuses(w, 20)
    faults.set_fault(w.svc, "cr_cisco", spec)
    assert statuses(w, 20) == first


def test_error_rate_one_answers_in_the_surface_shape(w: World) -> None:
    faults.set_fault(w.svc, "cr_cisco", {"error_rate": 1.0, "error_status": 503, "retry_after_s": 30})
    resp = w.get(GUID_QUERY)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    assert xml(resp.data).tag == "error"
    faults.set_fault(w.svc, "legacy_json", {"error_rate": 1.0, "error_status": 502})
    body = w.get(f"{NAC}/devices/?querycriteria=macaddress&value=0050569A0001&api-version=1.1")
    assert body.status_code == 502 and body.get_json()["error"]["code"] == "Injected502"
    # Other surfaces are untouched.
    assert w.get(f"{NAC}/ciscoise/mdminfo/?ise_api_version=2").status_code == 200
    call = [c for c in w.svc.calls() if c.status == 503][0]
    assert call.detail["fault"] == "error 503"


def test_graph_429_with_and_without_retry_after(w: World) -> None:
    url = "/v1.0/deviceManagement/managedDevices"
    faults.set_fault(w.svc, "graph", {"error_rate": 1.0, "error_status": 429, "retry_after_s": 5})
    resp = w.get(url, GRAPH_RESOURCE)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "5"
    assert faults.retry_after_wanted(w.svc, Surface.GRAPH)
    faults.set_fault(w.svc, "graph", {"error_rate": 1.0, "error_status": 429, "retry_after": False})
    resp = w.get(url, GRAPH_RESOURCE)
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    assert resp.get_json()["error"]["code"] == "Injected429"
    assert not faults.retry_after_wanted(w.svc, Surface.GRAPH)


def test_outage_window_on_the_mock_clock(w: World) -> None:
    start, end = START + timedelta(minutes=1), START + timedelta(minutes=2)
    faults.set_fault(w.svc, "cr_cisco", {"outages": [{"start": start.isoformat(), "end": end.isoformat()}]})
    assert w.get(GUID_QUERY).status_code == 200
    w.clock.set(start)
    down = w.get(GUID_QUERY)
    assert down.status_code == 503 and "Retry-After" in down.headers
    w.clock.set(end - timedelta(seconds=1))
    assert w.get(GUID_QUERY).status_code == 503
    w.clock.set(end)
    assert w.get(GUID_QUERY).status_code == 200
    assert [c.detail.get("fault") for c in w.svc.calls()] == [None, "outage", "outage", None]


def test_outage_hits_discovery_in_graph_shape(w: World) -> None:
    faults.set_fault(
        w.svc,
        "discovery",
        {
            "outage_status": 504,
            "outages": [{"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()}],
        },
    )
    resp = w.get(f"/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints", GRAPH_RESOURCE)
    assert resp.status_code == 504 and resp.get_json()["error"]["code"] == "Injected504"


def test_virtual_latency_is_reported_not_slept(w: World) -> None:
    faults.set_fault(w.svc, "cr_cisco", {"latency": {"dist": "fixed", "ms": 150}})
    resp = w.get(GUID_QUERY)
    assert resp.status_code == 200
    assert resp.headers["X-Mock-Latency-Ms"] == "150.000"
    call = w.svc.calls()[-1]
    assert call.latency_ms >= 150.0 and call.detail["injected_latency_ms"] == 150.0
    assert "_injected_ms" not in call.detail


def test_served_mode_sleeps_instead_of_reporting() -> None:
    w = make_world(sleep_latency=True)
    w.add(1)
    faults.set_fault(w.svc, "cr_cisco", {"latency": {"dist": "fixed", "ms": 1}})
    resp = w.get(GUID_QUERY)
    assert resp.status_code == 200 and "X-Mock-Latency-Ms" not in resp.headers
    assert w.svc.calls()[-1].latency_ms >= 1.0


def test_virtual_timeout_becomes_read_timeout_through_the_transport(w: World) -> None:
    faults.set_fault(w.svc, "cr_cisco", {"timeout_rate": 1.0, "timeout_s": 12})
    transport = VirtualTimeTransport(w.app)
    with httpx.Client(transport=transport, base_url="https://api.manage.microsoft.com") as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(GUID_QUERY, headers=w.headers())
        assert transport.last_timed_out and transport.last_injected_s == 12.0 and transport.timeouts == 1
        faults.set_fault(w.svc, "cr_cisco", {"latency": {"dist": "fixed", "ms": 250}})
        resp = client.get(GUID_QUERY, headers=w.headers())
        assert resp.status_code == 200
        assert not transport.last_timed_out and transport.last_injected_s == 0.25
        assert transport.calls == 2 and transport.total_injected_s == pytest.approx(12.25)
    assert [c.status for c in w.svc.calls()] == [504, 200]
    assert w.svc.calls()[0].detail["fault"] == "timeout"


def test_transport_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError):
        VirtualTimeTransport()


@pytest.mark.parametrize(
    ("latency", "low", "high", "mean"),
    [
        ({"dist": "uniform", "low_ms": 50, "high_ms": 150}, 50, 150, 100),
        ({"dist": "exponential", "mean_ms": 80}, 0, None, 80),
        ({"dist": "lognormal", "median_ms": 100, "sigma": 0.5}, 0, None, 113),
    ],
)
def test_latency_distributions(latency: dict[str, Any], low: float, high: float | None, mean: float) -> None:
    import random

    dist = Latency.from_json(latency)
    rng = random.Random(1)
    draws = [dist.draw(rng) for _ in range(4000)]
    assert min(draws) >= low and (high is None or max(draws) <= high)
    assert sum(draws) / len(draws) == pytest.approx(mean, rel=0.1)
