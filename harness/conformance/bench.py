"""The conformance bench: one mock Intune, one NAC under test and simulated access points, in SimPy time.

A scenario's steps drive a :class:`Bench`: seed devices in a state, connect them over Wi-Fi or
VPN, visit the portal, let virtual time pass, turn a device noncompliant while it is connected,
inject faults (outage, timeout, 5xx, 429, malformed answers), move the service endpoint, remove a
permission. Every HTTP exchange between the NAC and the mock passes through a tap at the
transport seam, every decision and CoA arrives at a simulated access point, and everything the
bench does to the world is marked with the time: that is the :class:`Evidence` the oracles judge.

The NAC under test comes from the capability statement: the reference NAC, a mutant by name, or
an in-process class by import path. Time is ``env.now``: nothing here sleeps.
"""

from __future__ import annotations

import functools
import importlib
import random
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import simpy

from mock_intune import faults as mock_faults
from mock_intune.api import create_app
from mock_intune.config import MockConfig
from mock_intune.errors import NacHarnessError
from mock_intune.model import (
    AppRegistration,
    ComplianceState,
    Device,
    NoPolicyMark,
    Permission,
    Surface,
)
from mock_intune.service import MockIntune
from mock_intune.virtual_transport import VirtualTimeTransport

from ..errors import HarnessFailure
from ..model import AccessRequest, AccessType, CoaMessage, IdentitySource, Profile
from ..nac.base import NacUnderTest
from ..sim.clock import DEFAULT_EPOCH, SimClock
from .evidence import (
    COMPLIANCE_KINDS,
    CoaRecord,
    DecisionRecord,
    Evidence,
    Exchange,
    Kind,
    Mark,
    Truth,
    classify,
    query_of,
)
from .malformed import Malformation, malform

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


@dataclass
class TapFault:
    """A fault the bench injects at the transport seam (what the mock cannot fake by itself)."""

    kind: str
    """``unreachable`` (connection refused) or ``malformed``."""
    kinds: frozenset[str]
    """Exchange kinds it applies to."""
    malformation: Malformation | None = None
    until: float | None = None

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


