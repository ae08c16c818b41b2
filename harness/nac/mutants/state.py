"""Mutants breaking the state rules."""

from __future__ import annotations
