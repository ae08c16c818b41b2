"""Shard planning: the shards partition the population and split the shared limits as declared."""

from __future__ import annotations

import pickle

import pytest

from harness.errors import ConfigError
from harness.load.shards import LIMIT_RULES, SplitRule, partition, plan_shards, split_limit


@pytest.mark.parametrize(("population", "shards"), [(0, 1), (1, 1), (10, 3), (50, 2), (1001, 7), (5, 8)])
def test_shards_partition_the_population(population: int, shards: int) -> None:
    plan = plan_shards(population, shards, seed=1)
    seen = [i for s in plan.shards for i in s.devices]
    assert sorted(seen) == list(range(population))
    assert len(seen) == len(set(seen))
    assert plan.count == min(shards, max(population, shards if population == 0 else population))
    sizes = [s.size for s in plan.shards]
    assert max(sizes) - min(sizes) <= 1


def test_strided_partition_spreads_each_shard_over_the_whole_population() -> None:
    ranges = partition(100, 4)
    assert ranges[1][:3] == range(1, 100, 4)[:3]
    assert all(r[-1] >= 96 for r in ranges)


def test_bad_shard_count_names_the_field() -> None:
    with pytest.raises(ConfigError, match="shards"):
        partition(10, 0)


def test_budgets_are_divided_and_intervals_kept() -> None:
    plan = plan_shards(
        1000,
        4,
        seed=3,
        limits={"graph_rate_limit": 2000, "broad_query_interval_s": 14400.0, "requests_per_second": 10.0},
    )
    per = plan.shards[0].limits
    assert per["graph_rate_limit"] == 500
    assert per["requests_per_second"] == 2.5
    assert per["broad_query_interval_s"] == 14400.0
    doc = plan.to_json()
    assert [lim["name"] for lim in doc["limits"]] == sorted(
        ["graph_rate_limit", "broad_query_interval_s", "requests_per_second"]
    )
    assert all(lim["why"] for lim in doc["limits"])
    assert doc["devices_per_shard"] == [250, 250, 250, 250]


def test_unknown_limits_are_divided_and_integer_budgets_never_reach_zero() -> None:
    assert split_limit("mystery_budget", 9.0, 3).per_shard == 3.0
    assert split_limit("graph_rate_limit", 3, 8).per_shard == 1
    assert LIMIT_RULES["graph_rate_limit"].rule is SplitRule.DIVIDE_INT
    assert split_limit("graph_rate_limit", 2000, 1).per_shard == 2000


def test_shards_pickle_and_carry_distinct_seeds() -> None:
    plan = plan_shards(100, 3, seed=42, limits={"graph_rate_limit": 30})
    again = pickle.loads(pickle.dumps(plan.shards))
    assert again == plan.shards
    assert len({s.shard_seed for s in plan.shards}) == 3
