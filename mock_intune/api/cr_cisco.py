"""Surface `cr_cisco` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.CR_CISCO
bp = Blueprint("cr_cisco", __name__)
