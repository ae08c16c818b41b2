"""Mutants breaking the redirection rules (RED-01 … RED-03)."""

from __future__ import annotations

from ...model import AccessDecision, Decision
from ..identity import DeviceIdentity
from ..intune_client import DEFAULT_PORTAL_URL
from ..reference import ReferenceNac
from .registry import mutant


@mutant(
    "RED-01-hard-coded-portal", "RED-01", "redirects to a hard-coded portal, not the one mdminfo advertises"
)
class HardCodedPortal(ReferenceNac):
    def redirect_url(self, decision: Decision) -> str | None:
        return DEFAULT_PORTAL_URL if decision.is_redirect else None


@mutant("RED-01-no-redirect", "RED-01", "blocks devices without telling them where to go")
class NoRedirect(ReferenceNac):
    def redirect_url(self, decision: Decision) -> str | None:
        return None


class _NegativeCache(ReferenceNac):
    """Caches some non-allow decisions too (what the reference NAC never does)."""

    cache_kinds: frozenset[Decision] = frozenset()
    negative_ttl_s: float | None = None

    def cache_get(self, identity: DeviceIdentity, now: float) -> AccessDecision | None:
        neg = getattr(self, "_negative", {}).get(str(identity))
        if neg is not None and now < neg[0]:
            return neg[1]
        return super().cache_get(identity, now)

    def cache_put(self, identity: DeviceIdentity, decision: AccessDecision, now: float) -> None:
        if decision.decision in self.cache_kinds:
            ttl = self.negative_ttl_s if self.negative_ttl_s is not None else self.config.cache_ttl_s
            self.__dict__.setdefault("_negative", {})[str(identity)] = (now + ttl, decision)
            return
        super().cache_put(identity, decision, now)


@mutant(
    "RED-02-stale-noncompliant-cache",
    "RED-02",
    "serves a cached 'noncompliant' after the portal re-evaluated the device",
)
class StaleNoncompliantCache(_NegativeCache):
    cache_kinds = frozenset({Decision.REMEDIATE_REDIRECT})


@mutant(
    "RED-03-caches-not-enrolled",
    "RED-03",
    "caches 'not enrolled' for a day, past its declared cache lifetime",
)
class CachesNotEnrolled(_NegativeCache):
    cache_kinds = frozenset({Decision.ENROLL_REDIRECT})
    negative_ttl_s = 86400.0
