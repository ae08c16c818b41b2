"""The repository's own conformance run: ``pytest features/`` certifies the built-in reference NAC.

The steps, fixtures and ``.feature`` collection come from the package's pytest plugin
(``harness.conformance.plugin``, entry point ``pytest11: nac_harness``). Here we only give the run a
default capability statement (the reference NAC, every profile) for when none is named with
``--nac-capability`` / ``NAC_HARNESS_CAPABILITY``.
"""

from __future__ import annotations

import pytest

from harness.conformance.capability import parse_capability
from harness.conformance.plugin import set_default_capability

REFERENCE_NAC = """\
name: intune-nac-harness reference NAC (features/ default)
adapter: reference
profiles: [cr-cisco, legacy-cisco, legacy-json, graph]
identity_sources: [certificate, mac]
access_types: [wifi, vpn]
coa_support: true
polling_interval_s: 14400   # the noncompliant list is polled once per 4 hours (Intune's broad-query limit)
cache_ttl_s: 60
decision_budget_ms: 300
fail_open: false
auth_method: certificate
"""


def pytest_configure(config: pytest.Config) -> None:
    set_default_capability(config, parse_capability(REFERENCE_NAC, source="features/conftest.py"))
