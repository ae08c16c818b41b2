"""Building and running one shard of a scenario: the mock Intune, the NAC, the world, the clock.

:func:`run_world` is the library call (``harness.sim.world.run_world`` re-exports it); :func:`run_shard`
is the load runner's per-shard entry point (``harness.sim.world:run_shard``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from typing import Any

import simpy

from mock_intune.config import MockConfig
from mock_intune.service import MockIntune

from ..nac.base import NacUnderTest
from ..population import Population, to_mock_device
from ..scenario import Scenario
from .clock import SimClock
from .fleet import FleetIntune
from .result import WorldResult
from .world import World

NacFactory = Callable[[simpy.Environment, MockIntune, Scenario, int], NacUnderTest]
"""``factory(env, service, scenario, shard_seed) -> NacUnderTest``."""

FAST_THRESHOLD = 500
"""Shards larger than this run on the compact fast-path Intune unless told otherwise."""


def mock_config(
    scenario: Scenario, shard_count: int, limits: Mapping[str, float] | None = None
) -> MockConfig:
    """The mock's configuration for one shard: Intune's shared rate limits split across the shards.

    ``limits`` are per-shard values already split by the load runner (``harness.load.shards``); without
    them the Graph request budget is divided by ``shard_count`` and the intervals are kept.
    """
    rl = scenario.intune.rate_limits
    per = dict(limits or {})
    return MockConfig(
        graph_rate_limit=max(1, int(per.get("graph_requests", rl.graph_requests // shard_count))),
        graph_rate_window_s=float(per.get("graph_window", rl.graph_window)),
        broad_query_interval_s=float(per.get("broad_query_interval", rl.broad_query_interval)),
    )


def build_intune(
    env: simpy.Environment,
    scenario: Scenario,
    population: Population,
    devices: range,
    *,
    fast: bool,
    config: MockConfig | None = None,
) -> MockIntune:
    """The shard's mock Intune on the SimPy clock, seeded with the shard's devices."""
    config = config or mock_config(scenario, 1)
    clock = SimClock(env, scenario.epoch)
    settings = scenario.tenant.build()
    if fast:
        return FleetIntune(
            population, devices, config=config, clock=clock, epoch=scenario.epoch, settings=settings
        )
    service = MockIntune(config, clock=clock)
    service.update_settings(settings)
    service.seed(to_mock_device(population[i], population, scenario.epoch, settings) for i in devices)
    return service


def default_nac_factory(
    env: simpy.Environment, service: MockIntune, scenario: Scenario, shard_seed: int
) -> NacUnderTest:
    """The scenario's NAC: the reference NAC on the fast path with the scenario's Intune latency."""
    from .nac_setup import build_nac

    return build_nac(env, service, scenario, shard_seed)


RUN_GC_THRESHOLD = 500_000
"""Allocations between young-generation collections while the world runs (Python's default: 700)."""


def run_world(
    scenario: Scenario,
    *,
    shard_index: int = 0,
    shard_count: int = 1,
    nac_factory: NacFactory | None = None,
    fast: bool | None = None,
    trace: bool | None = None,
    progress: Callable[[int], None] | None = None,
    env: simpy.Environment | None = None,
    limits: Mapping[str, float] | None = None,
    lean: bool = True,
) -> WorldResult:
    """Simulate shard ``shard_index`` of ``shard_count`` of ``scenario`` until its duration; return its numbers."""
    from ..errors import ConfigError

    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ConfigError(f"shard {shard_index} of {shard_count} does not exist", field="shard")
    population = Population(scenario.population, scenario.seed)
    devices = range(shard_index, population.size, shard_count)
    if fast is None:
        fast = len(devices) > FAST_THRESHOLD
    every = 1
    if trace is None:
        # small populations keep every device's trace; large ones a sample of about trace_devices
        # devices (every k-th device of the population, the same whichever shard runs it)
        trace = True
        if population.size > scenario.trace_devices:
            every = -(-population.size // max(1, scenario.trace_devices)) if scenario.trace_devices else 0
            trace = every > 0
    env = env or simpy.Environment()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        service = build_intune(
            env, scenario, population, devices, fast=fast, config=mock_config(scenario, shard_count, limits)
        )
        shard_seed = (scenario.seed * 1_000_003 + shard_index * 7919 + shard_count) & 0x7FFF_FFFF
        nac = (nac_factory or default_nac_factory)(env, service, scenario, shard_seed)
        world = World(
            env,
            scenario,
            population,
            service,
            nac,
            devices=devices,
            trace=trace,
            trace_every=max(1, every),
            record_onboarding=shard_index == 0,
            progress=progress,
            lean=lean,
        )
        world.start()
        gc.freeze()
    finally:
        if gc_was:
            gc.enable()
    thresholds = gc.get_threshold()
    # The run allocates mostly short-lived events and generators; collecting the young generation
    # every 700 allocations (the default) costs more than the few cycles it frees early.
    gc.set_threshold(RUN_GC_THRESHOLD, *thresholds[1:])
    try:
        env.run(until=scenario.duration)
    finally:
        gc.set_threshold(*thresholds)
        nac.stop()
    result = world.finish()
    result.shards = shard_count
    return result


def run_shard(shard: Any) -> WorldResult:
    """The load runner's entry point: run one :class:`harness.load.shards.Shard`.

    The shard's devices must be the strided range ``range(index, population, count)``; its ``limits``
    are the per-shard Intune limits; progress goes to ``shard.report``. The trace follows the world's own
    rule (every device up to ``scenario.trace_devices``, else every k-th device of the population), so
    the trace file is the same whatever the shard count; ``shard.trace`` is not needed.
    """
    from ..errors import HarnessFailure

    scenario = shard.scenario
    if shard.seed != scenario.seed:
        scenario = scenario.model_copy(update={"seed": shard.seed})
    expected = range(shard.index, scenario.population.size, shard.count)
    if shard.devices != expected:
        raise HarnessFailure(f"shard {shard.index}/{shard.count} holds {shard.devices}, expected {expected}")
    result = run_world(
        scenario,
        shard_index=shard.index,
        shard_count=shard.count,
        trace=None,
        progress=shard.report,
        limits=shard.limits or None,
    )
    shard.report(shard.size)
    return result
