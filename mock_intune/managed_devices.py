"""Graph ``deviceManagement/managedDevices``: the wire shape and the OData query options, no Flask.

What the Graph surface (:mod:`mock_intune.api.graph`) needs to answer a list or get request:
the ``managedDevice`` JSON with Graph's property names (v1.0 and beta differ), a ``$filter`` parser
that accepts ``eq`` joined by ``and`` on the properties NACs filter on (anything else is a 400, as
Graph answers for an unsupported filter), ``$select`` validation, and opaque ``$skiptoken`` values
for server-driven paging.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .errors import RequestError
from .model import ComplianceState, Device, RegistrationState, normalize_mac

MAX_PAGE = 1000
"""Largest page the mock serves (Intune pages managedDevices at up to 1,000); larger ``$top`` is capped."""
DEFAULT_PAGE = 1000
"""Page size without ``$top``."""
MAX_FILTER_LENGTH = 2048
VERSIONS = ("v1.0", "beta")

_NEVER = "0001-01-01T00:00:00Z"
_NO_GRACE = "9999-12-31T23:59:59Z"

V1_PROPERTIES: tuple[str, ...] = (
    "id",
    "userId",
    "deviceName",
    "managedDeviceOwnerType",
    "enrolledDateTime",
    "lastSyncDateTime",
    "operatingSystem",
    "complianceState",
    "jailBroken",
    "managementAgent",
    "osVersion",
    "easActivated",
    "easDeviceId",
    "easActivationDateTime",
    "azureADRegistered",
    "deviceEnrollmentType",
    "activationLockBypassCode",
    "emailAddress",
    "azureADDeviceId",
    "deviceRegistrationState",
    "deviceCategoryDisplayName",
    "isSupervised",
    "exchangeLastSuccessfulSyncDateTime",
    "exchangeAccessState",
    "exchangeAccessStateReason",
    "remoteAssistanceSessionUrl",
    "remoteAssistanceSessionErrorDetails",
    "isEncrypted",
    "userPrincipalName",
    "model",
    "manufacturer",
    "imei",
    "complianceGracePeriodExpirationDateTime",
    "serialNumber",
    "phoneNumber",
    "androidSecurityPatchLevel",
    "userDisplayName",
    "configurationManagerClientEnabledFeatures",
    "wiFiMacAddress",
    "deviceHealthAttestationState",
    "subscriberCarrier",
    "meid",
    "totalStorageSpaceInBytes",
    "freeStorageSpaceInBytes",
    "managedDeviceName",
    "partnerReportedThreatState",
)
BETA_ONLY: tuple[str, ...] = ("udid", "ethernetMacAddress", "managementState")
"""Research §4: ``ethernetMacAddress`` (and ``udid``, ``managementState``) appear on beta only."""


def properties(version: str) -> tuple[str, ...]:
    """The managedDevice property names Graph ``version`` serves, in wire order."""
    return V1_PROPERTIES + BETA_ONLY if version == "beta" else V1_PROPERTIES


def _graph_time(value: datetime | None, empty: str = _NEVER) -> str:
    if value is None:
        return empty
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _managed_device_name(device: Device) -> str:
    """Intune's generated name: ``{user}_{OS}_{M/D/YYYY}_{h:mm AM}`` from the enrollment time."""
    user = (device.user_principal_name.split("@")[0] or "device").replace(" ", "")
    when = device.enrolled_at
    if when is None:
        return f"{user}_{device.operating_system.value}"
    hour = when.hour % 12 or 12
    return (
        f"{user}_{device.operating_system.value}_{when.month}/{when.day}/{when.year}_"
        f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"
    )


