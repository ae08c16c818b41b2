"""A tiny Gherkin suite written into a temp folder, to test the certify runner on its own.

Its "NAC" is the capability statement itself: any ``mutant`` adapter (:data:`MUTANT`) makes the
quarantine scenario's oracle fail; :data:`BROKEN` (a python adapter with ``kwargs: {sample_break:
fixture}``) breaks the harness (a fixture raises) for every scenario. The suite reads the capability through ``NAC_HARNESS_CAPABILITY``
like the real step library does.
"""

from __future__ import annotations

from pathlib import Path

FEATURE = """\
Feature: Access decisions (sample)

  @ACC-01 @cr-cisco @graph
  Scenario: A compliant device gets full access
    Given a compliant device
    When it connects
    Then it gets full access

  @ACC-03 @cr-cisco @graph
  Scenario: A noncompliant device is quarantined
    Given a noncompliant device
    When it connects
    Then it is redirected to the portal

  @RES-03 @graph
  Scenario: The NAC waits for Retry-After
    Given a throttled Intune
    When it connects
    Then it waits before retrying
"""

MODULE = """\
from __future__ import annotations

import os

import pytest
from pytest_bdd import given, scenarios, then, when

from harness.conformance.capability import load_capability
from harness.conformance.collector import EVIDENCE_KEY

scenarios("sample.feature")


@pytest.fixture
def cap():
    return load_capability(os.environ["NAC_HARNESS_CAPABILITY"])


@pytest.fixture
def world(cap, request):
    if cap.adapter.type == "python" and cap.adapter.kwargs.get("sample_break") == "fixture":
        raise RuntimeError("the mock could not start")
    w = {"exchanges": [], "decisions": [], "coas": []}
    request.node.stash[EVIDENCE_KEY] = w
    return w


@given("a compliant device", target_fixture="state")
def compliant():
    return "compliant"


@given("a noncompliant device", target_fixture="state")
def noncompliant():
    return "noncompliant"


@given("a throttled Intune", target_fixture="state")
def throttled():
    return "throttled"


@when("it connects", target_fixture="decision")
def connects(world, state, cap):
    wrong = cap.adapter.type == "mutant"
    decision = "allow" if state == "compliant" or wrong else "remediate_redirect"
    world["exchanges"].append({"seq": 1, "at": 0.0, "method": "POST", "url": "https://mock/tenant/oauth2/token",
                               "kind": "token", "status": 200, "modelled_ms": 1.0})
    world["exchanges"].append({"seq": 2, "at": 1.0, "method": "GET", "kind": "device_query", "status": 200,
                               "url": "https://mock/cisco/devices/?querycriteria=guid&value=d1", "modelled_ms": 2.0})
    world["decisions"].append({"at": 1.0, "device": "d1", "decision": decision,
                               "redirect_url": None if decision == "allow" else "https://portal.example/nac"})
    return decision


@then("it gets full access")
def full_access(decision):
    assert decision == "allow", f"the NAC decided {decision} for a compliant device"


@then("it is redirected to the portal")
def redirected(decision):
    assert decision == "remediate_redirect", f"the NAC decided {decision} for a noncompliant device"


@then("it waits before retrying")
def waits(decision):
    assert decision
"""

CAPABILITY = """\
name: Sample NAC
adapter: {adapter}
profiles: [{profiles}]
identity_sources: [certificate, mac]
polling_interval_s: 300
cache_ttl_s: 60
"""


def write_sample_suite(root: Path) -> Path:
    """Write the sample features and steps under ``root``; return the features folder."""
    features = root / "features"
    features.mkdir(parents=True, exist_ok=True)
    (features / "sample.feature").write_text(FEATURE, encoding="utf-8")
    (features / "test_sample.py").write_text(MODULE, encoding="utf-8")
    return features


def write_capability(
    root: Path,
    adapter: str = "reference",
    profiles: str = "cr-cisco",
    name: str = "nac.yaml",
    extra: str = "",
) -> Path:
    path = root / name
    path.write_text(CAPABILITY.format(adapter=adapter, profiles=profiles) + extra, encoding="utf-8")
    return path


SAMPLE_RULES = ("ACC-01", "ACC-03", "RES-03")
SAMPLE_PLUGINS = ("pytest_bdd.plugin",)
MUTANT = "{type: mutant, mutant: ACC-03-noncompliant-sent-to-enroll}"
BROKEN = "{type: python, target: 'harness.nac.reference:ReferenceNac', kwargs: {sample_break: fixture}}"
"""The sample suite runs with pytest-bdd alone (not the real step library's plugin)."""
