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
_COLUMNS = {
    "exchanges": (
        "seq",
        "at",
        "method",
        "url",
        "kind",
        "audience",
        "status",
        "error",
        "fault",
        "modelled_ms",
    ),
    "mock_calls": (
        "seq",
        "at",
        "app",
        "surface",
        "method",
        "path",
        "query",
        "status",
        "latency_ms",
        "detail",
    ),
    "decisions": ("seq", "at", "device", "ap", "mac", "decision", "redirect_url", "reason", "truth"),
    "coas": ("at", "ap", "device", "kind", "session", "reason"),
}
_KNOWN_EVIDENCE = (*_COLUMNS, "calls", "timeline", "timelines", "trace", "capability")


def _rows(evidence: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """Evidence rows with every column the template shows (missing ones empty)."""
    source = evidence.get(key) or (evidence.get("calls") if key == "mock_calls" else None) or []
    return [{col: row.get(col) for col in _COLUMNS[key]} for row in source if isinstance(row, Mapping)]


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
    """Per device, what happened in time order: the bench's timelines, or decisions and CoAs merged."""
    if not evidence:
        return {}
    given = evidence.get("timelines")
    if isinstance(given, Mapping) and given:
        return {
            str(device): [_timeline_row(r) for r in rows if isinstance(r, Mapping)]
            for device, rows in given.items()
            if isinstance(rows, list)
        }

    def rows(key: str) -> list[Mapping[str, Any]]:
        return [e for e in evidence.get(key) or [] if isinstance(e, Mapping)]

    events = [
        {
            "device": d.get("device", "?"),
            "at": d.get("at"),
            "event": f"decision {d.get('decision', '')}",
            "detail": d.get("redirect_url") or d.get("reason") or "",
        }
        for d in rows("decisions")
    ] + [
        {
            "device": c.get("device") or c.get("session") or "?",
            "at": c.get("at"),
            "event": f"{c.get('kind', 'coa')} received",
            "detail": c.get("reason", ""),
        }
        for c in rows("coas")
    ]
    out: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(events, key=lambda e: (str(e["device"]), _sort_key(e["at"]))):
        out.setdefault(str(e["device"]), []).append(e)
    return out


def _timeline_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in row.items() if k not in ("at", "event", "device")}
    detail = ", ".join(
        f"{k}={json.dumps(v, default=str) if isinstance(v, dict | list) else v}" for k, v in rest.items()
    )
    return {"at": row.get("at"), "event": row.get("event", ""), "detail": detail}


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
