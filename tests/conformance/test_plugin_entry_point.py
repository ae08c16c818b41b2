"""A QA team's own repository: only a .feature file and a nac.yaml, the installed plugin does the rest."""

from __future__ import annotations

import pytest

FEATURE = """\
Feature: Our NAC's compliance rules
  @ACC-01 @cr-cisco @graph
  Scenario: A compliant laptop is let in
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    Then "laptop" gets full access without a redirect

  @ACC-03 @cr-cisco
  Scenario: A noncompliant laptop is quarantined
    Given a device "laptop" that is noncompliant
    When "laptop" connects over VPN
    Then "laptop" is quarantined and redirected to the management portal

  @RES-03 @graph
  Scenario: Only for Graph NACs
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    Then "laptop" gets full access without a redirect
"""

NAC_YAML = """\
name: QA team's NAC
adapter: {adapter}
profiles: [cr-cisco]
identity_sources: [certificate, mac]
access_types: [wifi, vpn]
coa_support: true
polling_interval_s: 14400
cache_ttl_s: 60
"""


def test_feature_file_alone_runs_green_with_the_installed_plugin(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", our_nac=FEATURE)
    pytester.makefile(".yaml", nac=NAC_YAML.format(adapter="reference"))
    result = pytester.runpytest_subprocess("--nac-capability=nac.yaml", "-v", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_compliant_laptop_is_let_in*cr-cisco*PASSED*",
            "*test_only_for_graph_nacs*SKIPPED*",
            "*SKIPPED*tagged for graph; the NAC declares other profiles*",
        ]
    )


def test_a_faulty_nac_fails_with_what_it_did_wrong(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", our_nac=FEATURE)
    pytester.makefile(
        ".yaml", nac=NAC_YAML.format(adapter="{type: mutant, mutant: ACC-03-noncompliant-sent-to-enroll}")
    )
    result = pytester.runpytest_subprocess("--nac-capability=nac.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*ACC-03 FAILED: laptop at t=0s got enroll_redirect*"])


def test_without_a_capability_statement_the_suite_refuses_to_run(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", our_nac=FEATURE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*needs a capability statement*--nac-capability*"])


def test_a_broken_capability_statement_names_file_and_field(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", our_nac=FEATURE)
    pytester.makefile(".yaml", nac="name: x\nadapter: reference\nprofiles: [cr-cisco]\n")
    result = pytester.runpytest_subprocess("--nac-capability=nac.yaml", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*nac.yaml*identity_sources*"])