class TapTransport(httpx.BaseTransport):
    """The transport seam: records every exchange and injects the bench's own faults."""

    def __init__(self, inner: httpx.BaseTransport, bench: Bench) -> None:
        self.inner = inner
        self.bench = bench
        self.cpu_s = 0.0
        """CPU time spent inside the mock (subtracted from the NAC's own processing time)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        bench = self.bench
        started = time.thread_time()
        try:
            return self._handle(request, bench)
        finally:
            self.cpu_s += time.thread_time() - started

    def _handle(self, request: httpx.Request, bench: Bench) -> httpx.Response:
        url = str(request.url)
        query = query_of(url)
        kind = classify(request.url.path, query)
        auth = request.headers.get("Authorization", "")
        form: dict[str, str] = {}
        if request.method == "POST":
            body = request.read()
            form = dict(query_of("?" + body.decode("latin-1")))
        ex = Exchange(
            seq=len(bench.evidence.exchanges) + 1,
            at=float(bench.env.now),
            method=request.method,
            url=url,
            kind=kind,
            query=query,
            bearer=auth[7:] if auth.lower().startswith("bearer ") else "",
            form=form,
            decision=bench.current_decision,
        )
        bench.evidence.exchanges.append(ex)
        if bench.current_decision is not None:
            bench.evidence.decisions[bench.current_decision - 1].exchanges.append(ex.seq)
        fault = bench.tap_fault_for(kind)
        if fault is not None and fault.kind == "unauthorized":
            ex.fault = "unauthorized"
            ex.status = 401
            body = b'{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}'
            ex.body = body.decode()
            return httpx.Response(
                401, headers={"Content-Type": "application/json"}, content=body, request=request
            )
        if fault is not None and fault.kind == "unreachable":
            ex.fault = "unreachable"
            ex.error = "ConnectError"
            raise httpx.ConnectError(
                "connection refused (the bench made Intune unreachable)", request=request
            )
        t0 = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException as exc:
            ex.error = type(exc).__name__
            ex.fault = "timeout"
            ex.modelled_ms = self._injected_ms()
            raise
        finally:
            ex.wall_ms = (time.perf_counter() - t0) * 1000
        content = response.read()
        ex.status = response.status_code
        ex.response_headers = dict(response.headers)
        ex.modelled_ms = self._injected_ms()
        if fault is not None and fault.kind == "malformed" and fault.malformation is not None and ex.ok:
            content = malform(fault.malformation, content, response.headers.get("content-type", ""))
            ex.fault = f"malformed: {fault.malformation.value}"
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            response = httpx.Response(response.status_code, headers=headers, content=content, request=request)
        ex.body = content[:4000].decode("utf-8", "replace")
        return response

    def _injected_ms(self) -> float:
        inner = self.inner
        return float(getattr(inner, "last_injected_s", 0.0)) * 1000.0

    def close(self) -> None:
        self.inner.close()


@functools.lru_cache(maxsize=1)
def assertion_certificate() -> tuple[str, str]:
    """(cert PEM, key PEM) of an RSA certificate for client assertions (made once per process)."""
    from mock_intune.pki import CertificateAuthority, KeyType

    ca = CertificateAuthority.create("Conformance bench CA")
    issued = ca.issue("nac-under-test", client=True, key_type=KeyType.RSA)
    return issued.cert_pem, issued.key_pem


class Bench:
    """The world of one scenario run: mock, NAC under test, access points, devices, evidence."""

    def __init__(
        self,
        capability: Any,
        profile: Profile | str,
        *,
        seed: int = 0,
        nac_factory: Any = None,
    ) -> None:
        self.capability = capability
        self.profile = Profile(profile)
        self.rng = random.Random(f"bench:{seed}:{profile}")
        self.env = simpy.Environment()
        self.clock = SimClock(self.env)
        cert_auth = str(_cap(capability, "auth_method", "secret")) == "certificate"
        self.cert_pem: str | None = None
        self.key_pem: str | None = None
        if cert_auth:
            self.cert_pem, self.key_pem = assertion_certificate()
        self.config = MockConfig(sleep_latency=False, client_certificate_pem=self.cert_pem)
        self.service = MockIntune(self.config, clock=self.clock)
        self.app = create_app(service=self.service)
        self.virtual = VirtualTimeTransport(self.app)
        self.tap = TapTransport(self.virtual, self)
        self.evidence = Evidence(profile=self.profile.value, capability=_cap_json(capability))
        self.devices: dict[str, SimDevice] = {}
        self.aps: dict[str, AccessPoint] = {
            "ap-wifi": AccessPoint("ap-wifi", AccessType.WIFI, ssid="CORP"),
            "gw-vpn": AccessPoint("gw-vpn", AccessType.VPN),
        }
        self.sessions: dict[str, tuple[str, str]] = {}
        """session id → (device name, access point name)."""
        self.tap_faults: list[TapFault] = []
        self.current_decision: int | None = None
        self._nac_factory = nac_factory
        self._nac: NacUnderTest | None = None
        self.checkin_procs: dict[str, Any] = {}
        self.deviations: list[str] = []
        """Declared deviations the oracles noted (e.g. a NAC that fails open and says so)."""

    # -- the NAC under test ----------------------------------------------------------------------
    @property
    def nac(self) -> NacUnderTest:
        """The NAC under test, built and started on first use (Givens shape the world first)."""
        if self._nac is None:
            nac = (self._nac_factory or build_nac)(self)
            self._nac = nac
            self.mark("NAC started", data={"name": type(nac).__name__})
            nac.start(self.env, self._on_coa)
        return self._nac

    def start(self) -> NacUnderTest:
        return self.nac

    def close(self) -> None:
        if self._nac is not None:
            self._nac.stop()
        self.tap.close()
        self.snapshot()

    def declared(self, name: str, default: float) -> float:
        """A numeric value the capability statement declares (polling interval, cache lifetime …)."""
        return float(_cap(self.capability, name, default))

    def reference_config(self) -> dict[str, Any]:
        """The reference NAC's settings derived from the capability statement."""
        cap = self.capability
        values: dict[str, Any] = {
            "profile": self.profile,
            "base_url": BASE_URL,
            "tenant_id": self.config.tenant_id,
            "client_id": self.config.client_id,
            "identity_sources": tuple(
                IdentitySource(s) for s in _cap(cap, "identity_sources", ["certificate", "mac"])
            ),
            "polling_interval_s": float(_cap(cap, "polling_interval_s", 14400)),
            "cache_ttl_s": float(_cap(cap, "cache_ttl_s", 60)),
            "decision_budget_s": float(_cap(cap, "decision_budget_ms", 300)) / 1000.0,
            "fail_open": bool(_cap(cap, "fail_open", False)),
            "epoch": DEFAULT_EPOCH,
        }
        if self.cert_pem is not None:
            values.update(client_secret=None, cert_pem=self.cert_pem, key_pem=self.key_pem)
        else:
            values["client_secret"] = self.config.client_secret
        return values

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

    # -- faults ------------------------------------------------------------------------------------
    def intune_surface(self) -> Surface:
        return PROFILE_SURFACE[self.profile]

    def inject(self, fault: str, *, retry_after_s: int | None = None, for_s: float | None = None) -> None:
        """Make Intune (the profile's device surface) misbehave: ``unreachable``, ``timeout``, ``500``,
        ``503``, ``429`` or ``401``. ``for_s`` limits it to a window from now."""
        until = None if for_s is None else float(self.env.now) + for_s
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
        now = float(self.env.now)
        for f in self.tap_faults:
            if kind in f.kinds and f.active(now):
                return f
        return None

    # -- access ------------------------------------------------------------------------------------
    def connect(
        self, name: str, access: AccessType | str = AccessType.WIFI, *, new_session: bool = True
    ) -> DecisionRecord:
        """The device authenticates at an access point (step 4); the AP records the NAC's answer."""
        nac = self.nac
        dev = self.device(name)
        access = AccessType(access)
        ap = self.aps["ap-wifi" if access is AccessType.WIFI else "gw-vpn"]
        if new_session or not dev.session_id:
            dev.sessions += 1
            dev.session_id = f"{name}#{dev.sessions}"
        dev.access_type = access
        req = AccessRequest(
            device=name,
            session_id=dev.session_id,
            access_type=access,
            mac=dev.seen_mac,
            nas_id=ap.name,
            ssid=ap.ssid,
            san_uris=dev.san_uris,
            cert_subject_cn=dev.cert_cn if dev.san_uris else "",
            at=float(self.env.now),
        )
        self.sessions[dev.session_id] = (name, ap.name)
        record = DecisionRecord(
            seq=len(self.evidence.decisions) + 1,
            at=float(self.env.now),
            device=name,
            ap=ap.name,
            request=req,
            truth=self.truth(name),
        )
        self.evidence.decisions.append(record)
        self.current_decision = record.seq
        # the NAC's own processing is CPU time of this thread outside the mock: a busy shared machine
        # delays the thread without making the NAC slower
        cpu_before = self.tap.cpu_s
        started = time.thread_time()
        try:
            record.decision = nac.decide(req)
        except Exception as exc:  # noqa: BLE001 - a crashing NAC is evidence, not a harness error
            record.crashed = f"{type(exc).__name__}: {exc}"
        finally:
            self.current_decision = None
            record.wall_ms = max(0.0, (time.thread_time() - started - (self.tap.cpu_s - cpu_before)) * 1000)
        ap.decisions.append(record.seq)
        return record

    def disconnect(self, name: str) -> None:
        dev = self.device(name)
        if dev.session_id:
            self.nac.session_ended(dev.session_id)
            self.mark("disconnected", name, session=dev.session_id)

    def truth(self, name: str) -> Truth:
        """What the mock knows about the device now (ground truth for the oracles)."""
        dev = self.devices.get(name)
        if dev is None:
            return Truth(known=False)
        rec = self.service.find_guid(dev.intune_id)
        if rec is None:
            return Truth(known=False, intune_id=dev.intune_id, azure_ad_device_id=dev.azure_ad_device_id)
        st = self.service.status(rec)
        return Truth(
            known=True,
            managed=st.managed,
            compliant=st.compliant,
            state=st.state.value if st.managed else "",
            intune_id=dev.intune_id,
            azure_ad_device_id=dev.azure_ad_device_id,
        )

    def _on_coa(self, message: CoaMessage) -> None:
        device, ap_name = self.sessions.get(message.session_id, ("", ""))
        ap = self.aps.get(ap_name)
        if ap is not None:
            ap.coas.append(message)
        self.evidence.coas.append(
            CoaRecord(at=float(self.env.now), ap=ap_name, device=device, message=message)
        )

    # -- time --------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (the NAC's background work runs)."""
        _ = self.nac
        self.env.run(until=float(self.env.now) + seconds)

    def mark(self, what: str, device: str = "", data: dict[str, Any] | None = None, **more: Any) -> None:
        self.evidence.marks.append(Mark(float(self.env.now), what, device, {**(data or {}), **more}))

    def snapshot(self) -> Evidence:
        """The evidence so far, with the mock's own call log and the clock brought up to date."""
        self.evidence.now = float(self.env.now)
        self.evidence.mock_calls = [c.to_json() for c in self.service.calls()]
        return self.evidence


