"""Waivers: a failing scenario is WAIVED; stale, unmatched and expired waivers fail the run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sample_suite import MUTANT, SAMPLE_PLUGINS, SAMPLE_RULES, write_capability, write_sample_suite

from harness.conformance.certify import certify
from harness.conformance.rules import Verdict
from harness.conformance.waivers import (
    Waiver,
    WaiverBook,
    WaiverError,
    WaiverProblemKind,
    load_waivers,
)

TODAY = dt.date(2026, 11, 26)


def book(*waivers: Waiver) -> WaiverBook:
    return WaiverBook(list(waivers), today=TODAY)


def test_a_rule_waiver_covers_a_failing_scenario_and_is_used() -> None:
    b = book(Waiver(rule="acc-03", reason="fixed in 9.2"))
    assert b.waivers[0].rule == "ACC-03"
    assert b.covering("Quarantine", {"ACC-03"}, failed=True) is b.waivers[0]
    assert b.problems() == []


def test_a_waiver_for_a_passing_scenario_is_stale() -> None:
    b = book(Waiver(scenario="Quarantine", reason="flaky"))
    b.covering("Quarantine", {"ACC-03"}, failed=False)
    [problem] = b.problems()
    assert problem.kind is WaiverProblemKind.STALE
    assert "'Quarantine'" in problem.message and "remove the waiver" in problem.message


def test_a_waiver_that_matches_nothing_is_reported() -> None:
    b = book(Waiver(scenario="Quarantin", reason="typo"))
    b.covering("Quarantine", {"ACC-03"}, failed=True)
    [problem] = b.problems()
    assert problem.kind is WaiverProblemKind.UNMATCHED
    assert "matches no scenario" in problem.message


def test_an_expired_waiver_covers_nothing() -> None:
    b = book(Waiver(rule="ACC-03", reason="until the fix", expires=dt.date(2026, 11, 25)))
    assert b.covering("Quarantine", {"ACC-03"}, failed=True) is None
    [problem] = b.problems()
    assert problem.kind is WaiverProblemKind.EXPIRED
    assert "2026-11-25" in problem.message


def test_waiver_expiring_today_still_holds() -> None:
    b = book(Waiver(rule="ACC-03", reason="r", expires=TODAY))
    assert b.covering("Quarantine", {"ACC-03"}, failed=True) is not None


def test_waiver_file_errors_name_file_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - rule: ACC-99\n    reason: x\n", encoding="utf-8")
    with pytest.raises(WaiverError) as info:
        load_waivers(path)
    assert (info.value.field, info.value.line) == ("waivers.0.rule", 2)
    assert "unknown rule 'ACC-99'" in str(info.value)

    path.write_text("waivers:\n  - rule: ACC-01\n    scenario: A\n    reason: x\n", encoding="utf-8")
    with pytest.raises(WaiverError, match="exactly one of 'rule' or 'scenario'"):
        load_waivers(path)

    path.write_text("waivers:\n  - rule: ACC-01\n", encoding="utf-8")
    with pytest.raises(WaiverError) as info:
        load_waivers(path)
    assert info.value.field == "waivers.0.reason"

    path.write_text("waivers:\n  - rule: ACC-01\n    reason: r\n    expires: someday\n", encoding="utf-8")
    with pytest.raises(WaiverError) as info:
        load_waivers(path)
    assert (info.value.field, info.value.line) == ("waivers.0.expires", 4)


def test_example_waivers_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    waivers = load_waivers(root / "examples" / "waivers.yaml")
    assert waivers.waivers


# --- through a certification run ------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("waiver-suite")
    write_sample_suite(root)
    return root


def run_with(suite: Path, adapter: str, waivers: str, name: str) -> tuple[int, dict[str, Verdict], list[str]]:
    cap = write_capability(suite, adapter, name=f"{name}.yaml")
    wfile = suite / f"{name}-waivers.yaml"
    wfile.write_text(waivers, encoding="utf-8")
    run = certify(
        cap,
        out=suite / "reports",
        waivers=wfile,
        run_name=name,
        features=suite / "features",
        rules=SAMPLE_RULES,
        plugins=SAMPLE_PLUGINS,
    )
    verdicts = {s.name: s.verdict for s in run.certification.scenarios}
    return run.exit_code, verdicts, [p.message for p in run.certification.waiver_problems]


def test_a_waived_failure_certifies(suite: Path) -> None:
    code, verdicts, problems = run_with(
        suite, MUTANT, "waivers:\n  - rule: ACC-03\n    reason: vendor ticket 42\n", "waived"
    )
    assert verdicts["A noncompliant device is quarantined"] is Verdict.WAIVED
    assert problems == []
    assert code == 0


def test_stale_and_unmatched_waivers_fail_the_run(suite: Path) -> None:
    waivers = (
        "waivers:\n"
        "  - scenario: A compliant device gets full access\n    reason: stale\n"
        "  - scenario: No such scenario\n    reason: typo\n"
    )
    code, verdicts, problems = run_with(suite, "reference", waivers, "stale")
    assert verdicts["A compliant device gets full access"] is Verdict.PASSED
    assert code == 1
    assert any("covers scenario(s) that pass" in p for p in problems)
    assert any("'No such scenario' matches no scenario that ran" in p for p in problems)
