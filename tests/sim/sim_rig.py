"""Building small worlds for tests: a scenario from a few overrides, a world in a fresh environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import simpy

from harness.population import Population
from harness.scenario import Scenario
from harness.sim.nac_setup import build_nac
from harness.sim.runner import build_intune, mock_config
from harness.sim.world import World

FIXED = {
    "association": 1.0,
    "radius_rtt": 0.02,
    "nac_processing": 0.0,
    "intune_latency": 0.1,
    "enrollment": 600.0,
    "first_evaluation": 120.0,
    "remediation": 300.0,
    "portal_visit": 30.0,
    "reconnect": 5.0,
    "drift": 1800.0,
}
"""Fixed timings: every step's expected simulated time can be computed by hand."""

ALL_COMPLIANT = {
    "compliant": 1.0,
    "noncompliant": 0.0,
    "in_grace": 0.0,
    "unknown": 0.0,
    "stale": 0.0,
    "no_policy": 0.0,
}


def scenario(**over: Any) -> Scenario:
    """A one-AP scenario with fixed timings; keyword arguments override top-level fields."""
    population = {
        "size": 1,
        "enrollment": {"enrolled": 1.0, "unenrolled": 0.0},
        "compliance": dict(ALL_COMPLIANT),
        "randomized_mac_share": 0.0,
        "certificate_share": 1.0,
        "declines_enrollment_share": 0.0,
        "unfixable_share": 0.0,
    }
    population.update(over.pop("population", {}))
    data: dict[str, Any] = {
        "name": "test",
        "seed": 5,
        "duration": "12h",
        "population": population,
        "sites": [{"name": "s", "access_points": [{"name": "ap", "capacity": 1000, "auth_concurrency": 2}]}],
        "arrival": {"start": "08:00", "end": "08:00", "shape": "burst"},
        "timings": dict(FIXED),
        "intune": {"checkins": True},
        "nac": {"adapter": "reference", "profile": "cr-cisco", "polling_interval": "4h", "cache_ttl": "5m"},
    }
    data["timings"].update(over.pop("timings", {}))
    data.update(over)
    return Scenario.model_validate(data)


@dataclass
class Rig:
    env: simpy.Environment
    world: World
    population: Population

    def path(self, index: int = 0) -> list[tuple[int, float, str]]:
        return [(int(s), round(t, 6), o) for s, t, o in self.world.trace.path(index)]

    def steps(self, index: int = 0) -> list[tuple[int, str]]:
        return [(s, o) for s, _, o in self.path(index)]


def build(sc: Scenario, *, fast: bool = False, devices: range | None = None) -> Rig:
    """A started world for ``sc`` in a fresh environment (not yet run)."""
    env = simpy.Environment()
    pop = Population(sc.population, sc.seed)
    devices = devices if devices is not None else range(pop.size)
    service = build_intune(env, sc, pop, devices, fast=fast, config=mock_config(sc, 1))
    nac = build_nac(env, service, sc, 1)
    world = World(env, sc, pop, service, nac, devices=devices)
    world.start()
    return Rig(env, world, pop)
