"""The bench's world: seeded devices and what happens to them (enrollment, posture, check-ins,
portal visits), tenant settings, permissions and the movable service endpoint."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import simpy

from mock_intune.config import MockConfig
from mock_intune.model import (
    AppRegistration,
    ComplianceState,
    Device,
    NoPolicyMark,
    Permission,
    Surface,
)
from mock_intune.service import MockIntune

from ..errors import HarnessFailure
from ..model import AccessType, CoaMessage, Profile
from ..sim.clock import SimClock

BASE_URL = "http://mock-intune.test"
"""The origin the NAC is configured with; the transport routes it to the in-process mock."""

PROFILE_SURFACE: dict[Profile, Surface] = {
    Profile.CR_CISCO: Surface.CR_CISCO,
    Profile.LEGACY_CISCO: Surface.LEGACY_CISCO,
    Profile.LEGACY_JSON: Surface.LEGACY_JSON,
    Profile.GRAPH: Surface.GRAPH,
}
"""The surface a profile asks about devices: the one "Intune is down" faults are injected into."""

SID_TAG = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512"


class DeviceStatus:
    """How a scenario describes a device's standing in Intune (the words are the step vocabulary)."""

    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    NOT_ENROLLED = "not enrolled"
    UNKNOWN_TO_INTUNE = "unknown to Intune"
    RETIRED = "retired"
    NEWLY_ENROLLED = "newly enrolled"
    IN_GRACE = "in its grace period"
    NO_POLICY = "without a compliance policy"

    ALL = (
        COMPLIANT,
        NONCOMPLIANT,
        NOT_ENROLLED,
        UNKNOWN_TO_INTUNE,
        RETIRED,
        NEWLY_ENROLLED,
        IN_GRACE,
        NO_POLICY,
    )


@dataclass
class SimDevice:
    """A device the bench knows: its identifiers, certificate and access sessions."""

    name: str
    intune_id: str
    azure_ad_device_id: str
    mac: str
    """The hardware MAC, 12 upper-case hex digits."""
    seen_mac: str = ""
    """The MAC the access point reports (may be randomised or formatted differently)."""
    san_uris: tuple[str, ...] = ()
    cert_cn: str = ""
    sessions: int = 0
    session_id: str = ""
    access_type: AccessType = AccessType.WIFI

    @property
    def has_certificate(self) -> bool:
        return bool(self.san_uris)


@dataclass
class AccessPoint:
    """A simulated Wi-Fi access point or VPN gateway: it records what the NAC told it."""

    name: str
    access_type: AccessType
    ssid: str = ""
    decisions: list[int] = field(default_factory=list)
    coas: list[CoaMessage] = field(default_factory=list)


