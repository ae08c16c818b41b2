"""JUnit XML for CI dashboards: a testsuite per feature (a testcase per scenario) and one for the rules.

Verdicts map onto JUnit's vocabulary: FAILED → ``<failure>``, HARNESS_ERROR → ``<error>``,
SKIPPED → ``<skipped>``, WAIVED → ``<skipped type="WAIVED">`` (the failure text kept in
``system-out``), WARNING passes with the deviation in ``system-out``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..conformance.results import Certification, RuleResult, ScenarioResult
from ..conformance.rules import Verdict


def _case(
    parent: ET.Element, classname: str, name: str, verdict: Verdict, reason: str, details: str, time_s: float
) -> ET.Element:
    case = ET.SubElement(parent, "testcase", classname=classname, name=name, time=f"{time_s:.6f}")
    if verdict is Verdict.FAILED:
        ET.SubElement(case, "failure", message=reason, type="FAILED").text = details or reason
    elif verdict is Verdict.HARNESS_ERROR:
        ET.SubElement(case, "error", message=reason, type="HARNESS_ERROR").text = details or reason
    elif verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", message=reason)
    elif verdict is Verdict.WAIVED:
        ET.SubElement(case, "skipped", message=reason, type="WAIVED")
        ET.SubElement(case, "system-out").text = details or reason
    elif verdict is Verdict.WARNING:
        ET.SubElement(case, "system-out").text = reason
    return case


def _props(case: ET.Element, **values: str) -> None:
    props = ET.Element("properties")
    for key, value in values.items():
        ET.SubElement(props, "property", name=key, value=value)
    case.insert(0, props)


def _suite(root: ET.Element, name: str, verdicts: list[Verdict], time_s: float) -> ET.Element:
    return ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(len(verdicts)),
        failures=str(sum(v is Verdict.FAILED for v in verdicts)),
        errors=str(sum(v is Verdict.HARNESS_ERROR for v in verdicts)),
        skipped=str(sum(v in (Verdict.SKIPPED, Verdict.WAIVED) for v in verdicts)),
        time=f"{time_s:.6f}",
    )


def junit_tree(cert: Certification) -> ET.ElementTree:
    scenarios = cert.scenarios
    verdicts = [s.verdict for s in scenarios]
    root = ET.Element(
        "testsuites",
        name=f"nac-harness certify {cert.run_name}",
        tests=str(len(verdicts) + len(cert.rules)),
        failures=str(
            sum(v is Verdict.FAILED for v in verdicts) + sum(r.verdict is Verdict.FAILED for r in cert.rules)
        ),
        errors=str(
            sum(v is Verdict.HARNESS_ERROR for v in verdicts)
            + sum(r.verdict is Verdict.HARNESS_ERROR for r in cert.rules)
        ),
    )
    for feature in cert.features:
        suite = _suite(
            root,
            feature.name,
            [s.verdict for s in feature.scenarios],
            sum(s.record.duration_s for s in feature.scenarios),
        )
        for s in feature.scenarios:
            _scenario_case(suite, feature.file, s)
    rules_suite = _suite(root, "rules", [r.verdict for r in cert.rules], 0.0)
    for r in cert.rules:
        _rule_case(rules_suite, r)
    if cert.harness_problems or cert.waiver_problems:
        problems = cert.harness_problems + [p.message for p in cert.waiver_problems]
        suite = _suite(root, "run", [Verdict.HARNESS_ERROR if cert.harness_problems else Verdict.FAILED], 0.0)
        verdict = Verdict.HARNESS_ERROR if cert.harness_problems else Verdict.FAILED
        _case(
            suite,
            "run",
            "certification run",
            verdict,
            problems[0].splitlines()[0],
            "\n\n".join(problems),
            0.0,
        )
    return ET.ElementTree(root)


def _scenario_case(suite: ET.Element, classname: str, s: ScenarioResult) -> None:
    case = _case(suite, classname, s.name, s.verdict, s.reason, s.record.details, s.record.duration_s)
    _props(case, verdict=str(s.verdict), rules=" ".join(s.record.rule_ids), tags=" ".join(s.record.tags))


def _rule_case(suite: ET.Element, r: RuleResult) -> None:
    case = _case(suite, "rules", f"{r.rule.id} {r.rule.title}", r.verdict, r.reason, r.reason, 0.0)
    _props(case, verdict=str(r.verdict), area=str(r.rule.area), scenarios=str(len(r.scenarios)))


def write_junit(cert: Certification, run_dir: Path) -> Path:
    path = run_dir / "junit.xml"
    tree = junit_tree(cert)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
