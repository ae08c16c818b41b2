"""Turn a NAC's RADIUS answer into the harness's :class:`Decision`.

NACs express "redirect to enroll", "quarantine" and "MDM unreachable" through vendor attributes:
Cisco-AVPair ``url-redirect=…`` / ``url-redirect-acl=…``, Filter-Id, Aruba-User-Role, and
Reply-Message. Which names mean what is site configuration, so it comes from a :class:`RoleMap`
(declared in ``nac.yaml``); the defaults match the harness's FreeRADIUS reference NAC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyrad import packet as rp

from ..model import AccessDecision, Decision


@dataclass(frozen=True)
class RoleMap:
    """Role / ACL / message markers (case-insensitive substrings) and the decisions they mean."""

    enroll: tuple[str, ...] = ("ENROLL",)
    remediate: tuple[str, ...] = ("QUARANTINE", "REMEDIATE", "NONCOMPLIANT")
    unreachable: tuple[str, ...] = ("MDM_UNREACHABLE", "MDM UNREACHABLE")
    deny: tuple[str, ...] = ("DENY",)


def _text(values: Sequence[object]) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def interpret(
    code: int, attributes: Mapping[str, Sequence[object]], roles: RoleMap = RoleMap(), latency_s: float = 0.0
) -> AccessDecision:
    """Map an Access-Accept / Access-Reject and its attributes to an :class:`AccessDecision`."""
    avpairs = _text(attributes.get("Cisco-AVPair", ()))
    redirect = next((p.split("=", 1)[1] for p in avpairs if p.lower().startswith("url-redirect=")), None)
    markers = [p.split("=", 1)[1] for p in avpairs if p.lower().startswith("url-redirect-acl=")]
    markers += _text(attributes.get("Filter-Id", ())) + _text(attributes.get("Aruba-User-Role", ()))
    messages = _text(attributes.get("Reply-Message", ()))
    found = " ".join(markers + messages).upper()
    role = (markers or [""])[0]
    attrs = {"avpairs": avpairs, "roles": markers, "messages": messages}

    def hit(names: tuple[str, ...]) -> bool:
        return any(n.upper() in found for n in names)

    if hit(roles.unreachable):
        decision = Decision.MDM_UNREACHABLE
    elif code == rp.AccessReject:
        decision = Decision.DENY
    elif code != rp.AccessAccept:
        return AccessDecision(Decision.DENY, reason=f"unexpected RADIUS code {code}", latency_s=latency_s)
    elif hit(roles.remediate):
        decision = Decision.REMEDIATE_REDIRECT
    elif hit(roles.enroll):
        decision = Decision.ENROLL_REDIRECT
    elif hit(roles.deny):
        decision = Decision.DENY
    elif redirect:
        # A redirect without a recognised role is still a redirect, never full access.
        decision = Decision.ENROLL_REDIRECT
    else:
        decision = Decision.ALLOW
    reason = "; ".join(messages) or (f"role {role}" if role else rp_code_name(code))
    return AccessDecision(
        decision, redirect_url=redirect, reason=reason, latency_s=latency_s, role=role, attributes=attrs
    )


def rp_code_name(code: int) -> str:
    return {
        rp.AccessAccept: "Access-Accept",
        rp.AccessReject: "Access-Reject",
        rp.AccessChallenge: "Access-Challenge",
    }.get(code, f"code {code}")
