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

import random
import time
import uuid
from typing import Any

import simpy
import simpy.rt

from mock_intune.api import create_app
from mock_intune.config import MockConfig
from mock_intune.service import MockIntune
from mock_intune.virtual_transport import VirtualTimeTransport

from ..errors import NacUnreachable
from ..model import AccessRequest, AccessType, CoaMessage, IdentitySource, Profile
from ..nac.base import NacUnderTest
from ..sim.clock import DEFAULT_EPOCH, SimClock
from .bench_faults import FaultsMixin
from .evidence import (
    CoaRecord,
    DecisionRecord,
    Evidence,
    Mark,
    Truth,
)
from .external import EXTERNAL_ADAPTERS, MockFront, not_judgeable
from .nac_factory import (
    BASE_URL,
    _cap,
    _cap_json,
    adapter_spec,
    assertion_certificate,
    build_nac,
    external_front,
)
from .tap import TapFault, TapTransport
from .world import PROFILE_SURFACE, SID_TAG, AccessPoint, DeviceStatus, SimDevice, WorldMixin

__all__ = [
    "BASE_URL",
    "PROFILE_SURFACE",
    "SID_TAG",
    "AccessPoint",
    "Bench",
    "DeviceStatus",
    "SimDevice",
    "build_nac",
]