def render(device: Device, state: ComplianceState, version: str = "v1.0") -> dict[str, object]:
    """The ``managedDevice`` JSON for ``device`` with its effective compliance ``state``."""
    upn = device.user_principal_name
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "upn:" + upn)) if upn else ""
    grace = (
        _graph_time(device.grace_expires_at, _NO_GRACE)
        if state is ComplianceState.IN_GRACE_PERIOD
        else _NO_GRACE
    )
    out: dict[str, object] = {
        "id": device.intune_id,
        "userId": user_id,
        "deviceName": device.device_name,
        "managedDeviceOwnerType": device.owner_type.value,
        "enrolledDateTime": _graph_time(device.enrolled_at),
        "lastSyncDateTime": _graph_time(device.last_sync_at),
        "operatingSystem": device.operating_system.value,
        "complianceState": state.value,
        "jailBroken": "True" if device.jail_broken else "False",
        "managementAgent": "mdm",
        "osVersion": device.os_version,
        "easActivated": False,
        "easDeviceId": "",
        "easActivationDateTime": _NEVER,
        "azureADRegistered": device.registration_state is RegistrationState.REGISTERED,
        "deviceEnrollmentType": "userEnrollment",
        "activationLockBypassCode": None,
        "emailAddress": upn,
        "azureADDeviceId": device.azure_ad_device_id,
        "deviceRegistrationState": device.registration_state.value,
        "deviceCategoryDisplayName": "",
        "isSupervised": False,
        "exchangeLastSuccessfulSyncDateTime": _NEVER,
        "exchangeAccessState": "none",
        "exchangeAccessStateReason": "none",
        "remoteAssistanceSessionUrl": None,
        "remoteAssistanceSessionErrorDetails": None,
        "isEncrypted": device.is_encrypted,
        "userPrincipalName": upn,
        "model": device.model,
        "manufacturer": device.manufacturer,
        "imei": device.imei,
        "complianceGracePeriodExpirationDateTime": grace,
        "serialNumber": device.serial_number,
        "phoneNumber": "",
        "androidSecurityPatchLevel": "",
        "userDisplayName": upn.split("@")[0] if upn else "",
        "configurationManagerClientEnabledFeatures": None,
        "wiFiMacAddress": device.wifi_mac,
        "deviceHealthAttestationState": None,
        "subscriberCarrier": "",
        "meid": device.meid,
        "totalStorageSpaceInBytes": 0,
        "freeStorageSpaceInBytes": 0,
        "managedDeviceName": _managed_device_name(device),
        "partnerReportedThreatState": "unknown",
    }
    if version == "beta":
        out["udid"] = device.udid
        out["ethernetMacAddress"] = device.ethernet_mac
        out["managementState"] = "managed"
    return out


# -- $filter ------------------------------------------------------------------------------


def _mac_key(value: str) -> str:
    try:
        return normalize_mac(value)
    except ValueError:
        return value.strip().upper()  # not a MAC: compares unequal to every stored MAC


FILTERABLE: dict[str, tuple[Callable[[Device, ComplianceState], str], Callable[[str], str]]] = {
    # property -> (value of a device, normalisation applied to both sides)
    "id": (lambda d, s: d.intune_id, str.lower),
    "azureADDeviceId": (lambda d, s: d.azure_ad_device_id, str.lower),
    "serialNumber": (lambda d, s: d.serial_number, str.lower),
    "deviceName": (lambda d, s: d.device_name, str.lower),
    "imei": (lambda d, s: d.imei, str.lower),
    "wiFiMacAddress": (lambda d, s: d.wifi_mac, _mac_key),
    "ethernetMacAddress": (lambda d, s: d.ethernet_mac, _mac_key),
    "complianceState": (lambda d, s: s.value, str.lower),
    "operatingSystem": (lambda d, s: d.operating_system.value, str.lower),
}
"""The properties ``$filter`` accepts with ``eq`` (research §4); string comparison ignores case."""

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<paren>[()])|(?P<word>[^\s()']+)|(?P<bad>'.*))")
_UNSUPPORTED_OPS = {"ne", "gt", "ge", "lt", "le", "in", "has", "or", "not", "add", "sub"}


@dataclass(frozen=True)
class Clause:
    """One ``property eq 'value'`` term of a filter."""

    prop: str
    value: str

    def matches(self, device: Device, state: ComplianceState) -> bool:
        get, norm = FILTERABLE[self.prop]
        return norm(get(device, state)) == norm(self.value)


def bad_request(message: str) -> RequestError:
    return RequestError(400, message, code="BadRequest")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "bad":
            raise bad_request("Invalid filter clause: unterminated string literal.")
        out.append((kind, m.group(kind)))
    return out


