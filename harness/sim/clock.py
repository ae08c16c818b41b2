"""The mock's clock during a simulation: it reads the SimPy environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import simpy

DEFAULT_EPOCH = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
"""A Monday at midnight UTC: simulated time 0 unless a scenario says otherwise."""


class SimClock:
    """``now()`` = ``epoch`` + ``env.now`` seconds: mock Intune and the simulation share one time."""

    def __init__(self, env: simpy.Environment, epoch: datetime = DEFAULT_EPOCH) -> None:
        self.env = env
        self.epoch = epoch

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=float(self.env.now))

    def at(self, when: datetime) -> float:
        """Simulated seconds of a datetime (inverse of ``now``)."""
        return (when - self.epoch).total_seconds()
