"""The reference NAC: the NAC under test that is correct on every rule of RULES.md.

It decides access requests from Intune's answers and polls the noncompliant list to CoA connected
devices. Every rule-relevant behaviour is one small method (its docstring cites the rule), so a
faulty NAC ("mutant", ``harness/nac/mutants``) subclasses this and overrides exactly one.
Time is ``env.now`` (set by :meth:`start`); the wall clock is never read.
"""

from __future__ import annotations

from dataclasses import replace
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
    MalformedAnswer,
    Throttled,
)
from .intune_client import ClientPolicy, HttpIntuneClient, IntuneClient
from .reference_config import BROAD_QUERY_MIN_INTERVAL_S, ReferenceNacConfig
from .reference_polling import PollingMixin, SessionTable

GUID_PROFILES = frozenset({Profile.CR_CISCO, Profile.GRAPH})
"""Profiles that can query by Intune device id (ACC-05); the legacy ones query by MAC only."""


@register_adapter("reference")
class ReferenceNac(PollingMixin, ClientPolicy, NacUnderTest):
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
            ReferenceNacConfig.check_names(fields)
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
        self.sessions = SessionTable()
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
                timeout_s=config.timeout_s,
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
        self.sessions.discard(session_id)

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
                cached,
                latency_s=self.config.processing_s,
                attributes={**cached.attributes, "cached": True, "intune_latency_s": 0.0},
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
        if answer is not None:  # a fail-open allow is not Intune's answer: never cached
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
        """Steps 5 / 8: ask Intune, unless a Retry-After is still running (RES-02 / RES-03).

        A 429 sets the next allowed query time to ``Retry-After`` (or exponential back-off); a 5xx
        with ``Retry-After`` is honoured too. Until then decisions fail closed without asking.
        """
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
        except IntuneUnavailable as exc:
            if exc.retry_after is not None:  # a 503 that says when to come back is taken at its word
                self._lookup_not_before = now + exc.retry_after
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
        return self.decision_of(
            decision, reason, identity=identity, answer=answer, intune_s=self.client.latency_s
        )

    def decision_of(
        self,
        decision: Decision,
        reason: str,
        *,
        identity: DeviceIdentity | None,
        answer: DeviceAnswer | None,
        intune_s: float,
    ) -> AccessDecision:
        """The :class:`AccessDecision` :meth:`finish` hands out, for Intune's answer time ``intune_s``."""
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
