"""Time as a dependency: the mock reads ``now`` from an injected clock, never from the wall directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock a test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class ScaledClock:
    """Wall time sped up by ``factor`` from a shared origin.

    A served mock with several worker processes uses one of these with the same ``origin_wall``
    (seconds since the epoch) and ``origin`` in every worker, so all workers agree on ``now``; a
    NAC configured for "8-hour check-ins" then sees them every ``8 h / factor`` of wall time.
    """

    def __init__(self, factor: float, origin: datetime, origin_wall: float | None = None) -> None:
        if factor <= 0:
            raise ValueError(f"time scale must be > 0, got {factor}")
        self.factor = factor
        self.origin = origin
        self.origin_wall = time.time() if origin_wall is None else origin_wall

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.time() - self.origin_wall) * self.factor)
