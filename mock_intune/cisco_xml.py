"""XML bodies of the Cisco MDM API as Intune serves it: v2 (legacy NAC service) and v3 (CR service).

Shapes follow the real samples in the research notes (§2.2):

* **v3 / Compliance Retrieval**: the root ``<ise_api>`` carries the WCF DataContract namespace
  (``xmlns=…ComplianceRetrievalService.Model``) and ``xmlns:i``; devices have capitalised
  ``Attributes`` and ``Compliance`` and only ``guid``, ``register_status`` and ``Compliance/status``
  (plus ``macaddress`` when the NAC asked by MAC), as CR shares nothing else.
* **v2 / legacy NAC service**: no namespace, lower-case ``attributes`` / ``compliance`` and the full
  attribute set (``register_status``, ``compliance{status, failure_reason, remediation}``,
  ``disk_encryption_on``, ``pin_lock_on``, ``jail_broken``, ``manufacturer``, ``model``, ``imei``,
  ``meid``, ``udid``, ``serial_number``, ``os_version``, ``phone_number``,
  ``lastCheckinTimeStamp``).

Everything is built with :mod:`xml.etree.ElementTree`, so device data is escaped by the serializer,
except the v3 devices answer (the CR hot path), written from a template with the same escaping.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

CR_NAMESPACE = (
    "http://schemas.datacontract.org/2004/07/Microsoft.Intune.ResourceAccess.ComplianceRetrievalService.Model"
)
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"

V2_ATTRIBUTES: tuple[str, ...] = (
    "register_status",
    "compliance",
    "disk_encryption_on",
    "pin_lock_on",
    "jail_broken",
    "manufacturer",
    "model",
    "imei",
    "meid",
    "udid",
    "serial_number",
    "os_version",
    "phone_number",
    "lastCheckinTimeStamp",
)
"""v2 attribute elements, in the order Intune writes them."""

FILTER_NAMES: dict[str, str] = {
    # filter token (lower-case) -> attribute element it selects ("" = accepted, selects nothing extra)
    "register_status": "register_status",
    "compliance_status": "compliance",
    "compliance": "compliance",
    "disk_encryption_on": "disk_encryption_on",
    "pin_lock_on": "pin_lock_on",
    "jail_broken": "jail_broken",
    "manufacturer": "manufacturer",
    "model": "model",
    "imei": "imei",
    "meid": "meid",
    "udid": "udid",
    "serial_number": "serial_number",
    "os_version": "os_version",
    "phone_number": "phone_number",
    "lastcheckintimestamp": "lastCheckinTimeStamp",
    "guid": "guid",
    "macaddress": "macaddress",
    "macaddresses": "macaddress",
    "period": "",
    "mdm.dayssincelastcheckin": "",
}
"""The Cisco ``filter`` attribute names the mock accepts (the ISE spec's filter table)."""


@dataclass(frozen=True)
class CiscoDevice:
    """One device as a Cisco MDM API answer carries it (values already decided by the service)."""

    guid: str
    registered: bool
    compliant: bool
    mac: str = ""
    failure_reason: str = ""
    remediation: str = ""
    disk_encryption_on: bool = False
    pin_lock_on: bool = False
    jail_broken: bool = False
    manufacturer: str = ""
    model: str = ""
    imei: str = ""
    meid: str = ""
    udid: str = ""
    serial_number: str = ""
    os_version: str = ""
    phone_number: str = ""
    last_checkin_ms: int | None = None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text:
        el.text = text
    return el


def _root(namespaced: bool) -> ET.Element:
    root = ET.Element("ise_api")
    if namespaced:
        # WCF's DataContractSerializer declares both on the root even though no element uses "i:".
        root.set("xmlns:i", XSI_NAMESPACE)
        root.set("xmlns", CR_NAMESPACE)
    return root


_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"


def _serialize(root: ET.Element) -> bytes:
    # The same bytes as ET.tostring(root, encoding="utf-8", xml_declaration=True), without the
    # per-element codec writes of that path (about a tenth of a CR query's CPU).
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8", "xmlcharrefreplace")


def parse_filter(raw: str | None) -> frozenset[str] | None:
    """``all`` / absent → None (everything); else the selected attribute elements.

    Tokens are separated by ``+`` (which a query string may already have decoded to a space) or
    commas. Raises ValueError naming an unknown token.
    """
    if raw is None or raw.strip().lower() in ("", "all"):
        return None
    tokens = [t for t in raw.replace("+", " ").replace(",", " ").split() if t]
    selected = set()
    for token in tokens:
        key = token.lower()
        if key == "all":
            return None
        if key not in FILTER_NAMES:
            raise ValueError(token)
        if FILTER_NAMES[key]:
            selected.add(FILTER_NAMES[key])
    return frozenset(selected)


def mdminfo(
    *,
    api_version: int,
    api_path: str,
    redirect_url: str,
    query_max_size: int,
    namespaced: bool,
) -> bytes:
    """The ``/ciscoise/mdminfo/`` answer."""
    root = _root(namespaced)
    _sub(root, "name", "mdminfo")
    _sub(root, "api_version", str(api_version))
    _sub(root, "api_path", api_path)
    _sub(root, "redirect_url", redirect_url)
    _sub(root, "query_max_size", str(query_max_size))
    _sub(root, "messaging_support", "false")
    _sub(root, "vendor", "Microsoft")
    _sub(root, "product_name", "Microsoft Intune")
    _sub(root, "product_version", "5.0")
    return _serialize(root)


def _header(root: ET.Element, api_version: int, paging_info: int | None) -> ET.Element:
    _sub(root, "name", "attributes")
    _sub(root, "api_version", str(api_version))
    if paging_info is not None:
        _sub(root, "paging_info", str(paging_info))
    return _sub(root, "deviceList")


_V3_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    f'<ise_api xmlns:i="{XSI_NAMESPACE}" xmlns="{CR_NAMESPACE}">'
    "<name>attributes</name><api_version>3</api_version>"
)


