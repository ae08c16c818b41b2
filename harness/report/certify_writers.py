"""The certification report writers, in the order they run, and the one call that runs them all.

A writer takes the judged :class:`Certification` and the run folder and returns the file it wrote.
The manifest is written last, over every file in the folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..conformance.results import Certification
from .certify_html import write_html
from .certify_json import write_json
from .cucumber import write_cucumber
from .junit import write_junit
from .manifest import write_manifest

Writer = Callable[[Certification, Path], Path]

WRITERS: dict[str, Writer] = {
    "json": write_json,
    "junit": write_junit,
    "cucumber": write_cucumber,
}


def write_reports(cert: Certification, run_dir: Path, *, capability_text: str) -> list[Path]:
    """Write every report of a certification run into ``run_dir``; return the files, manifest last."""
    run_dir.mkdir(parents=True, exist_ok=True)
    files = [writer(cert, run_dir) for writer in WRITERS.values()]
    capability_copy = run_dir / "capability.yaml"
    capability_copy.write_text(capability_text, encoding="utf-8")
    files.append(capability_copy)
    files.append(write_html(cert, run_dir, capability_text=capability_text))
    log = run_dir / "pytest.log"
    if log.exists():
        files.append(log)
    files.append(write_manifest(run_dir))
    return files
