"""Bearer-token checks shared by the resource surfaces."""

from __future__ import annotations

from typing import Any

from flask import g, request

from ..errors import RequestError
from ..model import Permission
from . import service_of


def authorize(audience: str, any_of: frozenset[Permission] | set[Permission], what: str) -> dict[str, Any]:
    """Verify the request's bearer token for ``audience`` and require one of ``any_of`` in its roles.

    Sets ``g.call_app`` (for the call log) and returns the token claims. Raises 401 for a bad token
    and 403 when the app lacks the permission (``what`` names the operation in the message).
    """
    svc = service_of()
    claims = svc.tokens.verify(request.headers.get("Authorization"), audience=audience)
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    g.call_app = app_id
    roles = {str(r) for r in claims.get("roles", [])}
    if not roles & {p.value for p in any_of}:
        need = " or ".join(sorted(p.value for p in any_of))
        raise RequestError(
            403,
            f"Application {app_id} lacks the permission to {what}; it needs {need}.",
            code="Authorization_RequestDenied",
        )
    return claims
