"""``nac-harness simulate SCENARIO.yaml``: run a load simulation and write its reports.

Runs the scenario's devices through the SimPy world (sharded over ``--workers`` local processes or
a Dask cluster at ``--cluster``), shows a live progress bar, prints a summary table, and writes
``<out>/<run>/results.json`` (canonical), ``trace.csv.gz`` and ``report.html``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, HarnessFailure
from ..load.executors import ShardRunner, choose
from ..load.run import RunOutcome, run_simulation
from ..load.shards import shared_limits
from ..report.sim_html import render_report, write_report
from ..report.sim_results import aggregates_of, build_results, write_results
from ..report.sim_trace import write_trace

WORLD_ENTRY = "harness.sim.world:run_shard"
"""The per-shard entry point of the SimPy world (module:function)."""

_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "simulate",
        help="run a load simulation of a scenario and write results.json, a trace and an HTML report",
        description=__doc__,
    )
    p.add_argument("scenario", metavar="SCENARIO.yaml", help="the scenario file")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="shard the population over N local processes (default 1: in this process)",
    )
    p.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="run the shards on the Dask distributed scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786)",
    )
    p.add_argument("--out", default="reports", metavar="DIR", help="where run directories go (reports/)")
    p.add_argument(
        "--run-name", default=None, metavar="NAME", help="run directory name (default: scenario name)"
    )
    p.add_argument("--no-progress", action="store_true", help="no live progress bar")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def world_runner(entry: str = WORLD_ENTRY) -> ShardRunner:
    """Import the world's per-shard entry point (``module:function``)."""
    module, _, name = entry.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise HarnessFailure(f"the SimPy world entry point {entry} is not available: {exc}") from exc
    runner: ShardRunner = fn
    return runner


def run(args: argparse.Namespace) -> int:
    from ..scenario import load_scenario

    if args.run_name is not None:
        _check_run_name(args.run_name)
    choice = choose(args.workers, args.cluster)
    scenario = load_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    run_name = args.run_name or scenario.name
    _check_run_name(run_name)
    out_dir = Path(args.out) / run_name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out_dir}: {exc}", field="--out") from None

    if scenario.nac.adapter == "radius":
        if args.workers not in (None, 1) or args.cluster:
            raise ConfigError(
                "a RADIUS load run drives one real NAC from this process", field="--workers/--cluster"
            )
        return _run_radius(scenario, out_dir)

    outcome = _run_with_progress(scenario, seed, choice, show=not args.no_progress and sys.stderr.isatty())
    results = build_results(
        aggregates_of(outcome.result),
        scenario=scenario_identity(scenario, args.scenario),
        seed=seed,
        shards=outcome.plan.to_json(),
    )
    events = list(getattr(outcome.result, "traces", ()) or ())
    write_results(results, out_dir)
    write_trace(events, out_dir)
    traced = {e.device for e in events}
    html = render_report(
        results,
        run_name=run_name,
        run={"executor": outcome.executor.to_json(), "wall_s": outcome.wall_s},
        events=events,
        paths_sampled=0 < len(traced) < results["devices"],
    )
    write_report(html, out_dir)
    _print_summary(results, outcome, out_dir)
    return 0


def _run_radius(scenario: Any, out_dir: Path) -> int:
    """The scenario's devices against a real RADIUS NAC (``nac.adapter: radius``); see docs/radius.md."""
    from rich.console import Console
    from rich.table import Table

    from ..radius.simulate import run_radius_load, write_result

    result = run_radius_load(scenario)
    path = write_result(result, scenario, out_dir)
    data = result.to_json()
    table = Table(title=f"RADIUS load: {scenario.name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("authentications sent", data["sent"]),
        ("answered", data["answered"]),
        ("authentications/s", data["auth_per_s"]),
        ("verdict accuracy", f"{result.accuracy:.2%}"),
        ("latency p50 (ms)", data["latency_ms"]["p50"]),
        ("latency p99 (ms)", data["latency_ms"]["p99"]),
        *((f"decisions: {k}", v) for k, v in data["decisions"].items()),
    ):
        table.add_row(label, str(value))
    Console().print(table)
    print(f"results: {path}")
    for wrong in result.wrong[:10]:
        print(f"  wrong: {wrong}")
    return 0 if result.accuracy == 1.0 else 1


def scenario_identity(scenario: Any, path: str) -> dict[str, str]:
    """Name, file name and a SHA-256 of the validated scenario (what ran, independent of comments)."""
    digest = hashlib.sha256(scenario.model_dump_json().encode("utf-8")).hexdigest()
    return {"name": scenario.name, "file": Path(path).name, "sha256": digest}


def _check_run_name(name: str) -> None:
    if not _RUN_NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a usable directory name (letters, digits, '.', '_', '-')", field="--run-name"
        )


def _run_with_progress(scenario: Any, seed: int, choice: Any, *, show: bool) -> RunOutcome:
    runner = world_runner()
    population = int(scenario.population.size)
    kwargs: dict[str, Any] = {
        "population": population,
        "seed": seed,
        "choice": choice,
        "limits": shared_limits(scenario),
        "scenario": scenario,
        "trace": population / choice.workers <= getattr(scenario, "trace_devices", 2000),
    }
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        disable=not show,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=population)
        return run_simulation(
            runner, on_progress=lambda done, _total: progress.update(task, completed=done), **kwargs
        )


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f} s"


def _print_summary(results: dict[str, Any], outcome: RunOutcome, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{results['scenario']['name']} (seed {results['seed']})", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    acc, dec, tta = results["access"], results["decisions"], results["time_to_access_s"]
    t.add_row("devices", str(results["devices"]))
    t.add_row("access granted (devices)", str(acc["granted"]))
    t.add_row("redirected (redirects; devices at end)", f"{dec['redirected']}; {acc['redirected']}")
    t.add_row("denied (denials; devices at end)", f"{dec['denied']}; {acc['denied']}")
    if acc["no_decision"]:
        t.add_row("no decision reached", f"{acc['no_decision']} devices")
    t.add_row(
        "time to access p50 / p95 / p99", f"{_fmt(tta['p50'])} / {_fmt(tta['p95'])} / {_fmt(tta['p99'])}"
    )
    t.add_row("remediations", str(results["remediations"]))
    t.add_row("Intune calls", str(results["intune_calls"]["total"]))
    for kind, n in results["intune_calls"]["by_kind"].items():
        t.add_row(f"  {kind}", str(n))
    t.add_row("throttled calls", str(results["throttled"]["total"]))
    t.add_row("CoAs", str(results["coa"]["total"]))
    t.add_row("devices left without earned access", str(results["without_earned_access"]["count"]))
    ex = outcome.executor
    where = f" at {ex.address}" if ex.address else ""
    t.add_row("shards / executor", f"{outcome.plan.count} / {ex.kind}{where}")
    t.add_row("wall time", f"{outcome.wall_s:.2f} s")
    console = Console(highlight=False)
    console.print(t)
    console.print(f"reports in {out_dir}/ (results.json, trace.csv.gz, report.html)")
