"""Seed documents: a JSON or YAML list of devices, validated into :class:`Device` records.

A document is either a list of device objects or ``{"devices": [...]}``. Field names are the
:class:`Device` attribute names (``intune_id``, ``wifi_mac``, ``compliance_state`` …); the Graph
property names (``id``, ``azureADDeviceId``, ``wiFiMacAddress``, ``complianceState`` …) are accepted
as aliases so a vendor can paste Graph output. Every error names the item index and the field, e.g.
``request body: devices[3].wifi_mac: not a MAC address``.

Defaults, stated rather than silent: a missing ``intune_id`` / ``azure_ad_device_id`` gets a fresh
GUID; a managed device without ``enrolled_at`` is enrolled at ``now``; an evaluated state without
``last_sync_at`` / ``evaluated_at`` was synced and evaluated at ``now``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Any

import yaml

from .errors import ConfigError, InputError
from .model import (
    ComplianceState,
    Device,
    OperatingSystem,
    OwnerType,
    RegistrationState,
    normalize_guid,
    normalize_mac,
)

MAX_DEVICES = 100_000
"""Largest batch one seed document may hold."""
MAX_TEXT = 256
"""Longest string accepted for a device's text fields."""

GRAPH_ALIASES: dict[str, str] = {
    "id": "intune_id",
    "azureADDeviceId": "azure_ad_device_id",
    "deviceName": "device_name",
    "wiFiMacAddress": "wifi_mac",
    "ethernetMacAddress": "ethernet_mac",
    "serialNumber": "serial_number",
    "operatingSystem": "operating_system",
    "osVersion": "os_version",
    "managedDeviceOwnerType": "owner_type",
    "userPrincipalName": "user_principal_name",
    "deviceRegistrationState": "registration_state",
    "enrolledDateTime": "enrolled_at",
    "lastSyncDateTime": "last_sync_at",
    "complianceState": "compliance_state",
    "complianceGracePeriodExpirationDateTime": "grace_expires_at",
    "jailBroken": "jail_broken",
    "isEncrypted": "is_encrypted",
}

_FIELD_TYPES: dict[str, str] = {f.name: str(f.type) for f in fields(Device)}
_ENUMS: dict[str, type[StrEnum]] = {
    "operating_system": OperatingSystem,
    "owner_type": OwnerType,
    "registration_state": RegistrationState,
    "compliance_state": ComplianceState,
}
_MACS = ("wifi_mac", "ethernet_mac")
_GUIDS = ("intune_id", "azure_ad_device_id")


