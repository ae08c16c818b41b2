"""Mutants breaking the access-decision rules (ACC-01 … ACC-07)."""

from __future__ import annotations

from ...errors import InputError
from ...model import AccessRequest, Decision, IdentitySource
from ..identity import DeviceIdentity, IdentityKind
from ..intune_answers import DeviceAnswer, IntuneError
from ..reference import GUID_PROFILES, ReferenceNac
from .registry import mutant


@mutant("ACC-01-redirect-on-allow", "ACC-01", "attaches the portal redirect to full-access decisions too")
class RedirectOnAllow(ReferenceNac):
    def redirect_url(self, decision: Decision) -> str | None:
        if decision.grants_access:
            self.ensure_ready()
            return self.client.redirect_url()
        return super().redirect_url(decision)


@mutant("ACC-02-unenrolled-allowed", "ACC-02", "allows devices Intune does not manage")
class UnenrolledAllowed(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        if not answer.managed:
            return Decision.ALLOW, "not managed by Intune: nothing against it"
        return super().interpret(answer)


@mutant(
    "ACC-03-noncompliant-sent-to-enroll",
    "ACC-03",
    "sends noncompliant devices to enrollment, not to quarantine",
)
class NoncompliantToEnroll(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        decision, reason = super().interpret(answer)
        if decision is Decision.REMEDIATE_REDIRECT and answer.state != "unknown":
            return Decision.ENROLL_REDIRECT, reason
        return decision, reason


@mutant("ACC-04-unknown-as-compliant", "ACC-04", "treats a never-evaluated (Unknown) device as compliant")
class UnknownAsCompliant(ReferenceNac):
    def interpret(self, answer: DeviceAnswer) -> tuple[Decision, str]:
        if answer.managed and answer.state == "unknown":
            return Decision.ALLOW, "enrolled; no verdict yet, assume compliant"
        return super().interpret(answer)


def _cert_profile(nac: ReferenceNac, request: AccessRequest) -> bool:
    return (
        IdentitySource.CERTIFICATE in nac.config.identity_sources
        and bool(request.san_uris)
        and nac.profile in GUID_PROFILES
    )


@mutant(
    "ACC-05-first-san-uri", "ACC-05", "takes the first SAN URI as the device ID (the SID tag when present)"
)
class FirstSanUri(ReferenceNac):
    def identity_from_request(self, request: AccessRequest) -> DeviceIdentity | tuple[Decision, str]:
        if _cert_profile(self, request):
            first = request.san_uris[0]
            value = first.rsplit("/", 1)[-1].rsplit(":", 1)[-1].strip("{}").lower()
            return DeviceIdentity(IdentityKind.GUID, value)
        return super().identity_from_request(request)


@mutant("ACC-05-entra-id", "ACC-05", "queries by the certificate's Entra (Azure AD) device ID")
class EntraIdForIntuneId(ReferenceNac):
    def identity_from_request(self, request: AccessRequest) -> DeviceIdentity | tuple[Decision, str]:
        if _cert_profile(self, request) and request.cert_subject_cn:
            return DeviceIdentity(IdentityKind.GUID, request.cert_subject_cn.lower())
        return super().identity_from_request(request)


@mutant("ACC-06-mac-not-normalised", "ACC-06", "queries by the MAC exactly as the access point wrote it")
class MacNotNormalised(ReferenceNac):
    def normalize_mac(self, mac: str) -> str:
        super().normalize_mac(mac)  # still rejects what is not a MAC at all
        return mac


@mutant("ACC-06-allows-randomised-mac", "ACC-06", "looks up randomised (private) MACs like any other")
class AllowsRandomisedMac(ReferenceNac):
    def identity_from_request(self, request: AccessRequest) -> DeviceIdentity | tuple[Decision, str]:
        found = super().identity_from_request(request)
        if isinstance(found, tuple) and "randomised" in found[1]:
            try:
                return DeviceIdentity(IdentityKind.MAC, self.normalize_mac(request.mac))
            except InputError:
                return found
        return found


@mutant("ACC-07-slow-decisions", "ACC-07", "asks Intune three more times per decision 'to be sure'")
class SlowDecisions(ReferenceNac):
    def query(self, identity: DeviceIdentity) -> DeviceAnswer:
        answer = super().query(identity)
        for _ in range(3):
            try:
                super().query(identity)
            except IntuneError:
                break
        return answer
