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
        calls = normalised_calls(evidence)
        if not calls:
            continue
        result.scenarios_with_calls += 1
        _measure_scenario(calls, evidence, result)
    if result.broad_query_violations:
        n = result.broad_query_violations
        result.notes.append(
            f"{n} broad 'all noncompliant' quer{'y' if n == 1 else 'ies'} inside the 4-hour window"
        )
    if result.early_retries:
        n = result.early_retries
        result.notes.append(f"{n} retr{'y' if n == 1 else 'ies'} before Retry-After")
    qpt = result.queries_per_token
    if qpt is not None and qpt < 2:
        result.notes.append(f"{qpt:.1f} compliance queries per token: tokens are not reused")
    return result


@dataclass(frozen=True)
class Call:
    """One request to the mock, in the few terms etiquette needs."""

    at: float | None
    seq: int
    kind: str
    """token | query | broad | other"""
    channel: str
    """Requests on one channel share a back-off (the surface or the kind)."""
    status: int | None
    retry_after_s: float | None
    device: str = ""


def normalised_calls(evidence: Mapping[str, Any]) -> list[Call]:
    """The scenario's requests: the transport's exchanges when recorded, else the mock's call log."""
    exchanges = [x for x in evidence.get("exchanges") or [] if isinstance(x, Mapping)]
    if exchanges:
        return [_from_exchange(x) for x in exchanges]
    log = evidence.get("calls") or evidence.get("mock_calls") or []
    return [_from_call_record(c) for c in log if isinstance(c, Mapping)]


_EXCHANGE_KIND = {
    "token": "token",
    "device_query": "query",
    "graph_device": "query",
    "graph_list": "query",
    "broad_query": "broad",
}


def _from_exchange(x: Mapping[str, Any]) -> Call:
    kind = _EXCHANGE_KIND.get(str(x.get("kind", "")), "other")
    channel = "graph" if str(x.get("kind", "")).startswith("graph") else kind
    return Call(_seconds(x), int(x.get("seq") or 0), kind, channel, x.get("status"), _retry_after(x))


def _from_call_record(c: Mapping[str, Any]) -> Call:
    surface = str(c.get("surface", ""))
    detail = c.get("detail") or {}
    if surface in TOKEN_SURFACES and "token" in str(c.get("path", "")):
        kind = "token"
    elif surface in COMPLIANCE_SURFACES and "mdminfo" not in str(c.get("path", "")).lower():
        kind = "broad" if _is_broad(c) else "query"
    else:
        kind = "other"
    device = "" if kind != "query" else str(detail.get("value", ""))
    return Call(_seconds(c), int(c.get("seq") or 0), kind, surface, c.get("status"), _retry_after(c), device)


def _measure_scenario(calls: list[Call], evidence: Mapping[str, Any], result: Etiquette) -> None:
    queries = [c for c in calls if c.kind in ("query", "broad")]
    result.compliance_queries += len(queries)
    result.token_requests += sum(1 for c in calls if c.kind == "token")
    devices = {
        str(d.get("device"))
        for d in evidence.get("decisions") or []
        if isinstance(d, Mapping) and d.get("device")
    }
    if not devices:
        devices = {c.device for c in queries if c.device}
    result.devices += len(devices)

    broad_times = sorted(c.at for c in calls if c.kind == "broad" and c.at is not None)
    result.broad_queries += sum(1 for c in calls if c.kind == "broad")
    result.broad_query_violations += sum(
        1 for a, b in zip(broad_times, broad_times[1:], strict=False) if b - a < BROAD_QUERY_MIN_INTERVAL_S
    )

    ordered = sorted(calls, key=lambda c: (c.at if c.at is not None else 0.0, c.seq))
    for i, call in enumerate(ordered):
        if call.status not in (429, 503):
            continue
        result.throttled_answers += 1
        nxt = next((c for c in ordered[i + 1 :] if c.channel == call.channel), None)
        if nxt is None or call.at is None or nxt.at is None:
            continue
        wait = call.retry_after_s if call.retry_after_s is not None else 1.0
        if nxt.at - call.at + 1e-6 < wait:
            result.early_retries += 1


def _is_broad(call: Mapping[str, Any]) -> bool:
    detail = call.get("detail") or {}
    if detail.get("broad") is True:
        return True
    criteria = str(detail.get("criteria", "")).lower()
    query = str(call.get("query", "")).lower()
    return criteria == "compliance" or "querycriteria=compliance" in query


def _retry_after(call: Mapping[str, Any]) -> float | None:
    """``Retry-After`` of an answer: from a field, the response headers or the call detail."""
    sources: list[Mapping[str, Any]] = [call]
    sources += [
        call[k] for k in ("response_headers", "headers", "detail") if isinstance(call.get(k), Mapping)
    ]
    for source in sources:
        for key, value in source.items():
            if str(key).lower().replace("_", "-") in ("retry-after", "retry-after-s"):
                try:
                    return float(value)
                except (TypeError, ValueError):
                    return None
    return None


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
