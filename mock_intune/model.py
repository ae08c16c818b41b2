"""The mock's domain types: Intune's enums (with Graph's wire values) and plain records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import InputError

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
"""The Intune first-party application whose service principal lists the NAC endpoints."""

MANAGE_RESOURCE = "https://api.manage.microsoft.com/"
GRAPH_RESOURCE = "https://graph.microsoft.com"
AAD_GRAPH_RESOURCE = "https://graph.windows.net"
DEFAULT_PORTAL_URL = "https://portal.manage.microsoft.com/networkaccesscontrol/index"


class ComplianceState(StrEnum):
    """Graph ``complianceState`` (v1.0), values as on the wire."""

    UNKNOWN = "unknown"
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    CONFLICT = "conflict"
    ERROR = "error"
    IN_GRACE_PERIOD = "inGracePeriod"
    CONFIG_MANAGER = "configManager"

    @property
    def grants_access(self) -> bool:
        """True where Intune says the device may reach corporate resources.

        Graph documents ``inGracePeriod`` as "non-compliant but still has access".
        """
        return self in (ComplianceState.COMPLIANT, ComplianceState.IN_GRACE_PERIOD)


class RegistrationState(StrEnum):
    """Graph ``deviceRegistrationState``."""

    NOT_REGISTERED = "notRegistered"
    REGISTERED = "registered"
    REVOKED = "revoked"
    KEY_CONFLICT = "keyConflict"
    APPROVAL_PENDING = "approvalPending"
    CERTIFICATE_RESET = "certificateReset"
    NOT_REGISTERED_PENDING_ENROLLMENT = "notRegisteredPendingEnrollment"
    UNKNOWN = "unknown"


class OwnerType(StrEnum):
    """Graph ``managedDeviceOwnerType``."""

    UNKNOWN = "unknown"
    COMPANY = "company"
    PERSONAL = "personal"


class OperatingSystem(StrEnum):
    WINDOWS = "Windows"
    MACOS = "macOS"
    IOS = "iOS"
    ANDROID = "Android"
    LINUX = "Linux"


class Permission(StrEnum):
    """Application permissions (app roles) the mock knows."""

    GET_DEVICE_COMPLIANCE = "get_device_compliance"
    APPLICATION_READ_ALL = "Application.Read.All"
    APPLICATION_READWRITE_ALL = "Application.ReadWrite.All"
    APPLICATION_READWRITE_OWNEDBY = "Application.ReadWrite.OwnedBy"
    DIRECTORY_READ_ALL = "Directory.Read.All"
    SERVICE_PRINCIPAL_ENDPOINT_READ_ALL = "ServicePrincipalEndpoint.Read.All"
    MANAGED_DEVICES_READ_ALL = "DeviceManagementManagedDevices.Read.All"
    MANAGED_DEVICES_READWRITE_ALL = "DeviceManagementManagedDevices.ReadWrite.All"


DISCOVERY_PERMISSIONS = frozenset(
    {
        Permission.APPLICATION_READ_ALL,
        Permission.APPLICATION_READWRITE_ALL,
        Permission.APPLICATION_READWRITE_OWNEDBY,
        Permission.DIRECTORY_READ_ALL,
        Permission.SERVICE_PRINCIPAL_ENDPOINT_READ_ALL,
    }
)
GRAPH_DEVICE_PERMISSIONS = frozenset(
    {Permission.MANAGED_DEVICES_READ_ALL, Permission.MANAGED_DEVICES_READWRITE_ALL}
)


class Surface(StrEnum):
    """The API surfaces the mock serves; the call log and fault injection are keyed by these."""

    ENTRA = "entra"
    DISCOVERY = "discovery"
    CR_CISCO = "cr_cisco"
    LEGACY_CISCO = "legacy_cisco"
    LEGACY_JSON = "legacy_json"
    GRAPH = "graph"
    PORTAL = "portal"
    ADMIN = "admin"


class NoPolicyMark(StrEnum):
    """Tenant setting "Mark devices with no compliance policy assigned as"."""

    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"


_MAC_STRIP = re.compile(r"[\s:.\-]")
_MAC_OK = re.compile(r"^[0-9A-F]{12}$")
_GUID_OK = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def normalize_mac(value: str) -> str:
    """``aa:bb-cc.dd ee ff`` → ``AABBCCDDEEFF``; raises InputError for anything that is not 12 hex digits."""
    mac = _MAC_STRIP.sub("", value or "").upper()
    if not _MAC_OK.match(mac):
        raise InputError(f"not a MAC address (want 12 hex digits): {value[:64]!r}", where="macaddress")
    return mac


def is_locally_administered(mac: str) -> bool:
    """True for randomised / private MACs (the U/L bit of the first octet is set)."""
    return bool(int(normalize_mac(mac)[:2], 16) & 0x02)


def normalize_guid(value: str) -> str:
    """Lower-case canonical GUID; raises InputError for anything else."""
    guid = (value or "").strip().strip("{}")
    if not _GUID_OK.match(guid):
        raise InputError(f"not a GUID: {value[:64]!r}", where="guid")
    return guid.lower()


@dataclass(frozen=True)
class TenantSettings:
    """Tenant-wide compliance settings."""

    no_policy_mark: NoPolicyMark = NoPolicyMark.COMPLIANT
    validity_days: int = 30
    """``deviceComplianceCheckinThresholdDays``: past this without a check-in, a device is noncompliant."""
    grace_period_hours: float = 0.0
    """Default grace period applied when a device starts failing a policy (0: none)."""

    def __post_init__(self) -> None:
        if not 1 <= self.validity_days <= 120:
            raise InputError(f"validity_days must be 1..120, got {self.validity_days}", where="validity_days")
        if self.grace_period_hours < 0:
            raise InputError("grace_period_hours must be >= 0", where="grace_period_hours")

    def to_json(self) -> dict[str, Any]:
        return {
            "no_policy_mark": self.no_policy_mark.value,
            "validity_days": self.validity_days,
            "grace_period_hours": self.grace_period_hours,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TenantSettings:
        return cls(
            no_policy_mark=NoPolicyMark(data.get("no_policy_mark", "compliant")),
            validity_days=int(data.get("validity_days", 30)),
            grace_period_hours=float(data.get("grace_period_hours", 0.0)),
        )


@dataclass(frozen=True)
class AppRegistration:
    """An Entra app registration (the NAC's identity) with its granted application permissions."""

    client_id: str
    tenant_id: str
    display_name: str = "NAC partner app"
    client_secret: str | None = None
    certificate_pem: str | None = None
    """PEM of the registered certificate (client assertions are checked against its ``x5t``)."""
    permissions: frozenset[Permission] = frozenset()

    def has(self, *any_of: Permission) -> bool:
        return any(p in self.permissions for p in any_of)


@dataclass
class Device:
    """One device as Intune knows it.

    ``compliance_state`` is what Intune last *evaluated*; ``posture_compliant`` is the ground truth
    on the device (does it meet its policies right now), which the next evaluation reads.
    """

    intune_id: str
    azure_ad_device_id: str
    device_name: str = ""
    wifi_mac: str = ""
    ethernet_mac: str = ""
    serial_number: str = ""
    imei: str = ""
    meid: str = ""
    udid: str = ""
    operating_system: OperatingSystem = OperatingSystem.WINDOWS
    os_version: str = ""
    model: str = ""
    manufacturer: str = ""
    owner_type: OwnerType = OwnerType.COMPANY
    user_principal_name: str = ""
    managed: bool = True
    """Enrolled in Intune (``isManaged`` / ``register_status``)."""
    registration_state: RegistrationState = RegistrationState.REGISTERED
    enrolled_at: datetime | None = None
    last_sync_at: datetime | None = None
    evaluated_at: datetime | None = None
    compliance_state: ComplianceState = ComplianceState.UNKNOWN
    grace_expires_at: datetime | None = None
    has_policy: bool = True
    posture_compliant: bool = True
    jail_broken: bool = False
    is_encrypted: bool = True

    def copy(self, **changes: Any) -> Device:
        return replace(self, **changes)


@dataclass(frozen=True)
class CallRecord:
    """One entry of the mock's call log: the evidence the conformance oracles read."""

    at: datetime
    app: str
    surface: Surface
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    detail: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "app": self.app,
            "surface": self.surface.value,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "detail": self.detail,
        }
