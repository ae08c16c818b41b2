"""docs/rules.md is generated from the catalog, the features and the mutants, and cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harness.conformance import rules_doc
from harness.conformance.rules import CATALOG, RULE_IDS

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_rules_doc_is_what_the_generator_writes() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_doc.generate(ROOT / "features"), (
        "docs/rules.md is out of date: run `python -m harness.conformance.rules_doc`"
    )


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "rules.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert rules_doc.main(["--features", str(ROOT / "features"), "--out", str(stale), "--check"]) == 1
    assert rules_doc.main(["--features", str(ROOT / "features"), "--out", str(stale)]) == 0
    assert rules_doc.main(["--features", str(ROOT / "features"), "--out", str(stale), "--check"]) == 0


def test_generator_lists_the_scenarios_tagged_with_each_rule(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "access.feature").write_text(
        "@cr-cisco\nFeature: Access\n\n  @ACC-03 @graph\n  Scenario: Quarantine\n    Given x\n",
        encoding="utf-8",
    )
    refs = rules_doc.scenarios_by_rule(tmp_path / "features")
    assert [r.name for r in refs["ACC-03"]] == ["Quarantine"]
    assert refs["ACC-03"][0].profiles == ("cr-cisco", "graph")
    assert refs["ACC-01"] == []
    text = rules_doc.render(refs, {"ACC-03": ["allow-noncompliant"]})
    section = text.split("### ACC-03")[1].split("###")[0]
    assert "`features/access.feature:5` Quarantine (cr-cisco, graph)" in section
    assert "`allow-noncompliant`" in section
    assert "- Scenarios: none yet" in text.split("### ACC-01")[1].split("###")[0]


def test_catalog_ids_are_unique_and_every_rule_of_the_spec_is_there() -> None:
    assert len(set(RULE_IDS)) == len(CATALOG) == 26
    assert RULE_IDS[:3] == ("ONB-01", "ONB-02", "ONB-03")


def test_every_rule_has_a_scenario() -> None:
    if not any((ROOT / "features").rglob("*.feature")):
        pytest.skip("no features checked in yet")
    refs = rules_doc.scenarios_by_rule(ROOT / "features")
    missing = [rule_id for rule_id, scenarios in refs.items() if not scenarios]
    assert not missing, f"rules without a scenario: {', '.join(missing)}"


def test_every_rule_has_a_mutant() -> None:
    if importlib.util.find_spec(rules_doc.MUTANTS_MODULE) is None:
        pytest.skip("no mutants package yet")
    mutants = rules_doc.mutants_by_rule()
    missing = [rule_id for rule_id, names in mutants.items() if not names]
    assert not missing, f"rules without a mutant: {', '.join(missing)}"
