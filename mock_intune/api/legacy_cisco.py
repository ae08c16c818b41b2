"""Legacy Intune NAC service, Cisco MDM API v2 (profile ``legacy-cisco``; retired by Microsoft in 2024).

Paths under ``{NACAPIService} = /StatelessNACService`` (Intune's own ``api_path`` spells it
``/StatelessNacService``; both spellings are served, also under ``/<shard>`` after a move):

* ``{NAC}/ciscoise/mdminfo/?ise_api_version=N`` — ``mdminfo`` without a namespace, ``api_version``
  ``min(N, 2)``, ``api_path`` ``{prefix}/StatelessNacService/ciscodeviceinfo/mdm/api``;
* ``{NAC}/ciscodeviceinfo/mdm/api/devices/?paging=0&querycriteria=macaddress|compliance|udid|imei|
  meid|serialnumber&value=…&filter=all`` — lower-case ``attributes``/``compliance``, no namespace,
  the full v2 attribute set. Unknown or unenrolled devices give an empty ``<deviceList/>``;
  ``compliance`` is the broad query with the same 4-hour limit and paging as CR.

Token, content type and error rules are those of :mod:`mock_intune.api.cr_cisco` (XML
``<error>`` bodies).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from ..cisco_query import Criteria, lookup, parse_query, sweep_page
from ..cisco_xml import attributes_v2
from ..cisco_xml import error as xml_error
from ..errors import RequestError
from ..model import Surface
from ..service_base import NAC_SERVICE_PATH
from . import errors as error_shapes
from . import service_of
from .cr_cisco import _views, mdminfo_answer, nac_authorize, record, xml_response
from .discovery import check_shard, nac_rule

SURFACE = Surface.LEGACY_CISCO
bp = Blueprint("legacy_cisco", __name__)
API_VERSION = 2
API_PATH = "/StatelessNacService/ciscodeviceinfo/mdm/api"
LEGACY_CRITERIA = frozenset(
    {
        Criteria.MACADDRESS,
        Criteria.COMPLIANCE,
        Criteria.UDID,
        Criteria.IMEI,
        Criteria.MEID,
        Criteria.SERIALNUMBER,
    }
)
SPELLINGS = (NAC_SERVICE_PATH, "/StatelessNacService")


def mdminfo_view(shard: str | None) -> Response:
    return mdminfo_answer(shard, max_version=API_VERSION, api_path=API_PATH, namespaced=False)


def devices_view(shard: str | None) -> Response:
    check_shard(shard)
    tid = nac_authorize()
    svc = service_of()
    q = parse_query(request.args, request.query_string, LEGACY_CRITERIA, default_identifier="macaddress")
    if q.broad:
        page = sweep_page(svc, q, app=g.call_app, surface=SURFACE.value, tenant_id=tid)
        views = _views(q, page.devices, tid)
        record(q, views, broad=True, page=page.page, continued=page.continued, paging_info=page.paging_info)
        return xml_response(
            attributes_v2(views, paging_info=page.paging_info, with_mac=True, selected=q.selected)
        )
    found = lookup(svc, q, tid)
    views = _views(q, [found] if found else [], tid)
    record(q, views, broad=False)
    return xml_response(attributes_v2(views, paging_info=0, with_mac=False, selected=q.selected))


for _i, _base in enumerate(SPELLINGS):
    nac_rule(bp, f"{_base}/ciscoise/mdminfo/", mdminfo_view, endpoint=f"mdminfo_{_i}")
    nac_rule(bp, f"{_base}/ciscodeviceinfo/mdm/api/devices/", devices_view, endpoint=f"devices_{_i}")


@error_shapes.register(SURFACE)
def render_error(exc: RequestError) -> Response:
    resp = xml_response(xml_error(exc.code or "Error", exc.message), exc.status)
    resp.headers.update(exc.headers)
    return resp
