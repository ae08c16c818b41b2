"""Surface ``entra``: the slice of Entra ID a NAC touches (OIDC metadata, JWKS, client-credentials tokens).

Token endpoints take ``client_credentials`` with a client secret (form body or HTTP Basic) or a
certificate client assertion (:mod:`mock_intune.assertions`). The access tokens are v1.0 tokens
whatever the endpoint, as Entra issues for resources (Intune, Graph) that accept v1 tokens.
``expires_in`` is in wall seconds: a sped-up mock clock shortens it by the time scale, so a client
that trusts ``expires_in`` refreshes when the mock says the token expired.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, g, jsonify, request

from ..assertions import (
    AUTHORITY_HOST,
    JWT_BEARER,
    AadError,
    error_body,
    invalid_client,
    invalid_request,
    peek,
    registered_certificates,
    replayed,
    verify_assertion,
)
from ..errors import ConfigError, RequestError
from ..model import AppRegistration, Surface
from ..service import MockIntune
from ..token_requests import ALIAS_TENANTS, app_in_tenant, requested_resource, resolve_tenant
from . import errors as error_shapes
from . import service_of

SURFACE = Surface.ENTRA
bp = Blueprint("entra", __name__)


@error_shapes.register(SURFACE)
def render_error(exc: RequestError) -> Response:
    """Entra's error body: ``error``, ``error_description`` with the AADSTS code, ``error_codes``, ids."""
    svc = service_of()
    body = error_body(exc, svc.now())
    detail = getattr(g, "call_detail", None)
    if isinstance(detail, dict):
        detail["result"] = f"AADSTS{body['error_codes'][0]}"
    resp = jsonify(body)
    resp.status_code = exc.status
    resp.headers.update(exc.headers)
    resp.headers["Cache-Control"] = "no-store, no-cache"
    return resp


# -- helpers -------------------------------------------------------------------------------------
def _base_url(svc: MockIntune) -> str:
    return (svc.config.public_base_url or request.host_url).rstrip("/")


def _only_get() -> None:
    if request.method not in ("GET", "HEAD"):
        raise invalid_request(
            900561, f"The endpoint only accepts GET requests. Received a {request.method} request."
        )


# -- metadata --------------------------------------------------------------------------------------
def _metadata(tenant: str, version: str) -> tuple[str, str, dict[str, Any]]:
    """(base URL, issuer tenant, the members v1 and v2 metadata share) for one metadata request."""
    _only_get()
    svc = service_of()
    tid = resolve_tenant(svc, tenant, allow_alias=True)
    base = _base_url(svc)
    g.call_detail.update({"metadata": version, "tenant": tid})
    common: dict[str, Any] = {
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return base, "{tenantid}" if tid in ALIAS_TENANTS else tid, common


_CLAIMS = ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
           "msgraph_host", "aud", "exp", "iat", "auth_time", "acr"]  # fmt: skip


@bp.route("/<tenant>/v2.0/.well-known/openid-configuration", methods=["GET", "HEAD", "POST"])
def openid_configuration_v2(tenant: str) -> Response:
    base, issuer_tid, common = _metadata(tenant, "v2.0")
    return jsonify(
        {
            **common,
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{AUTHORITY_HOST}/{issuer_tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": [
                *_CLAIMS,
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],  # fmt: skip
        }
    )


@bp.route("/<tenant>/.well-known/openid-configuration", methods=["GET", "HEAD", "POST"])
def openid_configuration_v1(tenant: str) -> Response:
    base, issuer_tid, common = _metadata(tenant, "v1.0")
    return jsonify(
        {
            **common,
            "token_endpoint": f"{base}/{tenant}/oauth2/token",
            "jwks_uri": f"{base}/common/discovery/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid"],
            "issuer": f"https://sts.windows.net/{issuer_tid}/",
            "microsoft_multi_refresh_token": True,
            "authorization_endpoint": f"{base}/{tenant}/oauth2/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/devicecode",
            "end_session_endpoint": f"{base}/{tenant}/oauth2/logout",
            "claims_supported": [*_CLAIMS, "amr", "nonce", "email", "given_name", "family_name", "nickname"],
            "check_session_iframe": f"{base}/{tenant}/oauth2/checksession",
            "userinfo_endpoint": f"{base}/{tenant}/openid/userinfo",
        }
    )


