"""Compliance Retrieval service, Cisco MDM API v3 (profile ``cr-cisco``).

Paths under ``{CR} = /TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService``
(and under ``/<shard>{CR}`` after an endpoint move, see :mod:`mock_intune.api.discovery`):

* ``{CR}/ciscoise/mdminfo/?ise_api_version=N`` — namespaced ``mdminfo`` with ``api_version``
  ``min(N, 3)`` (``N`` absent means 1, as ISE v1 sent none), ``api_path`` ``{prefix}{CR}/cisco``,
  ``redirect_url``, ``query_max_size``;
* ``{CR}/cisco/devices/?paging=…&querycriteria=guid|macaddress|compliance&value=…&filter=…
  [&deviceidentifier=guid|macaddress]`` — see :mod:`mock_intune.cisco_query` for the rules.

Every call needs a bearer token for ``https://api.manage.microsoft.com/`` with
``get_device_compliance`` (401 / 403 otherwise).

**Content type.** CR speaks XML only: every answer is ``application/xml`` whatever ``Accept`` says
(Microsoft's service tolerates ``Accept: application/json`` from ISE the same way).

**Errors.** No error body is documented for the Cisco surfaces, so the mock answers
``<error><code>…</code><message>…</message></error>`` (XML, the surface's content type) with the
status that says what went wrong: 400 bad parameter (the message names it), 401 token, 403
permission, 404 moved endpoint, 414 oversized query, 503 broad-query limit with ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, g, request

from ..cisco_query import CiscoQuery, Criteria, lookup, parse_query, sweep_page, to_cisco
from ..cisco_xml import XML_CONTENT_TYPE, CiscoDevice, attributes_v3, mdminfo
from ..cisco_xml import error as xml_error
from ..errors import RequestError
from ..model import MANAGE_RESOURCE, Device, Permission, Surface
from ..service import MockIntune
from ..service_base import CR_SERVICE_PATH
from . import errors as error_shapes
from . import service_of
from .auth import authorize
from .discovery import check_shard, nac_rule

SURFACE = Surface.CR_CISCO
bp = Blueprint("cr_cisco", __name__)
API_VERSION = 3
CR_CRITERIA = frozenset({Criteria.GUID, Criteria.MACADDRESS, Criteria.COMPLIANCE})
_NAC_PERMISSIONS = frozenset({Permission.GET_DEVICE_COMPLIANCE})


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type=XML_CONTENT_TYPE)


def nac_authorize() -> str:
    """The NAC services' token rule: audience api.manage.microsoft.com, role get_device_compliance.

    Returns the token's tenant, whose devices the query reads; a tenant the mock does not hold is 401.
    """
    claims = authorize(MANAGE_RESOURCE, _NAC_PERMISSIONS, "get device compliance")
    tenant_id = str(claims.get("tid") or "")
    ctx = g._get_current_object()  # type: ignore[attr-defined]
    shared = getattr(ctx, "shared", None)  # this request's SharedState, when the hooks took one
    tenants = shared.tenants if shared is not None else service_of().store.tenants()
    if tenant_id not in tenants:
        raise RequestError(
            401,
            "The access token was issued for a tenant this service does not hold.",
            code="InvalidAuthenticationToken",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    ctx.call_detail["tenant"] = tenant_id
    return tenant_id


def requested_api_version(max_version: int) -> int:
    """``min(ise_api_version, max_version)``; absent → 1; 400 when not a positive integer."""
    raw = request.args.get("ise_api_version")
    if raw is None:
        return 1
    if not raw.strip().isdigit() or len(raw.strip()) > 6 or int(raw) < 1:
        raise RequestError(
            400, f"ise_api_version: not a positive integer: {raw[:20]!r}", code="InvalidParameter"
        )
    return min(int(raw), max_version)


def record(q: CiscoQuery, devices: list[CiscoDevice], **extra: object) -> None:
    """Put the decision-relevant facts of a devices query into the call log."""
    g.call_detail.update(
        {
            "criteria": q.criteria.value,
            "value": q.value,
            "deviceidentifier": q.identifier,
            "paging": q.paging,
            "results": len(devices),
            "devices": [
                {"id": d.guid, "registered": d.registered, "compliant": d.compliant} for d in devices
            ],
            **extra,
        }
    )


def mdminfo_answer(shard: str | None, *, max_version: int, api_path: str, namespaced: bool) -> Response:
    """``ciscoise/mdminfo`` for either Cisco surface: ``api_path`` follows the current service prefix."""
    prefix = check_shard(shard)
    nac_authorize()
    version = requested_api_version(max_version)
    cfg = service_of().config
    g.call_detail.update({"mdminfo": True, "api_version": version})
    return xml_response(
        mdminfo(
            api_version=version,
            api_path=prefix + api_path,
            redirect_url=cfg.redirect_url,
            query_max_size=cfg.query_max_size,
            namespaced=namespaced,
        )
    )


def mdminfo_view(shard: str | None) -> Response:
    return mdminfo_answer(
        shard, max_version=API_VERSION, api_path=f"{CR_SERVICE_PATH}/cisco", namespaced=True
    )


def _views(
    q: CiscoQuery, devices: list[Device], tenant_id: str | None = None, *, svc: MockIntune | None = None
) -> list[CiscoDevice]:
    if not devices:
        return []
    svc = svc or service_of()
    shared = g.get("shared")
    settings = shared.settings.get(tenant_id or svc.tenant_id) if shared is not None else None
    views = [to_cisco(svc, d, tenant_id, settings=settings) for d in devices]
    if q.criteria is Criteria.MACADDRESS:
        views = [replace(v, mac=q.value) for v in views]
    return views


def devices_view(shard: str | None) -> Response:
    check_shard(shard)
    tid = nac_authorize()
    svc = service_of()
    req = request._get_current_object()  # type: ignore[attr-defined]
    q = parse_query(req.args, req.query_string, CR_CRITERIA, default_identifier="guid")
    if q.broad:
        page = sweep_page(svc, q, app=g.call_app, surface=SURFACE.value, tenant_id=tid)
        views = _views(q, page.devices, tid)
        record(q, views, broad=True, page=page.page, continued=page.continued, paging_info=page.paging_info)
        body = attributes_v3(
            views,
            paging_info=page.paging_info,
            with_mac=q.identifier == "macaddress",
            identifier=q.identifier,
            selected=q.selected,
        )
        return xml_response(body)
    found = lookup(svc, q, tid)
    views = _views(q, [found] if found else [], tid, svc=svc)
    record(q, views, broad=False)
    return xml_response(
        attributes_v3(
            views, paging_info=None, with_mac=q.criteria is Criteria.MACADDRESS, selected=q.selected
        )
    )


nac_rule(bp, f"{CR_SERVICE_PATH}/ciscoise/mdminfo/", mdminfo_view)
nac_rule(bp, f"{CR_SERVICE_PATH}/cisco/devices/", devices_view)


@error_shapes.register(SURFACE)
def render_error(exc: RequestError) -> Response:
    resp = xml_response(xml_error(exc.code or "Error", exc.message), exc.status)
    resp.headers.update(exc.headers)
    return resp
