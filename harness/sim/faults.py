"""A scenario's faults on the mock's surfaces, applied in virtual time.

Served and in-process HTTP runs inject faults in the mock itself (:mod:`mock_intune.faults`,
:func:`program_mock`). The load fast path never goes through the mock's HTTP layer, so
:class:`FaultyClient` wraps the NAC's Intune client and applies the same faults before each call:
inside an outage window the call fails (:class:`~harness.nac.intune_answers.IntuneUnavailable`, or
``Throttled`` for 429/503 with ``Retry-After``), an error fault fails the call with probability
``rate``, a latency fault adds its draw to the call's latency. Faults on ``entra`` apply to the
client's onboarding (``prepare``). Every failed call is logged to the mock's call log, so throttled
and failed calls show up in the run's numbers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mock_intune.model import CallRecord, Surface
from mock_intune.service import MockIntune

from ..model import Profile
from ..scenario import FaultSpec

SURFACE_OF = {
    Profile.CR_CISCO: Surface.CR_CISCO,
    Profile.LEGACY_CISCO: Surface.LEGACY_CISCO,
    Profile.LEGACY_JSON: Surface.LEGACY_JSON,
    Profile.GRAPH: Surface.GRAPH,
}


class FaultPlan:
    """The faults of one scenario, asked "what happens to a call on ``surface`` at ``t``?"."""

    def __init__(self, faults: list[FaultSpec], seed: int) -> None:
        self.faults = faults
        self._rng = random.Random(seed ^ 0x5EED_FA17)
        self._latency = [f.latency.build() if f.latency is not None else None for f in faults]

    def __bool__(self) -> bool:
        return bool(self.faults)

    def _active(self, f: FaultSpec, t: float) -> bool:
        return f.start <= t and (f.end is None or t < f.end)

    def apply(self, surface: Surface, t: float) -> tuple[int | None, float]:
        """(status of an injected failure or None, extra latency in seconds) for a call at ``t``."""
        extra = 0.0
        for n, f in enumerate(self.faults):
            if f.surface is not surface or not self._active(f, t):
                continue
            if f.kind == "latency":
                dist = self._latency[n]
                if dist is not None:
                    extra += dist.sample(self._rng)
            elif f.kind == "outage" or self._rng.random() < f.rate:
                return f.status, extra
        return None, extra


def program_mock(service: MockIntune, faults: list[FaultSpec], epoch: datetime, seed: int) -> None:
    """Install outage and error faults in the mock itself (for runs that go through its HTTP layer)."""
    from mock_intune.faults import set_fault

    by_surface: dict[Surface, dict[str, Any]] = {}
    for f in faults:
        spec = by_surface.setdefault(f.surface, {"seed": seed})
        if f.kind == "outage":
            end = f.end if f.end is not None else 10 * 365 * 86400.0
            spec.setdefault("outages", []).append(
                {
                    "start": (epoch + timedelta(seconds=f.start)).isoformat(),
                    "end": (epoch + timedelta(seconds=end)).isoformat(),
                }
            )
            spec["outage_status"] = f.status
        elif f.kind == "errors":
            spec["error_rate"] = f.rate
            spec["error_status"] = f.status
    for surface, spec in by_surface.items():
        set_fault(service, surface, spec)


class FaultyClient:
    """An Intune client (the NAC's) with the scenario's faults applied in front of it."""

    def __init__(self, inner: Any, plan: FaultPlan, now: Callable[[], float], service: MockIntune) -> None:
        self.inner = inner
        self.plan = plan
        self.now = now
        self.service = service
        self.profile: Profile = inner.profile
        self.surface = SURFACE_OF[inner.profile]
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def latency_s(self) -> float:
        return float(self.inner.latency_s)

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        self.inner.latency_s = value

    def reset_latency(self) -> None:
        self.inner.reset_latency()

    def redirect_url(self) -> str:
        return str(self.inner.redirect_url())

    def _gate(self, surface: Surface, path: str) -> None:
        from ..nac.intune_answers import IntuneUnavailable, Throttled

        status, extra = self.plan.apply(surface, self.now())
        self.inner.latency_s += extra
        if status is None:
            return
        self.injected += 1
        self.service.log(
            CallRecord(
                at=self.service.now(),
                app=self.service.config.client_id,
                surface=surface,
                method="GET",
                path=path,
                query="",
                status=status,
                latency_ms=extra * 1000.0,
                detail={"fault": True},
            )
        )
        if status in (429, 503):
            raise Throttled(f"{status} injected by the scenario", status=status, retry_after=1.0)
        raise IntuneUnavailable(f"{status} injected by the scenario", status=status)

    def prepare(self) -> None:
        self._gate(Surface.ENTRA, "/token")
        self.inner.prepare()

    def lookup(self, identity: Any) -> Any:
        self._gate(self.surface, "/devices")
        return self.inner.lookup(identity)

    def noncompliant_page(self, cursor: str | None) -> Any:
        self._gate(self.surface, "/devices?compliance")
        return self.inner.noncompliant_page(cursor)