@bp.route("/<tenant>/discovery/keys", methods=["GET", "HEAD", "POST"])
@bp.route("/<tenant>/discovery/v2.0/keys", methods=["GET", "HEAD", "POST"])
def jwks(tenant: str) -> Response:
    """The keys that sign the mock's access tokens (one RSA key, shared by every worker).

    The v2 key set names each key's issuer, as Entra's does (``{tenantid}`` under an alias tenant).
    """
    _only_get()
    svc = service_of()
    tid = resolve_tenant(svc, tenant, allow_alias=True)
    g.call_detail.update({"metadata": "jwks"})
    keys = svc.tokens.jwks()
    if "/v2.0/" in request.path:
        issuer_tid = "{tenantid}" if tid in ALIAS_TENANTS else tid
        keys = {"keys": [{**k, "issuer": f"{AUTHORITY_HOST}/{issuer_tid}/v2.0"} for k in keys["keys"]]}
    return jsonify(keys)


@bp.route("/common/discovery/instance", methods=["GET", "HEAD", "POST"])
def instance_discovery() -> Response:
    """MSAL's instance discovery: which authority hosts are aliases, and where tenant metadata lives."""
    _only_get()
    svc = service_of()
    base = _base_url(svc)
    tenant = "common"
    endpoint = request.args.get("authorization_endpoint", "")
    parts = [p for p in endpoint.split("/") if p]
    if len(parts) >= 3:
        tenant = parts[2]
    host = base.split("://", 1)[-1]
    g.call_detail.update({"metadata": "instance"})
    return jsonify(
        {
            "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": request.args.get("api-version", "1.1"),
            "metadata": [
                {
                    "preferred_network": host,
                    "preferred_cache": host,
                    "aliases": [
                        host,
                        "login.microsoftonline.com",
                        "login.windows.net",
                        "login.microsoft.com",
                    ],
                }
            ],
        }
    )


# -- tokens ----------------------------------------------------------------------------------------
def _form() -> dict[str, str]:
    if request.method != "POST":
        raise invalid_request(
            900561, f"The endpoint only accepts POST, OPTIONS requests. Received a {request.method} request."
        )
    ctype = (request.mimetype or "").lower()
    if ctype != "application/x-www-form-urlencoded":
        raise invalid_request(
            900144,
            "The request body must contain the following parameter: 'grant_type'. "
            f"(The body must be application/x-www-form-urlencoded, not {ctype or 'empty'}.)",
        )
    return dict(request.form.items())


def _basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_request(9002313, "Invalid request. The Authorization header is malformed.") from exc
    if not sep:
        raise invalid_request(9002313, "Invalid request. The Authorization header is malformed.")
    return unquote(user), unquote(password)


