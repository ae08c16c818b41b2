"""Render a :class:`RequestError` in the shape of the surface that raised it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, jsonify

from ..errors import RequestError
from ..model import Surface

Renderer = Callable[[RequestError], Response]
_RENDERERS: dict[Surface, Renderer] = {}


def register(surface: Surface) -> Callable[[Renderer], Renderer]:
    """Decorator: a blueprint module declares how its surface renders errors."""

    def deco(fn: Renderer) -> Renderer:
        _RENDERERS[surface] = fn
        return fn

    return deco


def default_json(exc: RequestError) -> Response:
    """Graph / OData style: ``{"error": {"code", "message"}}``."""
    body = {"error": {"code": exc.code or "BadRequest", "message": exc.message, **exc.extra}}
    resp = jsonify(body)
    resp.status_code = exc.status
    resp.headers.update(exc.headers)
    return resp


def render(surface: Surface | None, exc: RequestError) -> Response:
    renderer = _RENDERERS.get(surface) if surface is not None else None
    return (renderer or default_json)(exc)
