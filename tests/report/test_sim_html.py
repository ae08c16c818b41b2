"""report.html: parsed, it holds the four plots, the limit split, and every device's nine-step path."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from sim_report_fixtures import small_run

from harness.model import Step
from harness.report.sim_html import render_report
from harness.report.sim_trace import device_paths, read_trace, write_trace


class Outline(HTMLParser):
    """Collects figure ids with their svg counts, device-path rows and their step items."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, int] = {}
        self.paths: dict[str, list[int]] = {}
        self.sections: list[str] = []
        self._figure: str | None = None
        self._device: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "figure":
            self._figure = a.get("id") or ""
            self.figures[self._figure] = 0
        if tag == "svg" and self._figure is not None:
            self.figures[self._figure] += 1
        if tag == "tr" and a.get("class") == "device-path":
            self._device = a.get("data-device") or ""
            self.paths[self._device] = []
        if tag == "li" and self._device is not None and a.get("data-step"):
            self.paths[self._device].append(int(a["data-step"] or 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._figure = None
        if tag == "tr":
            self._device = None


def test_report_has_plots_limits_and_every_device_path(tmp_path: Path) -> None:
    out, doc = small_run(population=30, shards=2)
    events = out.result.traces
    html = render_report(
        doc,
        run_name="t",
        run={"executor": {"kind": "inline", "workers": 1, "address": None}, "wall_s": 0.1},
        events=events,
    )
    o = Outline()
    o.feed(html)
    assert set(o.figures) == {
        "time-to-access-cdf",
        "devices-by-state",
        "intune-calls-per-minute",
        "coa-timeline",
    }
    assert all(n == 1 for n in o.figures.values())
    assert {"summary", "limits", "plots", "paths"} <= set(o.sections)
    devices = {e.device for e in events}
    assert len(devices) == 30
    assert set(o.paths) == devices
    for dev, steps in o.paths.items():
        assert steps[0] == Step.CONNECT, dev
        assert steps == sorted(steps) or Step.REVERIFY in steps
    assert "requests_per_minute" in html
    assert "Throttl" in html or "throttl" in html


def test_trace_file_round_trips_and_is_deterministic(tmp_path: Path) -> None:
    out, _ = small_run(population=20)
    p1 = write_trace(out.result.traces, tmp_path)
    b1 = p1.read_bytes()
    p2 = write_trace(list(reversed(out.result.traces)), tmp_path)
    assert p2.read_bytes() == b1
    back = list(read_trace(p2))
    assert sorted(back, key=lambda e: (e.device, e.at, e.step)) == sorted(
        out.result.traces, key=lambda e: (e.device, e.at, e.step)
    )
    paths = device_paths(back)
    assert len(paths) == 20
    assert all(p.summary().startswith("4 CONNECT") for p in paths)


def test_a_run_without_traces_says_so_and_still_plots() -> None:
    _, doc = small_run(population=30)
    html = render_report(
        doc,
        run_name="big",
        run={"executor": {"kind": "processes", "workers": 2, "address": None}, "wall_s": 1.0},
    )
    o = Outline()
    o.feed(html)
    assert len(o.figures) == 4 and not o.paths
    assert "No device traces were kept" in html
    assert "processes" in html and "2 workers" in html
