"""Merging shard results: deterministic and independent of completion order."""

from __future__ import annotations

import itertools

import pytest
from fake_world import run_shard

from harness.errors import HarnessFailure
from harness.load.merge import merge_results
from harness.load.shards import plan_shards


def test_merge_is_order_independent() -> None:
    plan = plan_shards(120, 3, seed=7, limits={"requests_per_minute": 6})
    results = [(s.index, run_shard(s)) for s in plan.shards]
    merged = [merge_results(list(p)) for p in itertools.permutations(results)]
    assert all(m == merged[0] for m in merged)
    assert merged[0].devices == 120
    assert sum(merged[0].outcomes.values()) == 120  # every device ends with one outcome
    assert merged[0].throttled  # the split budget really throttled something


def test_merge_refuses_duplicates_and_nothing() -> None:
    plan = plan_shards(10, 2, seed=1)
    r = run_shard(plan.shards[0])
    with pytest.raises(HarnessFailure, match="duplicate"):
        merge_results([(0, r), (0, r)])
    with pytest.raises(HarnessFailure, match="no shard results"):
        merge_results([])
