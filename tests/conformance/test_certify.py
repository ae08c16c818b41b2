"""The certify runner: verdicts and exit codes 0 (certified), 1 (a rule failed), 2 (harness error).

Most cases run a tiny sample suite (fast, and able to break the harness on purpose); the last ones
run the real features against a real mutant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_suite import BROKEN, MUTANT, SAMPLE_PLUGINS, SAMPLE_RULES, write_capability, write_sample_suite

from harness.conformance.certify import CertifyRun, certify
from harness.conformance.results import EXIT_HARNESS, EXIT_OK, EXIT_RULE_FAILED
from harness.conformance.rules import Verdict
from harness.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("certify-suite")
    write_sample_suite(root)
    return root


def run(suite: Path, adapter: str, name: str, **kwargs: object) -> CertifyRun:
    cap = write_capability(
        suite, adapter, name=f"{name}.yaml", profiles=str(kwargs.pop("profiles", "cr-cisco"))
    )
    options: dict[str, object] = {
        "rules": SAMPLE_RULES,
        "features": suite / "features",
        "plugins": SAMPLE_PLUGINS,
    }
    options.update(kwargs)
    return certify(cap, out=suite / "reports", run_name=name, **options)  # type: ignore[arg-type]


def rule_verdicts(result: CertifyRun) -> dict[str, Verdict]:
    return {r.rule.id: r.verdict for r in result.certification.rules}


def test_a_correct_nac_is_certified_and_rules_outside_its_profiles_are_skipped(suite: Path) -> None:
    result = run(suite, "reference", "ok")
    assert result.exit_code == EXIT_OK
    assert rule_verdicts(result) == {
        "ACC-01": Verdict.PASSED,
        "ACC-03": Verdict.PASSED,
        "RES-03": Verdict.SKIPPED,
    }
    skipped = next(r for r in result.certification.rules if r.rule.id == "RES-03")
    assert "applies to profiles graph" in skipped.reason
    assert result.certification.summary.startswith("CERTIFIED (only ACC-01, ACC-03, RES-03): Sample NAC")
    assert result.certification.partial


def test_a_rule_failure_exits_1_with_what_the_nac_did_wrong(suite: Path) -> None:
    result = run(suite, MUTANT, "mutant")
    assert result.exit_code == EXIT_RULE_FAILED
    verdicts = rule_verdicts(result)
    assert verdicts["ACC-03"] is Verdict.FAILED
    assert verdicts["ACC-01"] is Verdict.PASSED
    failed = next(s for s in result.certification.scenarios if s.verdict is Verdict.FAILED)
    assert failed.reason == "the NAC decided allow for a noncompliant device"
    assert [st.outcome.value for st in failed.record.steps] == ["passed", "passed", "failed"]


def test_a_broken_harness_exits_2_and_is_not_a_rule_failure(suite: Path) -> None:
    result = run(suite, BROKEN, "broken")
    assert result.exit_code == EXIT_HARNESS
    verdicts = rule_verdicts(result)
    assert verdicts["ACC-01"] is Verdict.HARNESS_ERROR and verdicts["ACC-03"] is Verdict.HARNESS_ERROR
    assert Verdict.FAILED not in verdicts.values()
    scenario = result.certification.scenarios[0]
    assert "RuntimeError: the mock could not start" in scenario.reason


def test_a_step_module_that_does_not_import_exits_2(tmp_path: Path) -> None:
    features = write_sample_suite(tmp_path)
    (features / "test_broken.py").write_text("import no_such_step_library\n", encoding="utf-8")
    cap = write_capability(tmp_path)
    result = certify(cap, out=tmp_path / "r", features=features, rules=SAMPLE_RULES, plugins=SAMPLE_PLUGINS)
    assert result.exit_code == EXIT_HARNESS
    problems = result.certification.collection_problems
    assert problems and "test_broken.py" in problems[0].where
    assert any("no_such_step_library" in p for p in result.certification.harness_problems)


def test_a_rule_no_scenario_covers_cannot_be_certified(suite: Path) -> None:
    result = run(suite, "reference", "uncovered", rules=("ACC-01", "ACC-02"))
    assert result.exit_code == EXIT_HARNESS
    acc02 = next(r for r in result.certification.rules if r.rule.id == "ACC-02")
    assert acc02.verdict is Verdict.HARNESS_ERROR
    assert "no scenario is tagged with it" in acc02.reason


def test_no_scenarios_at_all_is_a_harness_error(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "README.md").write_text("nothing here\n", encoding="utf-8")
    cap = write_capability(tmp_path)
    result = certify(cap, out=tmp_path / "r", features=tmp_path / "features", plugins=SAMPLE_PLUGINS)
    assert result.exit_code == EXIT_HARNESS
    assert any("found no scenarios" in p for p in result.certification.harness_problems)


def test_unknown_rule_and_missing_features_are_input_errors(suite: Path) -> None:
    cap = write_capability(suite)
    with pytest.raises(InputError, match="unknown rule"):
        certify(cap, out=suite / "r", rules=["ACC-99"], features=suite / "features")
    with pytest.raises(InputError, match="no such features folder"):
        certify(cap, out=suite / "r", features=suite / "nowhere")


def test_a_run_name_never_overwrites_a_foreign_folder(suite: Path) -> None:
    foreign = suite / "reports" / "precious"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an earlier certification report"):
        run(suite, "reference", "precious")
    assert (foreign / "notes.txt").exists()


# --- the real features --------------------------------------------------------------------------------


def real_capability(tmp_path: Path, adapter: str) -> Path:
    path = tmp_path / "nac.yaml"
    path.write_text(
        f"name: Real NAC\nadapter: {adapter}\nprofiles: [cr-cisco, graph]\nidentity_sources: [certificate, mac]\n"
        "access_types: [wifi, vpn]\npolling_interval_s: 14400\ncache_ttl_s: 60\n",
        encoding="utf-8",
    )
    return path


def test_real_features_catch_a_mutant_and_pass_the_rules_it_does_not_break(tmp_path: Path) -> None:
    cap = real_capability(tmp_path, "{type: mutant, mutant: ACC-03-noncompliant-sent-to-enroll}")
    result = certify(cap, out=tmp_path / "r", rules=["ACC-01", "ACC-03"], features=ROOT / "features")
    assert result.exit_code == EXIT_RULE_FAILED
    verdicts = rule_verdicts(result)
    assert verdicts == {"ACC-01": Verdict.PASSED, "ACC-03": Verdict.FAILED}
    failed = [s for s in result.certification.scenarios if s.verdict is Verdict.FAILED]
    assert failed and all("ACC-03" in s.record.rule_ids for s in failed)
    assert {s.name.rsplit("[", 1)[1].rstrip("]") for s in failed} == {"cr-cisco", "graph"}
    assert all(s.record.evidence and s.record.evidence.get("decisions") for s in failed)


def test_real_features_certify_the_reference_nac_on_a_rule_subset(tmp_path: Path) -> None:
    cap = real_capability(tmp_path, "reference")
    result = certify(cap, out=tmp_path / "r", rules=["ACC-03", "RED-01"], features=ROOT / "features")
    assert result.exit_code == EXIT_OK, result.certification.summary
    assert set(rule_verdicts(result).values()) == {Verdict.PASSED}


def test_a_declared_fail_open_nac_gets_a_warning_not_a_failure(tmp_path: Path) -> None:
    cap = real_capability(tmp_path, "{type: mutant, mutant: RES-01-fail-open}")
    cap.write_text(cap.read_text() + "fail_open: true\n", encoding="utf-8")
    result = certify(cap, out=tmp_path / "r", rules=["RES-01"], features=ROOT / "features")
    assert result.exit_code == EXIT_OK
    [rule] = result.certification.rules
    assert rule.verdict is Verdict.WARNING
    assert "declared deviation" in rule.reason and "fail_open=True" in rule.reason
    assert result.certification.verdict is Verdict.WARNING

    undeclared = real_capability(tmp_path, "{type: mutant, mutant: RES-01-fail-open}")
    again = certify(undeclared, out=tmp_path / "r", rules=["RES-01"], features=ROOT / "features")
    assert again.exit_code == EXIT_RULE_FAILED


def test_progress_is_reported_until_every_scenario_is_done(suite: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = run(suite, "reference", "progress", on_progress=lambda done, total: seen.append((done, total)))
    assert result.exit_code == EXIT_OK
    assert seen and seen[-1] == (3, 3)
    assert all(total == 3 and 0 <= done <= 3 for done, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_suite_process_that_dies_is_a_harness_error(tmp_path: Path) -> None:
    features = write_sample_suite(tmp_path)
    (features / "conftest.py").write_text("import os\nos._exit(7)\n", encoding="utf-8")
    cap = write_capability(tmp_path)
    result = certify(cap, out=tmp_path / "r", features=features, rules=SAMPLE_RULES, plugins=SAMPLE_PLUGINS)
    assert result.exit_code == EXIT_HARNESS
    [problem] = result.certification.harness_problems
    assert "the suite process died (exit 7) before reporting" in problem
    assert (result.out_dir / "report.html").exists() and (result.out_dir / "manifest.json").exists()


@pytest.mark.parametrize("served", ["wifi", "vpn"])
def test_a_nac_serving_one_access_type_is_judged_over_it(tmp_path: Path, served: str) -> None:
    """ACC-03's scenario connects over Wi-Fi and VPN; a NAC that serves one is asked over that one."""
    cap = real_capability(tmp_path, "reference")
    cap.write_text(
        cap.read_text().replace("access_types: [wifi, vpn]", f"access_types: [{served}]"), encoding="utf-8"
    )
    result = certify(cap, out=tmp_path / "r", rules=["ACC-03"], features=ROOT / "features")
    [rule] = result.certification.rules
    assert rule.verdict is Verdict.PASSED, rule.reason
    assert result.exit_code == 0
    report = json.loads((result.out_dir / "result.json").read_text(encoding="utf-8"))
    text = json.dumps(report)
    assert "access_type_substituted" in text
    assert f'"used": "{served}"' in text
