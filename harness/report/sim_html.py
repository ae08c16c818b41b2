"""``report.html``: a simulation run for people — summary, limit splits, plots, every device's path.

Rendered with jinja2 from ``templates/simulation.html.j2``; the plots are inline SVG from
:mod:`harness.report.sim_plots`. Unlike ``results.json`` it carries run facts (executor, wall time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..model import Step, TraceEvent
from .sim_plots import PLOTS
from .sim_trace import device_paths

REPORT_NAME = "report.html"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals["step_name"] = lambda s: Step(int(s)).name
    env.globals["fmt_s"] = lambda v: "–" if v is None else f"{v:.3f} s"
    return env


def render_report(
    results: Mapping[str, Any],
    *,
    run_name: str,
    run: Mapping[str, Any],
    events: Iterable[TraceEvent] = (),
    paths_sampled: bool = False,
) -> str:
    """The report's HTML text. ``run`` holds ``executor`` (kind/workers/address) and ``wall_s``."""
    plots = {plot_id: draw(results) for plot_id, draw in PLOTS.items()}
    return (
        _env()
        .get_template("simulation.html.j2")
        .render(
            results=results,
            run_name=run_name,
            run=run,
            plots=plots,
            paths=device_paths(events),
            paths_sampled=paths_sampled,
        )
    )


def write_report(html: str, out_dir: Path) -> Path:
    path = out_dir / REPORT_NAME
    path.write_text(html, encoding="utf-8")
    return path
