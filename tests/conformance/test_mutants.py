"""The suite catches every faulty NAC: the mutation test.

Each mutant (``harness/nac/mutants``) breaks exactly one rule. For every mutant we run its rule's
scenarios under every profile plus one scenario of a sample of other rules, in process, and check:

* at least one scenario of its rule fails, with a message that names the rule and says what the NAC
  did (``ACC-04 FAILED: … got allow while Intune had never evaluated it``);
* every sampled scenario of the other rules still passes (the mutant broke only its rule).

The reference NAC runs every scenario and passes every one. The mutation score is printed and must
be 100 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_runner import Results, capability_file, run_features

from harness.conformance.rules import RULE_IDS
from harness.nac.mutants import MUTANTS, mutants_for

COLLATERAL: dict[str, set[str]] = {
    # a NAC that never sends CoA cannot quarantine the devices on page 2 either
    "STA-03-no-coa": {"RES-04"},
    "STA-03-polls-too-slowly": {"RES-04"},
    # a NAC that names every certificate-bearing device by the wrong ID finds none of them in Intune
    "ACC-05-entra-id": set(RULE_IDS),
    # the mock refuses a day-long client assertion, so this NAC never gets a token at all
    "ONB-04-day-long-assertion": set(RULE_IDS),
}
"""Rules a mutant cannot help breaking besides its own (documented, so they are not sampled)."""

SAMPLE_SIZE = 4


def _sample(rule: str, index: int) -> set[str]:
    others = [r for r in RULE_IDS if r != rule]
    start = (index * SAMPLE_SIZE) % len(others)
    return {others[(start + i) % len(others)] for i in range(SAMPLE_SIZE)}


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    tmp = tmp_path_factory.mktemp("reference")
    cap = capability_file(tmp, {"type": "reference"}, certificate=True)
    return run_features(cap, lambda nodeid, rules, profile: True)


def test_every_rule_has_a_scenario_and_a_mutant() -> None:
    features = "".join(p.read_text() for p in (Path(__file__).parents[2] / "features").glob("*.feature"))
    for rule in RULE_IDS:
        assert f"@{rule} " in features or f"@{rule}\n" in features, f"no scenario tagged @{rule}"
        assert mutants_for(rule), f"no mutant breaks {rule}"


def test_reference_nac_passes_every_scenario(reference_results: Results) -> None:
    outcomes = reference_results.outcomes
    assert len(outcomes) > 100
    failed = [o for o in outcomes if o.outcome == "failed"]
    assert not failed, "\n".join(f"{o.nodeid}: {o.message}" for o in failed)
    for rule in RULE_IDS:
        assert any(o.outcome == "passed" for o in reference_results.for_rule(rule)), f"{rule} never passed"


_VERDICTS: dict[str, tuple[bool, str]] = {}
"""Mutant name → (caught, first failure message), filled by the per-mutant tests."""


def _run_mutant(name: str, index: int, tmp_path: Path) -> tuple[bool, list[str], str]:
    """Run one mutant; (caught, problems, first message of its rule's failures)."""
    m = MUTANTS[name]
    sample = _sample(m.rule, index) - COLLATERAL.get(name, set())
    seen: set[str] = set()

    def wanted(nodeid: str, rules: tuple[str, ...], profile: str) -> bool:
        if m.rule in rules:
            return True
        picked = [r for r in rules if r in sample and r not in seen]
        if picked:
            seen.update(picked)
            return True
        return False

    cap = capability_file(tmp_path, {"type": "mutant", "mutant": name}, certificate=m.rule == "ONB-04")
    results = run_features(cap, wanted)
    own = results.for_rule(m.rule)
    own_failed = [o for o in own if o.outcome == "failed"]
    problems = [
        f"{name} also broke {o.nodeid}: {o.message}"
        for o in results.outcomes
        if m.rule not in o.rules and o.outcome == "failed"
    ]
    if not own:
        problems.append(f"{name}: no scenario of {m.rule} ran")
    message = own_failed[0].message if own_failed else ""
    if own_failed and not any(f"{m.rule} FAILED:" in o.message for o in own_failed):
        problems.append(f"{name}: its rule's scenarios failed without naming {m.rule}: {message}")
    _VERDICTS[name] = (bool(own_failed), message)
    return bool(own_failed), problems, message


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_by_its_rule_only(name: str, tmp_path: Path) -> None:
    caught, problems, _ = _run_mutant(name, sorted(MUTANTS).index(name), tmp_path)
    assert caught, f"{name} survived: every scenario of {MUTANTS[name].rule} passed"
    assert not problems, "\n".join(problems)


def test_mutation_score_is_100_percent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for index, name in enumerate(sorted(MUTANTS)):
        if name not in _VERDICTS:
            _run_mutant(name, index, tmp_path)
    killed = sorted(n for n, (caught, _) in _VERDICTS.items() if caught)
    score = 100.0 * len(killed) / len(MUTANTS)
    with capsys.disabled():
        print(f"\nmutation score: {score:.1f}% ({len(killed)} of {len(MUTANTS)} faulty NACs caught)")
        for name in sorted(MUTANTS):
            caught, message = _VERDICTS[name]
            print(f"  {'killed  ' if caught else 'SURVIVED'} {name:40} {message[:140]}")
    assert score == 100.0, "survivors: " + ", ".join(sorted(set(MUTANTS) - set(killed)))
