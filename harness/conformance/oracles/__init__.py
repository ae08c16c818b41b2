"""One oracle per rule: a function from the evidence to a verdict and a message saying what the NAC did.

Oracles decide from evidence only (the exchanges at the transport seam, the mock's call log, the
decisions the access points received, the CoAs, the simulated clock and the marks of what the bench
did). They never ask the NAC about itself. A rule that depends on the vendor's configuration
(polling interval, cache lifetime, decision budget, fail-open) reads the declared value from the
capability statement and says so in its message.

``judge(rule_id, evidence, **params)`` runs one; :data:`ORACLES` maps rule IDs to them. One module per
rule area (``onboarding``, ``access``, ``redirection``, ``state``, ``resilience``); ``base`` holds the
verdict type, the registry and the helpers they share.
"""

from __future__ import annotations

from . import access, onboarding, redirection, resilience, state  # noqa: F401 - each module registers its oracles
from .base import ORACLES, Oracle, OracleVerdict, RuleViolation, judge, oracle

__all__ = ["ORACLES", "Oracle", "OracleVerdict", "RuleViolation", "judge", "oracle"]
