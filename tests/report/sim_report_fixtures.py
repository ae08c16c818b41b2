"""Shared helpers for the simulation-report tests: a small run of the load layer's test world."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "load"))

from fake_world import run_shard  # noqa: E402

from harness.load.executors import ExecutorChoice  # noqa: E402
from harness.load.run import RunOutcome, run_simulation  # noqa: E402
from harness.report.sim_results import aggregates_of, build_results  # noqa: E402


def small_run(seed: int = 5, population: int = 40, shards: int = 1) -> tuple[RunOutcome, dict[str, Any]]:
    out = run_simulation(
        run_shard,
        population=population,
        seed=seed,
        choice=ExecutorChoice("inline", shards),
        limits={"requests_per_minute": 4},
        trace=True,
    )
    doc = build_results(
        aggregates_of(out.result), scenario={"name": "fake"}, seed=seed, shards=out.plan.to_json()
    )
    return out, doc
