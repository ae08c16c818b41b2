"""Load over RADIUS: many devices against a real RADIUS NAC, judged against each device's true state.

Every request has the set of decisions that are right for the device's true Intune state
(:func:`expected_decisions`); the run reports authentications per second, verdict accuracy (the
share of answers inside their expected set) and the decision-latency distribution.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mock_intune.model import ComplianceState, Device, is_locally_administered

from ..model import AccessDecision, AccessRequest, Decision
from .nas import AsyncNas, NasConfig

NOT_ALLOWED = frozenset({Decision.ENROLL_REDIRECT, Decision.REMEDIATE_REDIRECT, Decision.DENY})


def expected_decisions(
    device: Device | None, mac: str, *, has_certificate: bool = False
) -> frozenset[Decision]:
    """The decisions a correct NAC may give this device (RULES.md ACC-01..06)."""
    if device is None or not device.managed:
        if not has_certificate and is_locally_administered(mac):
            return NOT_ALLOWED
        return frozenset({Decision.ENROLL_REDIRECT})
    if not has_certificate and is_locally_administered(mac):
        return NOT_ALLOWED
    state = device.compliance_state
    if state is ComplianceState.UNKNOWN:
        return frozenset({Decision.ENROLL_REDIRECT, Decision.REMEDIATE_REDIRECT, Decision.DENY})
    if state.grants_access:
        return frozenset({Decision.ALLOW})
    return frozenset({Decision.REMEDIATE_REDIRECT})


@dataclass(frozen=True)
class LoadTarget:
    """One authentication and what is right for it."""

    request: AccessRequest
    expected: frozenset[Decision]


@dataclass
class RadiusLoadResult:
    """Numbers of one RADIUS load run."""

    sent: int
    answered: int
    duration_s: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    wrong: list[dict[str, Any]] = field(default_factory=list)

    @property
    def auth_per_s(self) -> float:
        return self.answered / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def accuracy(self) -> float:
        return (self.answered - len(self.wrong)) / self.sent if self.sent else 1.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")[
            min(998, int(q * 1000) - 1)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "answered": self.answered,
            "duration_s": round(self.duration_s, 3),
            "auth_per_s": round(self.auth_per_s, 1),
            "accuracy": round(self.accuracy, 6),
            "latency_ms": {
                "p50": round(self.percentile_ms(0.5), 3),
                "p99": round(self.percentile_ms(0.99), 3),
            },
            "decisions": dict(sorted(self.decisions.items())),
            "wrong": self.wrong[:50],
        }


def judge(
    targets: list[LoadTarget], answers: list[AccessDecision | None], duration_s: float
) -> RadiusLoadResult:
    result = RadiusLoadResult(sent=len(targets), answered=0, duration_s=duration_s)
    for target, answer in zip(targets, answers, strict=True):
        if answer is None:
            result.wrong.append({"mac": target.request.mac, "got": "no answer"})
            result.decisions["no answer"] += 1
            continue
        result.answered += 1
        result.latencies_ms.append(answer.latency_s * 1000)
        result.decisions[answer.decision.value] += 1
        if answer.decision not in target.expected:
            result.wrong.append(
                {
                    "mac": target.request.mac,
                    "device": target.request.device,
                    "got": answer.decision.value,
                    "expected": sorted(d.value for d in target.expected),
                    "reason": answer.reason,
                }
            )
    return result


def run_load(
    targets: list[LoadTarget], cfg: NasConfig, *, in_flight: int = 32, rate: float | None = None
) -> RadiusLoadResult:
    """Drive every target over MAB with ``in_flight`` outstanding requests (optionally paced)."""
    nas = AsyncNas(cfg, in_flight=in_flight)
    answers = asyncio.run(nas.run([t.request for t in targets], rate=rate))
    return judge(targets, answers, nas.last_duration_s)
