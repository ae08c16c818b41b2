"""When each device first connects: the scenario's arrival window and shape, per device, in order.

Device ``i`` of ``n`` arrives at the ``(i + u_i) / n`` quantile of the arrival distribution (``u_i`` a
uniform draw keyed by the seed and the device), so arrival times increase with the device index: a
single generator walks a shard's devices in order and creates each device's process only when it
arrives (never all up front), and a shard of every k-th device sees arrivals spread over the whole
window. Shapes: ``uniform`` over ``start..end``; ``normal`` around ``peak`` (default mid-window) with
``spread`` (default a sixth of the window), truncated to the window; ``triangular`` rising to
``peak``; ``burst``: everyone at ``start``.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

from ..scenario import ArrivalSpec
from .timing import Dist, DistKind, std_normal_inv_cdf, unit

_S_ARRIVAL = 61
_STD = NormalDist()


def quantile(spec: ArrivalSpec, q: float) -> float:
    """The arrival time (simulated seconds) at quantile ``q`` of ``spec``'s distribution."""
    start, end = spec.start, spec.end
    width = end - start
    if spec.shape == "burst" or width <= 0:
        return start
    if spec.shape == "uniform":
        return start + q * width
    peak = spec.peak if spec.peak is not None else start + width / 2
    if spec.shape == "triangular":
        return Dist(DistKind.TRIANGULAR, start, peak, end).at(q)
    sd = spec.spread if spec.spread else width / 6
    lo, hi = _window(start, end, peak, sd)
    p = min(max(lo + q * (hi - lo), 1e-12), 1 - 1e-12)
    return min(end, max(start, peak + sd * std_normal_inv_cdf(p)))


@functools.lru_cache(maxsize=64)
def _window(start: float, end: float, peak: float, sd: float) -> tuple[float, float]:
    """The standard normal CDF at the window's ends (the same for every device of a scenario)."""
    return _STD.cdf((start - peak) / sd), _STD.cdf((end - peak) / sd)


def arrival_time(spec: ArrivalSpec, seed: int, index: int, size: int) -> float:
    """When population device ``index`` (of ``size``) first connects; non-decreasing in ``index``."""
    return quantile(spec, (index + unit(seed, index, _S_ARRIVAL)) / size)
