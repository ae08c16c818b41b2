"""The reference NAC on the scripted fake Intune, in a SimPy environment (unit-test rig)."""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy
from fake_intune import FakeIntune, mac

from harness.model import AccessDecision, AccessRequest, AccessType, CoaMessage
from harness.nac.reference import ReferenceNac


@dataclass
class Rig:
    """One reference NAC on a fake Intune, in a SimPy environment."""

    env: simpy.Environment
    intune: FakeIntune
    nac: ReferenceNac
    coas: list[CoaMessage] = field(default_factory=list)

    def decide(
        self, n: int = 1, *, san: tuple[str, ...] = (), raw_mac: str | None = None, session: str = ""
    ) -> AccessDecision:
        return self.nac.decide(
            AccessRequest(
                device=f"dev-{n}",
                session_id=session or f"s-{n}",
                access_type=AccessType.WIFI,
                mac=raw_mac or mac(n),
                nas_id="ap-1",
                san_uris=san,
                at=float(self.env.now),
            )
        )
