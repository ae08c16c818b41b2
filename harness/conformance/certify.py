"""Certify a NAC: run the conformance features against its capability statement and write the reports.

``certify(nac.yaml)`` validates the capability statement, probes a wire NAC, loads the waivers,
runs the features in a child process (``pytest.main`` with the :class:`Collector`, see
:mod:`.suite_process`), judges the outcomes into verdicts and writes ``reports/<run>/``:

* ``result.json``    plan → feature → scenario → step, with verdicts and evidence
* ``junit.xml``      one testcase per scenario, for CI dashboards
* ``cucumber.json``  pytest-bdd's own cucumber JSON
* ``report.html``    the certification report a person reads
* ``capability.yaml`` the capability statement used; ``pytest.log`` the suite's own output
* ``manifest.json``  the SHA-256 of every file above

Exit codes: see :mod:`.results` (0 certified, 1 a rule failed, 2 the harness could not run).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO

from ..errors import HarnessFailure, InputError
from ..report.certify_writers import write_reports
from .capability import Capability, check_reachable, load_capability
from .records import CollectionProblem, ScenarioRecord
from .results import Certification, judge
from .rules import CATALOG, RULES, Rule
from .suite_process import CAPABILITY_ENV
from .waivers import WaiverBook, load_waivers, no_waivers

PROGRESS_POLL_S = 0.5
"""How often the runner looks at the suite's progress while it runs (wall clock)."""
SUITE_TIMEOUT_S = 1800.0
"""Wall-clock limit for one suite run; the suite runs on simulated time and needs far less."""


@dataclass
class CertifyRun:
    """A finished certification: the judged result and where its reports are."""

    certification: Certification
    out_dir: Path
    files: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.certification.exit_code


def harness_version() -> str:
    try:
        return metadata.version("intune-nac-harness")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def default_features() -> Path:
    """Where the conformance features are: ``./features``, the checkout's, or the installed package's."""
    candidates = [
        Path.cwd() / "features",
        Path(__file__).resolve().parents[2] / "features",
        Path(__file__).resolve().parent / "features",
    ]
    for path in candidates:
        if path.is_dir() and any(path.rglob("*.feature")):
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise HarnessFailure(f"no conformance features found (looked in {tried})")


