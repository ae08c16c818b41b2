"""The API-etiquette measures, on hand-made exchanges (the bench's shape) and call-log entries."""

from __future__ import annotations

from typing import Any

from harness.report.etiquette import measure

NAC = "https://api.manage.microsoft.com//.default"
DEVICES = "https://mock/cisco/devices/"


def token(seq: int, at: float, scope: str = NAC) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "kind": "token",
        "url": "https://mock/t/oauth2/v2.0/token",
        "form": {"scope": scope},
        "status": 200,
    }


def query(seq: int, at: float, status: int = 200, **extra: Any) -> dict[str, Any]:
    url = f"{DEVICES}?paging=0&querycriteria=guid&value=d{seq}"
    return {
        "seq": seq,
        "at": at,
        "kind": "device_query",
        "url": url,
        "status": status,
        "audience": "https://api.manage.microsoft.com/",
        **extra,
    }


def broad(seq: int, at: float, status: int = 200, page: int = 0) -> dict[str, Any]:
    url = f"{DEVICES}?paging={page}&querycriteria=compliance&value=false"
    return {"seq": seq, "at": at, "kind": "broad_query", "url": url, "status": status}


def evidence(*exchanges: dict[str, Any], devices: int = 1) -> dict[str, Any]:
    return {"exchanges": list(exchanges), "decisions": [{"device": f"dev{i}"} for i in range(devices)]}


def test_a_polite_nac_scores_full() -> None:
    e = measure(
        [
            evidence(
                token(1, 0),
                query(2, 1),
                query(3, 2),
                broad(4, 10),
                broad(5, 10, page=100),
                broad(6, 14410),
                devices=2,
            )
        ]
    )
    assert e.to_json()["score"] == 100
    assert (e.compliance_queries, e.broad_queries, e.broad_query_violations, e.wasted_tokens) == (4, 2, 0, 0)


def test_a_token_per_request_is_wasted_but_renewal_after_expiry_or_401_is_not() -> None:
    greedy = measure([evidence(token(1, 0), query(2, 1), token(3, 2), query(4, 3), token(5, 4), query(6, 5))])
    assert greedy.wasted_tokens == 2 and greedy.parts()["token_reuse"] == 8
    renewed = measure(
        [
            evidence(
                token(1, 0), query(2, 1, status=401), token(3, 2), query(4, 3), token(5, 4000), query(6, 4001)
            )
        ]
    )
    assert renewed.wasted_tokens == 0
    two_audiences = measure(
        [evidence(token(1, 0, "https://graph.microsoft.com/.default"), token(2, 0), query(3, 1))]
    )
    assert two_audiences.wasted_tokens == 0


def test_broad_queries_inside_four_hours_cost_points_refused_ones_do_not() -> None:
    e = measure([evidence(broad(1, 0), broad(2, 3600), broad(3, 7200))])
    assert e.broad_query_violations == 2 and e.parts()["broad_queries"] == 15
    refused = measure([evidence(broad(1, 0), broad(2, 3600, status=503), broad(3, 14400))])
    assert refused.broad_query_violations == 0


def test_back_off_honours_retry_after_and_flags_retry_storms() -> None:
    early = measure([evidence(query(1, 0, status=429, response_headers={"Retry-After": "10"}), query(2, 5))])
    assert (early.throttled_answers, early.early_retries) == (1, 1)
    patient = measure(
        [evidence(query(1, 0, status=429, response_headers={"Retry-After": "10"}), query(2, 10))]
    )
    assert patient.early_retries == 0
    one_retry = measure([evidence(query(1, 0, status=503), query(2, 0.1))])
    assert one_retry.early_retries == 0
    storm = measure([evidence(*(query(i, i * 0.01, status=503) for i in range(1, 6)))])
    assert storm.early_retries == 3 and "retry storm" in storm.notes[0]


def test_calls_per_device_and_the_mock_call_log_fallback() -> None:
    log = [
        {
            "seq": i,
            "at": "2026-01-01T00:00:00+00:00",
            "surface": "cr_cisco",
            "path": "/cisco/devices/",
            "query": "querycriteria=guid&value=d1",
            "status": 200,
            "detail": {"criteria": "guid", "value": "d1"},
        }
        for i in range(8)
    ]
    e = measure([{"mock_calls": log}])
    assert (e.compliance_queries, e.devices, e.calls_per_device) == (8, 1, 8.0)
    assert e.parts()["calls_per_device"] == 0
    assert measure([None, {}]).to_json()["measured"] is False