def parse_filter(text: str, version: str = "v1.0") -> list[Clause]:
    """Parse ``$filter``: ``prop eq 'value'`` terms joined by ``and`` (optionally parenthesised)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise bad_request(f"Invalid filter clause: longer than {MAX_FILTER_LENGTH} characters.")
    toks = _tokens(text)
    if not toks:
        raise bad_request("Invalid filter clause: the filter is empty.")
    clauses: list[Clause] = []
    pos = 0
    depth = 0

    def need(kind: str, what: str) -> str:
        nonlocal pos
        if pos >= len(toks) or toks[pos][0] != kind:
            got = toks[pos][1] if pos < len(toks) else "end of filter"
            raise bad_request(f"Invalid filter clause: expected {what}, found '{got}'.")
        pos += 1
        return toks[pos - 1][1]

    expect_term = True
    while pos < len(toks):
        kind, val = toks[pos]
        if expect_term:
            if kind == "paren" and val == "(":
                depth += 1
                pos += 1
                continue
            prop = need("word", "a property name")
            if pos < len(toks) and toks[pos] == ("paren", "("):
                raise bad_request(f"Invalid filter clause: function '{prop}' is not supported; use 'eq'.")
            if prop.lower() in _UNSUPPORTED_OPS:
                raise bad_request(f"Invalid filter clause: operator '{prop}' is not supported; use 'eq'.")
            if prop not in properties(version):
                raise bad_request(
                    f"Could not find a property named '{prop}' on type 'microsoft.graph.managedDevice'."
                )
            if prop not in FILTERABLE:
                raise bad_request(f"Filtering on property '{prop}' is not supported.")
            op = need("word", "an operator")
            if op != "eq":
                raise bad_request(f"Invalid filter clause: operator '{op}' is not supported; use 'eq'.")
            if pos < len(toks) and toks[pos][0] == "word":
                raise bad_request(
                    f"Invalid filter clause: the value for '{prop}' must be a quoted string literal."
                )
            literal = need("str", "a quoted string literal")
            clauses.append(Clause(prop, literal[1:-1].replace("''", "'")))
            expect_term = False
        elif kind == "paren" and val == ")":
            if depth == 0:
                raise bad_request("Invalid filter clause: unbalanced ')'.")
            depth -= 1
            pos += 1
        elif kind == "word" and val == "and":
            pos += 1
            expect_term = True
        elif kind == "word" and val.lower() in _UNSUPPORTED_OPS:
            raise bad_request(f"Invalid filter clause: operator '{val}' is not supported; use 'and'.")
        else:
            raise bad_request(f"Invalid filter clause: unexpected '{val}'.")
    if expect_term:
        raise bad_request("Invalid filter clause: the filter ends where a term was expected.")
    if depth:
        raise bad_request("Invalid filter clause: unbalanced '('.")
    return clauses


def parse_select(text: str, version: str = "v1.0") -> list[str]:
    """``$select=id,deviceName``: known property names, in the order given, without repeats."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise bad_request("Invalid $select: empty property name.")
    known = properties(version)
    for name in names:
        if name not in known:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.managedDevice'."
            )
    return list(dict.fromkeys(names))


def parse_top(text: str) -> int:
    """``$top``: the page size (Graph pages by ``$top`` and links the rest with ``@odata.nextLink``).

    A positive integer; values above :data:`MAX_PAGE` are served in pages of MAX_PAGE.
    """
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"Invalid value '{text[:32]}' for query option $top: want a positive integer.")
    return min(int(text), MAX_PAGE)


def parse_count(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise bad_request(f"Invalid value '{text[:32]}' for query option $count: want true or false.")
    return text.lower() == "true"


def encode_skiptoken(page: int, last_id: str) -> str:
    """An opaque continuation token: the next page's number and the id the last page ended with.

    Pages are ordered by id, so a device added or removed between pages shifts nothing.
    """
    return base64.urlsafe_b64encode(f"p{page}:{last_id}".encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> tuple[int, str]:
    """Inverse of :func:`encode_skiptoken` -> (page, last id); a token the mock did not issue is a 400."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        tag, _, last_id = raw.partition(":")
        if not tag.startswith("p") or not last_id or len(last_id) > 64:
            raise ValueError(raw)
        page = int(tag[1:])
        if page < 2:
            raise ValueError(raw)
        return page, last_id
    except ValueError:
        raise bad_request("Invalid $skiptoken: the token was not issued by this service.") from None
