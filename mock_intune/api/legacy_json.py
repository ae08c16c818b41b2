"""Surface `legacy_json` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.LEGACY_JSON
bp = Blueprint("legacy_json", __name__)