def certify(
    capability_path: str | Path,
    *,
    out: str | Path = "reports",
    waivers: str | Path | None = None,
    run_name: str | None = None,
    features: str | Path | None = None,
    rules: Sequence[str] = (),
    pytest_args: Sequence[str] = (),
    plugins: Sequence[str] | None = None,
    echo: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CertifyRun:
    """Certify the NAC described by ``capability_path``; write the reports; return the result.

    Raises :class:`~harness.errors.CapabilityError` / ``WaiverError`` for bad input and
    :class:`~harness.errors.NacUnreachable` for a wire NAC that does not answer (all exit code 2 at
    the CLI). Rule failures and harness errors inside the run are verdicts, not exceptions.
    ``plugins`` replaces the pytest plugins the suite loads (default :data:`SUITE_PLUGINS`);
    ``on_progress(done, total)`` is called as scenarios finish.
    """
    cap_path = Path(capability_path)
    capability = load_capability(cap_path)
    selected = _select_rules(rules)
    book = _load_book(capability, waivers)
    check_reachable(capability)
    features_dir = Path(features) if features is not None else default_features()
    if not features_dir.exists():
        raise InputError(f"no such features folder: {features_dir}", where="--features")

    run_dir = _fresh_run_dir(Path(out), run_name) if run_name else _unique_run_dir(Path(out))
    started = dt.datetime.now(dt.UTC).timestamp()
    records, collection, harness_problems, status = _run_suite(
        cap_path,
        features_dir,
        run_dir,
        [r.id for r in selected] if rules else [],
        [*suite_plugins(plugins), *pytest_args],
        echo,
        on_progress,
    )
    certification = judge(
        records,
        capability,
        book,
        rules=selected,
        collection_problems=collection,
        harness_problems=harness_problems,
    )
    certification.run_name = run_dir.name
    certification.started_at = started
    certification.finished_at = dt.datetime.now(dt.UTC).timestamp()
    certification.harness_version = harness_version()
    certification.pytest_exit_status = status

    files = write_reports(certification, run_dir, capability_text=cap_path.read_text(encoding="utf-8"))
    return CertifyRun(certification, run_dir, files)


def default_run_name() -> str:
    return "certify-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _select_rules(rule_ids: Sequence[str]) -> list[Rule]:
    if not rule_ids:
        return list(CATALOG)
    unknown = [r for r in rule_ids if r.upper().lstrip("@") not in RULES]
    if unknown:
        raise InputError(f"unknown rule(s) {', '.join(unknown)} (known: {', '.join(RULES)})", where="--rule")
    wanted = {r.upper().lstrip("@") for r in rule_ids}
    return [r for r in CATALOG if r.id in wanted]


def _load_book(capability: Capability, waivers: str | Path | None) -> WaiverBook:
    path = Path(waivers) if waivers is not None else capability.waivers_path
    return load_waivers(path) if path is not None else no_waivers()


def _unique_run_dir(out: Path) -> Path:
    base = default_run_name()
    name, n = base, 1
    while (out / name).exists():
        n += 1
        name = f"{base}-{n}"
    return _fresh_run_dir(out, name)


def _fresh_run_dir(out: Path, run_name: str) -> Path:
    if not run_name or "/" in run_name or run_name in (".", ".."):
        raise InputError(f"a run name is one folder name, got {run_name!r}", where="--run-name")
    run_dir = out / run_name
    if run_dir.exists() and any(run_dir.iterdir()):
        if not (run_dir / "manifest.json").exists():
            raise InputError(
                f"{run_dir} exists and is not an earlier certification report; choose another --run-name",
                where="--run-name",
            )
        shutil.rmtree(run_dir)  # an earlier run of the same name: replaced whole
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder {run_dir}: {exc}", where="--out") from None
    return run_dir


SUITE_PLUGINS = ("pytest_bdd.plugin", "pytest_timeout", "harness.conformance.plugin")
"""The pytest plugins a suite run loads (the step library's plugin when it is installed)."""


def suite_plugins(names: Sequence[str] | None = None) -> list[str]:
    """``-p NAME`` for each plugin that is installed."""
    args: list[str] = []
    for name in SUITE_PLUGINS if names is None else names:
        if importlib.util.find_spec(name) is not None:
            args += ["-p", name]
    return args


def _run_suite(
    cap_path: Path,
    features_dir: Path,
    run_dir: Path,
    only_rules: Sequence[str],
    pytest_args: Sequence[str],
    echo: Callable[[str], None] | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[ScenarioRecord], list[CollectionProblem], list[str], int | None]:
    """Run the suite in a child process; return its records, collection and harness problems."""
    log_path = run_dir / "pytest.log"
    with tempfile.TemporaryDirectory(prefix="nac-certify-") as tmp:
        records_path = Path(tmp) / "records.json"
        command = [
            sys.executable,
            "-m",
            "harness.conformance.suite_process",
            str(records_path),
            str(cap_path.resolve()),
            *[f"--rule={r}" for r in only_rules],
            f"--progress={Path(tmp) / 'progress'}",
            "--",
            str(features_dir.resolve()),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--cucumberjson={(run_dir / 'cucumber.json').resolve()}",
            *pytest_args,
        ]
        # Only the plugins the suite needs: autoloading every installed pytest plugin (hypothesis,
        # faker, schemathesis, …) costs seconds per run and lets foreign plugins change the run.
        env = {**os.environ, CAPABILITY_ENV: str(cap_path.resolve()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        if echo:
            echo(f"running the conformance suite in {features_dir} …")
        with log_path.open("w", encoding="utf-8") as log:
            returncode = _wait_for_suite(command, env, log, Path(tmp) / "progress", on_progress)
        if returncode is None:
            return [], [], [f"the suite did not finish within {SUITE_TIMEOUT_S:g} s (see pytest.log)"], None
        if not records_path.exists():
            tail = _tail(log_path)
            return (
                [],
                [],
                [f"the suite process died (exit {returncode}) before reporting:\n{tail}"],
                None,
            )
        data = json.loads(records_path.read_text(encoding="utf-8"))

    records = [ScenarioRecord.from_json(s) for s in data["scenarios"]]
    collection = [CollectionProblem(p["where"], p["message"]) for p in data["collection_problems"]]
    problems: list[str] = []
    status = data.get("exit_status")
    if data.get("internal_error"):
        problems.append("pytest internal error:\n" + str(data["internal_error"]))
    if status == 4:
        problems.append(f"pytest refused the run (usage error), see pytest.log:\n{_tail(log_path)}")
    elif status == 5 or (status in (0, 1) and not records):
        problems.append(f"the suite found no scenarios in {features_dir}")
    elif status == 2 and not collection:
        problems.append("the suite run was interrupted (see pytest.log)")
    return records, collection, problems, status


def _wait_for_suite(
    command: list[str],
    env: dict[str, str],
    log: IO[str],
    progress: Path,
    on_progress: Callable[[int, int], None] | None,
) -> int | None:
    """Run the suite process to its end (its exit code), or kill it at the time limit (None)."""
    deadline = time.monotonic() + SUITE_TIMEOUT_S
    with subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    ) as proc:
        while True:
            try:
                return proc.wait(timeout=PROGRESS_POLL_S)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    return None
            finally:
                if on_progress is not None:
                    _read_progress(progress, on_progress)


def _read_progress(path: Path, on_progress: Callable[[int, int], None]) -> None:
    try:
        done, _, total = path.read_text(encoding="utf-8").strip().partition("/")
        on_progress(int(done), int(total))
    except (OSError, ValueError):
        pass  # not written yet, or caught mid-write: the next poll reads it


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
