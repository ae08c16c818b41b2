"""Merge shard results into one run result, deterministically and whatever order they arrived in.

Shard results are folded in shard-index order (never completion order), and the result types merge
with sums and keyed unions, so the merged aggregates — and the ``results.json`` written from them —
are byte-identical for the same seed and shard count whichever executor ran the shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import HarnessFailure


def merge_results(results: Sequence[tuple[int, Any]]) -> Any:
    """Fold ``(shard_index, result)`` pairs into one result, in shard-index order.

    Each result must offer ``merge(other)`` (see :mod:`harness.load.protocol`).
    """
    if not results:
        raise HarnessFailure("no shard results to merge")
    indices = [i for i, _ in results]
    if len(set(indices)) != len(indices):
        raise HarnessFailure(f"duplicate shard results: {sorted(indices)}")
    ordered = [r for _, r in sorted(results, key=lambda pair: pair[0])]
    merged = ordered[0]
    for other in ordered[1:]:
        if not hasattr(merged, "merge"):
            raise HarnessFailure(f"shard result {type(merged).__name__} has no merge(other)")
        merged = merged.merge(other)
    return merged
