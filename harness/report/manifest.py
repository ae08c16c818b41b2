"""The report folder's manifest: the SHA-256 of every file, so a report can be checked for tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(run_dir: Path) -> dict[str, Any]:
    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {
        "algorithm": "sha256",
        "files": {
            p.relative_to(run_dir).as_posix(): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files
        },
    }


def write_manifest(run_dir: Path) -> Path:
    path = run_dir / MANIFEST
    path.write_text(json.dumps(build_manifest(run_dir), indent=2) + "\n", encoding="utf-8")
    return path


def verify_manifest(run_dir: Path) -> list[str]:
    """Files whose hash differs from the manifest, or that are missing or unlisted ([] when intact)."""
    recorded = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
    actual = build_manifest(run_dir)["files"]
    problems = [
        f"{name}: changed"
        for name in recorded
        if name in actual and actual[name]["sha256"] != recorded[name]["sha256"]
    ]
    problems += [f"{name}: missing" for name in recorded if name not in actual]
    problems += [f"{name}: not in the manifest" for name in actual if name not in recorded]
    return problems
