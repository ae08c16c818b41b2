"""A pytest plugin object that records a conformance run: feature → scenario → step, with evidence.

The certify runner registers one :class:`Collector` per run (``pytest.main(args, plugins=[c])``).
It records, for every collected scenario, its feature, tags, outcome, duration, the failure
message, each step's outcome and duration (from pytest-bdd's own step reports), and the evidence
the step library exposes for the scenario. It also tells *why* a scenario did not pass: an oracle's
assertion (the NAC broke a rule) is kept apart from a harness breakage (a fixture error, an import
error, a step without a definition), so a NAC failure and a harness error are never confused.

How the step library hands over evidence (any one of these):

* ``request.node.stash[EVIDENCE_KEY] = evidence`` (a mapping, or an object with ``to_json()``);
* a fixture named ``evidence`` whose value is such an object;
* a fixture named ``bench`` with a ``snapshot()`` returning such an object (the conformance bench);
* ``request.node.user_properties.append(("deviation", "text"))`` for a declared deviation
  (the verdict becomes WARNING instead of PASSED).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.reporting import test_report_context_registry
from pytest_bdd.scenario import scenario_wrapper_template_registry

from .capability import Capability
from .records import CollectionProblem, Outcome, ScenarioRecord, StepRecord
from .rules import RULES

EVIDENCE_KEY: pytest.StashKey[Any] = pytest.StashKey()
"""Where the step library stores a scenario's evidence on the pytest item."""

DEVIATION_PROPERTY = "deviation"
"""``user_properties`` name for a declared deviation (e.g. a NAC that fails open and says so)."""


class Collector:
    """The pytest plugin object: register with ``pytest.main(args, plugins=[collector])``."""

    def __init__(
        self,
        capability: Capability | None = None,
        only_rules: Sequence[str] = (),
        progress: Path | None = None,
    ) -> None:
        self.capability = capability
        self.progress = progress
        """A file rewritten with ``done/total`` as scenarios finish (for the runner's progress bar)."""
        self._done = 0
        self.only_rules = {r.upper() for r in only_rules}
        self.scenarios: dict[str, ScenarioRecord] = {}
        self.collection_problems: list[CollectionProblem] = []
        self.internal_error: str = ""
        self.exit_status: int | None = None
        self.started_at: float = 0.0
        self.finished_at: float = 0.0

    # --- the results ----------------------------------------------------------------------

    def records(self) -> list[ScenarioRecord]:
        """Scenarios in collection order."""
        return list(self.scenarios.values())

    # --- pytest hooks ---------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started_at = time.time()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_problems.append(
                CollectionProblem(report.nodeid or "(session)", _collection_message(str(report.longrepr)))
            )

    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        self.internal_error = str(excrepr)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            record = _record_for(item)
            if self.only_rules and not self.only_rules & set(record.rule_ids):
                dropped.append(item)
                continue
            kept.append(item)
            self.scenarios[item.nodeid] = record
            reason = self._not_applicable(record)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
        self._report_progress()

    def _report_progress(self) -> None:
        if self.progress is not None:
            self.progress.write_text(f"{self._done}/{len(self.scenarios)}\n", encoding="utf-8")

    def _not_applicable(self, record: ScenarioRecord) -> str:
        """Why the declared capability makes this scenario not apply ('' when it applies)."""
        cap = self.capability
        if cap is None:
            return ""
        applies, why = cap.applies_to_tags([*record.tags, *record.feature_tags])
        if not applies:
            return why
        for rule_id in record.rule_ids:
            applies, why = cap.applicability(RULES[rule_id])
            if not applies:
                return f"{rule_id} {why}"
        return ""

    def dump(self) -> dict[str, Any]:
        """Everything recorded, as JSON-able data (the suite process hands this to the runner)."""
        return {
            "scenarios": [r.to_json() for r in self.records()],
            "collection_problems": [p.to_json() for p in self.collection_problems],
            "internal_error": self.internal_error,
            "exit_status": self.exit_status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report: pytest.TestReport = yield
        record = self.scenarios.get(item.nodeid)
        if record is None:  # an item added after collection; record it now
            record = self.scenarios[item.nodeid] = _record_for(item)
        record.duration_s += report.duration
        _take_evidence(item, record)
        if report.skipped and record.outcome is Outcome.NOT_RUN:
            record.outcome = Outcome.SKIPPED
            record.phase = report.when
            record.message = _skip_reason(report)
        elif report.failed:
            oracle = report.when == "call" and call.excinfo is not None and _is_oracle_failure(call.excinfo)
            if record.outcome not in (Outcome.FAILED, Outcome.ERROR):
                record.outcome = Outcome.FAILED if oracle else Outcome.ERROR
                record.phase = report.when
                record.message = _failure_message(call.excinfo, report)
                record.details = str(report.longrepr)
            elif not oracle:
                # a teardown error after an oracle failure: the harness broke as well
                record.outcome = Outcome.ERROR
                record.details += f"\n\n--- {report.when} ---\n{report.longrepr}"
        elif report.when == "call" and report.passed and record.outcome is Outcome.NOT_RUN:
            record.outcome = Outcome.PASSED
            record.phase = "call"
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.scenarios.get(report.nodeid)
        if record is None:
            return
        if report.when == "teardown":
            self._done += 1
            self._report_progress()
        context = test_report_context_registry.get(report)
        if context is None or report.when != "call":
            return
        steps = context.scenario["steps"]
        for i, step in enumerate(steps):
            outcome = Outcome.FAILED if step["failed"] else Outcome.PASSED
            rec = StepRecord(step["keyword"], step["name"], step["line_number"], outcome, step["duration"])
            if i < len(record.steps):
                record.steps[i] = rec
            else:
                record.steps.append(rec)
        # pytest-bdd marks every step after the failing one as failed too; they did not run
        failed = [i for i, s in enumerate(record.steps) if s.outcome is Outcome.FAILED]
        for i in failed[1:]:
            record.steps[i].outcome = Outcome.NOT_RUN
            record.steps[i].duration_s = 0.0
        if failed and record.outcome is Outcome.ERROR:
            record.steps[failed[0]].outcome = Outcome.ERROR

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.exit_status = int(exitstatus)
        self.finished_at = time.time()


# --- helpers ------------------------------------------------------------------------------------


def _record_for(item: pytest.Item) -> ScenarioRecord:
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))  # type: ignore[arg-type]
    if template is None:
        # not a pytest-bdd scenario (a plain test in the features folder)
        path = str(getattr(item, "path", "") or "")
        return ScenarioRecord(
            nodeid=item.nodeid,
            name=item.name,
            feature=item.module.__name__ if hasattr(item, "module") and item.module else path,
            feature_file=path,
            tags=sorted(m.name for m in item.iter_markers()),
        )
    feature = template.feature
    name = template.name
    params = dict(getattr(getattr(item, "callspec", None), "params", {}))
    example = params.pop("_pytest_bdd_example", None)
    if example:
        name += " [" + ", ".join(f"{k}={v}" for k, v in example.items()) + "]"
    variant = [str(v) for v in params.values() if v is not None]  # e.g. the Intune profile
    if variant:
        name += " [" + ", ".join(variant) + "]"
    record = ScenarioRecord(
        nodeid=item.nodeid,
        name=name,
        base_name=template.name,
        feature=feature.name or feature.rel_filename,
        feature_file=feature.rel_filename,
        line=template.line_number,
        tags=sorted(template.tags),
        feature_tags=sorted(feature.tags),
    )
    record.steps = [StepRecord(s.keyword, s.name, s.line_number) for s in template.steps]
    return record


