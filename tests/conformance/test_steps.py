"""The step library, the bench and the oracles, tested with themselves."""

from __future__ import annotations

import json

import pytest

from harness.conformance.bench import Bench, DeviceStatus
from harness.conformance.capability import parse_capability
from harness.conformance.evidence import Kind, classify
from harness.conformance.malformed import Malformation, malform
from harness.conformance.oracles import judge
from harness.conformance.rules import Verdict
from harness.conformance.steps import access_type, duration
from harness.errors import HarnessFailure
from harness.model import AccessType, Decision
from mock_intune.config import DEFAULT_CLIENT_SECRET

CAPABILITY = """\
name: test NAC
adapter: {adapter}
profiles: [cr-cisco, legacy-cisco, legacy-json, graph]
identity_sources: [certificate, mac]
access_types: [wifi, vpn]
coa_support: true
polling_interval_s: 14400
cache_ttl_s: 60
"""


def _cap(adapter: str = "reference") -> object:
    return parse_capability(CAPABILITY.format(adapter=adapter))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30 seconds", 30), ("1 second", 1), ("10 minutes", 600), ("5 hours", 18000), ("31 days", 2678400)],
)
def test_durations_read_as_virtual_seconds(text: str, seconds: float) -> None:
    assert duration(text) == seconds


def test_bad_words_are_named() -> None:
    with pytest.raises(HarnessFailure, match="not a duration: 'ten minutes'"):
        duration("ten minutes")
    with pytest.raises(HarnessFailure, match="unknown access type 'LTE'"):
        access_type("LTE")
    assert access_type("Wi-Fi") is AccessType.WIFI


def test_time_is_virtual_and_the_nac_polls_on_the_simulated_clock() -> None:
    bench = Bench(_cap(), "cr-cisco")
    bench.add_device("laptop", DeviceStatus.COMPLIANT)
    assert bench.connect("laptop").decision.decision is Decision.ALLOW  # type: ignore[union-attr]
    bench.turn("laptop", compliant=False)
    bench.advance(4 * 3600 + 1)
    assert bench.env.now == 4 * 3600 + 1
    ev = bench.snapshot()
    assert [c.device for c in ev.coas] == ["laptop"]
    assert ev.coas[0].at == 4 * 3600  # the reference NAC's first sweep, at its polling interval
    broad = ev.of_kind(Kind.BROAD_QUERY)
    assert broad and broad[0].at == 4 * 3600
    assert judge("STA-03", ev).verdict is Verdict.PASSED


def test_evidence_is_what_the_bench_saw_not_what_the_nac_said() -> None:
    bench = Bench(_cap(), "graph")
    bench.add_device("phone", DeviceStatus.NONCOMPLIANT)
    record = bench.connect("phone")
    ev = bench.snapshot()
    assert record.truth.managed and not record.truth.compliant and record.truth.state == "noncompliant"
    kinds = [x.kind for x in ev.exchanges_of(record)]
    assert Kind.GRAPH_DEVICE in kinds
    assert all(
        x.audience == "https://graph.microsoft.com" for x in ev.exchanges if x.kind == Kind.GRAPH_DEVICE
    )
    assert ev.mock_calls, "the mock's own call log is part of the evidence"
    data = ev.to_json()
    assert data["timelines"]["phone"][-1]["event"] == "decision remediate_redirect"
    text = json.dumps(data, default=str)
    assert DEFAULT_CLIENT_SECRET not in text, "secrets never reach the report"
    assert not any(x.bearer and x.bearer in text for x in ev.exchanges), "tokens never reach the report"


def test_an_oracle_says_what_the_nac_did_wrong() -> None:
    bench = Bench(_cap("{type: mutant, mutant: ACC-03-noncompliant-sent-to-enroll}"), "cr-cisco")
    bench.add_device("laptop", DeviceStatus.NONCOMPLIANT)
    bench.connect("laptop")
    verdict = judge("ACC-03", bench.snapshot(), device="laptop")
    assert verdict.verdict is Verdict.FAILED
    assert verdict.message.startswith("laptop at t=0s got enroll_redirect")
    assert "must get remediate_redirect" in verdict.message


def test_an_oracle_without_evidence_is_a_harness_error_not_a_pass() -> None:
    bench = Bench(_cap(), "cr-cisco")
    verdict = judge("ACC-01", bench.snapshot())
    assert verdict.verdict is Verdict.HARNESS_ERROR


def test_a_declared_fail_open_is_a_warning_not_a_failure() -> None:
    cap = parse_capability(CAPABILITY.format(adapter="reference") + "fail_open: true\n")
    bench = Bench(cap, "legacy-json")
    bench.add_device("laptop", DeviceStatus.COMPLIANT)
    bench.inject("503")
    bench.connect("laptop")
    verdict = judge("RES-01", bench.snapshot(), device="laptop")
    assert verdict.verdict is Verdict.WARNING
    assert "declared deviation (fail_open: true)" in verdict.message


def test_vendor_configuration_is_read_from_the_capability_and_named_in_the_verdict() -> None:
    bench = Bench(_cap(), "cr-cisco")
    bench.add_device("laptop", DeviceStatus.COMPLIANT)
    bench.connect("laptop")
    bench.turn("laptop", compliant=False)
    bench.advance(5 * 3600)
    verdict = judge("STA-03", bench.snapshot(), device="laptop")
    assert "declared polling interval of 14400 s" in verdict.message


