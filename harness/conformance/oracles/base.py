"""The oracles' common ground: verdicts, the registry, and helpers shared by the rule areas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..evidence import (
    DecisionRecord,
    Evidence,
    Kind,
)
from ..rules import RULES, Verdict

MANAGE_AUDIENCE = "https://api.manage.microsoft.com/"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
DEFAULT_PORTAL_URL = "https://portal.manage.microsoft.com/networkaccesscontrol/index"
SERVICE_KINDS = frozenset({Kind.DEVICE_QUERY, Kind.BROAD_QUERY, Kind.MDMINFO})
"""Exchanges with the NAC / CR service (manage audience)."""
GRAPH_KINDS = frozenset({Kind.GRAPH_DEVICE, Kind.GRAPH_LIST, Kind.DISCOVERY})
BROAD_INTERVAL_S = 4 * 3600.0
BACKOFF_GROWTH = 1.5
"""RES-03 without Retry-After: each wait must be at least this many times the previous one."""


@dataclass
class OracleVerdict:
    """An oracle's judgement of one rule on one scenario's evidence."""

    rule: str
    verdict: Verdict
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "message": self.message,
            "details": self.details,
        }


class RuleViolation(AssertionError):
    """Raised by a step when an oracle fails the NAC: the message says what the NAC did wrong."""

    def __init__(self, verdict: OracleVerdict) -> None:
        self.verdict = verdict
        super().__init__(f"{verdict.rule} FAILED: {verdict.message}")


Oracle = Callable[..., OracleVerdict]
ORACLES: dict[str, Oracle] = {}


def oracle(rule_id: str) -> Callable[[Oracle], Oracle]:
    """Register the oracle of ``rule_id`` (it must be in the catalog)."""
    if rule_id not in RULES:
        raise KeyError(f"no rule {rule_id} in the catalog")

    def deco(fn: Oracle) -> Oracle:
        ORACLES[rule_id] = fn
        return fn

    return deco


def judge(rule_id: str, evidence: Evidence, **params: Any) -> OracleVerdict:
    """Run the oracle of ``rule_id`` on ``evidence`` and keep its verdict with the evidence."""
    verdict = ORACLES[rule_id](evidence, **params)
    evidence.verdicts.append(verdict.to_json())
    return verdict


def _pass(rule: str, message: str, **details: Any) -> OracleVerdict:
    return OracleVerdict(rule, Verdict.PASSED, message, details)


def _fail(rule: str, message: str, **details: Any) -> OracleVerdict:
    return OracleVerdict(rule, Verdict.FAILED, message, details)


def _cap(ev: Evidence, name: str, default: Any) -> Any:
    return ev.capability.get(name, default) if ev.capability else default


def _ds(records: list[DecisionRecord], device: str | None) -> list[DecisionRecord]:
    return [r for r in records if device is None or r.device == device]


def _crashes(rule: str, records: list[DecisionRecord]) -> OracleVerdict | None:
    crashed = [r for r in records if r.crashed]
    if crashed:
        r = crashed[0]
        return _fail(
            rule, f"the NAC crashed deciding {r.device} at t={r.at:g}s instead of answering: {r.crashed}"
        )
    return None


def _need(rule: str, records: list[DecisionRecord], what: str) -> OracleVerdict | None:
    if not records:
        return OracleVerdict(rule, Verdict.HARNESS_ERROR, f"no access decision to judge ({what})")
    return None


def _fmt(r: DecisionRecord) -> str:
    d = r.decision
    got = r.kind + (f" with redirect {d.redirect_url}" if d and d.redirect_url else "")
    return f"{r.device} at t={r.at:g}s got {got}"
