"""The load runner's entry point: shards, their limits, progress, and a wrong partition refused."""

from __future__ import annotations

import pytest
from sim_rig import scenario

from harness.errors import HarnessFailure
from harness.load.shards import Shard, plan_shards, shared_limits
from harness.sim.runner import mock_config
from harness.sim.world import run_shard


class Progress:
    def __init__(self) -> None:
        self.items: list[tuple[int, int]] = []

    def put(self, item: tuple[int, int]) -> None:
        self.items.append(item)


def test_run_shard_reports_progress_and_uses_the_shard_limits() -> None:
    sc = scenario(
        population={"size": 120},
        arrival={"start": "08:00", "end": "09:00", "shape": "uniform"},
        duration="10h",
    )
    plan = plan_shards(120, 2, seed=sc.seed, limits=shared_limits(sc), scenario=sc)
    progress = Progress()
    shard = Shard(**{**plan.shards[1].__dict__, "progress": progress})
    r = run_shard(shard)
    assert r.devices == 60 and r.shards == 2
    assert progress.items[-1] == (1, 60)
    assert all(done <= 60 for _, done in progress.items) and len(progress.items) > 2
    assert shard.limits["graph_requests"] == 1000
    assert mock_config(sc, 2, shard.limits).graph_rate_limit == 1000
    assert mock_config(sc, 4).graph_rate_limit == 500


def test_a_shard_with_the_wrong_devices_is_refused() -> None:
    sc = scenario(population={"size": 10})
    bad = Shard(index=0, count=2, seed=sc.seed, devices=range(0, 10), scenario=sc)
    with pytest.raises(HarnessFailure, match="expected"):
        run_shard(bad)


def test_a_seed_override_reaches_the_world() -> None:
    sc = scenario(
        population={"size": 5},
        arrival={"start": "08:00", "end": "09:00", "shape": "uniform"},
        timings={"association": {"dist": "lognormal", "median": 1, "sigma": 0.5}},
    )
    a = run_shard(Shard(index=0, count=1, seed=sc.seed, devices=range(5), scenario=sc))
    b = run_shard(Shard(index=0, count=1, seed=sc.seed + 1, devices=range(5), scenario=sc))
    assert a.seed != b.seed and a.traces != b.traces
