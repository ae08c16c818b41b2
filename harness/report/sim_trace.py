"""The compact trace file: every kept :class:`TraceEvent` as gzip'd CSV, and per-device paths from it.

``trace.csv.gz`` has one row per event (``device,step,step_name,at,outcome,detail``), sorted by device
then time then step, written with a zero gzip timestamp so the same events give the same bytes.
A run keeps every device's events when it is small, and a deterministic sample (every k-th device of
the population) when it is large; the file's rows are whatever the run kept.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..model import Step, TraceEvent

TRACE_NAME = "trace.csv.gz"
COLUMNS = ("device", "step", "step_name", "at", "outcome", "detail")


def _key(e: TraceEvent) -> tuple[str, float, int]:
    return (e.device, float(e.at), int(e.step))


def write_trace(events: Iterable[TraceEvent], out_dir: Path) -> Path:
    """Write ``trace.csv.gz`` in ``out_dir``; returns its path."""
    path = out_dir / TRACE_NAME
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for e in sorted(events, key=_key):
        w.writerow((e.device, int(e.step), Step(e.step).name, f"{float(e.at):.6f}", e.outcome, e.detail))
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    return path


def read_trace(path: Path) -> Iterator[TraceEvent]:
    """Read a trace file back as events; a malformed file names the row."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise InputError(f"not a trace file (header {header!r})", where=str(path))
        for lineno, row in enumerate(reader, start=2):
            try:
                device, step, _name, at, outcome, detail = row
                yield TraceEvent(
                    device=device, step=Step(int(step)), at=float(at), outcome=outcome, detail=detail
                )
            except ValueError as exc:
                raise InputError(f"bad trace row: {exc}", where=f"{path}:{lineno}") from exc


@dataclass(frozen=True)
class DevicePath:
    """One device's walk through the nine steps, in time order."""

    device: str
    events: tuple[TraceEvent, ...]

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(int(e.step) for e in self.events)

    @property
    def final(self) -> str:
        return self.events[-1].outcome if self.events else ""

    @property
    def connected(self) -> bool:
        return any(e.step is Step.CONNECTED for e in self.events)

    def summary(self) -> str:
        """``4 CONNECT → 5 QUERY_INTUNE (noncompliant) → …``: the path in one line."""
        parts = []
        for e in self.events:
            label = f"{int(e.step)} {Step(e.step).name}"
            parts.append(f"{label} ({e.outcome})" if e.outcome else label)
        return " → ".join(parts)


def device_paths(events: Iterable[TraceEvent]) -> list[DevicePath]:
    """Group events by device (sorted by device key), each device's events in time order."""
    by_device: dict[str, list[TraceEvent]] = {}
    for e in events:
        by_device.setdefault(e.device, []).append(e)
    return [DevicePath(d, tuple(sorted(evs, key=_key))) for d, evs in sorted(by_device.items())]