def _take_evidence(item: pytest.Item, record: ScenarioRecord) -> None:
    evidence = item.stash.get(EVIDENCE_KEY, None)
    if evidence is None:
        funcargs = getattr(item, "funcargs", {}) or {}
        evidence = funcargs.get("evidence")
        snapshot = getattr(funcargs.get("bench"), "snapshot", None)
        if evidence is None and callable(snapshot):
            evidence = snapshot()
    if evidence is not None:
        as_json = _jsonable(evidence)
        if as_json is not None:
            record.evidence = as_json
    for name, value in item.user_properties:
        if name == DEVIATION_PROPERTY and str(value) not in record.deviations:
            record.deviations.append(str(value))


def _jsonable(evidence: Any) -> dict[str, Any] | None:
    for method in ("to_json", "as_dict", "to_dict"):
        fn = getattr(evidence, method, None)
        if callable(fn):
            value = fn()
            return dict(value) if isinstance(value, Mapping) else {"value": value}
    if isinstance(evidence, Mapping):
        return dict(evidence)
    return None


def _is_oracle_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """An oracle's verdict on the NAC: an ``AssertionError`` or ``pytest.fail``, nothing else."""
    return excinfo.errisinstance(AssertionError) or excinfo.errisinstance(pytest.fail.Exception)


def _failure_message(excinfo: pytest.ExceptionInfo[BaseException] | None, report: pytest.TestReport) -> str:
    if excinfo is not None:
        text = str(excinfo.value).strip()
        if _is_oracle_failure(excinfo):
            return _first_paragraph(text) or "assertion failed"
        return f"{excinfo.typename}: {_first_paragraph(text)}".rstrip(": ")
    return _first_line(str(report.longrepr))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return _first_line(str(longrepr))


def _collection_message(longrepr: str) -> str:
    """The headline of a collection error and the error itself (pytest's last ``E`` line)."""
    first = _first_line(longrepr) or "failed"
    errors = [line[1:].strip() for line in longrepr.splitlines() if line.startswith("E ")]
    return f"{first} {errors[-1]}" if errors and errors[-1] not in first else first


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _first_paragraph(text: str) -> str:
    """An assertion's own message, without pytest's ``assert …`` introspection that follows."""
    para = text.split("\nassert ")[0].split("\n\n")[0].strip()
    return para if len(para) <= 2000 else para[:2000] + " …"


__all__ = [
    "DEVIATION_PROPERTY",
    "EVIDENCE_KEY",
    "CollectionProblem",
    "Collector",
    "Outcome",
    "ScenarioRecord",
    "StepRecord",
]
