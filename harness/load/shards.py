"""Split one simulation into N shards: a partition of the devices and a share of the shared limits.

A shard is a self-contained, picklable unit of work: the scenario, the run seed, which devices it
simulates (a strided ``range`` over the population's device indices, so every shard sees arrivals
across the whole day and the shards together hold each device exactly once), and the shard's share
of the limits that the whole fleet shares in reality (Intune's rate limits). The world simulates the
shard as if its devices were the whole fleet, against its share of each limit.

How each shared limit is split is declared in :data:`LIMIT_RULES`, and every run's report carries the
resulting :class:`LimitSplit` records, so a reader sees what each shard was allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ConfigError


class SplitRule(StrEnum):
    """How a fleet-wide limit becomes a per-shard limit."""

    DIVIDE = "divide"
    """A budget (requests per window, concurrent sessions): each shard gets ``total / shards``."""
    DIVIDE_INT = "divide-int"
    """An integer budget: each shard gets ``floor(total / shards)``, at least 1."""
    MULTIPLY = "multiply"
    """A minimum interval between calls: each shard's interval is ``total × shards`` (same fleet rate)."""
    KEEP = "keep"
    """Not a shared budget (a per-device or per-sweep rule): every shard keeps the value."""


@dataclass(frozen=True)
class LimitRule:
    """The declared split of one named limit, and why."""

    rule: SplitRule
    why: str


LIMIT_RULES: dict[str, LimitRule] = {
    # scenario names (``intune.rate_limits`` in harness.scenario)
    "graph_requests": LimitRule(
        SplitRule.DIVIDE_INT,
        "Graph throttles per app per window; the shards share one app, so each gets 1/N of the requests",
    ),
    "graph_window": LimitRule(SplitRule.KEEP, "a window length, not a budget"),
    "broad_query_interval": LimitRule(
        SplitRule.KEEP,
        "one noncompliant-list sweep per interval per NAC; each shard's sweep is its slice of the "
        "same fleet-wide sweep, so the interval is not stretched",
    ),
    # mock configuration names (mock_intune.config.MockConfig)
    "graph_rate_limit": LimitRule(
        SplitRule.DIVIDE_INT,
        "Graph throttles per app per window; the shards share one app, so each gets 1/N of the requests",
    ),
    "intune_rate_limit": LimitRule(
        SplitRule.DIVIDE, "a per-tenant request budget is shared by every shard's NAC queries"
    ),
    "requests_per_second": LimitRule(
        SplitRule.DIVIDE, "a fleet-wide request rate is shared by every shard's NAC queries"
    ),
    "nac_concurrency": LimitRule(
        SplitRule.DIVIDE_INT, "the NAC's concurrent Intune lookups are one pool shared by all devices"
    ),
    "broad_query_interval_s": LimitRule(
        SplitRule.KEEP,
        "one noncompliant-list sweep per interval; each shard's sweep is its slice of the same sweep",
    ),
    "graph_rate_window_s": LimitRule(SplitRule.KEEP, "a window length, not a budget"),
    "query_max_size": LimitRule(SplitRule.KEEP, "a page size, not a budget"),
}
"""Known shared limits and their split; a limit not listed here is divided (the conservative default)."""

DEFAULT_RULE = LimitRule(SplitRule.DIVIDE, "an undeclared shared limit: divided evenly (the default)")


@dataclass(frozen=True)
class LimitSplit:
    """One shared limit: the fleet-wide value, the rule applied, and what each shard got."""

    name: str
    total: float
    per_shard: float
    rule: SplitRule
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "total": self.total,
            "per_shard": self.per_shard,
            "rule": self.rule.value,
            "why": self.why,
        }


