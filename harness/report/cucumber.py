"""Cucumber JSON: written by pytest-bdd itself (``--cucumberjson``) during the suite run.

This writer only makes sure the file is there and well-formed: when the suite could not run at all
(a harness error before pytest-bdd wrote anything), it writes an empty feature list, so the report
folder always has the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..conformance.results import Certification


def write_cucumber(cert: Certification, run_dir: Path) -> Path:
    path = run_dir / "cucumber.json"
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        path.write_text("[]\n", encoding="utf-8")
    return path
