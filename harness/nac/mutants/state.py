"""Mutants breaking the state rules (STA-01 … STA-06)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import simpy

from ...model import AccessDecision, AccessRequest, Decision
from ..decision_cache import DecisionCache
from ..intune_answers import DeviceAnswer
from ..reference import ReferenceNac
from ..reference_polling import Session
from .registry import mutant


@mutant(
    "STA-01-gap-means-unknown",
    "STA-01",
    "treats a device it has not seen for 16 hours as Unknown / not synced",
)
class GapMeansUnknown(ReferenceNac):
    gap_s = 16 * 3600.0

    def decide(self, request: AccessRequest) -> AccessDecision:
        seen: dict[str, float] = self.__dict__.setdefault("_seen", {})
        last = seen.get(request.mac)
        seen[request.mac] = self.now()
        if last is not None and self.now() - last > self.gap_s:
            return AccessDecision(
                Decision.ENROLL_REDIRECT,
                self.redirect_url(Decision.ENROLL_REDIRECT),
                reason="not synced recently: treated as Unknown",
            )
        return super().decide(request)


@mutant(
    "STA-02-unknown-sticks", "STA-02", "keeps treating a device it once saw as Unknown as new for an hour"
)
class UnknownSticks(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        new: dict[str, float] = self.__dict__.setdefault("_new", {})
        key = answer.intune_id or answer.mac or ""
        if answer.managed and answer.state == "unknown":
            new.setdefault(key, self.now())
        first = new.get(key)
        if first is not None and self.now() - first < 3600:
            return Decision.REMEDIATE_REDIRECT, "newly enrolled (remembered as Unknown)"
        return super().interpret(answer)


@mutant("STA-03-no-coa", "STA-03", "never sends CoA / Disconnect when a connected device turns noncompliant")
class NoCoa(ReferenceNac):
    def send_coa(self, session: Session, reason: str) -> None:
        session.decision = Decision.REMEDIATE_REDIRECT


@mutant("STA-03-polls-too-slowly", "STA-03", "polls at three times its declared interval")
class PollsTooSlowly(ReferenceNac):
    def poll_loop(self) -> Generator[simpy.Event, Any, None]:
        assert self.env is not None
        while True:
            yield self.env.timeout(self.config.polling_interval_s * 3)
            yield from self.sweep()


@mutant(
    "STA-04-last-known-good",
    "STA-04",
    "keeps its last-known-good 'allow' when Intune has not heard from a device for 14 days",
)
class LastKnownGood(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        decision, reason = super().interpret(answer)
        good: set[str] = self.__dict__.setdefault("_good", set())
        key = answer.intune_id or answer.mac or ""
        if decision is Decision.ALLOW:
            good.add(key)
            return decision, reason
        last = answer.details.get("last_contact") if answer.details else None
        if key in good and last:
            when = datetime.fromisoformat(str(last))
            epoch = self.config.epoch
            if epoch + timedelta(seconds=self.now()) - when > timedelta(days=14):
                return Decision.ALLOW, "Intune's answer is stale; last known good"
        return decision, reason


@mutant("STA-05-day-long-cache", "STA-05", "caches 'allow' for a day instead of its declared cache lifetime")
class DayLongCache(ReferenceNac):
    def __init__(self, config: Any = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        self.cache = DecisionCache(86400.0)


@mutant("STA-06-grace-as-noncompliant", "STA-06", "quarantines devices that are still in their grace period")
class GraceAsNoncompliant(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        if answer.managed and answer.state == "inGracePeriod":
            return Decision.REMEDIATE_REDIRECT, "in grace period: not compliant"
        return super().interpret(answer)
