"""``results.json``: a simulation run's numbers in one canonical document.

Canonical means: sorted keys, fixed float rounding, no timestamps, wall times, host names or
executor details inside — so the same scenario, seed and shard count give byte-identical files
whichever machine or executor ran them. Wall time and executor go to the HTML report and the CLI
summary, never here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import HarnessFailure

SCHEMA = "nac-harness/simulation-results/1"
CDF_POINTS = 200
"""The time-to-access CDF is kept as this many quantile points (enough for a smooth plot)."""
PATHS_LIMIT = 200
"""``without_earned_access.devices`` lists at most this many device keys (the count is exact)."""

GRANTED = ("allow",)
REDIRECTED = ("enroll_redirect", "remediate_redirect")
DENIED = ("deny", "mdm_unreachable")


@dataclass(frozen=True)
class Aggregates:
    """The numbers a report needs from a (merged) world result, in plain types.

    Keys are strings and minutes ints so they serialise canonically:

    * ``outcomes`` — each device's final decision (``harness.model.Decision`` value) → devices;
    * ``time_to_access`` — seconds from first connect (step 4) to connected (step 9), one per device
      that got access;
    * ``intune_calls`` / ``throttled`` / ``coas`` — (kind, simulated minute) → count;
    * ``states`` — (simulated minute, device state) → devices in that state at that minute;
    * ``without_access`` — keys of devices that earned access (compliant by the end) yet ended without it.
    """

    devices: int
    outcomes: Mapping[str, int]
    time_to_access: Sequence[float]
    remediations: int
    intune_calls: Mapping[tuple[str, int], int]
    throttled: Mapping[tuple[str, int], int]
    coas: Mapping[tuple[str, int], int]
    states: Mapping[tuple[int, str], int]
    without_access: Sequence[str]
    events: int = 0
    decisions: Mapping[str, int] = field(default_factory=dict)
    """Every decision the NAC made (a device may get several) by ``Decision`` value."""


def aggregates_of(result: Any) -> Aggregates:
    """Read a (merged) world result into :class:`Aggregates`.

    A result that offers ``aggregates()`` is asked; otherwise the attributes named like the fields
    of :class:`Aggregates` are read. A missing one is a harness failure naming it.
    """
    if isinstance(result, Aggregates):
        return result
    if hasattr(result, "aggregates"):
        agg = result.aggregates()
        if isinstance(agg, Aggregates):
            return agg
        result = agg
    values: dict[str, Any] = {}
    missing = []
    for f in fields(Aggregates):
        if hasattr(result, f.name):
            values[f.name] = getattr(result, f.name)
        elif f.default is MISSING and f.default_factory is MISSING:
            missing.append(f.name)
    if missing:
        raise HarnessFailure(f"world result {type(result).__name__} lacks {', '.join(missing)}")
    return Aggregates(**values)


def _r(x: float) -> float:
    """Round to microseconds-of-a-second precision: stable across platforms and merge orders."""
    v = round(float(x), 6)
    return 0.0 if v == 0 else v


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (``None`` for no values)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return _r(sorted_values[min(rank, len(sorted_values)) - 1])


def cdf_points(sorted_values: Sequence[float], points: int = CDF_POINTS) -> list[list[float]]:
    """``[[seconds, fraction], …]`` at evenly spaced fractions: a compact empirical CDF."""
    n = len(sorted_values)
    if n == 0:
        return []
    if n <= points:
        return [[_r(v), _r((i + 1) / n)] for i, v in enumerate(sorted_values)]
    out = []
    for k in range(1, points + 1):
        idx = math.ceil(k * n / points) - 1
        out.append([_r(sorted_values[idx]), _r((idx + 1) / n)])
    return out


def _by_kind(counter: Mapping[tuple[str, int], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (kind, _minute), n in counter.items():
        out[str(kind)] = out.get(str(kind), 0) + int(n)
    return dict(sorted(out.items()))


def _per_minute(counter: Mapping[tuple[str, int], int]) -> dict[str, list[list[int]]]:
    series: dict[str, dict[int, int]] = {}
    for (kind, minute), n in counter.items():
        m = series.setdefault(str(kind), {})
        m[int(minute)] = m.get(int(minute), 0) + int(n)
    return {k: [[m, n] for m, n in sorted(v.items())] for k, v in sorted(series.items())}


def _states(counter: Mapping[tuple[int, str], int]) -> dict[str, list[list[int]]]:
    series: dict[str, dict[int, int]] = {}
    for (minute, state), n in counter.items():
        m = series.setdefault(str(state), {})
        m[int(minute)] = m.get(int(minute), 0) + int(n)
    return {k: [[m, n] for m, n in sorted(v.items())] for k, v in sorted(series.items())}


def access_counts(outcomes: Mapping[str, int]) -> dict[str, int]:
    """Devices by final decision group: granted, redirected, denied, and no decision at all.

    ``denied`` holds ``deny`` and ``mdm_unreachable``; a device whose walk never reached a decision
    (no access point took it, the run ended first) or a value outside the groups is ``no_decision``.
    """
    known = set(GRANTED) | set(REDIRECTED) | set(DENIED)
    return {
        "granted": sum(outcomes.get(k, 0) for k in GRANTED),
        "redirected": sum(outcomes.get(k, 0) for k in REDIRECTED),
        "denied": sum(outcomes.get(k, 0) for k in DENIED),
        "no_decision": sum(n for k, n in outcomes.items() if k not in known),
    }


def decision_counts(decisions: Mapping[str, int]) -> dict[str, Any]:
    """Decisions the NAC made, by group (a device redirected then allowed counts in both)."""
    return {
        "total": sum(int(n) for n in decisions.values()),
        "granted": sum(decisions.get(k, 0) for k in GRANTED),
        "redirected": sum(decisions.get(k, 0) for k in REDIRECTED),
        "denied": sum(decisions.get(k, 0) for k in DENIED),
        "by_decision": {str(k): int(v) for k, v in sorted(decisions.items())},
    }


def build_results(
    agg: Aggregates,
    *,
    scenario: Mapping[str, Any],
    seed: int,
    shards: Mapping[str, Any],
) -> dict[str, Any]:
    """The results document for one run (plain JSON types, canonical once dumped by :func:`dumps`)."""
    tta = sorted(float(x) for x in agg.time_to_access)
    without = sorted(str(d) for d in agg.without_access)
    return {
        "schema": SCHEMA,
        "scenario": dict(scenario),
        "seed": int(seed),
        "shards": dict(shards),
        "devices": int(agg.devices),
        "access": access_counts(agg.outcomes),
        "outcomes": {str(k): int(v) for k, v in sorted(agg.outcomes.items())},
        "decisions": decision_counts(agg.decisions),
        "time_to_access_s": {
            "count": len(tta),
            "p50": percentile(tta, 50),
            "p95": percentile(tta, 95),
            "p99": percentile(tta, 99),
            "max": _r(tta[-1]) if tta else None,
            "mean": _r(math.fsum(tta) / len(tta)) if tta else None,
            "cdf": cdf_points(tta),
        },
        "remediations": int(agg.remediations),
        "intune_calls": {
            "total": sum(int(n) for n in agg.intune_calls.values()),
            "by_kind": _by_kind(agg.intune_calls),
            "per_minute": _per_minute(agg.intune_calls),
        },
        "throttled": {
            "total": sum(int(n) for n in agg.throttled.values()),
            "by_kind": _by_kind(agg.throttled),
            "per_minute": _per_minute(agg.throttled),
        },
        "coa": {
            "total": sum(int(n) for n in agg.coas.values()),
            "by_kind": _by_kind(agg.coas),
            "per_minute": _per_minute(agg.coas),
        },
        "states_over_time": {"interval_s": 60, "series": _states(agg.states)},
        "without_earned_access": {"count": len(without), "devices": without[:PATHS_LIMIT]},
        "events": int(agg.events),
    }


def dumps(results: Mapping[str, Any]) -> str:
    """Canonical JSON text: sorted keys, two-space indent, ASCII, trailing newline."""
    return json.dumps(results, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n"


def write_results(results: Mapping[str, Any], out_dir: Path) -> Path:
    """Write ``results.json`` into ``out_dir`` (bytes depend only on ``results``)."""
    path = out_dir / "results.json"
    path.write_bytes(dumps(results).encode("ascii"))
    return path


def load_results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="ascii"))
    return data


def merged_counter(items: Iterable[tuple[Any, int]]) -> dict[Any, int]:
    """Sum ``(key, n)`` pairs into a dict (helper for adapters building :class:`Aggregates`)."""
    out: dict[Any, int] = {}
    for k, n in items:
        out[k] = out.get(k, 0) + n
    return out