@pytest.mark.parametrize(
    ("path", "query", "kind"),
    [
        ("/common/oauth2/v2.0/token", {}, Kind.TOKEN),
        ("/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints", {}, Kind.DISCOVERY),
        ("/StatelessNACService/ciscoise/mdminfo/", {}, Kind.MDMINFO),
        ("/x/cisco/devices/", {"querycriteria": "guid"}, Kind.DEVICE_QUERY),
        ("/x/cisco/devices/", {"querycriteria": "compliance"}, Kind.BROAD_QUERY),
        ("/v1.0/deviceManagement/managedDevices/6f1c0b7e-5d2a-4c6e-9b3f-1a2b3c4d5e6f", {}, Kind.GRAPH_DEVICE),
        (
            "/v1.0/deviceManagement/managedDevices",
            {"$filter": "complianceState eq 'noncompliant'"},
            Kind.GRAPH_LIST,
        ),
    ],
)
def test_exchanges_are_classified_by_path(path: str, query: dict[str, str], kind: str) -> None:
    assert classify(path, query) == kind


def test_malformations_spoil_each_wire_shape() -> None:
    xml = b"<ise_api><deviceList><device><Attributes><Compliance><status>true</status></Compliance></Attributes></device></deviceList></ise_api>"
    assert b"<status></status>" in malform(Malformation.EMPTY_STATUS, xml, "application/xml")
    assert b"vendor_extension" in malform(Malformation.UNEXPECTED_FIELDS, xml, "application/xml")
    body = json.dumps(
        {"isManaged": True, "complianceState": True, "lastContactTimeUtc": "10/18/2020 14:05:26"}
    ).encode()
    assert json.loads(malform(Malformation.EMPTY_STATUS, body, "application/json"))["complianceState"] == ""
    stamped = json.loads(malform(Malformation.TIMESTAMP_WITH_OFFSET, body, "application/json"))
    assert stamped["lastContactTimeUtc"].endswith("+0000")
    assert malform(Malformation.NOT_THE_FORMAT, body, "application/json").startswith(b"<html>")


FEATURE = """\
Feature: a QA team's scenario
  @ACC-03 @cr-cisco
  Scenario: A noncompliant laptop is quarantined
    Given a device "laptop" that is noncompliant
    When "laptop" connects over Wi-Fi
    Then "laptop" is quarantined and redirected to the management portal
"""

EVIDENCE_CONFTEST = """\
import json

def pytest_nac_harness_evidence(item, evidence):
    with open("evidence.json", "w") as fh:
        json.dump(evidence.to_json(), fh, default=str)
"""


def test_a_mutant_by_import_path_fails_the_right_scenario_and_evidence_reaches_the_hook(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".feature", qa=FEATURE)
    pytester.makeconftest(EVIDENCE_CONFTEST)
    target = "{type: python, target: 'harness.nac.mutants.access:NoncompliantToEnroll'}"
    pytester.makefile(".yaml", nac=CAPABILITY.format(adapter=target))
    result = pytester.runpytest_subprocess("--nac-capability=nac.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ACC-03 FAILED: laptop at t=0s got enroll_redirect*"])
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    assert evidence["profile"] == "cr-cisco"
    assert evidence["decisions"][0]["decision"] == "enroll_redirect"
    assert evidence["verdicts"][0]["verdict"] == "FAILED"
    assert any(x["kind"] == "device_query" for x in evidence["exchanges"])


def test_every_step_is_documented() -> None:
    from pathlib import Path

    from pytest_bdd.steps import step_function_context_registry

    import harness.conformance.steps as steps

    doc = (Path(__file__).parents[2] / "docs" / "steps.md").read_text(encoding="utf-8")
    patterns = {
        str(getattr(ctx.parser, "name", ctx.parser))
        for ctx in step_function_context_registry.values()
        if getattr(ctx.step_func, "__module__", "") == steps.__name__
    }
    assert len(patterns) > 50
    missing = sorted(p for p in patterns if f"`{p}`" not in doc)
    assert not missing, f"steps missing from docs/steps.md: {missing}"


def test_scenarios_that_do_not_apply_say_why() -> None:
    from harness.conformance.plugin import not_applicable, profiles_for

    cap = parse_capability(
        CAPABILITY.format(adapter="reference").replace("coa_support: true", "coa_support: false")
    )
    assert "auth_method certificate" in not_applicable(cap, {"ONB-04", "cr-cisco"})
    assert "coa_support: false" in not_applicable(cap, {"STA-03", "coa", "graph"})
    assert not_applicable(cap, {"ACC-01", "graph"}) == ""
    # a rule's own profiles narrow the declared ones (STA-06 is graph-only)
    assert profiles_for(cap, {"STA-06"}) == ["graph"]
    assert profiles_for(cap, {"ACC-01", "cr-cisco", "graph"}) == ["cr-cisco", "graph"]


def test_the_bench_accepts_a_plain_mapping_as_capability() -> None:
    bench = Bench(
        {"adapter": {"type": "mutant", "mutant": "ACC-02-unenrolled-allowed"}, "cache_ttl_s": 0},
        "legacy-json",
    )
    bench.add_device("visitor", DeviceStatus.UNKNOWN_TO_INTUNE)
    assert bench.connect("visitor").granted
    assert judge("ACC-02", bench.snapshot()).verdict is Verdict.FAILED


def test_an_adapter_the_bench_cannot_drive_is_a_harness_failure() -> None:
    # radius and http adapters get the external bench (tests/radius/test_certify_external.py)
    bench = Bench({"adapter": {"type": "snmp", "host": "127.0.0.1"}}, "cr-cisco")
    bench.add_device("laptop", DeviceStatus.COMPLIANT)
    with pytest.raises(HarnessFailure, match="cannot drive a 'snmp' adapter"):
        bench.connect("laptop")
