"""Reading Intune's wire formats: Cisco MDM API v2/v3 XML, the legacy JSON NAC API, Graph JSON.

Every parser is total over its input: anything it cannot read raises :class:`MalformedAnswer`
(RES-05), never another exception, and nothing unreadable becomes "compliant". Unknown elements
and fields are ignored; empty properties are tolerated where the decision does not need them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from .identity import normalize_mac
from .intune_answers import DeviceAnswer, ListedDevice, MalformedAnswer, MdmInfo

GRAPH_ALLOWED_STATES = frozenset({"compliant", "inGracePeriod"})
"""Graph ``complianceState`` values that keep access ("inGracePeriod: non-compliant but still has access")."""
GRAPH_STATES = frozenset(
    {"unknown", "compliant", "noncompliant", "conflict", "error", "inGracePeriod", "configManager"}
)

_TIMESTAMP_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S %z", "%m/%d/%Y %H:%M:%S%z")
_MAX_BODY = 16 * 1024 * 1024


# --- XML ------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    """Element name without namespace, lower-case (v3 says ``Attributes``, v2 ``attributes``)."""
    return tag.rsplit("}", 1)[-1].lower()


def _parse_xml(body: bytes | str, what: str) -> ET.Element:
    if not body:
        raise MalformedAnswer(f"{what}: empty body")
    if len(body) > _MAX_BODY:
        raise MalformedAnswer(f"{what}: body of {len(body)} bytes is too large")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MalformedAnswer(f"{what}: not XML ({exc})") from exc
    if _local(root.tag) != "ise_api":
        raise MalformedAnswer(f"{what}: root element is <{_local(root.tag)}>, expected <ise_api>")
    return root


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text(elem: ET.Element | None, name: str) -> str | None:
    if elem is None:
        return None
    c = _child(elem, name)
    if c is None:
        return None
    return (c.text or "").strip()


def _xml_bool(value: str | None, what: str) -> bool:
    if value is None:
        raise MalformedAnswer(f"{what} is missing")
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise MalformedAnswer(f"{what} is {value[:40]!r}, not true/false")


def _int(value: str | None, default: int, what: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise MalformedAnswer(f"{what} is {value[:40]!r}, not an integer") from exc


def parse_mdminfo(body: bytes | str) -> MdmInfo:
    """The ``ciscoise/mdminfo`` answer (v2 plain, v3 DataContract-namespaced)."""
    root = _parse_xml(body, "mdminfo")
    api_path = _text(root, "api_path")
    if not api_path:
        raise MalformedAnswer("mdminfo: api_path is missing or empty")
    return MdmInfo(
        api_version=_int(_text(root, "api_version"), 0, "mdminfo api_version"),
        api_path=api_path,
        redirect_url=_text(root, "redirect_url") or "",
        query_max_size=_int(_text(root, "query_max_size"), 5000, "mdminfo query_max_size"),
    )


def _device_macs(device: ET.Element, attrs: ET.Element | None) -> str | None:
    for holder in (device, attrs):
        for name in ("macaddress", "macaddresses"):
            raw = _text(holder, name)
            if raw:
                try:
                    return normalize_mac(raw.split(",")[0])
                except ValueError:
                    continue
    return None


def _device_guid(device: ET.Element, attrs: ET.Element | None) -> str | None:
    guid = _text(device, "guid") or _text(attrs, "guid")
    return guid.lower() if guid else None


def _devices(root: ET.Element, what: str) -> list[ET.Element]:
    device_list = _child(root, "devicelist")
    if device_list is None:
        raise MalformedAnswer(f"{what}: no <deviceList>")
    return [d for d in device_list if _local(d.tag) == "device"]


def parse_cisco_device(body: bytes | str) -> DeviceAnswer:
    """A single-device query (v2 or v3): empty ``deviceList`` → not enrolled (ACC-02).

    Several records for one identifier are compliant only if every one is.
    """
    root = _parse_xml(body, "devices")
    devices = _devices(root, "devices")
    if not devices:
        return DeviceAnswer.not_enrolled()
    managed, compliant = True, True
    guid = mac = None
    for device in devices:
        attrs = _child(device, "attributes")
        if attrs is None:
            raise MalformedAnswer("devices: a <device> has no <attributes>")
        registered = _xml_bool(_text(attrs, "register_status"), "register_status")
        comp = _child(attrs, "compliance")
        status = _xml_bool(_text(comp, "status"), "compliance/status") if comp is not None else None
        if status is None:
            raise MalformedAnswer("compliance/status is missing")
        managed = managed and registered
        compliant = compliant and status
        guid = guid or _device_guid(device, attrs)
        mac = mac or _device_macs(device, attrs)
    return DeviceAnswer(managed=managed, compliant=managed and compliant, intune_id=guid, mac=mac)


def parse_cisco_list(body: bytes | str) -> tuple[list[ListedDevice], str | None]:
    """A broad ``querycriteria=compliance&value=false`` page: devices and the next ``paging`` value."""
    root = _parse_xml(body, "noncompliant list")
    listed = []
    for device in _devices(root, "noncompliant list"):
        attrs = _child(device, "attributes")
        guid, mac = _device_guid(device, attrs), _device_macs(device, attrs)
        if guid or mac:
            listed.append(ListedDevice(intune_id=guid, mac=mac))
    paging = _text(root, "paging_info")
    nxt = None if paging in (None, "", "0") else paging
    return listed, nxt


# --- legacy JSON NAC API 1.x -----------------------------------------------------------------


def parse_last_contact(value: Any) -> datetime | None:
    """``lastContactTimeUtc``: ``MM/DD/YYYY HH:MM:SS`` with or without an offset; empty → None.

    Anything else raises :class:`MalformedAnswer`.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise MalformedAnswer(f"lastContactTimeUtc is {type(value).__name__}, not a string")
    text = value.strip()
    for fmt in _TIMESTAMP_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MalformedAnswer(f"lastContactTimeUtc {text[:40]!r} is not MM/DD/YYYY HH:MM:SS[ ±HHMM]")


