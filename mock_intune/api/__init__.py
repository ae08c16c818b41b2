"""The Flask skin over :class:`mock_intune.service.MockIntune`: one blueprint per API surface.

Every request is timed and written to the call log with its surface, app and the
decision-relevant details a blueprint puts in ``g.call_detail``. Faults configured for a surface
are applied before its view runs. Errors render in each surface's own wire shape.
"""

from __future__ import annotations

import importlib
import re
import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..config import MockConfig
from ..errors import IllegalTransition, InputError, NotFound, RequestError, StateError
from ..faults import apply_fault
from ..model import CallRecord, Surface
from ..service import MockIntune
from . import errors as error_shapes

SURFACE_MODULES: tuple[str, ...] = (
    "entra",
    "discovery",
    "cr_cisco",
    "legacy_cisco",
    "legacy_json",
    "graph",
    "portal",
    "admin",
    "openapi",
)
"""Blueprint modules under ``mock_intune.api``; each exposes ``bp`` and ``SURFACE``."""


def _merge_slashes(wsgi_app: Any) -> Any:
    """Collapse ``//`` in the path before routing: Microsoft's endpoints answer such paths directly
    (a 308 redirect, Werkzeug's default, would lose a POST body at clients that do not follow it)."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            environ["PATH_INFO"] = re.sub(r"/{2,}", "/", path)
        return wsgi_app(environ, start_response)

    return middleware


def service_of(app: Flask | None = None) -> MockIntune:
    """The :class:`MockIntune` behind the current (or given) app."""
    return (app or current_app).extensions["mock_intune"]  # type: ignore[no-any-return]


def create_app(config: MockConfig | None = None, *, service: MockIntune | None = None) -> Flask:
    """App factory: no globals, no import-time side effects."""
    svc = service or MockIntune(config)
    app = Flask("mock_intune")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = True
    app.wsgi_app = _merge_slashes(app.wsgi_app)  # type: ignore[method-assign]
    app.extensions["mock_intune"] = svc
    surfaces: dict[str, Surface] = {}
    for name in SURFACE_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        app.register_blueprint(module.bp)
        surfaces[module.bp.name] = module.SURFACE

    # The hooks run on every request, so each resolves Flask's context-local proxies once.
    @app.before_request
    def _start() -> Response | None:
        ctx = g._get_current_object()  # type: ignore[attr-defined]
        ctx.started = time.perf_counter()
        ctx.call_detail = {}
        ctx.call_app = ""
        surface = surfaces.get(request.blueprint or "")
        ctx.surface = surface
        if surface is not None and surface is not Surface.ADMIN:
            # Tenants, settings, faults and the service base, current as of this request: one
            # store read unless another request (in any worker) changed them.
            ctx.shared = shared = svc.shared_state()
            return apply_fault(svc, surface, faults=shared.faults)
        return None

    @app.after_request
    def _log(response: Response) -> Response:
        ctx = g._get_current_object()  # type: ignore[attr-defined]
        surface = getattr(ctx, "surface", None)
        if surface is None or surface is Surface.ADMIN:
            return response
        detail = ctx.call_detail
        latency_ms = (time.perf_counter() - ctx.started) * 1000 + float(detail.pop("_injected_ms", 0.0))
        req = request._get_current_object()  # type: ignore[attr-defined]
        svc.log(
            CallRecord(
                at=svc.now(),
                app=ctx.call_app,
                surface=surface,
                method=req.method,
                path=req.path,
                query=req.query_string.decode("latin-1"),
                status=response.status_code,
                latency_ms=latency_ms,
                detail=dict(detail),
            )
        )
        return response

    @app.errorhandler(RequestError)
    def _request_error(exc: RequestError) -> Response:
        return error_shapes.render(getattr(g, "surface", None), exc)

    @app.errorhandler(IllegalTransition)
    def _illegal(exc: IllegalTransition) -> Response:
        return error_shapes.render(
            getattr(g, "surface", None), RequestError(409, str(exc), code="IllegalTransition")
        )

    @app.errorhandler(StateError)
    def _state(exc: StateError) -> Response:
        return error_shapes.render(getattr(g, "surface", None), RequestError(409, str(exc), code="Conflict"))

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error_shapes.render(
            getattr(g, "surface", None), RequestError(404, str(exc), code="ResourceNotFound")
        )

    @app.errorhandler(InputError)
    def _bad_input(exc: InputError) -> Response:
        return error_shapes.render(
            getattr(g, "surface", None), RequestError(400, str(exc), code="BadRequest")
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return error_shapes.render(
            getattr(g, "surface", None),
            RequestError(exc.code or 500, exc.description or exc.name, code=exc.name.replace(" ", "")),
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:  # pragma: no cover - a bug, still never a traceback page
        app.logger.exception("unhandled error")
        return jsonify({"error": {"code": "InternalServerError", "message": type(exc).__name__}}), 500

    return app
