"""Surface `discovery` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.DISCOVERY
bp = Blueprint("discovery", __name__)
