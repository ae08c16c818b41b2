"""The conformance suite's own process: ``pytest.main`` with the :class:`Collector`, records to JSON.

The certify runner starts this module as a child process (``python -m
harness.conformance.suite_process``) so that a run gets a clean interpreter: no step modules or
conftests left over from an earlier run (or from the test session that called ``certify``), and a
NAC or harness that crashes the interpreter is reported as a harness error instead of taking the
runner down with it.

Usage: ``python -m harness.conformance.suite_process RECORDS.json CAPABILITY.yaml [--rule ID]...
[--progress FILE] -- PYTEST_ARGS...``
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import pytest

from .capability import load_capability
from .collector import Collector

CAPABILITY_ENV = "NAC_HARNESS_CAPABILITY"
"""Environment variable naming the capability statement for the step library's fixtures."""


def run(
    records: Path,
    capability: Path,
    only_rules: Sequence[str],
    pytest_args: Sequence[str],
    progress: Path | None = None,
) -> int:
    """Run the suite, write what the collector saw to ``records``; return pytest's exit status."""
    collector = Collector(load_capability(capability), only_rules, progress)
    try:
        status = int(pytest.main(list(pytest_args), plugins=[collector]))
    except Exception:  # noqa: BLE001 - anything escaping pytest is a harness failure, reported as such
        collector.internal_error = traceback.format_exc()
        status = 3
    data = collector.dump()
    data["exit_status"] = status
    records.write_text(json.dumps(data, default=str), encoding="utf-8")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m harness.conformance.suite_process")
    parser.add_argument("records", type=Path)
    parser.add_argument("capability", type=Path)
    parser.add_argument("--rule", action="append", default=[])
    parser.add_argument("--progress", type=Path, default=None)
    args = parser.parse_args(argv[:split])
    return run(args.records, args.capability, args.rule, argv[split + 1 :], args.progress)


if __name__ == "__main__":  # pragma: no cover - exercised through certify's child process
    sys.exit(main())
