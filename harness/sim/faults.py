"""A scenario's faults, installed in the mock's own fault injection (:mod:`mock_intune.faults`).

The mock injects faults per surface (outage windows, error status and rate, latency); both the HTTP
path and the NAC's fast path feel them (``harness.nac.core_client`` draws them like a request would).
A scenario's faults have time windows of their own, so :func:`fault_schedule` is a SimPy process that
re-installs the mock's fault specs at every window boundary, in virtual time: at each boundary each
surface gets the union of the faults active then (outage, error rate and status, latency), or none.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import simpy

from mock_intune.model import Surface
from mock_intune.service import MockIntune

from ..scenario import DistSpec, FaultSpec
from .timing import DistKind

FOREVER_S = 10 * 365 * 86400.0


def latency_json(spec: DistSpec) -> dict[str, Any]:
    """A scenario latency distribution (seconds) as the mock's latency spec (milliseconds)."""
    d = spec.build()
    if d.kind is DistKind.FIXED:
        return {"dist": "fixed", "ms": d.a * 1000}
    if d.kind is DistKind.UNIFORM:
        return {"dist": "uniform", "low_ms": d.a * 1000, "high_ms": d.b * 1000}
    if d.kind is DistKind.EXPONENTIAL:
        return {"dist": "exponential", "mean_ms": d.a * 1000}
    if d.kind is DistKind.LOGNORMAL:
        return {"dist": "lognormal", "median_ms": d.a * 1000, "sigma": d.b}
    # normal / triangular: the mock has no such latency kind; use its mean as a fixed latency
    return {"dist": "fixed", "ms": d.mean() * 1000}


def active_specs(
    faults: list[FaultSpec], t: float, epoch: datetime, seed: int
) -> dict[Surface, dict[str, Any]]:
    """The mock fault spec of each surface with a fault active at simulated second ``t``."""
    out: dict[Surface, dict[str, Any]] = {}
    for f in faults:
        end = f.end if f.end is not None else FOREVER_S
        if not f.start <= t < end:
            continue
        spec = out.setdefault(f.surface, {"seed": seed})
        if f.kind == "outage":
            spec.setdefault("outages", []).append(
                {
                    "start": (epoch + timedelta(seconds=f.start)).isoformat(),
                    "end": (epoch + timedelta(seconds=end)).isoformat(),
                }
            )
            spec["outage_status"] = f.status
        elif f.kind == "errors":
            spec["error_rate"] = f.rate
            spec["error_status"] = f.status
        elif f.latency is not None:
            spec["latency"] = latency_json(f.latency)
    return out


def install(service: MockIntune, faults: list[FaultSpec], t: float, epoch: datetime, seed: int) -> None:
    """Set every faulted surface's spec for time ``t`` (clearing surfaces with nothing active)."""
    from mock_intune.faults import set_fault

    specs = active_specs(faults, t, epoch, seed)
    for surface in {f.surface for f in faults}:
        set_fault(service, surface, specs.get(surface))


def fault_schedule(
    env: simpy.Environment, service: MockIntune, faults: list[FaultSpec], epoch: datetime, seed: int
) -> Generator[simpy.Event, Any, None]:
    """Re-install the mock's faults at each window boundary of ``faults``."""
    bounds = sorted({f.start for f in faults} | {f.end for f in faults if f.end is not None})
    install(service, faults, float(env.now), epoch, seed)
    for b in bounds:
        if b <= env.now:
            continue
        yield env.timeout(b - env.now)
        install(service, faults, b, epoch, seed)
