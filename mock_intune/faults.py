"""Fault injection per surface (latency, error status and rate, timeouts, outage windows)."""

from __future__ import annotations

from flask import Response

from .model import Surface
from .service import MockIntune


def apply_fault(service: MockIntune, surface: Surface) -> Response | None:
    """Return a response that replaces the view (an injected error), or None to proceed."""
    return None
