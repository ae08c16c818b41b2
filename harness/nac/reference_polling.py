"""The reference NAC's sessions, polling of the noncompliant list, back-off and CoA (STA-03, RES-02..04).

A mixin of :class:`harness.nac.reference.ReferenceNac`: each rule-relevant step is one method a
mutant can override. Everything waits in SimPy time (``yield env.timeout``), never on the wall.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from ..errors import InputError
from ..model import AccessDecision, AccessRequest, CoaMessage, Decision, Profile
from .base import CoaSink
from .decision_cache import DecisionCache
from .identity import DeviceIdentity, IdentityKind, normalize_mac
from .intune_answers import DeviceAnswer, IntuneError, IntuneUnavailable, ListedDevice, NoncompliantPage
from .intune_client import IntuneClient
from .reference_config import ReferenceNacConfig
from .session_table import Session, SessionTable

__all__ = ["MAX_PAGES", "PollingMixin", "Session", "SessionTable"]

MAX_PAGES = 100_000


class PollingMixin:
    """Sessions, the poll loop and CoA; the host class supplies the attributes and decision methods."""

    env: simpy.Environment | None
    coa_sink: CoaSink | None
    config: ReferenceNacConfig
    profile: Profile
    client: IntuneClient
    cache: DecisionCache
    sessions: SessionTable
    coa_sent: list[CoaMessage]
    sweeps: list[dict[str, Any]]

    def ensure_ready_or_raise(self) -> None:
        raise NotImplementedError

    def query(self, identity: DeviceIdentity) -> DeviceAnswer:
        raise NotImplementedError

    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        raise NotImplementedError

    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        raise NotImplementedError

    # -- sessions and CoA (STA-03) -------------------------------------------------------------
    def track_session(
        self,
        request: AccessRequest,
        identity: DeviceIdentity | None,
        answer: DeviceAnswer | None,
        result: AccessDecision,
    ) -> None:
        if not result.decision.grants_access:
            # only allowed sessions can need a CoA; a redirected device is asked afresh next time
            self.sessions.discard(request.session_id)
            return
        try:
            mac = normalize_mac(request.mac)
        except InputError:
            mac = request.mac
        intune_id = identity.value if identity and identity.kind is IdentityKind.GUID else None
        if answer is not None and answer.intune_id:
            intune_id = intune_id or answer.intune_id
        self.sessions.put(request.session_id, mac, intune_id, result.decision, identity)

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
        for session_id, entry in self.sessions.entries():
            session = self.sessions.decode(session_id, entry)
            if not session.decision.grants_access or session.identity is None:
                continue
            self.client.reset_latency()
            try:
                decision, reason = self.interpret(self.query(session.identity))
            except IntuneError as exc:
                decision, reason = self.on_error(exc)
            yield env.timeout(self.client.latency_s)
            checked += 1
            still_connected = self.sessions.entry(session_id) is entry
            # An unreachable Intune is no evidence against the device: only a real "not compliant" acts.
            if still_connected and not decision.grants_access and decision is not Decision.MDM_UNREACHABLE:
                self.cache.forget(session.keys)
                self.send_coa(session, f"re-check: {reason}")
                self.sessions.update(session)
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
        for session in self.sessions.allowed_matching(guids, macs):
            self.cache.forget(session.keys)
            self.send_coa(session, "device is on Intune's noncompliant list")
            self.sessions.update(session)
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
