"""Faulty NACs ("mutants"): each subclasses the reference NAC and breaks exactly one rule.

The conformance suite must catch every one of them (``tests/conformance/test_mutants.py``): the
scenarios of the mutant's rule fail with a message saying what the NAC did wrong, and rules it does
not break still pass. A capability statement names one with ``adapter: {type: mutant, mutant:
ACC-04-unknown-as-compliant}`` or by import path (``adapter: {type: python, target:
harness.nac.mutants.access:UnknownAsCompliant}``).
"""

from __future__ import annotations

import importlib

from .registry import MUTANTS, Mutant, mutant, mutant_class, mutants_for

_MODULES = ("onboarding", "access", "redirection", "state", "resilience")
for _name in _MODULES:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["MUTANTS", "Mutant", "mutant", "mutant_class", "mutants_for"]
