"""A SimPy environment paced by the wall clock, safe to drive from server threads.

The decision service behind FreeRADIUS answers requests on server threads while the NAC's own
processes (polling the noncompliant list, back-off timers) live in a SimPy environment. Each call
first brings the environment up to "now" (wall time since start × ``factor``, the declared
speed-up) under one lock, so a NAC reads ``env.now`` as the scaled wall time; a ticker thread keeps
timers firing between requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import simpy

T = TypeVar("T")


class WallPacedEnvironment:
    """``env`` advanced to the scaled wall time on every :meth:`call` and by a ticker thread."""

    def __init__(
        self, factor: float = 1.0, tick_s: float = 0.05, clock: Callable[[], float] = time.monotonic
    ):
        if factor <= 0:
            raise ValueError(f"speed-up factor must be > 0, got {factor}")
        self.env = simpy.Environment()
        self.factor = factor
        self.tick_s = tick_s
        self._clock = clock
        self._origin = clock()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def virtual_now(self) -> float:
        return (self._clock() - self._origin) * self.factor

    def advance(self) -> None:
        """Process every event due by the scaled wall time and move ``env.now`` there."""
        with self._lock:
            target = self.virtual_now()
            if target > self.env.now:
                self.env.run(until=target)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` with the environment current and nothing else touching it."""
        with self._lock:
            self.advance()
            return fn()

    def start(self) -> WallPacedEnvironment:
        def tick() -> None:
            while not self._stop.wait(self.tick_s):
                self.advance()

        self._thread = threading.Thread(target=tick, name="wall-paced-env", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