def split_limit(name: str, total: float, shards: int) -> LimitSplit:
    """Apply the declared rule for ``name`` to a fleet-wide value ``total``."""
    rule = LIMIT_RULES.get(name, DEFAULT_RULE)
    per: float
    if shards == 1 or rule.rule is SplitRule.KEEP:
        per = total
    elif rule.rule is SplitRule.DIVIDE:
        per = total / shards
    elif rule.rule is SplitRule.DIVIDE_INT:
        per = max(1, math.floor(total / shards))
    else:
        per = total * shards
    if isinstance(total, int) and not isinstance(total, bool) and float(per).is_integer():
        per = int(per)
    return LimitSplit(name, total, per, rule.rule, rule.why)


@dataclass(frozen=True)
class Shard:
    """One shard of a run: picklable, and all a worker needs to simulate its devices.

    ``devices`` holds the population indices this shard simulates (``range(index, n, count)``);
    ``limits`` the shard's share of each shared limit (name → value); ``scenario`` the scenario
    object as loaded (it must pickle).
    """

    index: int
    count: int
    seed: int
    devices: range
    limits: Mapping[str, float] = field(default_factory=dict)
    scenario: Any = None
    trace: bool = False
    """Keep every device's trace events (small runs: the report names each device's path)."""
    progress: Any = None
    """Where the world reports progress: anything with ``put((shard_index, devices_done))``."""

    def report(self, devices_done: int) -> None:
        """Tell the runner how many of this shard's devices have finished so far (cheap; call often)."""
        if self.progress is not None:
            self.progress.put((self.index, devices_done))

    @property
    def size(self) -> int:
        return len(self.devices)

    @property
    def shard_seed(self) -> int:
        """A seed for this shard's own randomness, derived from the run seed and the shard index.

        Devices should draw from generators keyed by (run seed, device index) where they can, so the
        population does not depend on the shard count; shard-level randomness (the NAC's jitter, the
        access points) uses this.
        """
        return (self.seed * 1_000_003 + self.index * 7919 + self.count) & 0x7FFF_FFFF


@dataclass(frozen=True)
class ShardPlan:
    """The shards of one run and the limit splits they were given."""

    shards: tuple[Shard, ...]
    splits: tuple[LimitSplit, ...]
    population: int

    @property
    def count(self) -> int:
        return len(self.shards)

    def to_json(self) -> dict[str, Any]:
        return {
            "shards": self.count,
            "population": self.population,
            "partition": "strided: shard k simulates devices k, k+N, k+2N, …",
            "devices_per_shard": [s.size for s in self.shards],
            "limits": [s.to_json() for s in sorted(self.splits, key=lambda s: s.name)],
        }


def shared_limits(scenario: Any) -> dict[str, float]:
    """The fleet-wide limits a scenario declares (``intune.rate_limits``), by name."""
    intune = getattr(scenario, "intune", None)
    limits = getattr(intune, "rate_limits", None)
    if limits is None:
        return {}
    dumped = limits.model_dump() if hasattr(limits, "model_dump") else dict(vars(limits))
    return {str(k): v for k, v in sorted(dumped.items()) if isinstance(v, int | float)}


def partition(population: int, shards: int) -> tuple[range, ...]:
    """Strided ranges that together hold every index of ``range(population)`` exactly once."""
    if shards < 1:
        raise ConfigError(f"shard count must be >= 1, got {shards}", field="shards")
    if population < 0:
        raise ConfigError(f"population must be >= 0, got {population}", field="population")
    return tuple(range(k, population, shards) for k in range(shards))


def plan_shards(
    population: int,
    shards: int,
    *,
    seed: int,
    limits: Mapping[str, float] | None = None,
    scenario: Any = None,
    trace: bool = False,
) -> ShardPlan:
    """Split a run of ``population`` devices into ``shards`` shards (never more shards than devices)."""
    ranges = partition(population, shards)
    if population and shards > population:
        ranges = ranges[:population]
    n = len(ranges)
    splits = tuple(split_limit(name, value, n) for name, value in sorted((limits or {}).items()))
    per = {s.name: s.per_shard for s in splits}
    return ShardPlan(
        shards=tuple(
            Shard(index=i, count=n, seed=seed, devices=r, limits=dict(per), scenario=scenario, trace=trace)
            for i, r in enumerate(ranges)
        ),
        splits=splits,
        population=population,
    )
