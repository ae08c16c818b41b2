"""API etiquette: how politely the NAC under test used Intune, scored from the mock's call log.

Computed from the evidence of every scenario (each scenario's ``calls`` are the mock's call log
entries, ``CallRecord.to_json()``; times are on the scenario's simulated clock, so intervals are
only compared within one scenario). Four measures, 25 points each:

* **calls per device** — compliance queries per device decided; ≤ 2 scores full, 6 or more none;
* **broad-query frequency** — "all noncompliant devices" queries closer than 4 hours apart;
  every one costs 5 points;
* **back-off** — after a 429/503, the next call to the same surface comes no sooner than
  ``Retry-After`` (or 1 s without one); every early retry costs 5 points;
* **token reuse** — compliance queries per token request; 1 (a token per request) scores none,
  ≥ 5 scores full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BROAD_QUERY_MIN_INTERVAL_S = 4 * 3600.0
COMPLIANCE_SURFACES = frozenset({"cr_cisco", "legacy_cisco", "legacy_json", "graph"})
TOKEN_SURFACES = frozenset({"entra"})


@dataclass
class Etiquette:
    """The measures and the score (0–100) with one line of explanation each."""

    compliance_queries: int = 0
    devices: int = 0
    token_requests: int = 0
    broad_queries: int = 0
    broad_query_violations: int = 0
    throttled_answers: int = 0
    early_retries: int = 0
    scenarios_with_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def calls_per_device(self) -> float | None:
        return self.compliance_queries / self.devices if self.devices else None

    @property
    def queries_per_token(self) -> float | None:
        return self.compliance_queries / self.token_requests if self.token_requests else None

    def parts(self) -> dict[str, int]:
        """Sub-scores out of 25 each."""
        cpd = self.calls_per_device
        calls = 25 if cpd is None or cpd <= 2 else max(0, round(25 * (6 - cpd) / 4))
        broad = max(0, 25 - 5 * self.broad_query_violations)
        backoff = max(0, 25 - 5 * self.early_retries)
        qpt = self.queries_per_token
        token = 25 if qpt is None or qpt >= 5 else max(0, round(25 * (qpt - 1) / 4))
        return {"calls_per_device": calls, "broad_queries": broad, "back_off": backoff, "token_reuse": token}

    @property
    def score(self) -> int:
        return sum(self.parts().values())

    @property
    def measured(self) -> bool:
        return self.scenarios_with_calls > 0

    def to_json(self) -> dict[str, Any]:
        cpd, qpt = self.calls_per_device, self.queries_per_token
        return {
            "measured": self.measured,
            "score": self.score if self.measured else None,
            "parts": self.parts() if self.measured else {},
            "compliance_queries": self.compliance_queries,
            "devices": self.devices,
            "calls_per_device": None if cpd is None else round(cpd, 3),
            "token_requests": self.token_requests,
            "queries_per_token": None if qpt is None else round(qpt, 3),
            "broad_queries": self.broad_queries,
            "broad_query_violations": self.broad_query_violations,
            "throttled_answers": self.throttled_answers,
            "early_retries": self.early_retries,
            "scenarios_with_calls": self.scenarios_with_calls,
            "notes": self.notes,
        }


def measure(evidences: Iterable[Mapping[str, Any] | None]) -> Etiquette:
    """Aggregate the etiquette measures over the evidence of every scenario."""
    result = Etiquette()
    for evidence in evidences:
        if not evidence:
            continue
        calls = [c for c in evidence.get("calls") or [] if isinstance(c, Mapping)]
        if not calls:
            continue
        result.scenarios_with_calls += 1
        _measure_scenario(calls, evidence, result)
    if result.broad_query_violations:
        result.notes.append(
            f"{result.broad_query_violations} broad 'all noncompliant' quer"
            f"{'y' if result.broad_query_violations == 1 else 'ies'} inside the 4-hour window"
        )
    if result.early_retries:
        result.notes.append(
            f"{result.early_retries} retr{'y' if result.early_retries == 1 else 'ies'} before Retry-After"
        )
    qpt = result.queries_per_token
    if qpt is not None and qpt < 2:
        result.notes.append(f"{qpt:.1f} compliance queries per token: tokens are not reused")
    return result


def _measure_scenario(calls: list[Mapping[str, Any]], evidence: Mapping[str, Any], result: Etiquette) -> None:
    compliance = [c for c in calls if c.get("surface") in COMPLIANCE_SURFACES and not _is_info(c)]
    result.compliance_queries += len(compliance)
    result.token_requests += sum(
        1 for c in calls if c.get("surface") in TOKEN_SURFACES and "token" in str(c.get("path", ""))
    )
    devices = {d.get("device") for d in evidence.get("decisions") or [] if isinstance(d, Mapping)}
    devices.discard(None)
    if not devices:
        devices = {str((c.get("detail") or {}).get("value")) for c in compliance if not _is_broad(c)}
    result.devices += len(devices)

    broad_times = [_seconds(c) for c in compliance if _is_broad(c)]
    result.broad_queries += len(broad_times)
    known = sorted(t for t in broad_times if t is not None)
    result.broad_query_violations += sum(
        1 for a, b in zip(known, known[1:], strict=False) if b - a < BROAD_QUERY_MIN_INTERVAL_S
    )

    ordered = sorted(calls, key=lambda c: (_seconds(c) or 0.0, c.get("seq", 0)))
    for i, call in enumerate(ordered):
        if call.get("status") not in (429, 503):
            continue
        result.throttled_answers += 1
        wait = _retry_after(call)
        at = _seconds(call)
        nxt = next((c for c in ordered[i + 1 :] if c.get("surface") == call.get("surface")), None)
        if nxt is None or at is None:
            continue
        gap = (_seconds(nxt) or at) - at
        if gap + 1e-6 < wait:
            result.early_retries += 1


def _is_info(call: Mapping[str, Any]) -> bool:
    return "mdminfo" in str(call.get("path", "")).lower()


def _is_broad(call: Mapping[str, Any]) -> bool:
    detail = call.get("detail") or {}
    if detail.get("broad") is True:
        return True
    criteria = str(detail.get("criteria", "")).lower()
    query = str(call.get("query", "")).lower()
    return criteria == "compliance" or "querycriteria=compliance" in query


def _retry_after(call: Mapping[str, Any]) -> float:
    detail = call.get("detail") or {}
    for key in ("retry_after", "retry_after_s", "Retry-After"):
        if key in detail:
            try:
                return float(detail[key])
            except (TypeError, ValueError):
                break
    return 1.0


def _seconds(call: Mapping[str, Any]) -> float | None:
    at = call.get("at")
    if isinstance(at, int | float):
        return float(at)
    if isinstance(at, str):
        try:
            return dt.datetime.fromisoformat(at).timestamp()
        except ValueError:
            return None
    return None
