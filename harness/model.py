"""Shared types of the harness: the nine steps, access requests and decisions, CoA, trace events."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Step(IntEnum):
    """Microsoft's nine-step NAC flow."""

    REGISTER_APP = 1
    """The NAC app is registered in Entra ID with permission to the Intune API."""
    CONFIGURE_DISCOVERY = 2
    """The NAC is configured with the discovery URL."""
    CERTIFICATE_AUTH = 3
    """Certificate authentication is set up."""
    CONNECT = 4
    """The user connects to Wi-Fi or VPN."""
    QUERY_INTUNE = 5
    """The NAC asks Intune for the device's enrollment and compliance state."""
    REDIRECT = 6
    """A device not enrolled or not compliant is redirected to enroll or remediate."""
    REVERIFY = 7
    """The device re-verifies (portal visit / enrollment done, then reconnects)."""
    NEW_STATE = 8
    """The NAC gets the new state."""
    CONNECTED = 9
    """The connection is established."""


class AccessType(StrEnum):
    WIFI = "wifi"
    VPN = "vpn"


class Profile(StrEnum):
    """Which Intune interface the NAC under test speaks (RULES.md "Profiles")."""

    CR_CISCO = "cr-cisco"
    LEGACY_CISCO = "legacy-cisco"
    LEGACY_JSON = "legacy-json"
    GRAPH = "graph"


class IdentitySource(StrEnum):
    CERTIFICATE = "certificate"
    MAC = "mac"


class Decision(StrEnum):
    """What the NAC told the access point."""

    ALLOW = "allow"
    """Full corporate access."""
    ENROLL_REDIRECT = "enroll_redirect"
    """No corporate access; captive redirect to enrollment (not enrolled / unknown device)."""
    REMEDIATE_REDIRECT = "remediate_redirect"
    """Quarantine; redirect to the management portal for a compliance check."""
    DENY = "deny"
    """Rejected outright."""
    MDM_UNREACHABLE = "mdm_unreachable"
    """The NAC could not get an answer from Intune and says so (fail closed)."""

    @property
    def grants_access(self) -> bool:
        return self is Decision.ALLOW

    @property
    def is_redirect(self) -> bool:
        return self in (Decision.ENROLL_REDIRECT, Decision.REMEDIATE_REDIRECT)


class CoaKind(StrEnum):
    COA = "coa"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One authentication at an access point / VPN gateway (step 4)."""

    device: str
    """The harness's device key (its Intune device id for enrolled devices, else a stable id)."""
    session_id: str
    access_type: AccessType
    mac: str
    """Calling-Station-Id as the AP sees it (may be randomised)."""
    nas_id: str
    ssid: str = ""
    san_uris: tuple[str, ...] = ()
    """SAN URI values of the client certificate (empty: no certificate, MAB)."""
    cert_subject_cn: str = ""
    at: float = 0.0
    """Simulated time (seconds) of the request."""


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """The NAC's answer to one :class:`AccessRequest`."""

    decision: Decision
    redirect_url: str | None = None
    reason: str = ""
    latency_s: float = 0.0
    """Time the NAC took (modelled in virtual time, measured on the wire)."""
    intune_id: str | None = None
    """The Intune device id the NAC queried (or None when it queried by MAC / not at all)."""
    role: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CoaMessage:
    """A Change-of-Authorization or Disconnect the NAC sent to an access point (RFC 5176)."""

    kind: CoaKind
    session_id: str
    mac: str
    at: float
    reason: str = ""
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One step of one device's walk through the flow."""

    device: str
    step: Step
    at: float
    outcome: str
    detail: str = ""
