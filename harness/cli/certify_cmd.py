"""``nac-harness certify NAC.yaml``: certify a NAC against the rule catalog and write the reports.

Exit codes: 0 every applicable rule passed; 1 a rule failed (or a waiver is stale, unmatched or
expired); 2 the harness could not run (a bad capability statement or waivers file, an unreachable
NAC, a harness error inside the run) — never confused with a NAC failure.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..conformance.certify import CertifyRun, certify
from ..conformance.rules import Verdict
from ..errors import ConfigError

_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_STYLE = {
    Verdict.PASSED: "green",
    Verdict.FAILED: "bold red",
    Verdict.WARNING: "yellow",
    Verdict.SKIPPED: "dim",
    Verdict.WAIVED: "cyan",
    Verdict.HARNESS_ERROR: "bold magenta",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "certify",
        help="certify a NAC against the conformance rules and write the certification report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("capability", metavar="NAC.yaml", help="the NAC's capability statement")
    p.add_argument("--out", default="reports", metavar="DIR", help="where run folders go (default: reports/)")
    p.add_argument("--waivers", default=None, metavar="FILE", help="waivers file (overrides the statement's)")
    p.add_argument(
        "--run-name", default=None, metavar="NAME", help="run folder name (default: certify-<UTC time>)"
    )
    p.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="ID",
        help="certify only this rule (repeatable); the report says which rules were certified",
    )
    p.add_argument(
        "--features", default=None, metavar="DIR", help="conformance features folder (default: built in)"
    )
    p.add_argument(
        "--mock-info",
        action="store_true",
        help="external NAC (adapter radius/http): prepare the served mock's state directory and print "
        "what to configure the NAC with (address, CA, credentials), then exit without certifying",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.mock_info:
        from ..conformance.capability import load_capability
        from ..conformance.external import describe_mock

        print(describe_mock(load_capability(args.capability)))
        return 0
    if args.run_name is not None and not _RUN_NAME.match(args.run_name):
        raise ConfigError(
            f"{args.run_name!r} is not a usable folder name (letters, digits, '.', '_', '-')",
            field="--run-name",
        )
    console = Console(highlight=False, stderr=False)
    with scenario_progress() as on_progress:
        result = certify(
            args.capability,
            out=args.out,
            waivers=args.waivers,
            run_name=args.run_name,
            features=args.features,
            rules=args.rule,
            echo=lambda text: console.print(f"[dim]{escape(text)}[/dim]"),
            on_progress=on_progress,
        )
    print_summary(result, console)
    return result.exit_code


@contextmanager
def scenario_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A live 'scenarios done / total' bar on a terminal (nothing when output is not a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        TextColumn("[bold]certifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenarios"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("certifying", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def print_summary(result: CertifyRun, console: Console) -> None:
    """The rule table, the problems, the verdict and where the reports are."""
    cert = result.certification
    table = Table(
        title=f"{escape(cert.capability.name)} — profiles {', '.join(map(str, cert.capability.profiles))}"
    )
    table.add_column("rule")
    table.add_column("title")
    table.add_column("verdict")
    table.add_column("why", overflow="fold")
    for r in cert.rules:
        reason = r.reason.split("; ")[0] if r.verdict is not Verdict.PASSED else ""
        reason = reason if len(reason) <= 240 else reason[:240] + " …"
        table.add_row(r.rule.id, r.rule.title, f"[{_STYLE[r.verdict]}]{r.verdict}[/]", escape(reason))
    console.print(table)
    for problem in cert.harness_problems:
        console.print(f"[bold magenta]harness error:[/] {escape(problem)}")
    for wp in cert.waiver_problems:
        console.print(f"[bold red]{wp.kind} waiver:[/] {escape(wp.message)}")
    console.print(f"[{_STYLE[cert.verdict]}]{escape(cert.summary)}[/]  (exit {cert.exit_code})")
    console.print(
        f"reports in {Path(result.out_dir)}/ (report.html, result.json, junit.xml, cucumber.json, manifest.json)"
    )
