"""Scenario faults become the mock's own fault specs, switched on and off at their windows."""

from __future__ import annotations

import simpy

from harness.scenario import FaultSpec
from harness.sim.clock import DEFAULT_EPOCH, SimClock
from harness.sim.faults import active_specs, fault_schedule, latency_json
from mock_intune.config import MockConfig
from mock_intune.faults import get_faults
from mock_intune.model import Surface
from mock_intune.service import MockIntune


def faults() -> list[FaultSpec]:
    return [
        FaultSpec.model_validate({"surface": "cr_cisco", "kind": "outage", "start": "09:30", "end": "10:00"}),
        FaultSpec.model_validate(
            {
                "surface": "graph",
                "kind": "errors",
                "start": "09:00",
                "end": "11:00",
                "status": 429,
                "rate": 0.25,
            }
        ),
        FaultSpec.model_validate(
            {
                "surface": "cr_cisco",
                "kind": "latency",
                "start": "10:00",
                "end": "10:30",
                "latency": {"dist": "lognormal", "median": "1.5s", "sigma": 0.5},
            }
        ),
    ]


def test_active_specs_follow_the_windows() -> None:
    fs = faults()
    assert active_specs(fs, 8 * 3600, DEFAULT_EPOCH, 1) == {}
    at_945 = active_specs(fs, 9.75 * 3600, DEFAULT_EPOCH, 1)
    assert set(at_945) == {Surface.CR_CISCO, Surface.GRAPH}
    assert at_945[Surface.CR_CISCO]["outages"] == [
        {"start": "2026-01-05T09:30:00+00:00", "end": "2026-01-05T10:00:00+00:00"}
    ]
    assert at_945[Surface.GRAPH]["error_rate"] == 0.25 and at_945[Surface.GRAPH]["error_status"] == 429
    at_1015 = active_specs(fs, 10.25 * 3600, DEFAULT_EPOCH, 1)
    assert at_1015[Surface.CR_CISCO]["latency"] == {"dist": "lognormal", "median_ms": 1500.0, "sigma": 0.5}


def test_latency_kinds_map_to_the_mocks() -> None:
    from harness.scenario import DistSpec

    assert latency_json(DistSpec.model_validate({"dist": "fixed", "value": "200ms"})) == {
        "dist": "fixed",
        "ms": 200.0,
    }
    assert latency_json(DistSpec.model_validate({"dist": "uniform", "low": 0.1, "high": 0.3})) == {
        "dist": "uniform",
        "low_ms": 100.0,
        "high_ms": 300.0,
    }
    normal = latency_json(DistSpec.model_validate({"dist": "normal", "mean": 0.2, "sd": 0.05}))
    assert normal == {"dist": "fixed", "ms": 200.0}  # the mock has no normal kind: its mean


def test_the_schedule_installs_and_clears_the_mocks_faults_in_virtual_time() -> None:
    env = simpy.Environment(initial_time=8 * 3600)
    service = MockIntune(MockConfig(), clock=SimClock(env, DEFAULT_EPOCH))
    env.process(fault_schedule(env, service, faults(), DEFAULT_EPOCH, 7))
    seen = {}
    for t in (8.5, 9.1, 9.75, 10.25, 10.75, 11.5):
        env.run(until=t * 3600)
        seen[t] = sorted(get_faults(service))
    assert seen == {
        8.5: [],
        9.1: ["graph"],
        9.75: ["cr_cisco", "graph"],
        10.25: ["cr_cisco", "graph"],
        10.75: ["graph"],
        11.5: [],
    }
