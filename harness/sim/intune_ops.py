"""The world's view of Intune per device slot: the same operations on either kind of mock.

On a :class:`~harness.sim.fleet.FleetIntune` the operations go straight to the compact table (the
fast path); on a plain :class:`~mock_intune.MockIntune` they go through its public methods by Intune
device id. Both run the mock's compliance rules.
"""

from __future__ import annotations

from mock_intune import compliance
from mock_intune.model import CallRecord
from mock_intune.service import MockIntune

from ..population import Population
from .fleet import F_MANAGED, STATES, FleetIntune, call_kind


class IntuneOps:
    """Enroll, check in, change posture, visit the portal and read state, by device slot."""

    def __init__(self, service: MockIntune, population: Population, devices: range) -> None:
        self.service = service
        self.population = population
        self.range = devices
        self.fleet = service if isinstance(service, FleetIntune) else None

    def _id(self, j: int) -> str:
        return self.population.intune_id(self.range[j])

    def managed(self, j: int) -> bool:
        if self.fleet is not None:
            return bool(self.fleet.store.flags[j] & F_MANAGED)
        return self.service.device(self._id(j)).managed

    def enroll(self, j: int) -> None:
        if self.fleet is not None:
            self.fleet.enroll_slot(j)
        else:
            self.service.enroll(self._id(j))

    def check_in(self, j: int) -> None:
        if self.fleet is not None:
            self.fleet.check_in_slot(j)
        else:
            self.service.check_in(self._id(j))

    def portal_visit(self, j: int) -> None:
        if self.fleet is not None:
            self.fleet.evaluate_slot(j)
        else:
            self.service.portal_visit(self._id(j))

    def set_posture(self, j: int, compliant: bool) -> None:
        if self.fleet is not None:
            self.fleet.set_posture_slot(j, compliant)
        else:
            self.service.set_posture(self._id(j), compliant)

    def enrolled_at(self, j: int) -> float | None:
        """Simulated seconds of the device's enrollment (None if never enrolled)."""
        if self.fleet is not None:
            v = self.fleet.store.enrolled_at[j]
            return None if v != v else v
        d = self.service.device(self._id(j))
        if d.enrolled_at is None:
            return None
        return (d.enrolled_at - self.service.now()).total_seconds() + self._now()

    def _now(self) -> float:
        clock = self.service.clock
        env = getattr(clock, "env", None)
        return float(env.now) if env is not None else 0.0

    def earned_access(self, j: int) -> bool:
        """Enrolled and compliant in Intune now: the device has earned access."""
        if self.fleet is not None:
            st = self.fleet.store
            if not st.flags[j] & F_MANAGED:
                return False
            code = self.fleet._effective(j, self._now(), self.fleet.settings())
            return STATES[code].grants_access
        d = self.service.device(self._id(j))
        return compliance.is_compliant(d, self.service.settings(), self.service.now())

    def call_counts(self) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """NAC calls to Intune and throttled answers, by (kind, simulated minute)."""
        if self.fleet is not None:
            return dict(self.fleet.store.call_counts), dict(self.fleet.store.throttled_counts)
        calls: dict[tuple[str, int], int] = {}
        throttled: dict[tuple[str, int], int] = {}
        epoch = getattr(self.service.clock, "epoch", None)
        after = 0
        while True:
            page = self.service.calls(after=after)  # the store answers a page at a time
            if not page:
                return calls, throttled
            for rec in page:
                minute = int((rec.at - epoch).total_seconds() // 60) if epoch is not None else 0
                key = (call_kind(rec), minute)
                calls[key] = calls.get(key, 0) + 1
                if rec.status in (429, 503):
                    throttled[key] = throttled.get(key, 0) + 1
            after = page[-1].seq


__all__ = ["CallRecord", "IntuneOps"]