class WorldMixin:
    """What a scenario does to the world: devices, their state in Intune, tenant settings, the endpoint."""

    service: MockIntune
    config: MockConfig
    clock: SimClock
    env: simpy.Environment
    app: Any
    rng: random.Random
    devices: dict[str, SimDevice]
    checkin_procs: dict[str, Any]
    cert_pem: str | None
    key_pem: str | None

    def mark(self, what: str, device: str = "", data: dict[str, Any] | None = None, **more: Any) -> None:
        raise NotImplementedError

    # -- world: devices ----------------------------------------------------------------------------
    def _guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _mac(self) -> str:
        first = self.rng.randrange(0, 256) & 0xFC  # universally administered, unicast
        rest = [self.rng.randrange(0, 256) for _ in range(5)]
        return "".join(f"{b:02X}" for b in [first, *rest])

    def add_device(self, name: str, status: str = DeviceStatus.COMPLIANT) -> SimDevice:
        """A device in ``status`` (:class:`DeviceStatus`), with a certificate carrying its Intune id."""
        if name in self.devices:
            raise HarnessFailure(f"device {name!r} is already in the scenario")
        dev = SimDevice(name=name, intune_id=self._guid(), azure_ad_device_id=self._guid(), mac=self._mac())
        dev.seen_mac = dev.mac
        dev.san_uris = (f"IntuneDeviceId://{dev.intune_id}",)
        dev.cert_cn = dev.azure_ad_device_id
        self.devices[name] = dev
        svc = self.service
        if status == DeviceStatus.UNKNOWN_TO_INTUNE:
            self.mark("exists outside Intune", name)
            return dev
        record = Device(
            intune_id=dev.intune_id,
            azure_ad_device_id=dev.azure_ad_device_id,
            device_name=name,
            wifi_mac=dev.mac,
            managed=False,
            compliance_state=ComplianceState.UNKNOWN,
        )
        svc.seed([record])
        if status in (DeviceStatus.NOT_ENROLLED, DeviceStatus.RETIRED):
            if status == DeviceStatus.RETIRED:
                svc.enroll(dev.intune_id)
                svc.evaluate(dev.intune_id)
                svc.retire(dev.intune_id)
            self.mark(f"seeded {status}", name)
            return dev
        svc.enroll(dev.intune_id)
        if status == DeviceStatus.NEWLY_ENROLLED:
            self.mark("enrolled (Unknown, not evaluated)", name)
            return dev
        if status == DeviceStatus.NONCOMPLIANT:
            svc.set_posture(dev.intune_id, False)
        elif status == DeviceStatus.IN_GRACE:
            settings = svc.settings()
            if settings.grace_period_hours <= 0:
                svc.update_settings(replace(settings, grace_period_hours=72.0))
            svc.set_posture(dev.intune_id, False)
        elif status == DeviceStatus.NO_POLICY:
            svc.update_device(svc.device(dev.intune_id).copy(has_policy=False))
        svc.evaluate(dev.intune_id)
        self.mark(f"seeded {status}", name, state=svc.device(dev.intune_id).compliance_state.value)
        return dev

    def add_devices(self, count: int, status: str, prefix: str = "device") -> list[SimDevice]:
        return [self.add_device(f"{prefix}-{i + 1:03d}", status) for i in range(count)]

    def device(self, name: str) -> SimDevice:
        try:
            return self.devices[name]
        except KeyError:
            raise HarnessFailure(
                f"no device {name!r} in this scenario (known: {', '.join(self.devices)})"
            ) from None

    def set_certificate(self, name: str, style: str) -> None:
        """Give the device a certificate whose SAN URIs follow ``style`` (or none)."""
        dev = self.device(name)
        if style == "none":
            dev.san_uris = ()
        elif style == "intune":
            dev.san_uris = (f"IntuneDeviceId://{dev.intune_id}",)
        elif style == "cisco":
            dev.san_uris = (f"ID:Microsoft Endpoint Manager:GUID:{dev.intune_id}",)
        elif style == "sid-first":
            dev.san_uris = (SID_TAG, f"IntuneDeviceId://{dev.intune_id}")
        else:
            raise HarnessFailure(f"unknown certificate style {style!r}")
        self.mark("certificate", name, san_uris=list(dev.san_uris))

    def randomise_mac(self, name: str) -> None:
        """The device joins with a private (locally administered) MAC, and Intune knows that MAC."""
        dev = self.device(name)
        first = (int(dev.mac[:2], 16) | 0x02) & 0xFE
        dev.seen_mac = f"{first:02X}{dev.mac[2:]}"
        if dev.intune_id and self.service.find_guid(dev.intune_id) is not None:
            rec = self.service.device(dev.intune_id)
            self.service.update_device(rec.copy(wifi_mac=dev.seen_mac))
        self.mark("randomised MAC", name, mac=dev.seen_mac)

    def format_mac(self, name: str, style: str) -> None:
        """The access point reports the MAC in another notation (``aa-bb-…``, ``aa:bb:…``, ``aabb.cc…``)."""
        dev = self.device(name)
        m = dev.seen_mac.lower()
        pairs = [m[i : i + 2] for i in range(0, 12, 2)]
        if style == "dashes":
            dev.seen_mac = "-".join(pairs)
        elif style == "colons":
            dev.seen_mac = ":".join(pairs)
        elif style == "dots":
            dev.seen_mac = ".".join(m[i : i + 4] for i in range(0, 12, 4))
        else:
            raise HarnessFailure(f"unknown MAC notation {style!r}")
        self.mark("MAC notation", name, mac=dev.seen_mac)

    # -- world: changes ----------------------------------------------------------------------------
    def turn(self, name: str, compliant: bool) -> None:
        """The device's posture changes and Intune evaluates it at a check-in now."""
        dev = self.device(name)
        self.service.set_posture(dev.intune_id, compliant)
        self.service.check_in(dev.intune_id)
        state = self.service.device(dev.intune_id).compliance_state.value
        self.mark("turned compliant" if compliant else "turned noncompliant", name, state=state)

    def fix_device(self, name: str) -> None:
        """The user fixes the device (its posture is compliant); Intune learns it at the next evaluation."""
        self.service.set_posture(self.device(name).intune_id, True)
        self.mark("fixed by the user", name)

    def visit_portal(self, name: str) -> None:
        """The user opens the management portal: a real request to the mock's portal surface."""
        dev = self.device(name)
        with httpx.Client(transport=httpx.WSGITransport(app=self.app), base_url=BASE_URL) as client:
            resp = client.get("/networkaccesscontrol/index", params={"deviceId": dev.intune_id})
        state = self.service.device(dev.intune_id).compliance_state.value
        self.mark("portal visit", name, status=resp.status_code, state=state)

    def enroll_and_evaluate(self, name: str) -> None:
        dev = self.device(name)
        if self.service.find_guid(dev.intune_id) is None:
            self.service.seed(
                [
                    Device(
                        intune_id=dev.intune_id,
                        azure_ad_device_id=dev.azure_ad_device_id,
                        device_name=name,
                        wifi_mac=dev.mac,
                        managed=False,
                    )
                ]
            )
        self.service.enroll(dev.intune_id)
        self.service.set_posture(dev.intune_id, True)
        self.service.evaluate(dev.intune_id)
        self.mark(
            "enrolled and evaluated", name, state=self.service.device(dev.intune_id).compliance_state.value
        )

    def enroll(self, name: str) -> None:
        dev = self.device(name)
        self.service.enroll(dev.intune_id)
        self.mark("enrolled (Unknown, not evaluated)", name)

    def check_in(self, name: str) -> None:
        dev = self.device(name)
        self.service.check_in(dev.intune_id)
        self.mark("checked in", name, state=self.service.device(dev.intune_id).compliance_state.value)

    def last_checked_in(self, name: str, days_ago: float) -> None:
        """Backdate the device's last sync (it stopped checking in ``days_ago`` days before now)."""
        dev = self.device(name)
        rec = self.service.device(dev.intune_id)
        when = self.clock.now() - timedelta(days=days_ago)
        self.service.update_device(rec.copy(last_sync_at=when, evaluated_at=when))
        self.mark("last check-in backdated", name, days_ago=days_ago)

    def keep_syncing(self, name: str, every_s: float) -> None:
        """The device checks in with Intune every ``every_s`` seconds from now on (it is actively syncing)."""
        dev = self.device(name)

        def proc() -> Any:
            while True:
                yield self.env.timeout(every_s)
                self.service.check_in(dev.intune_id)

        self.checkin_procs[name] = self.env.process(proc())
        self.mark("syncing", name, every_s=every_s)

    def try_set_unknown(self, name: str) -> None:
        """Ask the mock to move an evaluated device back to Unknown; record whether it refused (STA-01)."""
        from mock_intune.errors import IllegalTransition

        dev = self.device(name)
        try:
            self.service.set_state(dev.intune_id, ComplianceState.UNKNOWN)
        except IllegalTransition as exc:
            self.mark("return to Unknown refused", name, error=str(exc))
        else:
            self.mark("return to Unknown accepted", name)

    def set_no_policy_mark(self, mark: str) -> None:
        settings = self.service.settings()
        self.service.update_settings(replace(settings, no_policy_mark=NoPolicyMark(mark)))
        self.mark("tenant setting", data={"no_policy_mark": mark})

    def set_validity_days(self, days: int) -> None:
        settings = self.service.settings()
        self.service.update_settings(replace(settings, validity_days=days))
        self.mark("tenant setting", data={"validity_days": days})

    def set_grace_hours(self, hours: float) -> None:
        settings = self.service.settings()
        self.service.update_settings(replace(settings, grace_period_hours=hours))
        self.mark("tenant setting", data={"grace_period_hours": hours})

    def set_redirect_url(self, url: str) -> None:
        """The mock advertises another management portal in ``mdminfo`` (RED-01)."""
        self.service.config = self.service.config.with_changes(redirect_url=url)
        self.config = self.service.config
        self.mark("portal advertised", data={"redirect_url": url})

    def remove_permission(self, permission: str) -> None:
        """The NAC's app registration loses ``permission`` (ONB-05)."""
        perm = Permission(permission)
        app: AppRegistration = self.service.app(self.config.client_id)
        self.service.register_app(replace(app, permissions=frozenset(app.permissions - {perm})))
        self.mark("permission removed", data={"permission": perm.value})

    def move_endpoint(self, segment: str = "/fef-02") -> None:
        """The service moves: discovery advertises a new base, the old one answers 404 (ONB-01)."""
        self.service.set_service_base(segment)
        self.mark("endpoint moved", data={"to": segment})

    # -- certificate client auth (ONB-04) -----------------------------------------------------------
    def registered_x5t(self) -> str:
        """``x5t`` of the certificate registered for the NAC's app ('' with secret auth)."""
        if self.cert_pem is None:
            return ""
        from ..nac.entra_client import thumbprint_x5t

        return thumbprint_x5t(self.cert_pem)

    def probe_bad_assertions(self) -> list[dict[str, Any]]:
        """Post forged, expired, replayed and wrongly-addressed assertions to the mock's token endpoint.

        These are the bench's own requests (not the NAC's): they prove the mock rejects them.
        """
        import jwt

        from mock_intune.pki import CertificateAuthority, KeyType

        if self.cert_pem is None or self.key_pem is None:
            return []
        from cryptography.hazmat.primitives import serialization

        url = f"{BASE_URL}/{self.config.tenant_id}/oauth2/v2.0/token"
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        forged_key = (
            CertificateAuthority.create("forger").issue("forger", client=True, key_type=KeyType.RSA).key
        )
        now = int(self.clock.now().timestamp())
        x5t = self.registered_x5t()

        def assertion(signing: Any, **claims: Any) -> str:
            body = {
                "aud": url,
                "iss": self.config.client_id,
                "sub": self.config.client_id,
                "jti": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "iat": now,
                "nbf": now,
                "exp": now + 300,
            }
            body.update(claims)
            return jwt.encode(body, signing, algorithm="RS256", headers={"x5t": x5t})

        def post(token: str) -> int:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "scope": "https://api.manage.microsoft.com//.default",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": token,
            }
            with httpx.Client(transport=httpx.WSGITransport(app=self.app)) as client:
                return client.post(url, data=form).status_code

        replayed = assertion(key)
        first = post(replayed)
        probes = [
            {"what": "forged", "status": post(assertion(forged_key))},
            {
                "what": "expired",
                "status": post(assertion(key, iat=now - 3600, nbf=now - 3600, exp=now - 1800)),
            },
            {"what": "replayed", "status": post(replayed), "first_use": first},
            {
                "what": "wrongly-addressed",
                "status": post(assertion(key, aud="https://login.example.invalid/token")),
            },
        ]
        self.mark("bad assertions probed", data={"probes": probes})
        return probes
