"""What one world run (one shard) hands back: plain, picklable, mergeable numbers.

:class:`WorldResult` carries the fields the load report reads (``harness.report.sim_results.
Aggregates``: devices, outcomes, time_to_access, remediations, intune_calls, throttled, coas, states,
without_access, events) plus the world's own counters, and — for small runs — the kept trace
(``traces``: every :class:`~harness.model.TraceEvent`, i.e. each device's path through the nine
steps). :meth:`WorldResult.merge` sums counters and concatenates samples, so merging is associative
and commutative on every aggregate.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model import TraceEvent


def _add(a: Mapping[object, int], b: Mapping[object, int]) -> dict[object, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


@dataclass
class WorldResult:
    """The numbers of one shard's run (or of several, merged)."""

    scenario: str
    seed: int
    shards: int
    devices: int
    outcomes: dict[str, int] = field(default_factory=dict)
    """Each device's final decision (``Decision`` value, or ``no_decision``) → devices."""
    time_to_access: array[float] = field(default_factory=lambda: array("d"))
    """Seconds from first connect (step 4) to connected (step 9), one per device that got access."""
    remediations: int = 0
    intune_calls: dict[tuple[str, int], int] = field(default_factory=dict)
    """(kind, simulated minute) → NAC calls to Intune."""
    throttled: dict[tuple[str, int], int] = field(default_factory=dict)
    coas: dict[tuple[str, int], int] = field(default_factory=dict)
    """(CoA kind, simulated minute) → CoA / Disconnect messages the APs received."""
    states: dict[tuple[int, str], int] = field(default_factory=dict)
    """(simulated minute, device state) → devices in that state at the start of that minute."""
    without_access: list[str] = field(default_factory=list)
    """Devices that earned access (enrolled and compliant in Intune at the end) yet ended without it."""
    events: int = 0
    """Trace events recorded (kept or not)."""
    decisions: dict[str, int] = field(default_factory=dict)
    """Every decision the NAC made (a device may get several) by ``Decision`` value."""
    counters: dict[str, int] = field(default_factory=dict)
    """arrived, connected, enrollments, checkins, drifts, coa_stale, ap_full, …"""
    left: dict[str, int] = field(default_factory=dict)
    """Why devices ended without access → devices."""
    traces: list[TraceEvent] = field(default_factory=list)
    """Kept trace events (small runs): every device's walk through the nine steps."""

    def merge(self, other: WorldResult) -> WorldResult:
        """This result and ``other`` as one (sums and concatenations)."""
        tta = array("d", self.time_to_access)
        tta.extend(other.time_to_access)
        return WorldResult(
            scenario=self.scenario,
            seed=self.seed,
            shards=max(self.shards, other.shards),
            devices=self.devices + other.devices,
            outcomes=_add(self.outcomes, other.outcomes),  # type: ignore[arg-type]
            time_to_access=tta,
            remediations=self.remediations + other.remediations,
            intune_calls=_add(self.intune_calls, other.intune_calls),  # type: ignore[arg-type]
            throttled=_add(self.throttled, other.throttled),  # type: ignore[arg-type]
            coas=_add(self.coas, other.coas),  # type: ignore[arg-type]
            states=_add(self.states, other.states),  # type: ignore[arg-type]
            without_access=sorted(self.without_access + other.without_access),
            events=self.events + other.events,
            decisions=_add(self.decisions, other.decisions),  # type: ignore[arg-type]
            counters=_add(self.counters, other.counters),  # type: ignore[arg-type]
            left=_add(self.left, other.left),  # type: ignore[arg-type]
            traces=self.traces + other.traces,
        )

    def paths(self) -> dict[str, list[tuple[int, float, str]]]:
        """Each traced device's walk: device key → [(step, time, outcome), …] in time order."""
        out: dict[str, list[tuple[int, float, str]]] = {}
        for e in sorted(self.traces, key=lambda e: (e.device, e.at, int(e.step))):
            out.setdefault(e.device, []).append((int(e.step), e.at, e.outcome))
        return out
