"""What the load runner needs from the world: a per-shard entry point and a mergeable result.

The SimPy world (``harness.sim``) owns the simulation; the load layer only shards, runs and merges.
The contract between them:

* an entry point ``run_shard(shard: Shard) -> WorldResult`` at module level (so it pickles by
  reference to process-pool and Dask workers), simulating only ``shard.devices`` of the population
  against ``shard.limits``; and
* a picklable ``WorldResult`` with ``merge(other) -> WorldResult``: merging is associative and
  commutative on every aggregate (sums of counters, unions of per-device records keyed by device), so
  ``merge.merge_results`` gives the same answer whatever order the shards finished in.

The report reads the merged result through :func:`harness.report.sim_results.build_results`.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

T = TypeVar("T", bound="Mergeable")


@runtime_checkable
class Mergeable(Protocol):
    """A shard result the load layer can fold: ``a.merge(b)`` is a new result holding both."""

    def merge(self: T, other: T) -> T: ...
