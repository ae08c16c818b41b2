"""Mutants breaking the onboarding rules."""

from __future__ import annotations