class Bench(WorldMixin, FaultsMixin):
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
        self.front: MockFront | None = None
        self.speedup = 1.0
        self.session_prefix = ""
        base, earlier = "", list[str]()
        cert_auth = str(_cap(capability, "auth_method", "secret")) == "certificate"
        self.cert_pem: str | None = None
        self.key_pem: str | None = None
        if adapter_spec(capability)[0] in EXTERNAL_ADAPTERS:
            # An external NAC: the mock is served to it over HTTPS and time is sped-up wall time.
            self.front = external_front(capability)
            self.speedup = self.front.clock.speedup
            run_tag = uuid.uuid4().hex[:8]
            self.session_prefix = f"{run_tag}-"
            self.rng = random.Random(f"bench:{seed}:{profile}:{run_tag}")  # unique devices per scenario
            self.clock: Any = self.front.clock
            self.env = simpy.rt.RealtimeEnvironment(
                initial_time=self.front.clock.seconds(), factor=1.0 / self.speedup, strict=False
            )
            if cert_auth:
                self.cert_pem, self.key_pem = self.front.client_cert_pem, self.front.client_key_pem
            self.config = MockConfig(
                sleep_latency=False,
                client_certificate_pem=self.cert_pem,
                database=self.front.database(run_tag),
            )
            self.service = MockIntune(self.config, clock=self.clock)
            # A fresh Intune shard per scenario: the endpoint the NAC discovered in an earlier scenario
            # answers 404 here, so it discovers again and re-reads mdminfo; the token signing key is
            # new too, so tokens from earlier scenarios get 401 and the NAC fetches a new one.
            base, earlier = self.front.fresh_base(run_tag)
            self.service.set_service_base(base)
        else:
            self.rng = random.Random(f"bench:{seed}:{profile}")
            self.env = simpy.Environment()
            self.clock = SimClock(self.env)
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
        if self.front is not None:
            self.evidence.epoch = self.clock.now().timestamp() - self.now()
            self.mark("scenario endpoint", data={"base": base, "earlier": earlier[-50:]})
            self.front.attach(self)

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
        try:
            if self._nac is not None:
                self._nac.stop()
            self.tap.close()
            self.snapshot()
        finally:
            if self.front is not None and self.front.bench is self:
                self.front.attach(None)

    @property
    def external(self) -> bool:
        """The NAC under test runs outside the harness (served mock, sped-up wall time)."""
        return self.front is not None

    def now(self) -> float:
        """The bench's time in seconds: ``env.now``, or the sped-up wall clock for an external NAC
        (read from any thread: the served mock's request threads stamp exchanges with it)."""
        if self.front is not None:
            return self.front.clock.seconds()
        return float(self.env.now)

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
            dev.session_id = f"{self.session_prefix}{name}#{dev.sessions}"
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
            at=self.now(),
        )
        self.sessions[dev.session_id] = (name, ap.name)
        record = DecisionRecord(
            seq=len(self.evidence.decisions) + 1,
            at=self.now(),
            device=name,
            ap=ap.name,
            request=req,
            truth=self.truth(name),
        )
        self.evidence.decisions.append(record)
        self.current_decision = record.seq
        # the NAC's own processing is CPU time of this thread outside the mock: a busy shared machine
        # delays the thread without making the NAC slower
        if self.front is not None:
            return self._connect_external(nac, req, record, ap)
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

    def _connect_external(
        self, nac: NacUnderTest, req: AccessRequest, record: DecisionRecord, ap: AccessPoint
    ) -> DecisionRecord:
        """An access request over the wire: the NAC's time is the round trip less the mock's answers."""
        started = time.perf_counter()
        try:
            record.decision = nac.decide(req)
        except NacUnreachable as exc:
            # No answer at all (every retry timed out): the access point gets nothing, which is a
            # crash of the NAC from the oracles' point of view, never a pass.
            record.crashed = f"no answer: {exc}"
        except Exception as exc:  # noqa: BLE001 - a crashing NAC is evidence, not a harness error
            record.crashed = f"{type(exc).__name__}: {exc}"
        finally:
            self.current_decision = None
            round_trip = (time.perf_counter() - started) * 1000
            mock_ms = sum(x.wall_ms for x in self.evidence.exchanges_of(record))
            record.wall_ms = max(0.0, round_trip - mock_ms)
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
        self.evidence.coas.append(CoaRecord(at=self.now(), ap=ap_name, device=device, message=message))

    # -- time --------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (the NAC's background work runs).

        For an external NAC this is ``seconds / speedup`` of wall time; a wait longer than the
        declared ``max_wait_s`` is not judged (the scenario is skipped, saying so)."""
        _ = self.nac
        if self.front is None:
            self.env.run(until=float(self.env.now) + seconds)
            return
        wall = seconds / self.speedup
        limit = self.declared("max_wait_s", 30.0)
        if wall > limit:
            not_judgeable(
                f"letting {seconds:g} s pass takes {wall:.0f} s of wall time at speed-up {self.speedup:g}, "
                f"beyond max_wait_s {limit:g} (declare a larger speedup or max_wait_s)"
            )
        target = self.now() + seconds
        if target > self.env.now:
            self.env.run(until=target)

    def require_observable_cache(self, name: str) -> None:
        """External NAC: stop unless two of the device's attempts fell within the declared cache lifetime.

        On sped-up wall time a decision's round trip costs virtual time too; when it pushes the
        attempts apart by more than the cache lifetime, the NAC's cache could not have answered
        and a stale-cache fault would go unseen: the scenario is not judged (never passed)."""
        if self.front is None:
            return
        ttl = self.declared("cache_ttl_s", 60.0)
        times = [d.at for d in self.evidence.decisions_for(name)]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        if gaps and min(gaps) >= ttl:
            not_judgeable(
                f"{name}'s attempts were {min(gaps):.0f} s apart on the sped-up clock, not within the declared "
                f"cache lifetime of {ttl:g} s ({ttl / self.speedup * 1000:.0f} ms of wall time at speed-up "
                f"{self.speedup:g}): the NAC's cache could not be observed (declare a smaller speedup)"
            )

    def require_attempts_in_fault_window(self, attempts: int = 2) -> None:
        """External NAC: stop unless ``attempts`` access requests fell inside the timed fault's window.

        A NAC that asks again too early (RES-03) can only show it when a second attempt comes while
        Intune still throttles; a wire round trip on sped-up time may be longer than the window."""
        if self.front is None:
            return
        windows = [
            (m.at, float(m.data["until"])) for m in self.evidence.marks_of("fault") if m.data.get("until")
        ]
        if not windows:
            return
        start, until = windows[-1]
        inside = [d for d in self.evidence.decisions if start <= d.at < until]
        if len(inside) < attempts:
            not_judgeable(
                f"only {len(inside)} access request(s) fell inside the {until - start:.0f} s fault window on "
                f"the sped-up clock (a request's round trip at speed-up {self.speedup:g} is longer): "
                "the NAC had no chance to ask again too early (declare a smaller speedup)"
            )

    def mark(self, what: str, device: str = "", data: dict[str, Any] | None = None, **more: Any) -> None:
        self.evidence.marks.append(Mark(self.now(), what, device, {**(data or {}), **more}))

    def snapshot(self) -> Evidence:
        """The evidence so far, with the mock's own call log and the clock brought up to date."""
        self.evidence.now = self.now()
        self.evidence.mock_calls = [c.to_json() for c in self.service.calls()]
        return self.evidence
