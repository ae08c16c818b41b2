"""Service discovery (ONB-01): where a NAC finds the Intune NAC and Compliance Retrieval services.

Two shapes, as the research notes record (§1.1):

* Microsoft Graph ``GET /v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints``
  (also ``/beta/…``, ``/v1.0/servicePrincipals(appId='…')/endpoints`` and
  ``/v1.0/servicePrincipals/{object id}/endpoints``): ``value[]`` of ``{id, capability, providerId,
  providerName, providerResourceId, uri}`` with ``providerName`` ``NACAPIService`` and
  ``ComplianceRetrievalService``. Token audience ``https://graph.microsoft.com``.
* Azure AD Graph ``GET /{tenant}/servicePrincipalsByAppId/0000000a-…/serviceEndpoints?api-version=1.6``
  (``api-version`` as a query parameter or a header): ``value[]`` of ``{serviceName, uri, …}``.
  Token audience ``https://graph.windows.net``.

Both need ``Application.Read.All`` or an equivalent (``DISCOVERY_PERMISSIONS``); without it they
answer 403 ``Authorization_RequestDenied`` in the Graph (or AAD Graph) error shape.

**Movable endpoint.** The advertised ``uri`` is ``{service base}{service path}``, where the service
base is the request's origin (or ``config.public_base_url``) unless an admin moved it
(:meth:`MockIntune.set_service_base`, see :mod:`mock_intune.service_base`). A move to a path prefix
such as ``/fef-02`` is enforced: the NAC-facing surfaces registered with :func:`nac_rule` answer
under the fixed path and under ``/<shard>/…``, and :func:`check_shard` rejects every prefix but the
current one with 404 ``ServiceEndpointMoved``. A NAC that does not re-discover keeps failing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from ..errors import RequestError
from ..model import AAD_GRAPH_RESOURCE, DISCOVERY_PERMISSIONS, GRAPH_RESOURCE, INTUNE_APP_ID, Surface
from ..service_base import CR_SERVICE_PATH, NAC_SERVICE_PATH
from . import errors as error_shapes
from . import service_of
from .auth import authorize

SURFACE = Surface.DISCOVERY
bp = Blueprint("discovery", __name__)

PROVIDERS: tuple[tuple[str, str], ...] = (
    ("NACAPIService", NAC_SERVICE_PATH),
    ("ComplianceRetrievalService", CR_SERVICE_PATH),
)
AAD_GRAPH_API_VERSIONS = frozenset({"1.6", "1.5", "beta"})


# -- the movable service base, shared by the NAC-facing blueprints ---------------------------------
def nac_rule(bp: Blueprint, rule: str, view: Callable[..., Any], *, endpoint: str | None = None) -> None:
    """Register ``rule`` for ``view`` under the fixed path and under a ``/<shard>`` prefix.

    The view receives ``shard`` (None on the fixed path) and must call :func:`check_shard`.
    """
    name = endpoint or view.__name__
    bp.add_url_rule(rule, name, view, defaults={"shard": None}, methods=["GET"])
    bp.add_url_rule("/<shard>" + rule, name, view, methods=["GET"])


def check_shard(shard: str | None) -> str:
    """Reject a request whose shard prefix is not the one discovery advertises now; return the prefix."""
    shared = g.get("shared")  # this request's SharedState, when the request hooks took one
    current = shared.service_prefix if shared is not None else service_of().service_prefix()
    asked = f"/{shard}" if shard else ""
    if asked.lower() != current.lower():
        g.call_detail["moved"] = {"asked": asked or "/", "current": current or "/"}
        raise RequestError(
            404,
            "No service endpoint at this path; the service has moved. Discover the endpoint again.",
            code="ServiceEndpointMoved",
        )
    return current


def service_uris() -> dict[str, str]:
    """``providerName`` → advertised ``uri`` for the current request."""
    base = service_of().service_base(request.host_url)
    return {name: base + path for name, path in PROVIDERS}


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mock-intune/" + "/".join(parts)))


def intune_sp_object_id(tenant_id: str) -> str:
    """The object id of the Intune service principal in ``tenant_id`` (stable per tenant)."""
    return _stable_id(tenant_id, "servicePrincipal", INTUNE_APP_ID)


# -- Microsoft Graph ------------------------------------------------------------------------------
def _graph_endpoints(version: str, key: str) -> Response:
    claims = authorize(GRAPH_RESOURCE, DISCOVERY_PERMISSIONS, "read service principal endpoints")
    tid = str(claims.get("tid") or service_of().tenant_id)
    lookup = key.strip().strip("'\"")
    if lookup.lower().startswith("appid="):
        lookup = lookup[len("appid=") :].strip("'\"")
        matches = lookup.lower() == INTUNE_APP_ID
    else:
        matches = lookup.lower() == intune_sp_object_id(tid)
    g.call_detail.update({"kind": "graph", "service_principal": key[:128]})
    if not matches:
        raise RequestError(
            404,
            f"Resource '{lookup[:128]}' does not exist or one of its queried reference-property objects are not present.",
            code="Request_ResourceNotFound",
        )
    uris = service_uris()
    value = [
        {
            "id": _stable_id(tid, "endpoint", name),
            "deletedDateTime": None,
            "capability": name,
            "providerId": _stable_id("provider", name),
            "providerName": name,
            "providerResourceId": _stable_id(tid, "resource", name),
            "uri": uris[name],
        }
        for name, _ in PROVIDERS
    ]
    g.call_detail["endpoints"] = uris
    origin = request.host_url.rstrip("/")
    return jsonify(
        {
            "@odata.context": f"{origin}/{version}/$metadata#servicePrincipals('appId%3D{INTUNE_APP_ID}')/endpoints",
            "value": value,
        }
    )


def _version(version: str) -> str:
    if version not in ("v1.0", "beta"):
        raise RequestError(400, f"Invalid version: {version[:32]}", code="BadRequest")
    return version


@bp.get("/<version>/servicePrincipals/<key>/endpoints")
def graph_endpoints(version: str, key: str) -> Response:
    return _graph_endpoints(_version(version), key)


@bp.get("/<version>/servicePrincipals(<key>)/endpoints")
def graph_endpoints_by_key(version: str, key: str) -> Response:
    return _graph_endpoints(_version(version), key)


# -- Azure AD Graph (graph.windows.net) -------------------------------------------------------------
@bp.get("/<tenant>/servicePrincipalsByAppId/<app_id>/serviceEndpoints")
def aad_service_endpoints(tenant: str, app_id: str) -> Response:
    api_version = request.args.get("api-version") or request.headers.get("api-version")
    if not api_version:
        raise RequestError(400, "The api-version query parameter is not present.", code="Request_BadRequest")
    if api_version not in AAD_GRAPH_API_VERSIONS:
        raise RequestError(
            400,
            f"The specified api-version is invalid: {api_version[:32]!r}. The value must exactly match a "
            "supported version.",
            code="Request_BadRequest",
        )
    claims = authorize(AAD_GRAPH_RESOURCE, DISCOVERY_PERMISSIONS, "read service principal endpoints")
    tid = str(claims.get("tid") or "")
    g.call_detail.update({"kind": "aad_graph", "tenant": tenant[:64], "app_id": app_id[:64]})
    if tenant.lower() not in (tid.lower(), "myorganization"):
        raise RequestError(
            401, "The access token was issued for another tenant.", code="Authentication_Unauthorized"
        )
    if app_id.lower() != INTUNE_APP_ID:
        raise RequestError(
            404,
            f"Resource '{app_id[:64]}' does not exist or one of its queried reference-property objects are not present.",
            code="Request_ResourceNotFound",
        )
    uris = service_uris()
    g.call_detail["endpoints"] = uris
    value = [
        {
            "odata.type": "Microsoft.DirectoryServices.ServiceEndpoint",
            "objectType": "ServiceEndpoint",
            "objectId": _stable_id(tid, "endpoint", name),
            "deletionTimestamp": None,
            "capability": name,
            "serviceId": _stable_id("provider", name),
            "serviceName": name,
            "serviceResourceId": _stable_id(tid, "resource", name),
            "uri": uris[name],
        }
        for name, _ in PROVIDERS
    ]
    origin = request.host_url.rstrip("/")
    return jsonify(
        {
            "odata.metadata": f"{origin}/{tenant}/$metadata#directoryObjects/Microsoft.DirectoryServices.ServiceEndpoint",
            "value": value,
        }
    )


# -- errors: Graph's shape on /v1.0 and /beta, AAD Graph's elsewhere ------------------------------
_AAD_CODES = {"InvalidAuthenticationToken": "Authentication_MissingOrMalformed"}


@error_shapes.register(SURFACE)
def render_error(exc: RequestError) -> Response:
    now = service_of().now().astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    request_id = str(uuid.uuid4())
    first = request.path.lstrip("/").split("/", 1)[0]
    if first in ("v1.0", "beta") or first.startswith(("v1.0", "beta")):
        body: dict[str, Any] = {
            "error": {
                "code": exc.code or "BadRequest",
                "message": exc.message,
                "innerError": {
                    "date": now,
                    "request-id": request_id,
                    "client-request-id": request.headers.get("client-request-id", request_id),
                },
            }
        }
    else:
        body = {
            "odata.error": {
                "code": _AAD_CODES.get(exc.code, exc.code or "Request_BadRequest"),
                "message": {"lang": "en", "value": exc.message},
                "requestId": request_id,
                "date": now,
            }
        }
    resp = jsonify(body)
    resp.status_code = exc.status
    resp.headers.update(exc.headers)
    return resp
