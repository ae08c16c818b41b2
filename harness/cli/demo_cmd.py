"""``nac-harness demo``: the main job end to end on embedded defaults.

Certifies the built-in reference NAC (``examples/reference-nac.yaml``, shipped inside the package
too) and simulates the small-office scenario (``scenarios/small-office.yaml``), writing both
reports under ``reports/``. Exits non-zero when either part fails: the certification's exit code
(1 a rule failed, 2 the harness broke) takes precedence, then the simulation's.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..conformance.certify import certify
from ..errors import HarnessFailure
from .certify_cmd import print_summary, scenario_progress

REFERENCE_NAC = "reference-nac.yaml"
SMALL_OFFICE = "small-office.yaml"
CERTIFY_RUN = "demo-certify"
SIMULATE_RUN = "demo-small-office"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        help="certify the built-in reference NAC and simulate a small office, writing reports/",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="reports", metavar="DIR", help="where the reports go (default: reports/)")
    p.set_defaults(func=run)


def _checkout_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_file(name: str, folders: Sequence[str], packaged: tuple[str, str] | None) -> Path:
    """``name`` in ./FOLDER, then the checkout's FOLDER, then the package data; first found wins."""
    candidates = [Path.cwd() / f / name for f in folders] + [_checkout_root() / f / name for f in folders]
    for path in candidates:
        if path.is_file():
            return path
    if packaged is not None:
        package, inner = packaged
        ref = resources.files(package).joinpath(inner)
        if ref.is_file():
            return Path(str(ref))
    tried = ", ".join(str(p) for p in candidates)
    raise HarnessFailure(f"the demo's {name} is missing (looked in {tried} and the installed package)")


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    out = Path(args.out)
    capability = find_file(REFERENCE_NAC, ["examples"], ("harness.conformance", REFERENCE_NAC))
    console.rule("[bold]1/2 certify the reference NAC")
    console.print(f"capability statement: {escape(str(capability))}")
    with scenario_progress() as on_progress:
        result = certify(
            capability,
            out=out,
            run_name=CERTIFY_RUN,
            echo=lambda t: console.print(f"[dim]{escape(t)}[/dim]"),
            on_progress=on_progress,
        )
    print_summary(result, console)

    console.rule("[bold]2/2 simulate the small office")
    scenario = find_file(SMALL_OFFICE, ["scenarios"], ("harness", f"scenarios/{SMALL_OFFICE}"))
    console.print(f"scenario: {escape(str(scenario))}")
    sim_code = simulate(scenario, out=out, run_name=SIMULATE_RUN)

    console.rule("[bold]done")
    console.print(f"certification report: {escape(str(result.out_dir / 'report.html'))}")
    console.print(f"simulation report:    {escape(str(out / SIMULATE_RUN / 'report.html'))}")
    if result.exit_code:
        return result.exit_code
    return sim_code


def simulate(scenario: Path, *, out: Path, run_name: str) -> int:
    """Run ``nac-harness simulate`` on ``scenario`` in this process; its exit code."""
    from . import simulate_cmd

    args = argparse.Namespace(
        scenario=str(scenario),
        seed=None,
        workers=None,
        cluster=None,
        out=str(out),
        run_name=run_name,
        no_progress=True,
    )
    return int(simulate_cmd.run(args) or 0)
