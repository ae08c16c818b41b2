"""A tiny nine-step SimPy world with the WorldResult contract, for testing the load layer alone.

Not the product's world (``harness.sim``): just enough behaviour — devices arriving, a shared
Intune request budget that throttles, remediation, CoA — that sharding, merging and reporting have
real, seed-dependent numbers to carry. Every draw is keyed by (seed, device index), so the results
depend on the partition only through the limits.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import simpy

from harness.load.shards import Shard
from harness.model import Step, TraceEvent


@dataclass
class FakeWorldResult:
    devices: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    time_to_access: list[float] = field(default_factory=list)
    remediations: int = 0
    intune_calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    throttled: Counter[tuple[str, int]] = field(default_factory=Counter)
    coas: Counter[tuple[str, int]] = field(default_factory=Counter)
    states: Counter[tuple[int, str]] = field(default_factory=Counter)
    without_access: list[str] = field(default_factory=list)
    traces: list[TraceEvent] = field(default_factory=list)
    events: int = 0

    def merge(self, other: FakeWorldResult) -> FakeWorldResult:
        return FakeWorldResult(
            devices=self.devices + other.devices,
            outcomes=self.outcomes + other.outcomes,
            time_to_access=sorted(self.time_to_access + other.time_to_access),
            remediations=self.remediations + other.remediations,
            intune_calls=self.intune_calls + other.intune_calls,
            throttled=self.throttled + other.throttled,
            coas=self.coas + other.coas,
            states=self.states + other.states,
            without_access=sorted(self.without_access + other.without_access),
            traces=sorted(self.traces + other.traces, key=lambda e: (e.device, e.at, e.step)),
            events=self.events + other.events,
        )


def run_shard(shard: Shard) -> FakeWorldResult:
    """Simulate ``shard.devices``; ``shard.limits['requests_per_minute']`` throttles Intune lookups."""
    env = simpy.Environment()
    res = FakeWorldResult(devices=shard.size)
    budget = float(shard.limits.get("requests_per_minute", 1e9))
    used: Counter[int] = Counter()
    state: dict[str, str] = {}

    def trace(dev: str, step: Step, outcome: str) -> None:
        if shard.trace:
            res.traces.append(TraceEvent(dev, step, round(env.now, 6), outcome))

    def query() -> tuple[simpy.events.Event, bool]:
        minute = int(env.now // 60)
        if used[minute] + 1 > budget:
            res.throttled[("device_query", minute)] += 1
            return env.timeout(60 - env.now % 60), False
        used[minute] += 1
        res.intune_calls[("device_query", minute)] += 1
        return env.timeout(0.2), True

    def device(i: int) -> simpy.events.ProcessGenerator:
        rng = random.Random(shard.seed * 1_000_003 + i)
        dev = f"dev-{i:05d}"
        yield env.timeout(rng.uniform(0, 600))
        start = env.now
        state[dev] = "connecting"
        trace(dev, Step.CONNECT, "")
        answered = False
        while not answered:
            wait, answered = query()
            yield wait
        compliant = rng.random() < 0.7
        trace(dev, Step.QUERY_INTUNE, "compliant" if compliant else "noncompliant")
        if not compliant:
            state[dev] = "redirected"
            trace(dev, Step.REDIRECT, "remediate_redirect")
            if rng.random() < 0.2:
                res.outcomes["remediate_redirect"] += 1
                if rng.random() < 0.5:
                    res.without_access.append(dev)
                return
            res.remediations += 1
            yield env.timeout(rng.expovariate(1 / 300))
            trace(dev, Step.REVERIFY, "")
            answered = False
            while not answered:
                wait, answered = query()
                yield wait
            trace(dev, Step.NEW_STATE, "compliant")
        state[dev] = "connected"
        trace(dev, Step.CONNECTED, "allow")
        res.outcomes["allow"] += 1
        res.time_to_access.append(round(env.now - start, 6))
        if rng.random() < 0.05:
            yield env.timeout(rng.uniform(60, 1200))
            res.coas[("disconnect", int(env.now // 60))] += 1

    def sampler() -> simpy.events.ProcessGenerator:
        while True:
            for s, n in Counter(state.values()).items():
                res.states[(int(env.now // 60), s)] += n
            yield env.timeout(60)

    for i in shard.devices:
        env.process(device(i))
    env.process(sampler())
    env.run(until=3 * 3600)
    res.events = len(shard.devices) * 6
    res.time_to_access.sort()
    res.without_access.sort()
    return res
