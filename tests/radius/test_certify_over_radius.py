"""The full conformance suite over real RADIUS against the FreeRADIUS reference NAC.

``nac-harness certify`` runs every feature with each access point speaking EAP-TLS or MAB to
FreeRADIUS (rlm_rest → the reference NAC's decision logic → the bench's mock Intune) and CoA
coming back over UDP. The reference deployment is certified; the same deployment misconfigured to
fail open (undeclared) fails RES-01 and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.conformance.certify import certify
from harness.conformance.rules import Verdict

pytestmark = pytest.mark.radius

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def failed_rules(run) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.rule.id for r in run.certification.rules if r.verdict is Verdict.FAILED}


def test_the_freeradius_reference_nac_is_certified_over_real_radius(tmp_path):
    run = certify(EXAMPLES / "freeradius-reference-nac.yaml", out=tmp_path, run_name="freeradius")
    assert failed_rules(run) == set(), run.certification.summary()
    assert run.exit_code == 0, run.certification.summary()
    passed = {r.rule.id for r in run.certification.rules if r.verdict is Verdict.PASSED}
    assert {"ACC-05", "STA-03", "RES-01"} <= passed  # certificates, CoA and fail-closed all crossed RADIUS


def test_a_deployment_misconfigured_to_fail_open_fails_exactly_res_01(tmp_path):
    run = certify(EXAMPLES / "freeradius-misconfigured-nac.yaml", out=tmp_path, run_name="misconfigured")
    assert run.exit_code == 1
    assert failed_rules(run) == {"RES-01"}, run.certification.summary()
