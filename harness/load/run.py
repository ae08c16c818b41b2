"""One sharded simulation run: plan the shards, run them on an executor, merge, keep the wall time.

This is the library call under ``nac-harness simulate``; the CLI only adds files and display.
Progress: the world calls ``shard.report(devices_done)`` now and then; in-process runs deliver it
directly, process-pool runs through a ``multiprocessing.Manager`` queue and Dask runs through a
``distributed.Queue``, each drained by a thread here into ``on_progress(done, total)``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from .executors import ExecutorChoice, InlineExecutor, ShardRunner, open_executor, run_shards
from .merge import merge_results
from .shards import Shard, ShardPlan, plan_shards

ProgressFn = Callable[[int, int], None]
"""``on_progress(devices_done, devices_total)``."""


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its plan, the merged world result, and how it ran (not part of results.json)."""

    plan: ShardPlan
    result: Any
    executor: ExecutorChoice
    wall_s: float


class _Tally:
    """Latest ``devices_done`` per shard → a running total for the progress display."""

    def __init__(self, total: int, on_progress: ProgressFn | None) -> None:
        self.total = total
        self.done: dict[int, int] = {}
        self.on_progress = on_progress
        self.lock = threading.Lock()

    def put(self, item: tuple[int, int]) -> None:
        index, done = item
        with self.lock:
            self.done[index] = max(done, self.done.get(index, 0))
            total_done = sum(self.done.values())
        if self.on_progress is not None:
            self.on_progress(min(total_done, self.total), self.total)


@contextmanager
def _drain(source: Any, tally: _Tally, get: Callable[[Any], Any]) -> Iterator[None]:
    """Move progress items from ``source`` into ``tally`` on a thread until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                item = get(source)
            except (queue.Empty, TimeoutError):
                continue
            except (EOFError, OSError, RuntimeError):  # the manager or client went away
                return
            if item is not None:
                tally.put(item)

    t = threading.Thread(target=loop, name="progress-drain", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=2)


def run_simulation(
    runner: ShardRunner,
    *,
    population: int,
    seed: int,
    choice: ExecutorChoice,
    limits: Mapping[str, float] | None = None,
    scenario: Any = None,
    trace: bool = False,
    on_progress: ProgressFn | None = None,
) -> RunOutcome:
    """Plan ``choice.workers`` shards, run them with ``runner`` on the chosen executor, merge."""
    plan = plan_shards(population, choice.workers, seed=seed, limits=limits, scenario=scenario, trace=trace)
    tally = _Tally(population, on_progress)

    def shard_done(shard: Shard, _result: Any) -> None:
        tally.put((shard.index, shard.size))

    start = time.perf_counter()
    with open_executor(choice) as executor:
        if isinstance(executor, InlineExecutor):
            shards = [replace(s, progress=tally) for s in plan.shards]
            results = run_shards(executor, runner, shards, shard_done)
        elif choice.kind == "processes":
            import multiprocessing

            with multiprocessing.get_context("forkserver").Manager() as manager:
                q = manager.Queue()
                shards = [replace(s, progress=q) for s in plan.shards]
                with _drain(q, tally, lambda src: src.get(timeout=0.2)):
                    results = run_shards(executor, runner, shards, shard_done)
        else:
            from distributed import Queue as DaskQueue

            client = executor._client  # type: ignore[attr-defined]
            dq = DaskQueue(client=client)
            shards = [replace(s, progress=dq) for s in plan.shards]
            with _drain(dq, tally, lambda src: src.get(timeout=0.5)):
                results = run_shards(executor, runner, shards, shard_done)
    merged = merge_results([(s.index, r) for s, r in zip(plan.shards, results, strict=True)])
    return RunOutcome(plan=plan, result=merged, executor=choice, wall_s=time.perf_counter() - start)
