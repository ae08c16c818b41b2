"""Malformed Intune answers the bench substitutes at the transport seam (RES-05).

Each :class:`Malformation` rewrites a real answer of the mock, in whichever wire shape it has
(Cisco XML, legacy JSON, Graph JSON), the way a real service glitch or a schema drift would:
empty properties, fields nobody documented, timestamp variants, a body that is not the format at all.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any


class Malformation(StrEnum):
    """The ways the bench spoils an answer; the values are the step vocabulary."""

    EMPTY_STATUS = "an empty compliance status"
    UNEXPECTED_FIELDS = "unexpected fields"
    TIMESTAMP_WITH_OFFSET = "a timestamp with an offset"
    TIMESTAMP_WITHOUT_OFFSET = "a timestamp without an offset"
    NOT_THE_FORMAT = "a body that is not the expected format"


_STATUS = re.compile(rb"(<status>)\s*(true|false)\s*(</status>)", re.IGNORECASE)
_DEVICE_OPEN = re.compile(rb"(<(?:[A-Za-z]+:)?[Aa]ttributes>)")


def malform(kind: Malformation, body: bytes, content_type: str) -> bytes:
    """``body`` spoiled by ``kind`` (JSON or XML by ``content_type`` / sniffing)."""
    if kind is Malformation.NOT_THE_FORMAT:
        return b"<html><body><h1>Service temporarily degraded</h1></body></html>"
    is_json = "json" in content_type.lower() or body.lstrip()[:1] in (b"{", b"[")
    return _json(kind, body) if is_json else _xml(kind, body)


def _xml(kind: Malformation, body: bytes) -> bytes:
    if kind is Malformation.EMPTY_STATUS:
        return _STATUS.sub(rb"\1\3", body)
    if kind is Malformation.UNEXPECTED_FIELDS:
        extra = b"<vendor_extension><risk_score>17</risk_score></vendor_extension><x_partner_flag/>"
        return _DEVICE_OPEN.sub(lambda m: m.group(1) + extra, body)
    stamp = (
        b"10/18/2025 14:05:26 +0000" if kind is Malformation.TIMESTAMP_WITH_OFFSET else b"10/18/2025 14:05:26"
    )
    return _DEVICE_OPEN.sub(
        lambda m: m.group(1) + b"<lastCheckinTimeStamp>" + stamp + b"</lastCheckinTimeStamp>", body
    )


def _json(kind: Malformation, body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    _walk(kind, data)
    return json.dumps(data).encode()


def _walk(kind: Malformation, data: Any) -> None:
    if isinstance(data, list):
        for item in data:
            _walk(kind, item)
        return
    if not isinstance(data, dict):
        return
    device_like = "complianceState" in data or "isManaged" in data
    if device_like:
        if kind is Malformation.EMPTY_STATUS:
            data["complianceState"] = ""
        elif kind is Malformation.UNEXPECTED_FIELDS:
            data["partnerRiskScore"] = 17
            data["x-vendor-flags"] = {"beta": True}
            data["@odata.annotation"] = None
        else:
            stamp = (
                "10/18/2025 14:05:26 +0000"
                if kind is Malformation.TIMESTAMP_WITH_OFFSET
                else "10/18/2025 14:05:26"
            )
            for key in ("lastContactTimeUtc", "lastSyncDateTime"):
                if key in data or "isManaged" in data:
                    data[key] = stamp
    for value in list(data.values()):
        if isinstance(value, dict | list):
            _walk(kind, value)
