"""The certification's JSON result tree: plan → feature → scenario → step, with verdicts and evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from ..conformance.results import Certification
from .etiquette import measure

SCHEMA = "intune-nac-harness/certification/1"


def _iso(ts: float) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat() if ts else None


def certification_tree(cert: Certification) -> dict[str, Any]:
    """The whole result as JSON-able data (the other writers and the HTML read the same facts)."""
    cap = cert.capability
    return {
        "schema": SCHEMA,
        "plan": {
            "run": cert.run_name,
            "harness_version": cert.harness_version,
            "started_at": _iso(cert.started_at),
            "finished_at": _iso(cert.finished_at),
            "duration_s": round(max(0.0, cert.finished_at - cert.started_at), 3),
            "nac": cap.name,
            "vendor": cap.vendor,
            "profiles": [str(p) for p in cap.profiles],
            "capability": cap.to_yaml_dict(),
            "verdict": str(cert.verdict),
            "exit_code": cert.exit_code,
            "summary": cert.summary,
            "scope": {"partial": cert.partial, "rules": cert.scope},
            "counts": {"rules": cert.counts("rules"), "scenarios": cert.counts("scenarios")},
            "pytest_exit_status": cert.pytest_exit_status,
            "harness_problems": cert.harness_problems,
            "collection_problems": [p.to_json() for p in cert.collection_problems],
            "waiver_problems": [p.to_json() for p in cert.waiver_problems],
            "etiquette": measure(s.record.evidence for s in cert.scenarios).to_json(),
            "rules": [r.to_json() for r in cert.rules],
            "features": [f.to_json() for f in cert.features],
        },
    }


def write_json(cert: Certification, run_dir: Path) -> Path:
    path = run_dir / "result.json"
    path.write_text(json.dumps(certification_tree(cert), indent=2, default=str) + "\n", encoding="utf-8")
    return path
