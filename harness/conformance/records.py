"""What a conformance run recorded, as plain data: outcomes, steps, scenarios, collection problems.

The :class:`~harness.conformance.collector.Collector` fills these in while pytest runs; they cross
the process boundary as JSON (``to_json`` / ``from_json``) and :mod:`.results` judges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .rules import is_rule_tag


class Outcome(StrEnum):
    """What happened to one scenario or step, before it is judged into a :class:`Verdict`."""

    PASSED = "passed"
    FAILED = "failed"
    """An oracle assertion failed: the NAC broke the rule."""
    SKIPPED = "skipped"
    ERROR = "error"
    """The harness broke (setup, teardown, an exception that is not an oracle's assertion)."""
    NOT_RUN = "not_run"


@dataclass
class StepRecord:
    """One Gherkin step of a scenario as it ran."""

    keyword: str
    name: str
    line: int
    outcome: Outcome = Outcome.NOT_RUN
    duration_s: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        return cls(data["keyword"], data["name"], data["line"], Outcome(data["outcome"]), data["duration_s"])

    def to_json(self) -> dict[str, Any]:
        return {
            "keyword": self.keyword,
            "name": self.name,
            "line": self.line,
            "outcome": str(self.outcome),
            "duration_s": round(self.duration_s, 6),
        }


@dataclass
class ScenarioRecord:
    """One scenario (one pytest item) as it ran."""

    nodeid: str
    name: str
    feature: str
    feature_file: str
    line: int = 0
    base_name: str = ""
    """The scenario's name in the feature file (``name`` adds the profile / example it ran with)."""
    tags: list[str] = field(default_factory=list)
    feature_tags: list[str] = field(default_factory=list)
    outcome: Outcome = Outcome.NOT_RUN
    phase: str = ""
    """Where it failed, errored or was skipped: setup, call or teardown."""
    duration_s: float = 0.0
    message: str = ""
    """One line: what went wrong (the assertion's text, the skip reason, the error)."""
    details: str = ""
    """The long report (traceback, assertion introspection)."""
    steps: list[StepRecord] = field(default_factory=list)
    evidence: dict[str, Any] | None = None
    deviations: list[str] = field(default_factory=list)

    @property
    def rule_ids(self) -> list[str]:
        """The catalog rule IDs this scenario is tagged with (scenario and feature tags)."""
        seen = {t.lstrip("@").upper() for t in [*self.tags, *self.feature_tags] if is_rule_tag(t)}
        return sorted(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "base_name": self.base_name,
            "feature": self.feature,
            "feature_file": self.feature_file,
            "line": self.line,
            "tags": self.tags,
            "feature_tags": self.feature_tags,
            "rules": self.rule_ids,
            "outcome": str(self.outcome),
            "phase": self.phase,
            "duration_s": round(self.duration_s, 6),
            "message": self.message,
            "details": self.details,
            "steps": [s.to_json() for s in self.steps],
            "evidence": self.evidence,
            "deviations": self.deviations,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScenarioRecord:
        return cls(
            nodeid=data["nodeid"],
            name=data["name"],
            base_name=data.get("base_name", ""),
            feature=data["feature"],
            feature_file=data["feature_file"],
            line=data["line"],
            tags=list(data["tags"]),
            feature_tags=list(data.get("feature_tags", [])),
            outcome=Outcome(data["outcome"]),
            phase=data["phase"],
            duration_s=data["duration_s"],
            message=data["message"],
            details=data["details"],
            steps=[StepRecord.from_json(s) for s in data["steps"]],
            evidence=data.get("evidence"),
            deviations=list(data.get("deviations", [])),
        )


@dataclass
class CollectionProblem:
    """A file the suite could not collect (import error, Gherkin syntax, missing step module)."""

    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}
