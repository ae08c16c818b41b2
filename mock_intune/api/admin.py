"""Surface `admin` of the mock (to be filled in)."""

from __future__ import annotations

from flask import Blueprint

from ..model import Surface

SURFACE = Surface.ADMIN
bp = Blueprint("admin", __name__)
