"""The simulation report's plots, drawn from ``results.json`` as inline SVG.

Uses :class:`matplotlib.figure.Figure` directly (no pyplot, no global backend state), so plotting is
safe in any process and thread. Each function takes the results document and returns SVG text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

SIZE = (7.5, 3.4)
KIND_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
THROTTLE_COLOUR = "#d62728"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def time_to_access_cdf(results: Mapping[str, Any]) -> str:
    """Empirical CDF of time to access (step 4 → step 9), with p50/p95/p99 marked."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    tta = results["time_to_access_s"]
    cdf = tta["cdf"]
    if not cdf:
        _empty(ax, "no device got access")
    else:
        xs = [p[0] for p in cdf]
        ys = [p[1] for p in cdf]
        ax.step(xs, ys, where="post", color=KIND_COLOURS[0])
        for q, style in (("p50", ":"), ("p95", "--"), ("p99", "-.")):
            if tta.get(q) is not None:
                ax.axvline(
                    tta[q], color="#555555", linestyle=style, linewidth=0.8, label=f"{q} {tta[q]:.2f} s"
                )
        ax.set_xscale("log" if xs[0] > 0 and xs[-1] / xs[0] > 100 else "linear")
        ax.set_xlabel("time to access (simulated seconds)")
        ax.set_ylabel("fraction of devices with access")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Time to access")
    return _svg(fig)


def devices_by_state(results: Mapping[str, Any]) -> str:
    """Devices in each state, minute by minute, stacked."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    series = results["states_over_time"]["series"]
    if not series:
        _empty(ax, "no state samples")
    else:
        minutes = sorted({m for pts in series.values() for m, _ in pts})
        names = sorted(series)
        stacks = []
        for name in names:
            pts = dict(series[name])
            stacks.append([pts.get(m, 0) for m in minutes])
        hours = [m / 60 for m in minutes]
        ax.stackplot(hours, stacks, labels=names, colors=KIND_COLOURS[: len(names)] or None)
        ax.set_xlabel("simulated time (hours)")
        ax.set_ylabel("devices")
        ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Devices by state over time")
    return _svg(fig)


def intune_calls_per_minute(results: Mapping[str, Any]) -> str:
    """Intune calls per simulated minute by kind, throttled calls marked in red."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    calls = results["intune_calls"]["per_minute"]
    throttled = results["throttled"]["per_minute"]
    if not calls and not throttled:
        _empty(ax, "no Intune calls")
    else:
        every = [m for series in (calls, throttled) for pts in series.values() for m, _ in pts]
        minutes = list(range(min(every), max(every) + 1))
        for i, (kind, pts) in enumerate(sorted(calls.items())):
            per = dict(pts)  # minutes without calls are zeros, not gaps to draw a line across
            ax.plot(
                [m / 60 for m in minutes],
                [per.get(m, 0) for m in minutes],
                label=kind,
                color=KIND_COLOURS[i % len(KIND_COLOURS)],
                linewidth=1,
                drawstyle="steps-post",
            )
        for j, (_kind, pts) in enumerate(sorted(throttled.items())):
            ax.scatter(
                [m / 60 for m, _ in pts],
                [n for _, n in pts],
                marker="x",
                color=THROTTLE_COLOUR,
                label="throttled" if j == 0 else None,
                zorder=3,
            )
            for m, _ in pts:
                ax.axvspan(m / 60, (m + 1) / 60, color=THROTTLE_COLOUR, alpha=0.12, linewidth=0)
        ax.set_xlabel("simulated time (hours)")
        ax.set_ylabel("calls per minute")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title("Intune calls per minute (throttling in red)")
    return _svg(fig)


def coa_timeline(results: Mapping[str, Any]) -> str:
    """CoA and Disconnect messages per simulated minute."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    coas = results["coa"]["per_minute"]
    if not coas:
        _empty(ax, "no CoA sent")
    else:
        for i, (kind, pts) in enumerate(sorted(coas.items())):
            ax.vlines(
                [m / 60 for m, _ in pts],
                0,
                [n for _, n in pts],
                color=KIND_COLOURS[(i + 2) % len(KIND_COLOURS)],
                label=kind,
            )
        ax.set_xlabel("simulated time (hours)")
        ax.set_ylabel("messages per minute")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title("CoA timeline")
    return _svg(fig)


PLOTS = {
    "time-to-access-cdf": time_to_access_cdf,
    "devices-by-state": devices_by_state,
    "intune-calls-per-minute": intune_calls_per_minute,
    "coa-timeline": coa_timeline,
}
"""Plot id (the HTML ``figure`` id) → function."""
