"""Surface `legacy_cisco` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.LEGACY_CISCO
bp = Blueprint("legacy_cisco", __name__)
