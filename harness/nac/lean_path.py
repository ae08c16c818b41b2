"""The reference NAC's lean decision path for load runs: the same decisions without the parsing.

A load simulation decides millions of access requests. On the full path each one is an
:class:`~harness.model.AccessRequest` whose certificate SAN URIs and MAC notation the world formats
and the NAC parses back (ACC-05 / ACC-06), a :class:`~harness.nac.identity.DeviceIdentity`, a
:class:`~harness.nac.intune_answers.DeviceAnswer` and an :class:`~harness.model.AccessDecision`
with its attributes: most of a device's cost. The world already knows the parts the NAC would parse
(the Intune device id in the device's certificate, its MAC as a number), so
:class:`LeanDecider` takes those and answers with a :data:`LeanAnswer` tuple.

It stands in for the reference's own rule methods only, and only on the common path:

* it is built only for a :class:`~harness.nac.reference.ReferenceNac` (or subclass) that overrides
  none of the methods in :data:`GOVERNED` — every mutant overrides one, so mutants always take the
  full path — with the fast-path client (:class:`~harness.nac.core_client.CoreIntuneClient`) over a
  service with brief reads (the load fleet), on a profile without per-call throttling (not Graph);
* any request off the common path — NAC not onboarded yet, a Retry-After still running, faults
  installed for the surface, a randomised MAC without a certificate identity, MAC identity disabled,
  the permission check failing — returns ``None`` and the caller takes the full :meth:`decide`;
* verdicts come from the NAC's own :meth:`interpret` (memoised per answer shape), the redirect URL
  from its :meth:`redirect_url`, allowed decisions are cached in its :class:`DecisionCache` as
  :class:`AccessDecision` objects built by its :meth:`finish`, sessions land in its session table,
  Intune calls are counted and latencies drawn in the same order as on the full path.

``tests/sim/test_lean_path.py`` proves both paths give byte-identical ``results.json`` for the
shipped scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..model import AccessDecision, Decision, IdentitySource, Profile
from .core_client import SURFACES, CoreIntuneClient
from .decision_cache import DeferredDecision
from .identity import DeviceIdentity, IdentityKind
from .intune_answers import DeviceAnswer, IntuneError

if TYPE_CHECKING:
    from .reference import ReferenceNac

Standing = tuple[bool, bool, int]
"""The load fleet's brief read of a device: ``(managed, compliant now, population index)``."""

LeanAnswer = tuple[Decision, str, float, "str | None"]
"""(decision, reason, latency in seconds, redirect URL): what the world reads of a decision."""

GOVERNED = (
    "decide",
    "identity_from_request",
    "normalize_mac",
    "cache_get",
    "cache_put",
    "ensure_ready",
    "ensure_ready_or_raise",
    "query",
    "backoff",
    "interpret",
    "on_error",
    "redirect_url",
    "finish",
    "track_session",
    "now",
)
"""The :class:`ReferenceNac` methods the lean path stands in for: a subclass overriding any of them
(a mutant, a vendor's variant) is never given a lean path."""

_LEAN_PROFILES = frozenset({Profile.CR_CISCO, Profile.LEGACY_CISCO, Profile.LEGACY_JSON})
_GUID_PROFILES = frozenset({Profile.CR_CISCO, Profile.GRAPH})


def lean_decider(nac: object) -> LeanDecider | None:
    """A :class:`LeanDecider` for ``nac`` when it qualifies (see the module's docstring), else None."""
    from .reference import ReferenceNac

    if not isinstance(nac, ReferenceNac):
        return None
    cls = type(nac)
    if any(getattr(cls, name) is not getattr(ReferenceNac, name) for name in GOVERNED):
        return None
    client = nac.client
    if type(client) is not CoreIntuneClient or not client.log_calls:
        return None
    service = client.service
    if nac.profile not in _LEAN_PROFILES or getattr(service, "count_lookup", None) is None:
        return None
    if any(
        getattr(service, name, None) is None
        for name in ("standing_by_guid", "standing_by_mac", "intune_id_of", "mac_of")
    ):
        return None
    return LeanDecider(nac)


