"""Mutants breaking the resilience rules."""

from __future__ import annotations
