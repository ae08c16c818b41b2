"""Mutants breaking the access rules."""

from __future__ import annotations
