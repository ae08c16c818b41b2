"""The Cisco MDM API query rules shared by the CR (v3) and legacy (v2) surfaces, free of Flask.

* :func:`parse_query` validates ``paging``, ``querycriteria``, ``value``, ``filter`` and
  ``deviceidentifier`` and raises :class:`RequestError` 400 (414 for an oversized query string)
  naming the parameter;
* :func:`lookup` answers a single-device query (unknown or unenrolled → no device: the caller
  renders an empty ``deviceList``);
* :func:`sweep_page` answers the broad ``querycriteria=compliance`` query one page of
  ``query_max_size`` devices at a time. The first page (``paging=0``) claims the 4-hour
  broad-query allowance (RES-02); it issues an opaque integer ``paging_info`` continuation that the
  NAC puts back in ``paging``. Later pages with a valid continuation are part of the same sweep and
  are never counted as new broad queries. A continuation is bound to the app, surface and query, is
  kept in the store (so every worker accepts it) and expires after the broad-query interval;
  anything else in ``paging`` is a 400. Pages are keyset-ordered by Intune device ID, so a device
  that stays noncompliant during a sweep is never missed (RES-04).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from . import compliance
from .cisco_xml import CiscoDevice, parse_filter
from .errors import InputError, RequestError
from .model import ComplianceState, Device, TenantSettings, normalize_guid, normalize_mac
from .service import MockIntune

MAX_VALUE_LEN = 128
"""The ISE spec caps a GUID at 128 bytes; no criterion value is longer."""
MAX_QUERY_STRING = 2048
_SWEEP_PREFIX = "cisco_sweep:"


class Criteria(StrEnum):
    """Cisco ``querycriteria`` values."""

    GUID = "guid"
    MACADDRESS = "macaddress"
    COMPLIANCE = "compliance"
    UDID = "udid"
    IMEI = "imei"
    MEID = "meid"
    SERIALNUMBER = "serialnumber"
    USERNAME = "username"
    GUIDHN = "guidhn"


_ATTR_OF = {
    Criteria.UDID: "udid",
    Criteria.IMEI: "imei",
    Criteria.MEID: "meid",
    Criteria.SERIALNUMBER: "serial_number",
}


@dataclass(frozen=True)
class CiscoQuery:
    """A validated devices query."""

    criteria: Criteria
    value: str
    paging: int
    identifier: str
    """``guid`` or ``macaddress``: the key of each device in a broad answer."""
    selected: frozenset[str] | None

    @property
    def broad(self) -> bool:
        return self.criteria is Criteria.COMPLIANCE


def _bad(message: str, param: str) -> RequestError:
    return RequestError(400, f"{param}: {message}", code="InvalidParameter", extra={"parameter": param})


def parse_query(
    args: Mapping[str, str], query_string: bytes, allowed: frozenset[Criteria], *, default_identifier: str
) -> CiscoQuery:
    """Validate a ``devices`` query; raises RequestError (400/414) naming the parameter."""
    if len(query_string) > MAX_QUERY_STRING:
        raise RequestError(414, f"query string longer than {MAX_QUERY_STRING} bytes", code="UriTooLong")
    raw_criteria = args.get("querycriteria")
    if raw_criteria is None or not raw_criteria.strip():
        raise _bad("missing; use one of " + ", ".join(sorted(c.value for c in allowed)), "querycriteria")
    try:
        criteria = Criteria(raw_criteria.strip().lower())
    except ValueError:
        raise _bad(f"unknown criteria {raw_criteria[:40]!r}", "querycriteria") from None
    if criteria not in allowed:
        raise _bad(
            f"{criteria.value!r} is not supported by this service; use one of "
            + ", ".join(sorted(c.value for c in allowed)),
            "querycriteria",
        )
    raw_value = args.get("value")
    if raw_value is None or not raw_value.strip():
        raise _bad("missing", "value")
    if len(raw_value) > MAX_VALUE_LEN:
        raise _bad(f"longer than {MAX_VALUE_LEN} characters", "value")
    raw_paging = args.get("paging", "0").strip() or "0"
    if not raw_paging.isdigit() or len(raw_paging) > 18:
        raise _bad(f"not a paging number: {raw_paging[:40]!r}", "paging")
    paging = int(raw_paging)
    try:
        selected = parse_filter(args.get("filter"))
    except ValueError as exc:
        raise _bad(f"unknown attribute {str(exc)[:40]!r}", "filter") from None
    identifier = (args.get("deviceidentifier") or default_identifier).strip().lower()
    if identifier not in ("guid", "macaddress"):
        raise _bad(f"must be guid or macaddress, got {identifier[:40]!r}", "deviceidentifier")
    try:
        if criteria is Criteria.GUID:
            value = normalize_guid(raw_value)
        elif criteria is Criteria.MACADDRESS:
            value = normalize_mac(raw_value)
        elif criteria is Criteria.COMPLIANCE:
            value = raw_value.strip().lower()
            if value not in ("true", "false"):
                raise InputError(f"must be true or false, got {raw_value[:40]!r}", where="value")
        else:
            value = raw_value.strip()
    except InputError as exc:
        raise _bad(exc.message, "value") from None
    if paging != 0 and criteria is not Criteria.COMPLIANCE:
        raise _bad("a single-device query has one page; send paging=0", "paging")
    return CiscoQuery(criteria, value, paging, identifier, selected)


def lookup(service: MockIntune, q: CiscoQuery, tenant_id: str | None = None) -> Device | None:
    """The enrolled device a single-device query names, or None (unknown or not enrolled)."""
    if q.criteria is Criteria.GUID:
        found = service.find_guid(q.value, tenant_id)
    elif q.criteria is Criteria.MACADDRESS:
        found = service.find_mac(q.value, tenant_id)
    elif q.criteria in _ATTR_OF:
        found = service.find_attr(_ATTR_OF[q.criteria], q.value, tenant_id)
    else:
        found = None  # username / guidhn: Intune shares no user or host names with NACs
    return found if found is not None and found.managed else None


def to_cisco(
    service: MockIntune,
    device: Device,
    tenant_id: str | None = None,
    *,
    settings: TenantSettings | None = None,
) -> CiscoDevice:
    """What the Cisco surfaces say about ``device`` now (validity period and grace applied).

    ``settings`` saves a read when the caller already holds the tenant's current settings.
    """
    if settings is None:
        settings = service.settings(tenant_id)
    now = service.now()
    status = service.status(device, tenant_id, settings=settings)
    reason = remediation = ""
    if not status.compliant:
        if status.state is ComplianceState.UNKNOWN:
            reason = "The device has not been evaluated for compliance yet."
        elif (
            device.last_sync_at is not None
            and now - device.last_sync_at > timedelta(days=settings.validity_days)
            and device.compliance_state is not ComplianceState.NONCOMPLIANT
        ):
            reason = "The device has not checked in within the compliance status validity period."
        else:
            reason = "The device does not meet one or more compliance policies."
        remediation = f"Open {service.config.redirect_url} to check the device's compliance."
    return CiscoDevice(
        guid=device.intune_id,
        registered=device.managed,
        compliant=status.compliant,
        mac=status.mac,
        failure_reason=reason,
        remediation=remediation,
        disk_encryption_on=device.is_encrypted,
        pin_lock_on=device.posture_compliant,
        jail_broken=device.jail_broken,
        manufacturer=device.manufacturer,
        model=device.model,
        imei=device.imei,
        meid=device.meid,
        udid=device.udid,
        serial_number=device.serial_number,
        os_version=device.os_version,
        last_checkin_ms=int(device.last_sync_at.timestamp() * 1000) if device.last_sync_at else None,
    )


@dataclass(frozen=True)
class Page:
    """One page of a broad query."""

    devices: list[Device]
    paging_info: int
    """0 when this is the last page, else the continuation for the next call."""
    page: int
    continued: bool
    """True for a later page of a sweep (not counted against the broad-query limit)."""


def _candidates(service: MockIntune, q: CiscoQuery, after: str, tenant_id: str) -> list[Device]:
    settings = service.settings(tenant_id)
    now = service.now()
    want_compliant = q.value == "true"
    out = []
    for d in service.store.devices(tenant_id, managed_only=True):
        if d.intune_id <= after:
            continue
        if compliance.is_compliant(d, settings, now) != want_compliant:
            continue
        if q.identifier == "macaddress" and not (d.wifi_mac or d.ethernet_mac):
            continue  # the NAC asked for MAC-keyed answers; a device without a MAC cannot be one
        out.append(d)
    return out


def _purge(service: MockIntune, now: datetime) -> None:
    service.store.db.execute(
        "DELETE FROM meta WHERE key LIKE ? AND json_extract(value, '$.expires') < ?",
        (_SWEEP_PREFIX + "%", now.isoformat()),
    )


def sweep_page(
    service: MockIntune, q: CiscoQuery, *, app: str, surface: str, tenant_id: str | None = None
) -> Page:
    """Answer one page of a broad compliance query (claims the 4-hour allowance on page 0)."""
    now = service.now()
    tid = tenant_id or service.tenant_id
    binding = {
        "tenant": tid,
        "app": app,
        "surface": surface,
        "value": q.value,
        "id": q.identifier,
    }
    if q.paging == 0:
        service.claim_broad_query(app, tid)
        after, page, started = "", 0, now.isoformat()
    else:
        raw = service.store.get_meta(f"{_SWEEP_PREFIX}{q.paging}")
        stored = json.loads(raw) if raw else None
        if (
            not stored
            or stored["expires"] < now.isoformat()
            or {k: stored.get(k) for k in binding} != binding
        ):
            raise _bad("not a paging_info this service issued for this query (or it expired)", "paging")
        after, page, started = stored["after"], int(stored["page"]) + 1, stored["started"]
    size = service.config.query_max_size
    found = _candidates(service, q, after, tid)
    devices = found[:size]
    paging_info = 0
    if len(found) > size:
        _purge(service, now)
        paging_info = secrets.randbelow(10**15 - 1) + 1
        expires = datetime.fromisoformat(started) + timedelta(seconds=service.config.broad_query_interval_s)
        record = {
            **binding,
            "after": devices[-1].intune_id,
            "page": page,
            "started": started,
            "expires": expires.isoformat(),
        }
        service.store.set_meta(f"{_SWEEP_PREFIX}{paging_info}", json.dumps(record))
    return Page(devices, paging_info, page, continued=q.paging != 0)
