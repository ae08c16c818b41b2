"""Fault injection of the bench: outages, timeouts, 5xx, 429 with or without Retry-After, 401,
malformed answers, latency, and a taken broad-query window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import simpy

from mock_intune import faults as mock_faults
from mock_intune.config import MockConfig
from mock_intune.model import (
    Surface,
)
from mock_intune.service import MockIntune

from ..errors import HarnessFailure
from ..model import Profile
from ..sim.clock import SimClock
from .evidence import (
    COMPLIANCE_KINDS,
    Kind,
)
from .malformed import Malformation
from .tap import TapFault
from .world import PROFILE_SURFACE


class FaultsMixin:
    """Make Intune misbehave for the NAC under test (the mock's fault injection and the tap's own)."""

    service: MockIntune
    config: MockConfig
    clock: SimClock
    env: simpy.Environment
    profile: Profile
    tap_faults: list[TapFault]

    def mark(self, what: str, device: str = "", data: dict[str, Any] | None = None, **more: Any) -> None:
        raise NotImplementedError

    def now(self) -> float:
        raise NotImplementedError

    # -- faults ------------------------------------------------------------------------------------
    def intune_surface(self) -> Surface:
        return PROFILE_SURFACE[self.profile]

    def inject(self, fault: str, *, retry_after_s: int | None = None, for_s: float | None = None) -> None:
        """Make Intune (the profile's device surface) misbehave: ``unreachable``, ``timeout``, ``500``,
        ``503``, ``429`` or ``401``. ``for_s`` limits it to a window from now."""
        until = None if for_s is None else self.now() + for_s
        if fault == "unreachable":
            kinds = frozenset(COMPLIANCE_KINDS | {Kind.DISCOVERY, Kind.MDMINFO})
            self.tap_faults.append(TapFault("unreachable", kinds, until=until))
        elif fault == "401":
            kinds = frozenset(COMPLIANCE_KINDS | {Kind.DISCOVERY, Kind.MDMINFO})
            self.tap_faults.append(TapFault("unauthorized", kinds, until=until))
        else:
            spec: dict[str, Any]
            if fault == "timeout":
                spec = {"timeout_rate": 1.0, "timeout_s": 30.0}
            elif fault in ("500", "502", "503", "504", "429"):
                status = int(fault)
                spec = {"error_status": status, "error_rate": 1.0}
                if retry_after_s is None:
                    spec["retry_after"] = status != 429
                else:
                    spec.update(retry_after=True, retry_after_s=int(retry_after_s))
            else:
                raise HarnessFailure(f"unknown fault {fault!r}")
            if until is not None:
                start = self.clock.now()
                spec = {
                    k: v for k, v in spec.items() if k not in ("error_rate", "error_status", "timeout_rate")
                } | {
                    "outages": [
                        {
                            "start": start.isoformat(),
                            "end": (start + timedelta(seconds=for_s or 0)).isoformat(),
                        }
                    ],
                    "outage_status": int(fault) if fault.isdigit() else 504,
                }
            mock_faults.set_fault(self.service, self.intune_surface(), spec)
        self.mark("fault", data={"fault": fault, "retry_after_s": retry_after_s, "until": until})

    def inject_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        """Intune answers the profile's device queries after ``ms`` (± ``jitter_ms``) of virtual time."""
        latency: dict[str, Any] = (
            {"dist": "uniform", "low_ms": ms - jitter_ms, "high_ms": ms + jitter_ms}
            if jitter_ms
            else {"dist": "fixed", "ms": ms}
        )
        mock_faults.set_fault(self.service, self.intune_surface(), {"latency": latency})
        self.mark("latency", data={"ms": ms, "jitter_ms": jitter_ms})

    def inject_malformed(self, malformation: Malformation) -> None:
        kinds = frozenset({Kind.DEVICE_QUERY, Kind.GRAPH_DEVICE})
        self.tap_faults.append(TapFault("malformed", kinds, malformation=malformation))
        self.mark("fault", data={"fault": "malformed", "malformation": malformation.value})

    def clear_faults(self) -> None:
        self.tap_faults.clear()
        mock_faults.set_fault(self.service, self.intune_surface(), None)
        self.mark("faults cleared")

    def claim_broad_query_window(self) -> None:
        """Someone (another NAC node of the same app) just ran the broad query: the next one gets 503."""
        from mock_intune.errors import RequestError

        try:
            self.service.claim_broad_query(self.config.client_id)
        except RequestError:
            self.mark("broad query window already claimed")  # the NAC itself ran it moments ago
        else:
            self.mark("broad query window claimed")

    def tap_fault_for(self, kind: str) -> TapFault | None:
        now = self.now()
        for f in self.tap_faults:
            if kind in f.kinds and f.active(now):
                return f
        return None
