"""The certification report folder: HTML (structure and content), JUnit, JSON tree, cucumber, manifest.

The first fixture is the must-show run: ``nac-harness certify examples/reference-nac.yaml`` over the
real features, as a vendor would type it. The second certifies a sample suite with a mutant, for
the FAILED / HARNESS_ERROR renderings.
"""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest
from html_tree import Node, parse_html

from harness.cli.main import main
from harness.conformance.certify import certify
from harness.conformance.rules import CATALOG, RULE_IDS
from harness.report.certify_json import SCHEMA
from harness.report.manifest import verify_manifest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "conformance"))
from sample_suite import BROKEN, MUTANT, SAMPLE_PLUGINS, SAMPLE_RULES, write_capability, write_sample_suite  # noqa: E402

REPORT_FILES = {
    "result.json",
    "junit.xml",
    "cucumber.json",
    "report.html",
    "capability.yaml",
    "pytest.log",
    "manifest.json",
}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    code = main(
        [
            "certify",
            str(ROOT / "examples" / "reference-nac.yaml"),
            "--out",
            str(out),
            "--run-name",
            "reference",
        ]
    )
    assert code == 0, (out / "reference" / "pytest.log").read_text()[-3000:]
    return out / "reference"


@pytest.fixture(scope="module")
def html(reference_run: Path) -> Node:
    return parse_html((reference_run / "report.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tree(reference_run: Path) -> dict:
    return json.loads((reference_run / "result.json").read_text(encoding="utf-8"))


def test_the_report_folder_has_every_file(reference_run: Path) -> None:
    assert {p.name for p in reference_run.iterdir()} == REPORT_FILES


def test_html_header_names_the_nac_verdict_version_and_profiles(html: Node) -> None:
    [title] = html.find_all("title")
    assert "intune-nac-harness reference NAC" in title.text and "PASSED" in title.text
    summary = html.by_id("summary")
    assert summary.attrs["data-verdict"] == "PASSED" and summary.attrs["data-exit-code"] == "0"
    assert html.by_id("profiles").text == "cr-cisco, legacy-cisco, legacy-json, graph"
    assert html.by_id("harness-version").text == metadata.version("intune-nac-harness")
    scope = html.by_id("scope")
    assert scope.attrs["data-partial"] == "false" and scope.text == "all 26 rules of the catalog"
    assert html.by_id("overall-verdict").text == "PASSED"
    assert "CERTIFIED: intune-nac-harness reference NAC — rules: 26 passed" in summary.text


def test_html_has_a_verdict_for_every_rule_with_its_scenarios(html: Node) -> None:
    rows = html.find_all("tr", class_="rule")
    assert [r.attrs["data-rule"] for r in rows] == list(RULE_IDS)
    assert {r.attrs["data-verdict"] for r in rows} == {"PASSED"}
    scenario_ids = {d.attrs["id"] for d in html.find_all("details", class_="scenario")}
    for row in rows:
        links = [a for a in row.find_all("a") if a.attrs.get("href", "").startswith("#scenario-")]
        assert links, f"{row.attrs['data-rule']} lists no scenario"
        assert all(a.attrs["href"][1:] in scenario_ids for a in links)
    sta03 = html.by_id("rule-STA-03")
    assert "judged with the declared polling_interval_s=14400.0, coa_support=True" in sta03.text
    [why] = sta03.find_all("td", class_="why")
    assert why.attrs["data-declared"] == "polling_interval_s=14400.0, coa_support=True"


def test_html_shows_the_evidence_behind_each_scenario(html: Node, tree: dict) -> None:
    scenarios = html.find_all("details", class_="scenario")
    assert len(scenarios) == sum(len(f["scenarios"]) for f in tree["plan"]["features"])
    quarantine = next(s for s in scenarios if "ACC-03" in s.attrs["data-rules"].split())
    [exchanges] = quarantine.find_all("table", class_="evidence-exchanges")
    assert "device_query" in exchanges.text and "https://api.manage.microsoft.com" in exchanges.text
    [decisions] = quarantine.find_all("table", class_="evidence-decisions")
    assert "remediate_redirect" in decisions.text
    assert quarantine.find_all("table", class_="timeline")
    steps = quarantine.find_all("tr", class_="step")
    assert steps and {s.attrs["data-verdict"] for s in steps} == {"PASSED"}
    coa = [s for s in scenarios if "STA-03" in s.attrs["data-rules"].split()]
    assert any(s.find_all("table", class_="evidence-coas") for s in coa), "no CoA shown for STA-03"


def test_html_shows_etiquette_and_the_capability_statement(html: Node, reference_run: Path) -> None:
    assert html.by_id("etiquette-score").text == "100"
    etiquette = html.by_id("etiquette")
    for measure in ("queries per device", "4 h", "Retry-After", "fresh token"):
        assert measure in etiquette.text
    assert html.by_id("capability-text").text == " ".join(
        (reference_run / "capability.yaml").read_text(encoding="utf-8").split()
    )


def test_json_tree_is_plan_feature_scenario_step(tree: dict) -> None:
    assert tree["schema"] == SCHEMA
    plan = tree["plan"]
    assert plan["verdict"] == "PASSED" and plan["exit_code"] == 0
    assert [r["id"] for r in plan["rules"]] == list(RULE_IDS)
    assert {f["file"] for f in plan["features"]} == {
        f"features/{a}.feature" for a in ("access", "onboarding", "redirection", "resilience", "state")
    }
    for feature in plan["features"]:
        assert feature["verdict"] == "PASSED"
        for scenario in feature["scenarios"]:
            assert scenario["verdict"] == "PASSED" and scenario["rules"]
            assert scenario["steps"] and all(st["verdict"] == "PASSED" for st in scenario["steps"])
            assert {"keyword", "name", "line", "duration_s"} <= set(scenario["steps"][0])
    assert plan["counts"]["rules"]["PASSED"] == len(CATALOG)
    assert plan["capability"]["adapter"] == {"type": "reference"}


def test_junit_parses_with_a_case_per_scenario_and_per_rule(reference_run: Path, tree: dict) -> None:
    root = ET.parse(reference_run / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.attrib["failures"] == "0" and root.attrib["errors"] == "0"
    suites = {s.attrib["name"]: s for s in root.findall("testsuite")}
    assert len(suites["rules"].findall("testcase")) == len(CATALOG)
    cases = [c for name, s in suites.items() if name != "rules" for c in s.findall("testcase")]
    assert len(cases) == sum(len(f["scenarios"]) for f in tree["plan"]["features"])
    props = {p.attrib["name"]: p.attrib["value"] for p in cases[0].find("properties") or []}
    assert props["verdict"] == "PASSED" and props["rules"]


def test_cucumber_json_is_pytest_bdds_own(reference_run: Path) -> None:
    features = json.loads((reference_run / "cucumber.json").read_text(encoding="utf-8"))
    assert {f["uri"].split("/")[-1] for f in features} >= {"access.feature", "state.feature"}
    steps = [st for f in features for el in f["elements"] for st in el["steps"]]
    assert steps and all(st["result"]["status"] == "passed" for st in steps)


def test_manifest_hashes_every_file_and_detects_tampering(reference_run: Path, tmp_path: Path) -> None:
    manifest = json.loads((reference_run / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == REPORT_FILES - {"manifest.json"}
    assert verify_manifest(reference_run) == []
    copy = tmp_path / "copy"
    shutil.copytree(reference_run, copy)
    (copy / "report.html").write_text("<p>CERTIFIED</p>", encoding="utf-8")
    (copy / "extra.txt").write_text("x", encoding="utf-8")
    (copy / "junit.xml").unlink()
    assert sorted(verify_manifest(copy)) == [
        "extra.txt: not in the manifest",
        "junit.xml: missing",
        "report.html: changed",
    ]


# --- failing and broken runs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    write_sample_suite(root)
    return root


def sample_run(sample: Path, adapter: str, name: str) -> Path:
    cap = write_capability(sample, adapter, name=f"{name}.yaml")
    result = certify(
        cap,
        out=sample / "r",
        run_name=name,
        features=sample / "features",
        rules=SAMPLE_RULES,
        plugins=SAMPLE_PLUGINS,
    )
    return result.out_dir


def test_a_failed_rule_is_shown_with_what_the_nac_did_wrong(sample: Path) -> None:
    out = sample_run(sample, MUTANT, "mutant")
    html = parse_html((out / "report.html").read_text(encoding="utf-8"))
    assert html.by_id("summary").attrs["data-exit-code"] == "1"
    assert html.by_id("scope").text == "only ACC-01, ACC-03, RES-03 (a partial certification)"
    row = html.by_id("rule-ACC-03")
    assert row.attrs["data-verdict"] == "FAILED"
    assert "the NAC decided allow for a noncompliant device" in row.text
    [failed] = html.find_all("details", class_="scenario", data_verdict="FAILED")
    assert "open" in failed.attrs
    assert [s.attrs["data-verdict"] for s in failed.find_all("tr", class_="step")] == [
        "PASSED",
        "PASSED",
        "FAILED",
    ]
    root = ET.parse(out / "junit.xml").getroot()
    suites = {s.attrib["name"]: s for s in root.findall("testsuite")}
    [failure] = suites["Access decisions (sample)"].iter("failure")
    assert failure.attrib["message"] == "the NAC decided allow for a noncompliant device"
    [rule_failure] = suites["rules"].iter("failure")
    assert "the NAC decided allow" in rule_failure.attrib["message"]
    assert json.loads((out / "result.json").read_text())["plan"]["verdict"] == "FAILED"


def test_a_harness_error_is_shown_as_such(sample: Path) -> None:
    out = sample_run(sample, BROKEN, "broken")
    html = parse_html((out / "report.html").read_text(encoding="utf-8"))
    assert html.by_id("summary").attrs["data-verdict"] == "HARNESS_ERROR"
    assert html.find_all("details", class_="scenario", data_verdict="HARNESS_ERROR")
    assert not html.find_all("details", class_="scenario", data_verdict="FAILED")
    root = ET.parse(out / "junit.xml").getroot()
    assert list(root.iter("error")) and not list(root.iter("failure"))


def test_waivers_are_shown_waived_and_stale(sample: Path) -> None:
    cap = write_capability(sample, MUTANT, name="waived.yaml")
    waivers = sample / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - rule: ACC-03\n    reason: vendor ticket 42\n    expires: 2999-01-01\n"
        "  - scenario: A compliant device gets full access\n    reason: stale on purpose\n",
        encoding="utf-8",
    )
    result = certify(
        cap,
        out=sample / "r",
        run_name="waived",
        waivers=waivers,
        features=sample / "features",
        rules=SAMPLE_RULES,
        plugins=SAMPLE_PLUGINS,
    )
    assert result.exit_code == 1  # the stale waiver fails the run
    html = parse_html((result.out_dir / "report.html").read_text(encoding="utf-8"))
    assert html.by_id("rule-ACC-03").attrs["data-verdict"] == "WAIVED"
    [problem] = html.find_all("div", class_="waiver-problem")
    assert problem.attrs["data-kind"] == "stale" and "A compliant device gets full access" in problem.text
    [waived] = html.find_all("details", class_="scenario", data_verdict="WAIVED")
    assert "waived (vendor ticket 42, until 2999-01-01)" in waived.text
    root = ET.parse(result.out_dir / "junit.xml").getroot()
    assert [s.attrib.get("type") for s in root.iter("skipped")].count("WAIVED") >= 1
    assert any("remove the waiver" in (f.attrib.get("message", "")) for f in root.iter("failure"))
