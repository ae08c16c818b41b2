"""``report.html``: the certification report a person reads.

Rule-by-rule verdicts with the reason and the declared values each rule was judged with; behind
every scenario its steps and evidence (the HTTP exchanges with the mock, the access decisions,
the CoAs, a per-device timeline); the API-etiquette score; waiver and harness problems; the
capability statement used, the harness version and the profiles certified. Rendered with jinja2
from ``templates/certify.html.j2`` out of the same tree as ``result.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..conformance.results import Certification
from .certify_json import certification_tree

REPORT_NAME = "report.html"
_KNOWN_EVIDENCE = ("calls", "decisions", "coas", "timeline", "trace")
_COLUMNS = {
    "calls": ("seq", "at", "app", "surface", "method", "path", "query", "status", "latency_ms", "detail"),
    "decisions": ("at", "device", "decision", "redirect_url", "reason", "latency_s"),
    "coas": ("at", "kind", "session_id", "mac", "reason"),
}


def _rows(evidence: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """Evidence rows with every column the template shows (missing ones empty)."""
    return [
        {col: row.get(col) for col in _COLUMNS[key]}
        for row in evidence.get(key) or []
        if isinstance(row, Mapping)
    ]


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["slug"] = lambda s: re.sub(r"[^a-z0-9]+", "-", str(s).lower()).strip("-")
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, default=str, sort_keys=True)
    env.filters["num"] = lambda v, d=3: (
        "–" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))
    )
    return env


def timeline(evidence: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Per device, what happened in time order: trace events, decisions and CoAs merged."""
    if not evidence:
        return {}

    def rows(key: str) -> list[Mapping[str, Any]]:
        return [e for e in evidence.get(key) or [] if isinstance(e, Mapping)]

    events: list[dict[str, Any]] = [
        {
            "device": e.get("device", "?"),
            "at": e.get("at"),
            "what": f"step {e.get('step', '')}".strip() if "step" in e else str(e.get("event", "")),
            "outcome": e.get("outcome", ""),
            "detail": e.get("detail", ""),
        }
        for key in ("timeline", "trace")
        for e in rows(key)
    ]
    events += [
        {
            "device": d.get("device", "?"),
            "at": d.get("at"),
            "what": "decision",
            "outcome": d.get("decision", ""),
            "detail": d.get("redirect_url") or d.get("reason") or "",
        }
        for d in rows("decisions")
    ]
    events += [
        {
            "device": c.get("device") or c.get("mac") or c.get("session_id", "?"),
            "at": c.get("at"),
            "what": str(c.get("kind", "coa")).upper(),
            "outcome": c.get("decision") or "",
            "detail": c.get("reason", ""),
        }
        for c in rows("coas")
    ]
    out: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(events, key=lambda e: (str(e["device"]), _sort_key(e["at"]))):
        out.setdefault(str(e["device"]), []).append(e)
    return out


def _sort_key(at: Any) -> tuple[int, float | str]:
    return (0, float(at)) if isinstance(at, int | float) else (1, str(at))


def render_certification(cert: Certification, *, capability_text: str) -> str:
    tree = certification_tree(cert)
    plan = tree["plan"]
    for feature in plan["features"]:
        for scenario in feature["scenarios"]:
            ev = scenario["evidence"] or {}
            scenario["timeline"] = timeline(ev)
            scenario["rows"] = {key: _rows(ev, key) for key in _COLUMNS}
            scenario["other_evidence"] = {k: v for k, v in ev.items() if k not in _KNOWN_EVIDENCE}
    return _env().get_template("certify.html.j2").render(plan=plan, capability_text=capability_text)


def write_html(cert: Certification, run_dir: Path, *, capability_text: str) -> Path:
    path = run_dir / REPORT_NAME
    path.write_text(render_certification(cert, capability_text=capability_text), encoding="utf-8")
    return path
