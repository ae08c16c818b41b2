"""Judging a conformance run: scenario outcomes → verdicts, per scenario, per rule and for the plan.

Pure data in, pure data out: the collector's records, the capability statement and the waivers go
in; a :class:`Certification` comes out, which every report writer renders (JSON tree, JUnit XML,
HTML). The exit code of ``nac-harness certify`` is decided here:

* 0 — every applicable rule passed (or passed with a declared deviation, or is validly waived);
* 1 — a rule failed, or a waiver is stale, unmatched or expired;
* 2 — the harness could not run, or could not certify a rule (a harness error, a rule no scenario
  covers): never confused with a NAC failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .capability import Capability
from .external import EXTERNAL_LIMIT
from .records import CollectionProblem, Outcome, ScenarioRecord, StepRecord
from .rules import CATALOG, Rule, Verdict
from .waivers import Waiver, WaiverBook, WaiverProblem

EXIT_OK = 0
EXIT_RULE_FAILED = 1
EXIT_HARNESS = 2


@dataclass
class ScenarioResult:
    """One scenario with its verdict and why."""

    record: ScenarioRecord
    verdict: Verdict
    reason: str = ""
    waiver: Waiver | None = None

    @property
    def name(self) -> str:
        return self.record.name

    def step_verdict(self, step: StepRecord) -> Verdict:
        return {
            Outcome.PASSED: Verdict.PASSED,
            Outcome.FAILED: Verdict.WAIVED if self.verdict is Verdict.WAIVED else Verdict.FAILED,
            Outcome.ERROR: Verdict.HARNESS_ERROR,
            Outcome.SKIPPED: Verdict.SKIPPED,
            Outcome.NOT_RUN: Verdict.SKIPPED,
        }[step.outcome]

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "name": rec.name,
            "nodeid": rec.nodeid,
            "line": rec.line,
            "tags": rec.tags,
            "rules": rec.rule_ids,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "waiver": None if self.waiver is None else self.waiver.model_dump(mode="json", exclude_none=True),
            "duration_s": round(rec.duration_s, 6),
            "phase": rec.phase,
            "details": rec.details,
            "deviations": rec.deviations,
            "steps": [{**s.to_json(), "verdict": str(self.step_verdict(s))} for s in rec.steps],
            "evidence": rec.evidence,
        }


@dataclass
class FeatureResult:
    """The scenarios of one feature file."""

    name: str
    file: str
    scenarios: list[ScenarioResult] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst([s.verdict for s in self.scenarios])

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "verdict": str(self.verdict),
            "scenarios": [s.to_json() for s in self.scenarios],
        }


@dataclass
class RuleResult:
    """One catalog rule: its verdict, the scenarios behind it, the declared values it read."""

    rule: Rule
    verdict: Verdict
    reason: str = ""
    scenarios: list[ScenarioResult] = field(default_factory=list)
    declared: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        r = self.rule
        return {
            "id": r.id,
            "area": str(r.area),
            "title": r.title,
            "text": r.text,
            "profiles": sorted(str(p) for p in r.profiles),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "declared": self.declared,
            "scenarios": [
                {"name": s.name, "nodeid": s.record.nodeid, "verdict": str(s.verdict)} for s in self.scenarios
            ],
        }


@dataclass
class Certification:
    """The judged run: plan → feature → scenario → step, plus rule verdicts and the exit code."""

    capability: Capability
    features: list[FeatureResult]
    rules: list[RuleResult]
    waiver_problems: list[WaiverProblem]
    collection_problems: list[CollectionProblem]
    harness_problems: list[str]
    exit_code: int
    run_name: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    harness_version: str = ""
    pytest_exit_status: int | None = None

    @property
    def scenarios(self) -> list[ScenarioResult]:
        return [s for f in self.features for s in f.scenarios]

    @property
    def verdict(self) -> Verdict:
        if self.exit_code == EXIT_HARNESS:
            return Verdict.HARNESS_ERROR
        if self.exit_code == EXIT_RULE_FAILED:
            return Verdict.FAILED
        return Verdict.WARNING if any(r.verdict is Verdict.WARNING for r in self.rules) else Verdict.PASSED

    def counts(self, of: str = "rules") -> dict[str, int]:
        items = self.rules if of == "rules" else self.scenarios
        out = {str(v): 0 for v in Verdict}
        for item in items:
            out[str(item.verdict)] += 1
        return out

    @property
    def summary(self) -> str:
        """One line for the terminal and the report's title."""
        c = self.counts()
        parts = [f"{n} {v.lower()}" for v, n in c.items() if n]
        label = {EXIT_OK: "CERTIFIED", EXIT_RULE_FAILED: "NOT CERTIFIED", EXIT_HARNESS: "HARNESS ERROR"}
        scope = f" (only {', '.join(self.scope)})" if self.partial else ""
        return f"{label[self.exit_code]}{scope}: {self.capability.name} — rules: {', '.join(parts) or 'none'}"

    @property
    def partial(self) -> bool:
        """True when only some of the catalog's rules were certified (``--rule``)."""
        return len(self.rules) < len(CATALOG)

    @property
    def scope(self) -> list[str]:
        """The IDs of the rules this run certified."""
        return [r.rule.id for r in self.rules]