# -- building the NAC under test from the capability statement -------------------------------------


def _cap(capability: Any, name: str, default: Any) -> Any:
    if capability is None:
        return default
    if isinstance(capability, dict):
        return capability.get(name, default)
    value = getattr(capability, name, default)
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


def _cap_json(capability: Any) -> dict[str, Any]:
    if capability is None:
        return {}
    if isinstance(capability, dict):
        return dict(capability)
    to_yaml = getattr(capability, "to_yaml_dict", None)
    return dict(to_yaml()) if callable(to_yaml) else {}


def adapter_spec(capability: Any) -> tuple[str, dict[str, Any]]:
    """(adapter type, its fields) from a capability statement (model or mapping)."""
    spec = _cap(capability, "adapter", {"type": "reference"})
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict):
        return str(spec.get("type", "reference")), {k: v for k, v in spec.items() if k != "type"}
    data = spec.model_dump() if hasattr(spec, "model_dump") else dict(vars(spec))
    return str(data.pop("type", "reference")), data


def build_nac(bench: Bench) -> NacUnderTest:
    """The NAC under test the capability statement names, wired to the bench's transport."""
    from ..nac.reference import ReferenceNac

    kind, spec = adapter_spec(bench.capability)
    if kind == "reference":
        cls: type[Any] = ReferenceNac
        kwargs: dict[str, Any] = {}
    elif kind == "mutant":
        from ..nac.mutants import mutant_class

        cls, kwargs = mutant_class(str(spec.get("mutant", ""))), {}
    elif kind == "python":
        cls, kwargs = import_target(str(spec.get("target", ""))), dict(spec.get("kwargs") or {})
    else:
        raise HarnessFailure(
            f"the in-process conformance bench cannot drive a {kind!r} adapter; "
            "use the reference, mutant or python adapters"
        )
    if isinstance(cls, type) and issubclass(cls, ReferenceNac):
        values = bench.reference_config()
        values.update(kwargs)
        try:
            return cls(transport=bench.tap, **values)
        except NacHarnessError as exc:
            raise HarnessFailure(f"cannot build the NAC under test {cls.__name__}: {exc}") from exc
    nac = cls(**kwargs)
    attach = getattr(nac, "attach_bench", None)
    if callable(attach):
        attach(transport=bench.tap, settings=bench.reference_config())
    if not isinstance(nac, NacUnderTest):
        raise HarnessFailure(f"{cls!r} is not a NacUnderTest")
    return nac


_TARGET = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_]\w*)$")


def import_target(target: str) -> Any:
    """``module:Class`` → the class; :class:`HarnessFailure` naming what could not be imported."""
    m = _TARGET.match(target)
    if not m:
        raise HarnessFailure(f"not an import path module:Class: {target!r}")
    try:
        module = importlib.import_module(m["module"])
    except ImportError as exc:
        raise HarnessFailure(f"cannot import {m['module']!r} for adapter target {target!r}: {exc}") from exc
    try:
        return getattr(module, m["attr"])
    except AttributeError:
        raise HarnessFailure(
            f"module {m['module']!r} has no {m['attr']!r} (adapter target {target!r})"
        ) from None
