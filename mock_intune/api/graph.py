"""Surface ``graph``: Microsoft Graph ``deviceManagement/managedDevices`` (v1.0 and beta).

What Graph-based NACs (FortiNAC, Mist, Portnox style) call: list with ``$filter`` / ``$select`` /
``$top`` / ``$count`` and ``@odata.nextLink`` paging, and get by id. The token must carry the Graph
audience and ``DeviceManagementManagedDevices.Read.All`` (or ReadWrite); every call counts against
the Graph throttle (429 + ``Retry-After``). Only enrolled devices are listed. Errors are OData's
``{"error": {"code", "message", "innerError": {...}}}``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, request

from .. import compliance, faults
from ..errors import NotFound, RequestError
from ..managed_devices import (
    DEFAULT_PAGE,
    Clause,
    bad_request,
    decode_skiptoken,
    encode_skiptoken,
    parse_count,
    parse_filter,
    parse_select,
    parse_top,
    render,
)
from ..model import GRAPH_DEVICE_PERMISSIONS, GRAPH_RESOURCE, ComplianceState, Device, Surface, normalize_mac
from ..service import MockIntune
from . import errors as error_shapes
from . import service_of
from .auth import authorize

SURFACE = Surface.GRAPH
bp = Blueprint("graph", __name__)

LIST_OPTIONS = frozenset({"$filter", "$select", "$top", "$count", "$skiptoken"})
GET_OPTIONS = frozenset({"$select"})
VERSION = '<any("v1.0", "beta"):version>'


@error_shapes.register(Surface.GRAPH)
def render_error(exc: RequestError) -> Response:
    """Graph's OData error body, with the ``innerError`` request ids Graph adds."""
    request_id = _request_id()
    body = {
        "error": {
            "code": exc.code or "BadRequest",
            "message": exc.message,
            **exc.extra,
            "innerError": {
                "date": service_of().now().strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request.headers.get("client-request-id", request_id),
            },
        }
    }
    resp = jsonify(body)
    resp.status_code = exc.status
    resp.headers.update(exc.headers)
    return resp


def _request_id() -> str:
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    return str(g.graph_request_id)


@bp.after_request
def _ids(response: Response) -> Response:
    rid = _request_id()
    response.headers["request-id"] = rid
    response.headers["client-request-id"] = request.headers.get("client-request-id", rid)
    return response


def _begin(allowed: frozenset[str]) -> tuple[MockIntune, str | None]:
    """Authorise the call, count it against the throttle and reject query options Graph would."""
    svc = service_of()
    claims = authorize(GRAPH_RESOURCE, GRAPH_DEVICE_PERMISSIONS, "read managed devices")
    tenant_id = str(claims.get("tid") or "") or None
    try:
        svc.check_graph_rate(g.call_app, tenant_id)
    except RequestError as exc:
        # A Graph fault spec with ``retry_after: false`` makes real throttling omit the header too
        # (some Intune endpoints answer 429 without Retry-After; RES-03).
        wanted = getattr(faults, "retry_after_wanted", None)
        if exc.status == 429 and wanted is not None and not wanted(svc, Surface.GRAPH):
            exc.headers.pop("Retry-After", None)
        raise
    for key in request.args:
        if key.startswith("$") and key not in allowed:
            raise bad_request(f"Query option '{key}' is not supported by this request.")
        if len(request.args.getlist(key)) > 1:
            raise bad_request(f"Query option '{key}' was specified more than once.")
    return svc, tenant_id


def _context(version: str, select: list[str] | None, entity: bool = False) -> str:
    fields = f"({','.join(select)})" if select else ""
    tail = "/$entity" if entity else ""
    return f"{request.host_url}{version}/$metadata#deviceManagement/managedDevices{fields}{tail}"


def _shape(device: Device, state: ComplianceState, version: str, select: list[str] | None) -> dict[str, Any]:
    full = render(device, state, version)
    return {k: full[k] for k in select} if select else full


def _candidates(svc: MockIntune, tenant_id: str, clauses: list[Clause]) -> list[Device]:
    """Managed devices a filter could match, using the store's indexes where a clause allows it."""
    store = svc.store
    for clause in clauses:
        if clause.prop == "id":
            found = store.get_device(tenant_id, clause.value.lower())
            return [found] if found and found.managed else []
        if clause.prop == "azureADDeviceId":
            return store.devices_where(
                tenant_id, "azure_ad_device_id", clause.value.lower(), managed_only=True
            )
        if clause.prop in ("wiFiMacAddress", "ethernetMacAddress"):
            try:
                mac = normalize_mac(clause.value)
            except ValueError:
                return []
            column = "wifi_mac" if clause.prop == "wiFiMacAddress" else "ethernet_mac"
            return store.devices_where(tenant_id, column, mac, managed_only=True)
    return store.devices(tenant_id, managed_only=True)


