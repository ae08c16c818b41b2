"""Mutants breaking the resilience rules (RES-01 … RES-05)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from ...model import Decision
from ..identity import DeviceIdentity
from ..intune_answers import (
    DeviceAnswer,
    IntuneError,
    IntuneUnavailable,
    MalformedAnswer,
    NoncompliantPage,
    Throttled,
)
from ..reference import ReferenceNac
from .registry import mutant


@mutant("RES-01-fail-open", "RES-01", "allows when Intune is unreachable, without declaring it")
class FailOpen(ReferenceNac):
    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        if isinstance(exc, IntuneUnavailable) and not isinstance(exc, Throttled):
            return Decision.ALLOW, f"MDM unreachable, letting the user work: {exc}"
        return super().on_error(exc)


@mutant("RES-01-unreachable-as-not-enrolled", "RES-01", "reports an unreachable Intune as 'not enrolled'")
class UnreachableAsNotEnrolled(ReferenceNac):
    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        if isinstance(exc, IntuneUnavailable) and not isinstance(exc, Throttled):
            return Decision.ENROLL_REDIRECT, "no answer: treat as not enrolled"
        return super().on_error(exc)


@mutant("RES-02-polls-too-often", "RES-02", "polls the broad noncompliant list every 10 minutes")
class PollsTooOften(ReferenceNac):
    def poll_loop(self) -> Generator[simpy.Event, Any, None]:
        assert self.env is not None
        while True:
            yield self.env.timeout(600.0)
            yield from self.sweep()


@mutant("RES-02-retry-storm-on-503", "RES-02", "retries the broad query 5 seconds after a 503")
class RetryStormOn503(ReferenceNac):
    _storm = False

    def poll_noncompliant(self, cursor: str | None) -> NoncompliantPage:
        try:
            return super().poll_noncompliant(cursor)
        except Throttled:
            self._storm = True
            raise

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if self._storm:
            self._storm = False
            return 5.0
        return super().backoff(attempt, retry_after)


@mutant("RES-03-ignores-retry-after", "RES-03", "asks Graph again right away after a 429")
class IgnoresRetryAfter(ReferenceNac):
    def query(self, identity: DeviceIdentity) -> DeviceAnswer:
        return self.client.lookup(identity)


@mutant("RES-04-no-paging", "RES-04", "reads only the first page of the noncompliant list")
class NoPaging(ReferenceNac):
    def follow_paging(self, page: NoncompliantPage) -> str | None:
        return None


@mutant("RES-05-crashes-on-malformed", "RES-05", "crashes on an answer it cannot read")
class CrashesOnMalformed(ReferenceNac):
    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        if isinstance(exc, MalformedAnswer):
            raise RuntimeError(f"unexpected answer from Intune: {exc}")
        return super().on_error(exc)


@mutant("RES-05-malformed-as-compliant", "RES-05", "reads an answer it cannot parse as compliant")
class MalformedAsCompliant(ReferenceNac):
    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        if isinstance(exc, MalformedAnswer):
            return Decision.ALLOW, "answer unreadable; assuming compliant"
        return super().on_error(exc)
