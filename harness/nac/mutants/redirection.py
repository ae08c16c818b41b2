"""Mutants breaking the redirection rules."""

from __future__ import annotations
