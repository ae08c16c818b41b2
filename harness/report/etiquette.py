"""API etiquette: how politely the NAC under test used Intune, scored from what it sent the mock.

Computed from the evidence of every scenario: the exchanges the bench saw at the NAC's transport
(or, without them, the mock's own call log). Times are on each scenario's simulated clock, so
intervals are only compared within one scenario. Four measures, 25 points each:

* **calls per device** — compliance queries per device decided; ≤ 2 scores full, 6 or more none;
* **broad-query frequency** — answered "all noncompliant devices" queries (first pages; following
  a ``paging_info`` / ``$skiptoken`` is the same query) closer than 4 hours apart; 5 points each;
* **back-off** — after a 429/503 *with* ``Retry-After``, the next request on the same channel comes
  no sooner; *without* one, a second immediate retry (under 1 s) after consecutive throttled
  answers is a retry storm; 5 points each;
* **token reuse** — a token request is wasted when the NAC already had a token for that audience
  from under 50 minutes before and no 401 told it to renew; the points fall with the wasted share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BROAD_QUERY_MIN_INTERVAL_S = 4 * 3600.0
TOKEN_FRESH_S = 50 * 60.0
"""A token younger than this is still good (Entra's app-only tokens live an hour or more)."""
IMMEDIATE_S = 1.0
COMPLIANCE_SURFACES = frozenset({"cr_cisco", "legacy_cisco", "legacy_json", "graph"})
TOKEN_SURFACES = frozenset({"entra"})


@dataclass
class Etiquette:
    """The measures and the score (0–100)."""

    compliance_queries: int = 0
    devices: int = 0
    token_requests: int = 0
    wasted_tokens: int = 0
    broad_queries: int = 0
    broad_query_violations: int = 0
    throttled_answers: int = 0
    early_retries: int = 0
    scenarios_with_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def calls_per_device(self) -> float | None:
        return self.compliance_queries / self.devices if self.devices else None

    def parts(self) -> dict[str, int]:
        """Sub-scores out of 25 each."""
        cpd = self.calls_per_device
        calls = 25 if cpd is None or cpd <= 2 else max(0, round(25 * (6 - cpd) / 4))
        broad = max(0, 25 - 5 * self.broad_query_violations)
        backoff = max(0, 25 - 5 * self.early_retries)
        wasted = self.wasted_tokens / self.token_requests if self.token_requests else 0.0
        token = round(25 * (1 - wasted))
        return {"calls_per_device": calls, "broad_queries": broad, "back_off": backoff, "token_reuse": token}

    @property
    def score(self) -> int:
        return sum(self.parts().values())

    @property
    def measured(self) -> bool:
        return self.scenarios_with_calls > 0

    def to_json(self) -> dict[str, Any]:
        cpd = self.calls_per_device
        return {
            "measured": self.measured,
            "score": self.score if self.measured else None,
            "parts": self.parts() if self.measured else {},
            "compliance_queries": self.compliance_queries,
            "devices": self.devices,
            "calls_per_device": None if cpd is None else round(cpd, 3),
            "token_requests": self.token_requests,
            "wasted_tokens": self.wasted_tokens,
            "broad_queries": self.broad_queries,
            "broad_query_violations": self.broad_query_violations,
            "throttled_answers": self.throttled_answers,
            "early_retries": self.early_retries,
            "scenarios_with_calls": self.scenarios_with_calls,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Call:
    """One request to the mock, in the few terms etiquette needs."""

    at: float | None
    seq: int
    kind: str
    """token | query | broad | page (a further page of a query) | other"""
    channel: str
    """Requests on one channel share a back-off (the kind of request)."""
    status: int | None
    retry_after_s: float | None
    device: str = ""
    audience: str = ""
    """For a token request the audience asked for; otherwise the audience of the token presented."""


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
        measure_scenario(calls, evidence, result)
    if result.broad_query_violations:
        n = result.broad_query_violations
        result.notes.append(
            f"{n} broad 'all noncompliant' quer{'y' if n == 1 else 'ies'} inside the 4-hour window"
        )
    if result.early_retries:
        n = result.early_retries
        result.notes.append(f"{n} retr{'y' if n == 1 else 'ies'} before Retry-After or in a retry storm")
    if result.wasted_tokens:
        n = result.wasted_tokens
        result.notes.append(f"{n} token request{'' if n == 1 else 's'} while a fresh token was in hand")
    return result


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
    raw_kind = str(x.get("kind", ""))
    query = dict(parse_qsl(urlsplit(str(x.get("url", ""))).query))
    kind = _EXCHANGE_KIND.get(raw_kind, "other")
    if kind in ("query", "broad") and _is_next_page(query):
        kind = "page"
    form = x.get("form") or {}
    audience = _audience(str(form.get("scope") or form.get("resource") or "")) if kind == "token" else ""
    audience = audience or _audience(str(x.get("audience") or ""))
    return Call(
        _seconds(x),
        int(x.get("seq") or 0),
        kind,
        raw_kind or kind,
        x.get("status"),
        _retry_after(x),
        audience=audience,
    )


def _from_call_record(c: Mapping[str, Any]) -> Call:
    surface = str(c.get("surface", ""))
    detail = c.get("detail") or {}
    query = dict(parse_qsl(str(c.get("query", ""))))
    if surface in TOKEN_SURFACES and "token" in str(c.get("path", "")):
        kind = "token"
    elif surface in COMPLIANCE_SURFACES and "mdminfo" not in str(c.get("path", "")).lower():
        kind = "page" if _is_next_page(query) else "broad" if _is_broad(c) else "query"
    else:
        kind = "other"
    device = str(detail.get("value", "")) if kind == "query" else ""
    return Call(_seconds(c), int(c.get("seq") or 0), kind, surface, c.get("status"), _retry_after(c), device)


def measure_scenario(calls: list[Call], evidence: Mapping[str, Any], result: Etiquette) -> None:
    """Add one scenario's requests to ``result``."""
    ordered = sorted(calls, key=lambda c: (c.at if c.at is not None else 0.0, c.seq))
    queries = [c for c in ordered if c.kind in ("query", "broad")]
    result.compliance_queries += len(queries)
    devices = {
        str(d.get("device"))
        for d in evidence.get("decisions") or []
        if isinstance(d, Mapping) and d.get("device")
    }
    result.devices += len(devices or {c.device for c in queries if c.device})

    # Intune's window runs from the last broad query it answered; a refused one (503) is judged
    # under back-off instead.
    broad_times = [c.at for c in ordered if c.kind == "broad" and c.at is not None and _served(c)]
    result.broad_queries += sum(1 for c in ordered if c.kind == "broad")
    result.broad_query_violations += sum(
        1 for a, b in zip(broad_times, broad_times[1:], strict=False) if b - a < BROAD_QUERY_MIN_INTERVAL_S
    )
    _measure_back_off(ordered, result)
    _measure_tokens(ordered, result)


def _measure_back_off(ordered: list[Call], result: Etiquette) -> None:
    throttled_run: dict[str, int] = {}
    for i, call in enumerate(ordered):
        if call.status not in (429, 503):
            throttled_run[call.channel] = 0
            continue
        result.throttled_answers += 1
        run = throttled_run[call.channel] = throttled_run.get(call.channel, 0) + 1
        nxt = next((c for c in ordered[i + 1 :] if c.channel == call.channel), None)
        if nxt is None or call.at is None or nxt.at is None:
            continue
        gap = nxt.at - call.at
        if call.retry_after_s is not None:
            early = gap + 1e-6 < call.retry_after_s
        else:
            early = run >= 2 and gap < IMMEDIATE_S
        result.early_retries += int(early)


def _measure_tokens(ordered: list[Call], result: Etiquette) -> None:
    last_token: dict[str, float] = {}
    told_to_renew: set[str] = set()
    for call in ordered:
        if call.kind == "token":
            result.token_requests += 1
            at = call.at if call.at is not None else 0.0
            before = last_token.get(call.audience)
            if before is not None and at - before < TOKEN_FRESH_S and call.audience not in told_to_renew:
                result.wasted_tokens += 1
            last_token[call.audience] = at
            told_to_renew.discard(call.audience)
        elif call.status == 401:
            told_to_renew.add(call.audience)


def _served(call: Call) -> bool:
    return call.status is not None and 200 <= call.status < 300


def _audience(value: str) -> str:
    """``https://api.manage.microsoft.com//.default`` and ``…com/`` name the same audience."""
    return value.removesuffix("/.default").rstrip("/").lower()


def _is_next_page(query: Mapping[str, str]) -> bool:
    paging = query.get("paging")
    return bool((paging and paging not in ("0", "")) or "$skiptoken" in query or "$skip" in query)


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