@bp.get(f"/{VERSION}/deviceManagement/managedDevices")
def list_managed_devices(version: str) -> Response:
    svc, tid = _begin(LIST_OPTIONS)
    tenant_id = tid or svc.tenant_id
    args = request.args
    raw_filter = args.get("$filter")
    clauses = parse_filter(raw_filter, version) if raw_filter is not None else []
    select = parse_select(args["$select"], version) if "$select" in args else None
    top = parse_top(args["$top"]) if "$top" in args else DEFAULT_PAGE
    want_count = parse_count(args["$count"]) if "$count" in args else False
    page, after = decode_skiptoken(args["$skiptoken"]) if "$skiptoken" in args else (1, "")

    settings = svc.settings(tenant_id)
    now = svc.now()
    matches: list[tuple[Device, ComplianceState]] = []
    for device in _candidates(svc, tenant_id, clauses):
        if not device.managed:
            continue
        state = compliance.effective_state(device, settings, now)
        if all(c.matches(device, state) for c in clauses):
            matches.append((device, state))
    matches.sort(key=lambda pair: pair[0].intune_id)
    rest = [m for m in matches if m[0].intune_id > after] if after else matches
    page_items, more = rest[:top], len(rest) > top

    body: dict[str, Any] = {"@odata.context": _context(version, select)}
    if want_count:
        body["@odata.count"] = len(matches)
    if more:
        query = {k: v for k, v in args.items() if k != "$skiptoken"}
        query["$skiptoken"] = encode_skiptoken(page + 1, page_items[-1][0].intune_id)
        body["@odata.nextLink"] = (
            f"{request.host_url}{version}/deviceManagement/managedDevices?{urlencode(query, safe='$,')}"
        )
    body["value"] = [_shape(d, s, version, select) for d, s in page_items]
    g.call_detail.update(
        {
            "version": version,
            "filter": raw_filter,
            "clauses": [[c.prop, c.value] for c in clauses],
            "page": page,
            "results": len(page_items),
            "total": len(matches),
            "next": more,
            "devices": [
                {"id": d.intune_id, "compliant": s.grants_access, "state": s.value} for d, s in page_items
            ],
        }
    )
    return jsonify(body)


@bp.get(f"/{VERSION}/deviceManagement/managedDevices/<device_id>")
def get_managed_device(version: str, device_id: str) -> Response:
    if device_id == "$count":
        return _count(version)
    svc, tid = _begin(GET_OPTIONS)
    tenant_id = tid or svc.tenant_id
    select = parse_select(request.args["$select"], version) if "$select" in request.args else None
    g.call_detail.update({"version": version, "id": device_id[:64]})
    device = svc.store.get_device(tenant_id, device_id.lower())
    if device is None or not device.managed:
        raise NotFound(f"Resource not found for the segment 'managedDevices' with key '{device_id[:64]}'.")
    state = compliance.effective_state(device, svc.settings(tenant_id), svc.now())
    g.call_detail.update(
        {
            "results": 1,
            "devices": [{"id": device.intune_id, "compliant": state.grants_access, "state": state.value}],
        }
    )
    body = {
        "@odata.context": _context(version, select, entity=True),
        **_shape(device, state, version, select),
    }
    return jsonify(body)


def _count(version: str) -> Response:
    """``GET …/managedDevices/$count``: the number of managed devices, as text."""
    svc, tid = _begin(frozenset({"$filter"}))
    tenant_id = tid or svc.tenant_id
    raw_filter = request.args.get("$filter")
    clauses = parse_filter(raw_filter, version) if raw_filter is not None else []
    settings = svc.settings(tenant_id)
    now = svc.now()
    total = 0
    for device in _candidates(svc, tenant_id, clauses):
        if device.managed:
            state = compliance.effective_state(device, settings, now)
            total += all(c.matches(device, state) for c in clauses)
    g.call_detail.update({"version": version, "filter": raw_filter, "total": total})
    return Response(str(total), mimetype="text/plain")
