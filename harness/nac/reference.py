"""The reference NAC: the NAC under test that is correct on every rule of RULES.md.

It decides access requests from Intune's answers and polls the noncompliant list to CoA connected
devices. Every rule-relevant behaviour is one small method (its docstring cites the rule), so a
faulty NAC ("mutant", ``harness/nac/mutants``) subclasses this and overrides exactly one.
Time is ``env.now`` (set by :meth:`start`); the wall clock is never read.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import simpy

from mock_intune.service import MockIntune

from ..errors import ConfigError, InputError, StateError
from ..model import AccessDecision, AccessRequest, CoaMessage, Decision, IdentitySource, Profile
from .base import CoaSink, NacUnderTest, register_adapter
from .core_client import CoreIntuneClient, LatencyModel
from .decision_cache import DecisionCache
from .identity import DeviceIdentity, IdentityKind, intune_id_from_san, is_randomized_mac, normalize_mac
from .intune_answers import (
    DeviceAnswer,
    IntegrationError,
    IntuneError,
    IntuneUnavailable,
    ListedDevice,
    MalformedAnswer,
    NoncompliantPage,
    Throttled,
)
from .intune_client import ClientPolicy, HttpIntuneClient, IntuneClient
from .reference_config import BROAD_QUERY_MIN_INTERVAL_S, ReferenceNacConfig

GUID_PROFILES = frozenset({Profile.CR_CISCO, Profile.GRAPH})
"""Profiles that can query by Intune device id (ACC-05); the legacy ones query by MAC only."""
MAX_PAGES = 100_000


@dataclass
class Session:
    """A connected session the NAC knows of (from its own decisions), for CoA (STA-03)."""

    session_id: str
    mac: str
    intune_id: str | None
    decision: Decision
    keys: tuple[str, ...]
    identity: DeviceIdentity | None = None


@register_adapter("reference")
class ReferenceNac(ClientPolicy, NacUnderTest):
    """The correct NAC. Build it with a config (or its fields) and a transport, or :meth:`fast`."""

    name = "reference"
    min_polling_interval_s: float = BROAD_QUERY_MIN_INTERVAL_S
    """RES-02: never poll the broad list more often than Intune allows."""

    def __init__(
        self,
        config: ReferenceNacConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        client: IntuneClient | None = None,
        service: MockIntune | None = None,
        latency: LatencyModel | None = None,
        **fields: Any,
    ) -> None:
        if config is None:
            config = ReferenceNacConfig.from_mapping(fields)
        elif fields:
            ReferenceNacConfig.from_mapping(fields)  # names unknown keys
            config = replace(config, **fields)
        if 0 < config.polling_interval_s < self.min_polling_interval_s:
            raise ConfigError(
                f"{config.polling_interval_s:g} s is more often than Intune's broad-query limit "
                f"({self.min_polling_interval_s:g} s, RES-02)",
                field="polling_interval_s",
            )
        self.config = config
        self.profile = config.profile
        self.env: simpy.Environment | None = None
        self.coa_sink: CoaSink | None = None
        self.cache = DecisionCache(config.cache_ttl_s)
        self.sessions: dict[str, Session] = {}
        self.coa_sent: list[CoaMessage] = []
        self.sweeps: list[dict[str, Any]] = []
        self.onboarding_error: str | None = None
        self._ready = False
        self._lookup_not_before = 0.0
        self._lookup_throttles = 0
        if client is not None:
            self.client: IntuneClient = client
        elif service is not None:
            self.client = CoreIntuneClient(
                service,
                config.profile,
                client_id=config.client_id,
                latency=latency,
                portal_url=config.portal_url,
            )
        else:
            self.client = HttpIntuneClient(
                config.client_settings(),
                transport=transport,
                now=self.now,
                epoch_unix=config.epoch.timestamp(),
                policy=self,
            )

    @classmethod
    def fast(
        cls,
        service: MockIntune,
        config: ReferenceNacConfig | None = None,
        *,
        latency: LatencyModel | None = None,
        **fields: Any,
    ) -> ReferenceNac:
        """The fast path: the same NAC answered by the mock core with modelled latency (load runs)."""
        return cls(config, service=service, latency=latency, **fields)

    # -- the seam --------------------------------------------------------------------------
    def now(self) -> float:
        """The NAC's time: ``env.now`` (never the wall clock)."""
        if self.env is None:
            raise StateError("the reference NAC has not been started: call start(env, coa_sink) first")
        return float(self.env.now)

    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        """Onboard (discovery, token, mdminfo: steps 1-3) and start polling (STA-03)."""
        self.env = env
        self.coa_sink = coa_sink
        self.ensure_ready()
        if self.config.polling_interval_s > 0:
            env.process(self.poll_loop())

    def ensure_ready(self) -> bool:
        """ONB-01: discover (and read ``mdminfo``) before the first query; retried until it works."""
        try:
            self.ensure_ready_or_raise()
        except IntuneError:
            return False
        return True

    def session_ended(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def stop(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    # -- deciding --------------------------------------------------------------------------
    def decide(self, request: AccessRequest) -> AccessDecision:
        """Decide one request (steps 5, 6, 8, 9) at ``env.now``."""
        now = self.now()
        self.client.reset_latency()
        found = self.identity_from_request(request)
        if not isinstance(found, DeviceIdentity):
            decision, reason = found
            result = self.finish(decision, reason, identity=None, answer=None)
            self.track_session(request, None, None, result)
            return result
        identity = found
        cached = self.cache_get(identity, now)
        if cached is not None:
            result = replace(
                cached, latency_s=self.config.processing_s, attributes={**cached.attributes, "cached": True}
            )
            self.track_session(request, identity, None, result)
            return result
        answer: DeviceAnswer | None = None
        try:
            self.ensure_ready_or_raise()
            answer = self.query(identity)
            decision, reason = self.interpret(answer)
        except IntuneError as exc:
            decision, reason = self.on_error(exc)
        result = self.finish(decision, reason, identity=identity, answer=answer)
        self.cache_put(identity, result, now)
        self.track_session(request, identity, answer, result)
        return result

    def ensure_ready_or_raise(self) -> None:
        """Like :meth:`ensure_ready`, but the onboarding error propagates (to :meth:`on_error`)."""
        if self._ready:
            return
        try:
            self.client.prepare()
        except IntuneError as exc:
            self.onboarding_error = str(exc)
            raise
        self._ready = True
        self.onboarding_error = None

    def identity_from_request(self, request: AccessRequest) -> DeviceIdentity | tuple[Decision, str]:
        """ACC-05 / ACC-06: the certificate's Intune device id first, else the normalised MAC.

        A randomised MAC without a certificate identity is never queried and never allowed.
        """
        sources = self.config.identity_sources
        if IdentitySource.CERTIFICATE in sources and request.san_uris and self.profile in GUID_PROFILES:
            guid = intune_id_from_san(request.san_uris)
            if guid is not None:
                return DeviceIdentity(IdentityKind.GUID, guid)
        if IdentitySource.MAC not in sources:
            return Decision.DENY, "no certificate identity and MAC identity is disabled"
        try:
            mac = self.normalize_mac(request.mac)
        except InputError as exc:
            return Decision.DENY, f"invalid MAC address: {exc}"
        if is_randomized_mac(mac):
            return self.config.randomized_mac_decision, "randomised MAC without a certificate identity"
        return DeviceIdentity(IdentityKind.MAC, mac)

    def normalize_mac(self, mac: str) -> str:
        """ACC-06: 12 upper-case hex digits."""
        return normalize_mac(mac)

    def query(self, identity: DeviceIdentity) -> DeviceAnswer:
        """Steps 5 / 8: ask Intune, unless a Retry-After is still running (RES-03)."""
        now = self.now()
        if now < self._lookup_not_before:
            raise Throttled(
                f"throttled by Intune; next query not before t={self._lookup_not_before:g}",
                retry_after=self._lookup_not_before - now,
            )
        try:
            answer = self.client.lookup(identity)
        except Throttled as exc:
            self._lookup_not_before = now + self.backoff(self._lookup_throttles, exc.retry_after)
            self._lookup_throttles += 1
            raise
        self._lookup_throttles = 0
        return answer

    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        """ACC-01..04: compliant → allow; not enrolled → enroll; otherwise (incl. Unknown) → remediate."""
        if not answer.managed:
            return Decision.ENROLL_REDIRECT, "not enrolled in Intune"
        if answer.compliant:
            return Decision.ALLOW, "compliant"
        if answer.state == "unknown":
            return Decision.REMEDIATE_REDIRECT, "enrolled; compliance not evaluated yet (Unknown)"
        return (
            Decision.REMEDIATE_REDIRECT,
            f"enrolled and not compliant{f' ({answer.state})' if answer.state else ''}",
        )

    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        """RES-01 / ONB-05 / RES-05: fail closed; integration errors and malformed answers never allow."""
        if isinstance(exc, IntegrationError):
            return Decision.MDM_UNREACHABLE, f"integration error: {exc}"
        if isinstance(exc, MalformedAnswer):
            return Decision.MDM_UNREACHABLE, f"malformed answer from Intune: {exc}"
        if isinstance(exc, IntuneUnavailable) and self.config.fail_open:
            return Decision.ALLOW, f"MDM unreachable; allowed by declared fail-open policy ({exc})"
        return Decision.MDM_UNREACHABLE, f"MDM unreachable: {exc}"

    def redirect_url(self, decision: Decision) -> str | None:
        """RED-01: every redirect carries the portal Intune advertises (``mdminfo`` ``redirect_url``)."""
        if not decision.is_redirect:
            return None
        self.ensure_ready()
        return self.client.redirect_url()

    def finish(
        self,
        decision: Decision,
        reason: str,
        *,
        identity: DeviceIdentity | None,
        answer: DeviceAnswer | None,
    ) -> AccessDecision:
        """ACC-07: latency = Intune's modelled answer time + the NAC's processing time."""
        intune_s = self.client.latency_s
        latency = intune_s + self.config.processing_s
        return AccessDecision(
            decision=decision,
            redirect_url=self.redirect_url(decision),
            reason=reason,
            latency_s=latency,
            intune_id=identity.value if identity and identity.kind is IdentityKind.GUID else None,
            role="corporate" if decision.grants_access else ("quarantine" if decision.is_redirect else ""),
            attributes={
                "profile": self.profile.value,
                "identity": str(identity) if identity else None,
                "intune_latency_s": intune_s,
                "within_budget": latency - intune_s <= self.config.decision_budget_s,
                "cached": False,
                "answer_intune_id": answer.intune_id if answer else None,
            },
        )

    # -- cache policy (RED-02 / RED-03) ------------------------------------------------------
    def cache_get(self, identity: DeviceIdentity, now: float) -> AccessDecision | None:
        return self.cache.get(str(identity), now)

    def cache_put(self, identity: DeviceIdentity, decision: AccessDecision, now: float) -> None:
        """Only "allow" is cached: a redirected device always gets a fresh answer (RED-02/03)."""
        self.cache.put(str(identity), decision, now)

    # -- sessions and CoA (STA-03) -------------------------------------------------------------
    def track_session(
        self,
        request: AccessRequest,
        identity: DeviceIdentity | None,
        answer: DeviceAnswer | None,
        result: AccessDecision,
    ) -> None:
        try:
            mac = normalize_mac(request.mac)
        except InputError:
            mac = request.mac
        intune_id = identity.value if identity and identity.kind is IdentityKind.GUID else None
        if answer is not None and answer.intune_id:
            intune_id = intune_id or answer.intune_id
        keys = tuple(k for k in (str(identity) if identity else None, f"macaddress={mac}") if k)
        if intune_id:
            keys += (f"guid={intune_id}",)
        self.sessions[request.session_id] = Session(
            request.session_id, mac, intune_id, result.decision, keys, identity
        )

    def poll_loop(self) -> Generator[simpy.Event, Any, None]:
        """STA-03: every ``polling_interval_s``, sweep the noncompliant list and CoA connected devices."""
        assert self.env is not None
        while True:
            yield self.env.timeout(self.config.polling_interval_s)
            yield from self.sweep()

    def has_broad_list(self) -> bool:
        """The legacy JSON API has no "all noncompliant" query: that profile re-checks sessions instead."""
        return self.profile is not Profile.LEGACY_JSON

    def sweep(self) -> Generator[simpy.Event, Any, None]:
        """One poll: the broad list where the profile has one, else a re-check of connected sessions."""
        if self.has_broad_list():
            yield from self.broad_sweep()
        else:
            yield from self.recheck_sessions()

    def recheck_sessions(self) -> Generator[simpy.Event, Any, None]:
        """STA-03 without a broad list: re-query each allowed session's device (single queries are unlimited)."""
        assert self.env is not None
        env = self.env
        started, checked, coas = env.now, 0, 0
        for session in list(self.sessions.values()):
            if not session.decision.grants_access or session.identity is None:
                continue
            self.client.reset_latency()
            try:
                decision, reason = self.interpret(self.query(session.identity))
            except IntuneError as exc:
                decision, reason = self.on_error(exc)
            yield env.timeout(self.client.latency_s)
            checked += 1
            still_connected = self.sessions.get(session.session_id) is session
            # An unreachable Intune is no evidence against the device: only a real "not compliant" acts.
            if still_connected and not decision.grants_access and decision is not Decision.MDM_UNREACHABLE:
                self.cache.forget(session.keys)
                self.send_coa(session, f"re-check: {reason}")
                coas += 1
        self.sweeps.append(
            {
                "started": started,
                "ended": env.now,
                "pages": 0,
                "devices": checked,
                "coa": coas,
                "outcome": "recheck",
            }
        )

    def broad_sweep(self) -> Generator[simpy.Event, Any, None]:
        """One sweep with paging (RES-04) and back-off on 503 / 429 (RES-02 / RES-03), in SimPy time."""
        assert self.env is not None
        env = self.env
        started = env.now
        listed: list[ListedDevice] = []
        cursor: str | None = None
        attempt = pages = 0
        outcome = "ok"
        while True:
            self.client.reset_latency()
            try:
                self.ensure_ready_or_raise()
                page = self.poll_noncompliant(cursor)
            except IntuneUnavailable as exc:
                yield env.timeout(self.client.latency_s)
                if attempt + 1 >= self.config.sweep_max_attempts:
                    outcome = f"gave up: {exc}"
                    break
                yield env.timeout(self.backoff(attempt, exc.retry_after))
                attempt += 1
                continue
            except IntuneError as exc:
                yield env.timeout(self.client.latency_s)
                outcome = f"failed: {exc}"
                break
            yield env.timeout(self.client.latency_s)
            attempt = 0
            pages += 1
            listed.extend(page.devices)
            cursor = self.follow_paging(page)
            if cursor is None or pages >= MAX_PAGES:
                break
        coas = self.act_on_noncompliant(listed) if outcome == "ok" else 0
        self.sweeps.append(
            {
                "started": started,
                "ended": env.now,
                "pages": pages,
                "devices": len(listed),
                "coa": coas,
                "outcome": outcome,
            }
        )

    def poll_noncompliant(self, cursor: str | None) -> NoncompliantPage:
        """One page of the broad noncompliant query."""
        return self.client.noncompliant_page(cursor)

    def follow_paging(self, page: NoncompliantPage) -> str | None:
        """RES-04: continue while Intune says there is more (``paging_info`` / ``@odata.nextLink``)."""
        return page.next_cursor

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """RES-02 / RES-03: wait at least ``Retry-After``; without it, exponential back-off."""
        exponential = min(self.config.backoff_base_s * (2**attempt), self.config.backoff_max_s)
        if retry_after is not None:
            return max(retry_after, 0.0)
        return max(exponential, 0.001)

    def act_on_noncompliant(self, listed: list[ListedDevice]) -> int:
        """STA-03: CoA every connected, allowed session of a listed device; forget its cached allow."""
        guids = {d.intune_id for d in listed if d.intune_id}
        macs = {d.mac for d in listed if d.mac}
        self.cache.forget([f"guid={g}" for g in guids] + [f"macaddress={m}" for m in macs])
        sent = 0
        for session in list(self.sessions.values()):
            if not session.decision.grants_access:
                continue
            if (session.intune_id and session.intune_id in guids) or session.mac in macs:
                self.cache.forget(session.keys)
                self.send_coa(session, "device is on Intune's noncompliant list")
                sent += 1
        return sent

    def send_coa(self, session: Session, reason: str) -> None:
        """RFC 5176 CoA / Disconnect to the access point holding ``session``."""
        assert self.env is not None
        msg = CoaMessage(
            kind=self.config.coa_kind,
            session_id=session.session_id,
            mac=session.mac,
            at=float(self.env.now),
            reason=reason,
            decision=Decision.REMEDIATE_REDIRECT,
        )
        session.decision = Decision.REMEDIATE_REDIRECT
        self.coa_sent.append(msg)
        if self.coa_sink is not None:
            self.coa_sink(msg)
