"""Entra ID token requests, pure of Flask: which tenant, which resource, which app.

The token endpoints (:mod:`mock_intune.api.entra`) read the form and call these; each bad request
raises the :class:`~mock_intune.assertions.AadError` Entra answers with.
"""

from __future__ import annotations

import re

from .assertions import AadError, invalid_request
from .errors import NotFound
from .model import AppRegistration
from .service import MockIntune
from .tokens import canonical_resource

RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
ALIAS_TENANTS = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DNS = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def resolve_tenant(svc: MockIntune, tenant: str, *, allow_alias: bool) -> str:
    """The tenant id a path segment names; AADSTS90002 / 900023 / 50059 otherwise."""
    if tenant.lower() in ALIAS_TENANTS:
        if allow_alias:
            return tenant.lower()
        raise invalid_request(
            50059,
            "No tenant-identifying information found in either the request or implied by any provided "
            "credentials.",
        )
    if _GUID.match(tenant):
        if tenant.lower() in {t.lower() for t in svc.store.tenants()}:
            return tenant.lower()
    elif not _DNS.match(tenant):
        raise invalid_request(
            900023,
            f"Specified tenant identifier '{tenant[:100]}' is neither a valid DNS name, nor a valid "
            "external domain.",
        )
    raise invalid_request(
        90002,
        f"Tenant '{tenant[:100]}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may happen if "
        "there are no active subscriptions for the tenant.",
    )


def requested_resource(form: dict[str, str], version: str, tenant_id: str) -> tuple[str, str]:
    """(what the client asked for, the canonical audience) for ``resource=`` (v1) or ``scope=`` (v2)."""
    if version == "1.0":
        resource = form.get("resource", "").strip()
        if not resource:
            raise invalid_request(
                900144, "The request body must contain the following parameter: 'resource'."
            )
        asked = resource
    else:
        scope = form.get("scope", "").strip()
        if not scope and form.get("resource"):
            # A v1 request sent to the v2 endpoint: Entra names the parameter it does not take.
            raise invalid_request(901002, "The 'resource' request parameter is not supported.")
        if not scope:
            raise invalid_request(900144, "The request body must contain the following parameter: 'scope'.")
        scopes = [s for s in scope.split() if s.lower() not in RESERVED_SCOPES]
        if not scopes:
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope[:200]} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        resources = {canonical_resource(s) or s for s in scopes}
        if len(resources) > 1:
            raise AadError(
                400,
                "invalid_scope",
                700022,
                f"The provided value for the input parameter scope is not valid because it contains more "
                f"than one resource. Scope {scope[:200]} is not valid.",
            )
        asked = scopes[0]
        if not asked.endswith("/.default"):
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {asked[:200]} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
    audience = canonical_resource(asked)
    if audience is None:
        named = asked[: -len("/.default")] if asked.endswith("/.default") else asked
        raise AadError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {named[:200]} was not found in the tenant named {tenant_id}. "
            "This can happen if the application has not been installed by the administrator of the tenant "
            "or consented to by any user in the tenant. You might have sent your authentication request to "
            "the wrong tenant.",
        )
    return asked, audience


def app_in_tenant(svc: MockIntune, client_id: str, tenant_id: str) -> AppRegistration:
    """The app registration ``client_id`` in ``tenant_id``; AADSTS700016 for unknown or foreign apps."""
    try:
        app = svc.app(client_id)
    except NotFound:
        app = None
    if app is None or app.tenant_id.lower() != tenant_id:
        raise AadError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id[:100]}' was not found in the directory "
            f"'{tenant_id}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may have sent "
            "your authentication request to the wrong tenant.",
        )
    return app
