"""Same seed and shard count → same results.json bytes, whichever executor ran the shards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_world import run_shard

from harness.load.executors import ExecutorChoice, choose
from harness.load.run import run_simulation
from harness.report.sim_results import aggregates_of, build_results, dumps

LIMITS = {"requests_per_minute": 8}


def results_bytes(choice: ExecutorChoice, progress: list[tuple[int, int]] | None = None) -> bytes:
    out = run_simulation(
        run_shard,
        population=160,
        seed=11,
        choice=choice,
        limits=LIMITS,
        on_progress=(lambda d, t: progress.append((d, t))) if progress is not None else None,
    )
    doc = build_results(
        aggregates_of(out.result), scenario={"name": "fake"}, seed=11, shards=out.plan.to_json()
    )
    return dumps(doc).encode()


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        yield cluster


def test_choose_maps_flags_to_executors() -> None:
    assert choose().kind == "inline"
    assert choose(workers=3) == ExecutorChoice("processes", 3)
    assert choose(cluster="tcp://127.0.0.1:1") == ExecutorChoice("dask", 1, "tcp://127.0.0.1:1")
    assert choose(workers=4, cluster="tcp://h:1").workers == 4


def test_process_pool_and_dask_local_cluster_give_the_same_bytes(dask_cluster: Any) -> None:
    progress: list[tuple[int, int]] = []
    pool = results_bytes(ExecutorChoice("processes", 2), progress)
    dask_progress: list[tuple[int, int]] = []
    dask = results_bytes(ExecutorChoice("dask", 2, dask_cluster.scheduler_address), dask_progress)
    assert pool == dask
    assert progress and progress[-1] == (160, 160)
    assert dask_progress and dask_progress[-1] == (160, 160)
    assert b'"shards": 2' in pool


def test_shard_count_changes_the_limits_each_shard_saw() -> None:
    one = results_bytes(ExecutorChoice("inline", 1))
    two_inline = results_bytes(ExecutorChoice("inline", 2))
    two_pool = results_bytes(ExecutorChoice("processes", 2))
    assert two_inline == two_pool
    assert one != two_inline  # the split budget throttles differently: the test can fail


def test_unreachable_cluster_is_a_clear_harness_failure() -> None:
    import socket

    from harness.errors import HarnessFailure
    from harness.load.executors import dask_client

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        pytest.raises(HarnessFailure, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"),
        dask_client(f"tcp://127.0.0.1:{port}", timeout=1.0),
    ):
        pass


def test_a_failing_shard_fails_the_run() -> None:
    from harness.load.executors import InlineExecutor, run_shards
    from harness.load.shards import plan_shards

    def boom(shard: object) -> None:
        raise RuntimeError("shard exploded")

    with pytest.raises(RuntimeError, match="shard exploded"):
        run_shards(InlineExecutor(), boom, plan_shards(4, 2, seed=1).shards)


def real_results(choice: ExecutorChoice, progress: list[tuple[int, int]] | None = None) -> bytes:
    """``small-office`` through the product's SimPy world, as ``nac-harness simulate`` runs it."""
    from pathlib import Path

    from harness.load.shards import shared_limits
    from harness.scenario import load_scenario
    from harness.sim.world import run_shard as world_shard

    path = Path(__file__).resolve().parent.parent.parent / "scenarios" / "small-office.yaml"
    sc = load_scenario(path)
    out = run_simulation(
        world_shard,
        population=sc.population.size,
        seed=sc.seed,
        choice=choice,
        limits=shared_limits(sc),
        scenario=sc,
        trace=True,
        on_progress=(lambda d, t: progress.append((d, t))) if progress is not None else None,
    )
    doc = build_results(
        aggregates_of(out.result),
        scenario={"name": sc.name, "file": path.name},
        seed=sc.seed,
        shards=out.plan.to_json(),
    )
    return dumps(doc).encode()


def test_real_world_same_bytes_on_process_pool_and_dask(dask_cluster: Any) -> None:
    pool_progress: list[tuple[int, int]] = []
    dask_progress: list[tuple[int, int]] = []
    pool = real_results(ExecutorChoice("processes", 2), pool_progress)
    dask = real_results(ExecutorChoice("dask", 2, dask_cluster.scheduler_address), dask_progress)
    inline = real_results(ExecutorChoice("inline", 2))
    assert pool == dask == inline
    # the world's own progress reports travel back from the workers while the shards run
    for seen in (pool_progress, dask_progress):
        assert seen[-1] == (50, 50)
        assert len({d for d, _ in seen}) > 3, seen
    assert b'"devices": 50' in pool and b'"graph_requests"' in pool


def _unimportable(shard: object) -> None:
    import harness_world_that_is_not_installed  # type: ignore[import-not-found]  # noqa: F401


def test_a_worker_that_cannot_import_the_world_is_a_harness_failure() -> None:
    from harness.errors import HarnessFailure
    from harness.load.executors import InlineExecutor, run_shards
    from harness.load.shards import plan_shards

    with pytest.raises(
        HarnessFailure, match="shard 0 of 1 could not run on the executor: ModuleNotFoundError"
    ):
        run_shards(InlineExecutor(), _unimportable, plan_shards(4, 1, seed=1).shards)
