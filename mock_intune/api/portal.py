"""Surface `portal` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.PORTAL
bp = Blueprint("portal", __name__)
