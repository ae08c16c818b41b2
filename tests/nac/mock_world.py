"""The real in-process mock for the reference NAC's integration tests: SimPy time, virtual transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import simpy

from harness.model import AccessDecision, AccessRequest, AccessType, CoaMessage, Profile
from harness.nac.reference import ReferenceNac
from harness.sim.clock import SimClock
from mock_intune import MockConfig, MockIntune, create_app
from mock_intune.model import Device
from mock_intune.virtual_transport import VirtualTimeTransport

STATES = ("compliant", "noncompliant", "unknown", "unenrolled")


def guid(n: int) -> str:
    return f"5a1d0c3e-7b2f-4e8a-9c6d-{n:012x}"


def mac(n: int) -> str:
    return f"0050569B{n:04X}"


@dataclass
class MockWorld:
    """A mock Intune on the SimPy clock, served in process over the virtual-time transport."""

    env: simpy.Environment
    svc: MockIntune
    app: Any
    coas: list[CoaMessage] = field(default_factory=list)

    def add(self, n: int, state: str = "compliant") -> Device:
        """Seed device ``n`` in one of :data:`STATES` (through the core, so Intune's rules hold)."""
        now = self.svc.now()
        device = Device(
            intune_id=guid(n),
            azure_ad_device_id=f"aad00000-0000-4000-8000-{n:012x}",
            wifi_mac=mac(n),
            device_name=f"DEV-{n}",
            enrolled_at=now,
            last_sync_at=now,
            posture_compliant=state != "noncompliant",
            managed=state != "unenrolled",
        )
        self.svc.seed([device])
        if state in ("compliant", "noncompliant"):
            self.svc.evaluate(device.intune_id)
        return self.svc.device(device.intune_id)

    def nac(self, profile: Profile = Profile.CR_CISCO, *, start: bool = True, **cfg: Any) -> ReferenceNac:
        cfg.setdefault("tenant_id", self.svc.config.tenant_id)
        cfg.setdefault("client_id", self.svc.config.client_id)
        if "cert_pem" not in cfg:
            cfg.setdefault("client_secret", self.svc.config.client_secret)
        nac = ReferenceNac(profile=profile, transport=VirtualTimeTransport(self.app), **cfg)
        if start:
            nac.start(self.env, self.coas.append)
        return nac

    def fast_nac(
        self, profile: Profile = Profile.CR_CISCO, *, start: bool = True, **cfg: Any
    ) -> ReferenceNac:
        nac = ReferenceNac.fast(self.svc, profile=profile, **cfg)
        if start:
            nac.start(self.env, self.coas.append)
        return nac


def make_world(**config: Any) -> MockWorld:
    env = simpy.Environment()
    svc = MockIntune(MockConfig(sleep_latency=False, **config), clock=SimClock(env))
    return MockWorld(env, svc, create_app(service=svc))


def request(
    n: int, *, cert: bool = False, session: str = "", raw_mac: str | None = None, at: float = 0.0
) -> AccessRequest:
    sans = (
        ("tag:microsoft.com,2022-09-14:sid:S-1-5-21-9-9-9-1001", f"IntuneDeviceId://{guid(n)}")
        if cert
        else ()
    )
    return AccessRequest(
        device=f"dev-{n}",
        session_id=session or f"s-{n}",
        access_type=AccessType.WIFI,
        mac=raw_mac or mac(n),
        nas_id="ap-1",
        san_uris=sans,
        at=at,
    )


def decide(nac: ReferenceNac, n: int, **kw: Any) -> AccessDecision:
    return nac.decide(request(n, at=float(nac.now()), **kw))
