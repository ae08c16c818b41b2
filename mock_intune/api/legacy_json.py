"""Legacy Intune NAC service, JSON NAC API 1.x (profile ``legacy-json``; retired by Microsoft in 2024).

``GET {NACAPIService}/devices/?querycriteria=macaddress&value={MAC}&api-version=1.0|1.1|1.3[&paging=0]``
(``/StatelessNACService`` or ``/StatelessNacService``, also under ``/<shard>`` after a move) answers
one flat JSON object (research §1.3a):

``macAddress``, ``isManaged``, ``complianceState`` (a boolean), ``azureDeviceId``, ``imei``,
``meid``, ``udid``, ``serialNumber``, ``model``, ``manufacturer``, ``osVersion`` and
``lastContactTimeUtc`` (``MM/DD/YYYY HH:MM:SS``, UTC); ``deviceOwner`` (``Corporate`` /
``Personal`` / ``Unknown``) only for api-version 1.1 and 1.3 (NAC 1.0 shared no ownership).

An unknown or unenrolled MAC answers 200 with ``isManaged: false`` and nothing else filled in: the
other keys are empty strings and ``complianceState`` is false (Intune shares nothing but "not
managed"). Only ``querycriteria=macaddress`` exists on this API. Errors use the OData-style
``{"error": {"code", "message"}}`` body (no shape is documented for this API): 400 for a missing or
unsupported ``api-version``, criteria, or a malformed MAC; 401/403 for token and permission.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from ..errors import InputError, RequestError
from ..model import Device, OwnerType, Surface, normalize_mac
from ..service_base import NAC_SERVICE_PATH
from . import service_of
from .cr_cisco import nac_authorize
from .discovery import check_shard, nac_rule

SURFACE = Surface.LEGACY_JSON
bp = Blueprint("legacy_json", __name__)
API_VERSIONS = ("1.0", "1.1", "1.3")
WITH_OWNER = frozenset({"1.1", "1.3"})
_OWNER = {OwnerType.COMPANY: "Corporate", OwnerType.PERSONAL: "Personal", OwnerType.UNKNOWN: "Unknown"}
MAX_VALUE_LEN = 128


def _bad(message: str, param: str) -> RequestError:
    return RequestError(400, f"{param}: {message}", code="BadRequest", extra={"parameter": param})


def _body(mac: str, device: Device | None, compliant: bool, version: str) -> dict[str, object]:
    body: dict[str, object] = {
        "macAddress": mac,
        "isManaged": False,
        "complianceState": False,
        "azureDeviceId": "",
        "imei": "",
        "meid": "",
        "udid": "",
        "serialNumber": "",
        "model": "",
        "manufacturer": "",
        "osVersion": "",
        "lastContactTimeUtc": "",
    }
    if version in WITH_OWNER:
        body["deviceOwner"] = ""
    if device is None:
        return body
    body.update(
        {
            "isManaged": True,
            "complianceState": compliant,
            "azureDeviceId": device.azure_ad_device_id,
            "imei": device.imei,
            "meid": device.meid,
            "udid": device.udid,
            "serialNumber": device.serial_number,
            "model": device.model,
            "manufacturer": device.manufacturer,
            "osVersion": device.os_version,
            "lastContactTimeUtc": device.last_sync_at.strftime("%m/%d/%Y %H:%M:%S")
            if device.last_sync_at
            else "",
        }
    )
    if version in WITH_OWNER:
        body["deviceOwner"] = _OWNER[device.owner_type]
    return body


def devices_view(shard: str | None) -> Response:
    check_shard(shard)
    tid = nac_authorize()
    args = request.args
    version = (args.get("api-version") or "").strip()
    if not version:
        raise _bad("missing; use one of " + ", ".join(API_VERSIONS), "api-version")
    if version not in API_VERSIONS:
        raise _bad(
            f"unsupported version {version[:20]!r}; use one of " + ", ".join(API_VERSIONS), "api-version"
        )
    criteria = (args.get("querycriteria") or "").strip().lower()
    if not criteria:
        raise _bad("missing; use macaddress", "querycriteria")
    if criteria != "macaddress":
        raise _bad(f"unsupported criteria {criteria[:40]!r}; use macaddress", "querycriteria")
    raw_value = args.get("value") or ""
    if not raw_value.strip():
        raise _bad("missing", "value")
    if len(raw_value) > MAX_VALUE_LEN:
        raise _bad(f"longer than {MAX_VALUE_LEN} characters", "value")
    paging = (args.get("paging") or "0").strip()
    if paging != "0":
        raise _bad("a device query has one page; send paging=0 or leave it out", "paging")
    try:
        mac = normalize_mac(raw_value)
    except InputError as exc:
        raise _bad(exc.message, "value") from None
    svc = service_of()
    found = svc.find_mac(mac, tid)
    device = found if found is not None and found.managed else None
    compliant = svc.status(device, tid).compliant if device is not None else False
    g.call_detail.update(
        {
            "criteria": "macaddress",
            "value": mac,
            "api_version": version,
            "paging": 0,
            "results": 1 if device else 0,
            "devices": [{"id": device.intune_id, "registered": True, "compliant": compliant}]
            if device
            else [],
        }
    )
    return jsonify(_body(mac, device, compliant, version))


for _i, _base in enumerate((NAC_SERVICE_PATH, "/StatelessNacService")):
    nac_rule(bp, f"{_base}/devices/", devices_view, endpoint=f"devices_{_i}")
