"""Run shards over a ``concurrent.futures`` Executor: in-process, local processes, or a Dask cluster.

Every executor is used through the same two calls (``submit`` and ``as_completed``), so the shard
results depend only on the shards, never on who ran them:

* ``inline`` — the current process, one shard after another (one shard, tests, profiling);
* ``processes`` — :class:`concurrent.futures.ProcessPoolExecutor` with ``--workers N`` (N shards, on
  at most one process per CPU);
* ``dask`` — ``distributed.Client(ADDRESS).get_executor()`` with ``--cluster ADDRESS``: the same shards
  on a Dask distributed cluster (its workers must be able to import ``harness``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ConfigError, HarnessFailure
from .shards import Shard

R = TypeVar("R")
_ADDRESS = re.compile(
    r"^(?:(?P<scheme>[A-Za-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s]+):(?P<port>\d{1,5})/?$"
)

ShardRunner = Callable[[Shard], Any]
"""A module-level (picklable) function that simulates one shard and returns its mergeable result."""


class InlineExecutor(Executor):
    """Runs each submitted call at once in this process; the baseline every other executor must match."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


@dataclass(frozen=True)
class ExecutorChoice:
    """Which executor a run asked for, described for the report."""

    kind: str
    workers: int
    address: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "address": self.address}


def choose(workers: int | None = None, cluster: str | None = None) -> ExecutorChoice:
    """Validate the CLI's ``--workers`` / ``--cluster`` and say which executor they mean."""
    if cluster is not None:
        if not cluster.strip():
            raise ConfigError("empty cluster address", field="--cluster")
        scheduler_endpoint(cluster)
        if workers is not None and workers < 1:
            raise ConfigError(f"must be >= 1, got {workers}", field="--workers")
        # --workers with --cluster sets the shard count; the cluster decides where they run.
        return ExecutorChoice("dask", workers or 1, cluster)
    n = 1 if workers is None else workers
    if n < 1:
        raise ConfigError(f"must be >= 1, got {n}", field="--workers")
    return ExecutorChoice("inline" if n == 1 else "processes", n)


@contextmanager
def open_executor(choice: ExecutorChoice) -> Iterator[Executor]:
    """The executor for ``choice``, shut down (and a Dask client closed) on exit."""
    if choice.kind == "inline":
        yield InlineExecutor()
        return
    if choice.kind == "processes":
        # forkserver: workers start clean even when the parent runs threads (the progress display).
        ctx = multiprocessing.get_context("forkserver")
        # never more processes than CPUs: extra shards queue (the results do not depend on it)
        processes = max(1, min(choice.workers, os.cpu_count() or 1))
        with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            yield pool
        return
    if choice.kind == "dask":
        with dask_client(str(choice.address)) as client:
            yield client.get_executor(pure=False)
        return
    raise ConfigError(f"unknown executor kind {choice.kind!r}", field="executor")


def scheduler_endpoint(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a Dask scheduler address (``tcp://host:8786``, ``host:8786``).

    A malformed address is a :class:`ConfigError` naming ``--cluster``.
    """
    m = _ADDRESS.match(address.strip())
    if m is None:
        raise ConfigError(
            f"not a scheduler address: {address!r} (want e.g. tcp://10.0.0.5:8786)", field="--cluster"
        )
    scheme = (m.group("scheme") or "tcp").lower()
    port = int(m.group("port"))
    if scheme not in ("tcp", "tls") or not 0 < port < 65536:
        raise ConfigError(f"not a tcp:// or tls:// scheduler address: {address!r}", field="--cluster")
    return scheme, m.group("host").strip("[]"), port


@contextmanager
def dask_client(address: str, timeout: float = 10.0) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``address``; a clear error when nothing answers there.

    The scheduler's port is tried with a plain TCP connect first: a ``Client`` that fails to
    connect lingers (and blocks interpreter exit) while it gives up, so it is only built for a
    scheduler that answers.
    """
    from distributed import Client

    _scheme, host, port = scheduler_endpoint(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise HarnessFailure(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise HarnessFailure(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def run_shards(
    executor: Executor,
    runner: ShardRunner,
    shards: Sequence[Shard],
    on_done: Callable[[Shard, Any], None] | None = None,
) -> list[Any]:
    """Run every shard on ``executor``; results come back in shard order, whatever order they finished.

    ``on_done(shard, result)`` is called as each shard finishes (progress display).
    """
    futures = {executor.submit(runner, shard): shard for shard in shards}
    results: dict[int, Any] = {}
    try:
        for fut in as_completed(futures):
            shard = futures[fut]
            try:
                result = fut.result()
            except (ImportError, pickle.PicklingError, BrokenExecutor) as exc:
                # the executor, not the simulation, failed: a worker without the project installed,
                # a result that cannot travel back, a worker process that died (out of memory)
                raise HarnessFailure(
                    f"shard {shard.index} of {shard.count} could not run on the executor: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            results[shard.index] = result
            if on_done is not None:
                on_done(shard, result)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return [results[s.index] for s in shards]
