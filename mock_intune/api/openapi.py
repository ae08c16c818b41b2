"""``GET /openapi.json``: the OpenAPI 3.0 document of every surface the mock serves.

Paths and path parameters come from the app's own ``url_map``, so the document cannot list a
route the app does not serve; what each operation takes and answers comes from
:data:`mock_intune.api.openapi_operations.OPERATIONS`, keyed by Flask endpoint and method. A route
without a hand-written description still appears (summary ``Undocumented``) and the test suite
fails on it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from werkzeug.routing import AnyConverter, Rule

from ..model import Surface
from .openapi_operations import OPERATIONS, SECURITY_SCHEMES, TAGS

SURFACE = Surface.ADMIN  # not a NAC-facing surface: no faults, no call log
bp = Blueprint("openapi", __name__)

SKIPPED_ENDPOINTS = frozenset({"static"})
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
_VARIABLE = re.compile(r"<(?:[a-zA-Z_][\w]*(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


def openapi_path(rule: Rule) -> str:
    """``/<any("v1.0", "beta"):version>/x/<device_id>`` → ``/{version}/x/{device_id}``."""
    return _VARIABLE.sub(r"{\1}", rule.rule)


def _path_parameter(rule: Rule, name: str) -> dict[str, Any]:
    converter = rule._converters.get(name)  # noqa: SLF001 - werkzeug keeps converters here only
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    if isinstance(converter, AnyConverter):
        items = sorted(getattr(converter, "items", ()))
        if items:
            schema = {"type": "string", "enum": items}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def routes(app: Flask) -> list[tuple[Rule, str]]:
    """The (rule, method) pairs the document covers, in a stable order."""
    out: list[tuple[Rule, str]] = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        out.extend((rule, m) for m in sorted((rule.methods or set()) - SKIPPED_METHODS))
    return sorted(out, key=lambda pair: (openapi_path(pair[0]), pair[1]))


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document for ``app`` (see the module docstring)."""
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for rule, method in routes(app):
        path = openapi_path(rule)
        documented = OPERATIONS.get(rule.endpoint, {}).get(method.lower())
        operation: dict[str, Any] = (
            dict(documented)
            if documented
            else {"summary": "Undocumented", "responses": {"default": {"description": "any"}}}
        )
        op_id = f"{rule.endpoint}.{method.lower()}"
        if op_id in used_ids:
            op_id += f".{len(used_ids)}"
        used_ids.add(op_id)
        operation["operationId"] = op_id
        names = [m.group(1) for m in _VARIABLE.finditer(rule.rule)]
        operation["parameters"] = [_path_parameter(rule, n) for n in names] + list(
            operation.get("parameters", [])
        )
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mock Intune (NAC side)",
            "version": "1.0",
            "description": (
                "A faithful, stateful mock of Microsoft Intune's NAC-facing services: Entra ID token "
                "endpoints, service discovery, Compliance Retrieval (Cisco MDM API v3), the legacy NAC "
                "service (Cisco MDM API v2 and JSON 1.x), Microsoft Graph managedDevices, the management "
                "portal, and the operator's admin API. See docs/mock-intune.md."
            ),
        },
        "tags": TAGS,
        "paths": paths,
        "components": {"securitySchemes": SECURITY_SCHEMES},
    }


@bp.get("/openapi.json")
def document() -> Response:
    cached = current_app.extensions.get("mock_intune_openapi")
    if cached is None:
        cached = build_document(current_app)
        current_app.extensions["mock_intune_openapi"] = cached
    return jsonify(cached)