def _text_el(tag: str, text: str) -> str:
    """``<tag>text</tag>`` (``<tag />`` when empty), escaped as ElementTree escapes element text."""
    return f"<{tag}>{escape(text)}</{tag}>" if text else f"<{tag} />"


def attributes_v3(
    devices: Iterable[CiscoDevice],
    *,
    paging_info: int | None,
    with_mac: bool,
    identifier: str = "guid",
    selected: frozenset[str] | None = None,
) -> bytes:
    """A CR (v3) devices answer: namespaced, ``Attributes``/``Compliance``, CR's four fields only.

    ``identifier`` (``guid`` or ``macaddress``) is the device-level key element; ``with_mac`` adds
    ``macaddress`` inside ``Attributes``; ``selected`` (from :func:`parse_filter`) limits attributes.

    The hot path of the CR service, so it is written from a string template rather than an element
    tree: the bytes are exactly what :func:`_serialize` makes of the same tree (values escaped with
    :func:`xml.sax.saxutils.escape`, as ElementTree escapes text; empty elements as ``<tag />``).
    """
    want_mac = with_mac and (selected is None or "macaddress" in selected)
    want_register = selected is None or "register_status" in selected
    want_compliance = selected is None or "compliance" in selected
    parts = [_V3_HEAD]
    if paging_info is not None:
        parts.append(f"<paging_info>{paging_info}</paging_info>")
    items = []
    for d in devices:
        key = _text_el("macaddress", d.mac) if identifier == "macaddress" else _text_el("guid", d.guid)
        attrs = _text_el("guid", d.guid)
        if want_mac:
            attrs += _text_el("macaddress", d.mac)
        if want_register:
            attrs += f"<register_status>{_bool(d.registered)}</register_status>"
        if want_compliance:
            attrs += f"<Compliance><status>{_bool(d.compliant)}</status></Compliance>"
        items.append(f"<device>{key}<Attributes>{attrs}</Attributes></device>")
    parts.append(f"<deviceList>{''.join(items)}</deviceList>" if items else "<deviceList />")
    parts.append("</ise_api>")
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")


def attributes_v2(
    devices: Sequence[CiscoDevice],
    *,
    paging_info: int | None,
    with_mac: bool,
    selected: frozenset[str] | None = None,
) -> bytes:
    """A legacy (v2) devices answer: no namespace, lower-case, the full attribute set.

    ``with_mac`` adds the device-level ``<macaddress>`` key (bulk lists: the NAC needs to know whose
    attributes these are; Intune's single-MAC answer omits it).
    """
    root = _root(False)
    device_list = _header(root, 2, paging_info)
    for d in devices:
        device = _sub(device_list, "device")
        if with_mac:
            _sub(device, "macaddress", d.mac)
        attrs = _sub(device, "attributes")
        values: dict[str, str] = {
            "register_status": _bool(d.registered),
            "disk_encryption_on": _bool(d.disk_encryption_on),
            "pin_lock_on": _bool(d.pin_lock_on),
            "jail_broken": _bool(d.jail_broken),
            "manufacturer": d.manufacturer,
            "model": d.model,
            "imei": d.imei,
            "meid": d.meid,
            "udid": d.udid,
            "serial_number": d.serial_number,
            "os_version": d.os_version,
            "phone_number": d.phone_number,
            "lastCheckinTimeStamp": "" if d.last_checkin_ms is None else str(d.last_checkin_ms),
        }
        for name in V2_ATTRIBUTES:
            if selected is not None and name not in selected:
                continue
            if name == "compliance":
                comp = _sub(attrs, "compliance")
                _sub(comp, "status", _bool(d.compliant))
                _sub(comp, "failure_reason", d.failure_reason)
                _sub(comp, "remediation", d.remediation)
            else:
                _sub(attrs, name, values[name])
    return _serialize(root)


def error(code: str, message: str) -> bytes:
    """The mock's error body on the Cisco surfaces (no documented shape exists; see the blueprints)."""
    root = ET.Element("error")
    _sub(root, "code", code)
    _sub(root, "message", message)
    return _serialize(root)