def judge(
    records: Sequence[ScenarioRecord],
    capability: Capability,
    waivers: WaiverBook,
    *,
    rules: Sequence[Rule] = CATALOG,
    collection_problems: Sequence[CollectionProblem] = (),
    harness_problems: Sequence[str] = (),
) -> Certification:
    """Turn scenario records into verdicts and decide the exit code."""
    problems = list(harness_problems)
    scenario_results = [_judge_scenario(rec, waivers) for rec in records]

    features: dict[str, FeatureResult] = {}
    for res in scenario_results:
        key = res.record.feature_file or res.record.feature
        feature = features.setdefault(key, FeatureResult(res.record.feature, res.record.feature_file))
        feature.scenarios.append(res)

    rule_results = [_judge_rule(rule, scenario_results, capability) for rule in rules]
    waiver_problems = waivers.problems()

    if collection_problems:
        problems.extend(f"could not collect {p.where}: {p.message}" for p in collection_problems)
    harness = (
        bool(problems)
        or any(r.verdict is Verdict.HARNESS_ERROR for r in rule_results)
        or any(s.verdict is Verdict.HARNESS_ERROR for s in scenario_results)
    )
    failed = (
        any(r.verdict is Verdict.FAILED for r in rule_results)
        or any(s.verdict is Verdict.FAILED for s in scenario_results)
        or bool(waiver_problems)
    )
    exit_code = EXIT_HARNESS if harness else EXIT_RULE_FAILED if failed else EXIT_OK
    return Certification(
        capability=capability,
        features=list(features.values()),
        rules=rule_results,
        waiver_problems=waiver_problems,
        collection_problems=list(collection_problems),
        harness_problems=problems,
        exit_code=exit_code,
    )


def _judge_scenario(rec: ScenarioRecord, waivers: WaiverBook) -> ScenarioResult:
    rule_ids = set(rec.rule_ids)
    if rec.outcome is Outcome.PASSED:
        waivers.covering(rec.name, rule_ids, failed=False, base_name=rec.base_name)
        if rec.deviations:
            return ScenarioResult(rec, Verdict.WARNING, "declared deviation: " + "; ".join(rec.deviations))
        return ScenarioResult(rec, Verdict.PASSED)
    if rec.outcome is Outcome.FAILED:
        waiver = waivers.covering(rec.name, rule_ids, failed=True, base_name=rec.base_name)
        if waiver is not None:
            expiry = f", until {waiver.expires}" if waiver.expires else ""
            return ScenarioResult(
                rec, Verdict.WAIVED, f"waived ({waiver.reason}{expiry}); failure: {rec.message}", waiver
            )
        return ScenarioResult(rec, Verdict.FAILED, rec.message)
    if rec.outcome is Outcome.SKIPPED:
        return ScenarioResult(rec, Verdict.SKIPPED, rec.message or "not applicable")
    if rec.outcome is Outcome.ERROR:
        return ScenarioResult(rec, Verdict.HARNESS_ERROR, f"harness error in {rec.phase}: {rec.message}")
    return ScenarioResult(rec, Verdict.HARNESS_ERROR, "the scenario never ran (the run stopped before it)")


def _judge_rule(rule: Rule, scenarios: Sequence[ScenarioResult], capability: Capability) -> RuleResult:
    declared = {f: capability.declared(f) for f in rule.config_fields}
    tagged = [s for s in scenarios if rule.id in s.record.rule_ids]
    applies, why_not = capability.applicability(rule)
    if not applies:
        return RuleResult(rule, Verdict.SKIPPED, f"not applicable: {why_not}", tagged, declared)
    ran = [s for s in tagged if s.verdict is not Verdict.SKIPPED]
    if not ran:
        limits = sorted({s.reason for s in tagged if EXTERNAL_LIMIT in s.reason})
        if tagged and len(limits) == len({s.reason for s in tagged}):
            # An external NAC on sped-up wall time: the bench could not run the rule's scenarios.
            return RuleResult(rule, Verdict.SKIPPED, "; ".join(limits), tagged, declared)
        if not tagged:
            why = "no scenario is tagged with it"
        else:
            reasons = sorted({s.reason for s in tagged if s.reason})
            why = "every scenario tagged with it was skipped" + (
                f" ({'; '.join(reasons)})" if reasons else ""
            )
        return RuleResult(
            rule, Verdict.HARNESS_ERROR, f"the suite cannot certify this rule: {why}", tagged, declared
        )
    verdict = Verdict.worst([s.verdict for s in ran])
    reasons = [f"{s.name}: {s.reason}" for s in ran if s.verdict is verdict and s.reason]
    limited = [s for s in tagged if s.verdict is Verdict.SKIPPED and EXTERNAL_LIMIT in s.reason]
    if limited:
        # never silent: a rule judged on part of its scenarios says which ones were not run
        reasons.append(
            f"{len(limited)} of {len(tagged)} scenario(s) not judged: "
            + "; ".join(f"{s.name}: {s.reason}" for s in limited)
        )
    if declared:
        used = ", ".join(f"{k}={v}" for k, v in declared.items())
        reasons.append(f"judged with the declared {used}")
    return RuleResult(rule, verdict, "; ".join(reasons), tagged, declared)