def load_document(text: str | bytes, *, fmt: str | None = None, source: str = "document") -> Any:
    """Parse ``text`` as JSON (``fmt="json"``), YAML (``"yaml"``) or, with no ``fmt``, JSON then YAML.

    Raises :class:`ConfigError` naming ``source`` and the line of a syntax error.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=source) from exc
    if fmt not in (None, "json", "yaml"):
        raise InputError(f"unknown document format {fmt!r} (want json or yaml)", where=source)
    if fmt == "json" or (fmt is None and text.lstrip()[:1] in ("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if fmt == "json":
                raise ConfigError(f"invalid JSON: {exc.msg}", file=source, line=exc.lineno) from exc
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply", file=source) from None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", file=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"invalid YAML: {problem}", file=source, line=(mark.line + 1) if mark is not None else None
        ) from exc


def parse_devices(doc: Any, *, now: datetime, source: str = "document") -> list[Device]:
    """Validate a parsed seed document into devices; the first error raises :class:`ConfigError`."""
    items = doc
    if isinstance(doc, dict):
        if "devices" not in doc:
            items = [doc]  # a single device object
        elif len(doc) > 1:
            extra = ", ".join(sorted(str(k) for k in doc if k != "devices"))
            raise ConfigError(f"unknown top-level field(s): {extra}", file=source)
        else:
            items = doc["devices"]
    if not isinstance(items, list):
        raise ConfigError(
            f"want a list of devices or {{'devices': [...]}}, got {type(doc).__name__}",
            file=source,
            field="devices",
        )
    if len(items) > MAX_DEVICES:
        raise ConfigError(f"{len(items)} devices; at most {MAX_DEVICES} per document", file=source)
    devices = [parse_device(item, index=i, now=now, source=source) for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for i, d in enumerate(devices):
        if d.intune_id in seen:
            raise ConfigError(
                f"duplicate intune_id {d.intune_id} (also devices[{seen[d.intune_id]}])",
                file=source,
                field=f"devices[{i}].intune_id",
            )
        seen[d.intune_id] = i
    return devices


def parse_device(item: Any, *, index: int, now: datetime, source: str = "document") -> Device:
    """One device object of a seed document (``index`` is used in error messages)."""
    where = f"devices[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(f"want an object, got {type(item).__name__}", file=source, field=where)
    values: dict[str, Any] = {}
    for raw_key, raw in item.items():
        key = GRAPH_ALIASES.get(str(raw_key), str(raw_key))
        if key not in _FIELD_TYPES:
            known = ", ".join(sorted(_FIELD_TYPES))
            raise ConfigError(f"unknown field (known: {known})", file=source, field=f"{where}.{raw_key}")
        if key in values:
            raise ConfigError("given twice (once by its Graph name)", file=source, field=f"{where}.{raw_key}")
        try:
            values[key] = convert_field(key, raw)
        except (InputError, ValueError, TypeError) as exc:
            msg = exc.message if isinstance(exc, InputError) else str(exc)
            raise ConfigError(msg, file=source, field=f"{where}.{raw_key}") from None
    values.setdefault("intune_id", str(uuid.uuid4()))
    values.setdefault("azure_ad_device_id", str(uuid.uuid4()))
    device = Device(**values)
    state = device.compliance_state
    if not device.managed and state is not ComplianceState.UNKNOWN:
        raise ConfigError(
            f"an unenrolled device (managed: false) has no compliance state, got {state.value!r}",
            file=source,
            field=f"{where}.compliance_state",
        )
    if device.managed and device.enrolled_at is None:
        device = device.copy(enrolled_at=now)
    if state is not ComplianceState.UNKNOWN:
        device = device.copy(last_sync_at=device.last_sync_at or now, evaluated_at=device.evaluated_at or now)
    if state is ComplianceState.IN_GRACE_PERIOD and device.grace_expires_at is None:
        raise ConfigError(
            "inGracePeriod needs grace_expires_at (complianceGracePeriodExpirationDateTime)",
            file=source,
            field=f"{where}.grace_expires_at",
        )
    return device


def convert_field(key: str, raw: Any) -> Any:
    """Check and convert one field value; raises ValueError/TypeError/InputError with a reason."""
    kind = _FIELD_TYPES[key]
    if key in _ENUMS:
        enum = _ENUMS[key]
        by_lower = {m.value.lower(): m for m in enum}
        if not isinstance(raw, str) or raw.lower() not in by_lower:
            allowed = ", ".join(m.value for m in enum)
            raise ValueError(f"{raw!r} is not one of: {allowed}")
        return by_lower[raw.lower()]
    if kind == "bool":
        if isinstance(raw, str) and raw in ("True", "False"):  # Graph's jailBroken is a string
            return raw == "True"
        if not isinstance(raw, bool):
            raise TypeError(f"want true or false, got {raw!r}")
        return raw
    if kind == "datetime | None":
        if raw is None:
            return None
        if isinstance(raw, datetime):
            when = raw
        elif isinstance(raw, str):
            try:
                when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"not an ISO 8601 date-time: {raw[:64]!r}") from None
        else:
            raise TypeError(f"want an ISO 8601 date-time string, got {type(raw).__name__}")
        if when.tzinfo is None:
            raise ValueError(f"date-time needs a time zone (e.g. Z or +00:00): {raw!s}")
        return when
    if not isinstance(raw, str):
        raise TypeError(f"want a string, got {type(raw).__name__}")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    if key in _MACS:
        return normalize_mac(raw) if raw else ""
    if key in _GUIDS:
        return normalize_guid(raw)
    return raw