def _json_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedAnswer(f"{what} is {value!r:.40}, not a boolean")


def parse_json_device(data: Any) -> DeviceAnswer:
    """One flat legacy JSON object: ``isManaged``, ``complianceState`` (bool), ``macAddress``…"""
    if not isinstance(data, dict):
        raise MalformedAnswer(f"legacy JSON answer is {type(data).__name__}, not an object")
    if "isManaged" not in data:
        raise MalformedAnswer("legacy JSON answer has no isManaged")
    managed = _json_bool(data.get("isManaged"), "isManaged")
    if not managed:
        return DeviceAnswer.not_enrolled()
    raw_state = data.get("complianceState")
    if raw_state is None or raw_state == "":
        compliant = False  # withheld: enrolled but not confirmed compliant
    else:
        compliant = _json_bool(raw_state, "complianceState")
    last = parse_last_contact(data.get("lastContactTimeUtc"))
    mac = None
    raw_mac = data.get("macAddress")
    if isinstance(raw_mac, str) and raw_mac.strip():
        try:
            mac = normalize_mac(raw_mac)
        except ValueError:
            mac = None
    details = {"last_contact": last.isoformat() if last else None}
    azure = data.get("azureDeviceId")
    if isinstance(azure, str) and azure:
        details["azure_ad_device_id"] = azure.lower()
    return DeviceAnswer(managed=True, compliant=compliant, mac=mac, details=details)


def parse_json_list(data: Any) -> tuple[list[ListedDevice], str | None]:
    """A legacy JSON noncompliant page: a list, or an object holding one, and a paging value."""
    items: Any = data
    nxt: Any = None
    if isinstance(data, dict):
        for key in ("value", "devices", "deviceList"):
            if key in data:
                items = data[key]
                break
        else:
            raise MalformedAnswer("legacy JSON list has no value/devices array")
        nxt = data.get("paging_info", data.get("pagingInfo", data.get("nextPage")))
    if not isinstance(items, list):
        raise MalformedAnswer("legacy JSON list is not an array")
    listed = []
    for item in items:
        if not isinstance(item, dict):
            continue
        mac = None
        if isinstance(item.get("macAddress"), str):
            try:
                mac = normalize_mac(item["macAddress"])
            except ValueError:
                mac = None
        guid = item.get("id") or item.get("intuneDeviceId")
        if mac or guid:
            listed.append(ListedDevice(intune_id=str(guid).lower() if guid else None, mac=mac))
    if nxt in (None, "", 0, "0"):
        return listed, None
    return listed, str(nxt)


# --- Graph ------------------------------------------------------------------------------------


def parse_graph_device(data: Any) -> DeviceAnswer:
    """One Graph ``managedDevice``: ``complianceState`` enum, ``deviceRegistrationState``."""
    if not isinstance(data, dict):
        raise MalformedAnswer(f"managedDevice is {type(data).__name__}, not an object")
    state = data.get("complianceState")
    if not isinstance(state, str) or state not in GRAPH_STATES:
        raise MalformedAnswer(f"managedDevice complianceState {state!r:.40} is not a Graph value")
    # managedDevices lists enrolled devices only; a record that is being retired or wiped no longer counts.
    if data.get("managementState", "managed") not in ("managed", None, ""):
        return DeviceAnswer.not_enrolled()
    guid = data.get("id")
    mac = None
    if isinstance(data.get("wiFiMacAddress"), str) and data["wiFiMacAddress"]:
        try:
            mac = normalize_mac(data["wiFiMacAddress"])
        except ValueError:
            mac = None
    return DeviceAnswer(
        managed=True,
        compliant=state in GRAPH_ALLOWED_STATES,
        state=state,
        intune_id=str(guid).lower() if guid else None,
        mac=mac,
    )


def parse_graph_collection(data: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A Graph collection page: ``value`` and ``@odata.nextLink`` (RES-04)."""
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise MalformedAnswer("Graph collection has no value array")
    nxt = data.get("@odata.nextLink")
    if nxt is not None and not isinstance(nxt, str):
        raise MalformedAnswer("@odata.nextLink is not a string")
    return [item for item in data["value"] if isinstance(item, dict)], nxt or None


def graph_listed(item: dict[str, Any]) -> ListedDevice | None:
    guid = item.get("id")
    mac = None
    if isinstance(item.get("wiFiMacAddress"), str) and item["wiFiMacAddress"]:
        try:
            mac = normalize_mac(item["wiFiMacAddress"])
        except ValueError:
            mac = None
    if not guid and not mac:
        return None
    return ListedDevice(intune_id=str(guid).lower() if guid else None, mac=mac)
