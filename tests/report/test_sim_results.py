"""results.json: canonical bytes, same seed same bytes, and numbers that follow the world's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sim_report_fixtures import small_run

from harness.errors import HarnessFailure
from harness.report.sim_results import (
    Aggregates,
    aggregates_of,
    cdf_points,
    dumps,
    percentile,
    write_results,
)


def test_same_seed_gives_byte_identical_results(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_results(small_run(seed=5)[1], a)
    write_results(small_run(seed=5)[1], b)
    assert (a / "results.json").read_bytes() == (b / "results.json").read_bytes()
    write_results(small_run(seed=6)[1], b)
    assert (a / "results.json").read_bytes() != (b / "results.json").read_bytes()


def test_results_are_canonical_and_free_of_run_facts() -> None:
    out, doc = small_run()
    text = dumps(doc)
    assert text == dumps(json.loads(text))
    assert list(json.loads(text)) == sorted(json.loads(text))
    for word in ("wall", "executor", "timestamp", "hostname", "pid"):
        assert word not in text
    assert doc["devices"] == 40
    assert sum(doc["access"].values()) == 40
    assert doc["access"]["no_decision"] == 0
    assert doc["time_to_access_s"]["count"] == doc["access"]["granted"]
    assert doc["intune_calls"]["total"] == sum(out.result.intune_calls.values())
    assert doc["throttled"]["total"] == sum(out.result.throttled.values()) > 0
    assert doc["shards"]["limits"][0]["name"] == "requests_per_minute"


def test_percentiles_are_nearest_rank() -> None:
    vals = [float(i) for i in range(1, 101)]
    assert percentile(vals, 50) == 50.0
    assert percentile(vals, 95) == 95.0
    assert percentile(vals, 99) == 99.0
    assert percentile([], 50) is None
    pts = cdf_points([float(i) for i in range(1000)], points=10)
    assert len(pts) == 10 and pts[-1] == [999.0, 1.0]


def test_a_result_missing_fields_is_named() -> None:
    class Half:
        devices = 3

    with pytest.raises(HarnessFailure, match="outcomes"):
        aggregates_of(Half())
    agg = Aggregates(3, {"allow": 3}, [1.0], 0, {}, {}, {}, {}, [])
    assert aggregates_of(agg) is agg


def test_final_outcomes_and_all_decisions_are_counted_apart() -> None:
    from harness.report.sim_results import access_counts, decision_counts

    outcomes = {"allow": 5, "remediate_redirect": 2, "mdm_unreachable": 1, "no_decision": 3}
    assert access_counts(outcomes) == {"granted": 5, "redirected": 2, "denied": 1, "no_decision": 3}
    dec = decision_counts({"allow": 5, "enroll_redirect": 4, "remediate_redirect": 3, "deny": 1})
    assert (dec["total"], dec["granted"], dec["redirected"], dec["denied"]) == (13, 5, 7, 1)
