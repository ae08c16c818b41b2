"""Timed per-device chores of connected devices: Intune check-ins, compliance drift, departure.

A connected device must check in with Intune on Intune's cadence (every 15 minutes in the first hour
after enrollment, then every 8 hours: :func:`mock_intune.compliance.next_checkin`), may drift out of
compliance during the day, and may leave. A SimPy process per device for that would hold a generator
frame per device for the whole day (about a kilobyte each), so the world keeps one :class:`Agenda`
instead: chores bucketed by the whole second they fall due (8 bytes a chore), one SimPy timeout per
bucket.
A chore runs at the first whole second at or after its due time.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from enum import IntEnum
from typing import cast

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
    """Chores ``(slot, Chore)`` due at simulated times; ``handle(slot, chore)`` runs each when due.

    One SimPy timeout per distinct due second (not per chore, not per device), whose callback runs
    that second's chores in the order they were scheduled — no process, no queue of its own.
    """

    def __init__(self, env: simpy.Environment, handle: Callable[[int, Chore], None]) -> None:
        self.env = env
        self.handle = handle
        self._buckets: dict[int, array[int]] = {}
        self.pending = 0
        self.done = 0

    def schedule(self, at: float, slot: int, chore: Chore) -> int:
        """Run ``chore`` for ``slot`` at the first whole second at or after ``at``; returns that second."""
        env = self.env
        key = max(math.ceil(at), math.ceil(env.now))
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = array("q")
            due = env.timeout(key - env.now, key)
            due.callbacks.append(self._due)  # type: ignore[union-attr]
        bucket.append(slot * 4 + chore)
        self.pending += 1
        return key

    def _due(self, event: simpy.Event) -> None:
        bucket = self._buckets.pop(cast(int, event.value))  # the timeout's value is its second
        handle = self.handle
        self.pending -= len(bucket)
        self.done += len(bucket)
        for code in bucket:
            handle(code >> 2, Chore(code & 3))
