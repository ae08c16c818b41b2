"""Timed per-device chores of connected devices: Intune check-ins, compliance drift, departure.

A connected device must check in with Intune on Intune's cadence (every 15 minutes in the first hour
after enrollment, then every 8 hours: :func:`mock_intune.compliance.next_checkin`), may drift out of
compliance during the day, and may leave. A SimPy process per device for that would hold a generator
frame per device for the whole day (about a kilobyte each), so the world keeps one :class:`Agenda`
instead: chores bucketed by the whole second they fall due (8 bytes a chore), run by a single process.
A chore runs at the first whole second at or after its due time.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable, Generator
from enum import IntEnum
from typing import Any

import simpy

from mock_intune import compliance

FAST_INTERVAL_S = compliance.CHECKIN_FAST.total_seconds()
FAST_WINDOW_S = compliance.CHECKIN_FAST_WINDOW.total_seconds()
NORMAL_INTERVAL_S = compliance.CHECKIN_NORMAL.total_seconds()


class Chore(IntEnum):
    CHECKIN = 0
    DRIFT = 1
    DEPART = 2


def next_checkin_s(enrolled_at: float | None, now: float) -> float:
    """Simulated seconds of the next check-in after ``now``: Intune's cadence, in seconds.

    The same rule as :func:`mock_intune.compliance.next_checkin` (which works on datetimes);
    ``tests/sim/test_checkins.py`` holds them equal.
    """
    if enrolled_at is not None and enrolled_at == enrolled_at and now - enrolled_at < FAST_WINDOW_S:
        return now + FAST_INTERVAL_S
    return now + NORMAL_INTERVAL_S


class Agenda:
    """Chores ``(slot, Chore)`` due at simulated times, run by one SimPy process calling ``handle``."""

    def __init__(self, env: simpy.Environment, handle: Callable[[int, Chore], None]) -> None:
        self.env = env
        self.handle = handle
        self._buckets: dict[int, array[int]] = {}
        self._heap: list[int] = []
        self._target = math.inf
        self._wake: simpy.Event = env.event()
        self.pending = 0
        self.done = 0
        self.process = env.process(self._run())

    def schedule(self, at: float, slot: int, chore: Chore) -> int:
        """Run ``chore`` for ``slot`` at the first whole second at or after ``at``; returns that second."""
        key = max(math.ceil(at), math.ceil(self.env.now))
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = array("q")
            heapq.heappush(self._heap, key)
        bucket.append(slot * 4 + chore)
        self.pending += 1
        if key < self._target and not self._wake.triggered:
            self._wake.succeed()
        return key

    def _run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            if not self._heap:
                self._target = math.inf
                self._wake = env.event()
                yield self._wake
                continue
            key = self._heap[0]
            if key > env.now:
                self._target = key
                self._wake = env.event()
                yield self._wake | env.timeout(key - env.now)
                continue
            heapq.heappop(self._heap)
            bucket = self._buckets.pop(key)
            self._target = math.inf
            handle = self.handle
            for code in bucket:
                self.pending -= 1
                self.done += 1
                handle(code >> 2, Chore(code & 3))
