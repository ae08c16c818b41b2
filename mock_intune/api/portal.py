"""The management portal a blocked device is redirected to (RED-01, RED-02, RED-03).

``GET /networkaccesscontrol/index`` (the advertised ``redirect_url``; also ``/networkaccesscontrol``
and the bare portal root ``/``) serves an HTML page. It identifies the device from the query
parameters a NAC or captive-portal redirect carries, re-evaluates it synchronously
(:meth:`MockIntune.portal_visit`) and shows the new state, which the very next CR / legacy / Graph
query sees.

Accepted identifiers (first match wins):

* Intune device ID: ``deviceId``, ``device_id``, ``intuneDeviceId``, ``guid``, ``id``;
* MAC address (any separators): ``mac``, ``macaddress``, ``macAddress``, ``client_mac``,
  ``clientMac``, ``endpoint_mac``. Which name a NAC appends to ``redirect_url`` is not documented
  (the research found no source); these are the spellings captive-portal redirects commonly use,
  and a NAC that appends something else shows up in the call log as a 400 ``MissingDevice``.

An unknown or unenrolled device gets a page that says to enroll, with a link to the Company Portal.
No identifier, or a malformed one, is a 400 page naming the parameter. No sign-in is modelled.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template_string, request

from ..errors import InputError, RequestError, StateError
from ..model import Device, Surface, normalize_guid, normalize_mac
from . import errors as error_shapes
from . import service_of

SURFACE = Surface.PORTAL
bp = Blueprint("portal", __name__)
GUID_PARAMS = ("deviceId", "device_id", "intuneDeviceId", "guid", "id")
MAC_PARAMS = ("mac", "macaddress", "macAddress", "client_mac", "clientMac", "endpoint_mac")
ENROLL_URL = "https://portal.manage.microsoft.com/"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
{% if device %}
<p id="device">Device <code>{{ device.intune_id }}</code>{% if device.device_name %} ({{ device.device_name }}){% endif %}</p>
<p id="state" data-state="{{ state }}" data-compliant="{{ 'true' if compliant else 'false' }}">
Compliance state: <strong>{{ state }}</strong></p>
{% if compliant %}<p>This device meets your organization's requirements. Try connecting again.</p>
{% else %}<p>This device does not meet your organization's requirements. Fix the issues shown in the
Company Portal, then check again.</p>
<p><a id="recheck" href="{{ recheck }}">Check compliance again</a></p>{% endif %}
{% elif enroll %}
<p id="state" data-state="notEnrolled" data-compliant="false">This device is not enrolled in Intune.</p>
<p>To get access, <a id="enroll" href="{{ enroll_url }}">enroll this device</a> with the Company Portal.</p>
{% else %}
<p id="error" data-code="{{ code }}">{{ message }}</p>
{% endif %}
</body></html>
"""


def _page(status: int = 200, **context: object) -> Response:
    defaults: dict[str, object] = {"device": None, "enroll": False, "code": "", "message": "", "state": ""}
    html = render_template_string(_PAGE, **{**defaults, **context})
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _identify() -> tuple[str, str]:
    """(kind, normalised value) from the query string; raises RequestError 400."""
    args = request.args
    for name in GUID_PARAMS:
        if args.get(name):
            try:
                return "guid", normalize_guid(args[name])
            except InputError as exc:
                raise RequestError(400, f"{name}: {exc.message}", code="InvalidParameter") from None
    for name in MAC_PARAMS:
        if args.get(name):
            try:
                return "mac", normalize_mac(args[name])
            except InputError as exc:
                raise RequestError(400, f"{name}: {exc.message}", code="InvalidParameter") from None
    raise RequestError(
        400,
        "The device could not be identified: give deviceId=<Intune device ID> or mac=<MAC address>.",
        code="MissingDevice",
    )


@bp.get("/networkaccesscontrol/index")
@bp.get("/networkaccesscontrol")
@bp.get("/")
def index() -> Response:
    svc = service_of()
    kind, value = _identify()
    found: Device | None = svc.find_guid(value) if kind == "guid" else svc.find_mac(value)
    g.call_detail.update({"criteria": kind, "value": value})
    if found is None or not found.managed:
        g.call_detail.update({"results": 0, "devices": [], "outcome": "enroll"})
        return _page(title="Enroll your device", enroll=True, enroll_url=ENROLL_URL)
    try:
        device = svc.portal_visit(found.intune_id)
    except StateError:
        g.call_detail.update({"results": 0, "devices": [], "outcome": "enroll"})
        return _page(title="Enroll your device", enroll=True, enroll_url=ENROLL_URL)
    status = svc.status(device)
    g.call_detail.update(
        {
            "results": 1,
            "devices": [{"id": device.intune_id, "registered": True, "compliant": status.compliant}],
            "outcome": "reevaluated",
            "state": status.state.value,
        }
    )
    return _page(
        title="Device compliance",
        device=device,
        state=status.state.value,
        compliant=status.compliant,
        recheck=request.url,
    )


@error_shapes.register(SURFACE)
def render_error(exc: RequestError) -> Response:
    resp = _page(exc.status, title="Something went wrong", code=exc.code, message=exc.message)
    resp.headers.update(exc.headers)
    return resp