class LeanDecider:
    """Decides a request from its parsed parts with ``nac``'s own rules, or hands it back (None)."""

    __slots__ = (
        "_by_guid",
        "_by_mac",
        "_intune_id_of",
        "_mac_of",
        "_standing_guid",
        "_standing_mac",
        "_epoch_s",
        "_faults",
        "_guid_answers",
        "_redirects",
        "_surface_key",
        "_verdicts",
        "client",
        "nac",
        "service",
    )

    def __init__(self, nac: ReferenceNac) -> None:
        self.nac = nac
        self.client: CoreIntuneClient = nac.client  # type: ignore[assignment]  # checked by lean_decider
        self.service = self.client.service
        sources = nac.config.identity_sources
        self._by_guid = IdentitySource.CERTIFICATE in sources and nac.profile in _GUID_PROFILES
        self._by_mac = IdentitySource.MAC in sources
        self._guid_answers = nac.profile is Profile.CR_CISCO
        self._surface_key = SURFACES[nac.profile].value
        self._standing_guid: Callable[[str], Standing | None] = getattr(self.service, "standing_by_guid")  # noqa: B009
        self._standing_mac: Callable[[str], Standing | None] = getattr(self.service, "standing_by_mac")  # noqa: B009
        self._intune_id_of: Callable[[int], str] = getattr(self.service, "intune_id_of")  # noqa: B009
        self._mac_of: Callable[[int], str] = getattr(self.service, "mac_of")  # noqa: B009
        self._epoch_s: float | None = None
        """Unix time of simulated t=0 (the permission check's clock), taken at the first decision."""
        self._faults = self.service.store.faults
        self._verdicts: dict[tuple[bool, bool], tuple[Decision, str]] = {}
        self._redirects: dict[Decision, str | None] = {}

    def decide(self, session_id: str, mac: int, guid: str | None) -> LeanAnswer | None:
        """Decide for a device showing the MAC ``mac`` (its 48-bit number) and, when it holds an
        Intune certificate, the Intune device id in it (lower case); None: take the full path."""
        nac = self.nac
        if not nac._ready or nac.env is None:
            return None
        now = float(nac.env.now)
        if now < nac._lookup_not_before or self._faults().get(self._surface_key):
            return None
        if guid is not None and self._by_guid:
            by_guid, value = True, guid
            key = "guid=" + guid
        elif not self._by_mac or (mac >> 40) & 0x02:
            return None  # MAC identity disabled, or a randomised MAC: the full path's rules decide
        else:
            by_guid, value = False, f"{mac:012X}"
            key = "macaddress=" + value
        cache = nac.cache
        processing_s = nac.config.processing_s
        cached = cache.peek(key, now)
        if cached is not None:
            verdict = cached.decision
            if verdict.grants_access:
                nac.sessions.put_canonical(session_id, mac, guid if by_guid else None, verdict, by_guid)
            else:
                nac.sessions.discard(session_id)
            return verdict, cached.reason, processing_s, cached.redirect_url
        client = self.client
        granted = client._granted_until
        if self._epoch_s is None:
            self._epoch_s = self.service.now().timestamp() - now
        if granted is None or self._epoch_s + now >= granted - 1.0:
            try:
                client._permission_check()
            except IntuneError:
                return None  # the full path asks again and fails closed the same way
        found = self._standing_guid(value) if by_guid else self._standing_mac(value)
        client.latency_s = 0.0  # as the full path's reset_latency before its lookup
        intune_s = client.count_answered_lookup()
        nac._lookup_throttles = 0
        if found is None or not found[0]:
            managed = compliant = False
        else:
            managed, compliant = True, found[1]
        verdict_reason = self._verdicts.get((managed, compliant))
        if verdict_reason is None:
            verdict_reason = self._verdicts[(managed, compliant)] = nac.interpret(
                DeviceAnswer(managed=managed, compliant=compliant)
            )
        verdict, reason = verdict_reason
        url = self._redirects.get(verdict, _UNSET)
        if url is _UNSET:
            url = self._redirects[verdict] = nac.redirect_url(verdict)
        if not verdict.grants_access:
            cache.forget((key,))  # as the full path's cache_put of a decision that grants nothing
            nac.sessions.discard(session_id)
            return verdict, reason, intune_s + processing_s, url  # type: ignore[return-value]
        index = found[2] if found is not None and managed else -1
        answer_id: str | None = None
        if self._guid_answers and index >= 0:
            answer_id = guid if by_guid else self._intune_id_of(index)
        parts = (verdict, reason, by_guid, value, managed, compliant, answer_id, index, intune_s)
        cache.put(key, DeferredDecision(verdict, reason, url, self._materialise, parts), now)  # type: ignore[arg-type]
        nac.sessions.put_canonical(session_id, mac, guid if by_guid else answer_id, verdict, by_guid)
        return verdict, reason, intune_s + processing_s, url  # type: ignore[return-value]

    def _materialise(
        self,
        verdict: Decision,
        reason: str,
        by_guid: bool,
        value: str,
        managed: bool,
        compliant: bool,
        answer_id: str | None,
        index: int,
        intune_s: float,
    ) -> AccessDecision:
        """The :class:`AccessDecision` the full path would have cached for these parts (its ``finish``)."""
        mac = self._mac_of(index) if index >= 0 else None
        return self.nac.decision_of(
            verdict,
            reason,
            identity=DeviceIdentity(IdentityKind.GUID if by_guid else IdentityKind.MAC, value),
            answer=DeviceAnswer(managed, compliant, intune_id=answer_id, mac=mac or None),
            intune_s=intune_s,
        )


_UNSET = object()
