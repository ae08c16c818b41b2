"""Compact recording of the nine-step trace: :class:`harness.model.TraceEvent` without an object each.

A :class:`Trace` keeps events in flat arrays (device index, step, time, interned outcome and detail)
— about 20 bytes an event instead of a few hundred for a dataclass — and builds
:class:`~harness.model.TraceEvent` objects only when asked (:meth:`Trace.events`). Device index
``-1`` is the NAC itself (steps 1–3, recorded once). ``enabled=False`` counts events without keeping
them; ``every=k`` keeps only devices whose population index is a multiple of ``k`` (a deterministic
sample for large runs, the same whichever shard ran the device).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

from ..model import Step, TraceEvent

NAC_DEVICE = -1
"""The device index of events about the NAC itself (onboarding, steps 1–3)."""


class Trace:
    """Append-only event log in arrays; ``events(key_of)`` turns it into TraceEvents."""

    __slots__ = (
        "_at",
        "_detail",
        "_dev",
        "_outcome",
        "_step",
        "_strings",
        "_table",
        "count",
        "enabled",
        "every",
    )

    def __init__(self, enabled: bool = True, every: int = 1) -> None:
        self.enabled = enabled
        self.every = max(1, every)
        self.count = 0
        self._dev = array("q")
        self._step = bytearray()
        self._at = array("d")
        self._outcome = array("I")
        self._detail = array("I")
        self._table: dict[str, int] = {"": 0}
        self._strings: list[str] = [""]

    def _intern(self, text: str) -> int:
        code = self._table.get(text)
        if code is None:
            code = self._table[text] = len(self._strings)
            self._strings.append(text)
        return code

    def record(self, device: int, step: Step, at: float, outcome: str, detail: str = "") -> None:
        """Note that ``device`` did ``step`` at simulated time ``at`` with ``outcome``."""
        self.count += 1
        if not self.enabled or (device >= 0 and device % self.every):
            return
        self._dev.append(device)
        self._step.append(step)
        self._at.append(at)
        self._outcome.append(self._intern(outcome))
        self._detail.append(self._intern(detail))

    def __len__(self) -> int:
        return len(self._dev)

    def events(self, key_of: Callable[[int], str]) -> Iterator[TraceEvent]:
        """The kept events in recording order; ``key_of(index)`` names each device."""
        s = self._strings
        for n in range(len(self._dev)):
            yield TraceEvent(
                device=key_of(self._dev[n]),
                step=Step(self._step[n]),
                at=self._at[n],
                outcome=s[self._outcome[n]],
                detail=s[self._detail[n]],
            )

    def path(self, device: int) -> list[tuple[Step, float, str]]:
        """One device's (step, time, outcome) walk, in order."""
        s = self._strings
        return [
            (Step(self._step[n]), self._at[n], s[self._outcome[n]])
            for n in range(len(self._dev))
            if self._dev[n] == device
        ]