def _authenticate(
    svc: MockIntune, form: dict[str, str], tenant: str, tenant_id: str, audience: str
) -> AppRegistration:
    """Find and authenticate the calling app by secret (post or basic) or certificate assertion.

    Replay protection keys an assertion's ``jti`` by the resource asked for: MSAL (and so
    azure-identity) signs one assertion and reuses it for up to ten minutes for every new token it
    needs, one per resource, and Entra accepts that; presenting it again for the same resource is
    a replay the mock rejects (AADSTS7000274, mock-assigned).
    """
    basic = _basic_credentials()
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    client_id = form.get("client_id", "").strip()
    if basic is not None:
        if secret is not None or assertion is not None or (client_id and client_id != basic[0]):
            raise invalid_request(
                9002313, "Invalid request. The client authenticated with more than one method."
            )
        client_id, secret = basic
        g.call_detail["auth_method"] = "client_secret_basic"
    if secret is not None and assertion is not None:
        raise invalid_request(9002313, "Invalid request. The client authenticated with more than one method.")
    if assertion is not None:
        g.call_detail["auth_method"] = "private_key_jwt"
        kind = form.get("client_assertion_type", "")
        if kind != JWT_BEARER:
            raise invalid_request(
                50027,
                f"JWT token is invalid or malformed. [client_assertion_type must be {JWT_BEARER}, got "
                f"'{kind[:100]}'.]",
            )
        unverified = peek(assertion)
        named = client_id or unverified.client_id
        if not named or (client_id and unverified.client_id and client_id != unverified.client_id):
            raise invalid_client(
                700021, "Client assertion application identifier doesn't match 'client_id' parameter."
            )
        g.call_app = named
        app = app_in_tenant(svc, named, tenant_id)
        try:
            certificates = registered_certificates(app.certificate_pem)
        except ConfigError:
            certificates = []
        base = _base_url(svc)
        audiences = {
            f"{root}/{t}/oauth2/{v}token"
            for root in (base, AUTHORITY_HOST)
            for t in (tenant, tenant_id)
            for v in ("", "v2.0/")
        } | {f"{AUTHORITY_HOST}/{tenant_id}/v2.0", f"{base}/{tenant_id}/v2.0"}
        now = svc.now()
        checked = verify_assertion(
            unverified, certificates=certificates, audiences=audiences, now=now, client_id=client_id or None
        )
        if not svc.store.claim_jti(f"{checked.jti} {audience}", checked.expires, now):
            raise replayed(checked.jti)
        g.call_detail["certificate"] = checked.thumbprint
        return app
    if not client_id:
        raise invalid_request(900144, "The request body must contain the following parameter: 'client_id'.")
    g.call_app = client_id
    app = app_in_tenant(svc, client_id, tenant_id)
    if secret is None:
        raise invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    g.call_detail.setdefault("auth_method", "client_secret_post")
    if not app.client_secret or secret != app.client_secret:
        raise invalid_client(
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
        )
    return app


def _token(tenant: str, version: str) -> Response:
    svc = service_of()
    g.call_detail.update({"endpoint": f"v{version}"})
    form = _form()
    tenant_id = resolve_tenant(svc, tenant, allow_alias=False)
    grant = form.get("grant_type", "").strip()
    g.call_detail["grant"] = grant
    if not grant:
        raise invalid_request(900144, "The request body must contain the following parameter: 'grant_type'.")
    if grant != "client_credentials":
        raise AadError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant[:100]}'. The mock serves client_credentials.",
        )
    asked, audience = requested_resource(form, version, tenant_id)
    g.call_detail["resource"] = audience
    app = _authenticate(svc, form, tenant, tenant_id, audience)
    g.call_app = app.client_id
    # Intune and Graph accept v1.0 access tokens, so Entra issues v1.0 tokens from both endpoints.
    token, lifetime = svc.tokens.issue(app, audience, version="1.0")
    expires_in = max(1, int(lifetime / svc.config.time_scale))
    g.call_detail["result"] = "issued"
    now_wall = int(svc.now().timestamp())
    body: dict[str, Any]
    if version == "1.0":
        body = {
            "token_type": "Bearer",
            "expires_in": str(expires_in),
            "ext_expires_in": str(expires_in),
            "expires_on": str(now_wall + lifetime),
            "not_before": str(now_wall),
            "resource": asked,
            "access_token": token,
        }
    else:
        body = {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store, no-cache"
    resp.headers["Pragma"] = "no-cache"
    resp.headers["x-ms-request-id"] = str(uuid.uuid4())
    return resp


@bp.route("/<tenant>/oauth2/token", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def token_v1(tenant: str) -> Response:
    return _token(tenant, "1.0")


@bp.route("/<tenant>/oauth2/v2.0/token", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def token_v2(tenant: str) -> Response:
    return _token(tenant, "2.0")
