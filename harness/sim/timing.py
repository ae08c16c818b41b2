"""Timing distributions of a scenario, sampled reproducibly.

A distribution turns a uniform number ``u`` in (0, 1) into a duration in seconds by its inverse
CDF (:meth:`Dist.at`). Where ``u`` comes from decides reproducibility: the simulation draws it from
a counter-based hash of ``(seed, device, purpose, attempt)`` (:func:`unit`), so a device's timings do
not depend on the order in which SimPy happens to run other devices, nor on how the population is
sharded over workers. :meth:`Dist.sample` takes a ``random.Random`` for callers that prefer one.

Kinds: ``fixed`` (value), ``uniform`` (low, high), ``exponential`` (mean), ``normal`` (mean, sd;
truncated at ``min``, default 0), ``lognormal`` (median, sigma), ``triangular`` (low, mode, high).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

_M64 = (1 << 64) - 1
_STD = NormalDist()


def _std_inv_cdf() -> Callable[[float], float]:
    """``NormalDist().inv_cdf`` without its per-call argument checks (every caller here passes
    0 < p < 1): the standard library's own routine behind it, where this Python has one."""
    routine = getattr(statistics, "_normal_dist_inv_cdf", None)
    if routine is None:
        return _STD.inv_cdf
    return lambda p: float(routine(p, 0.0, 1.0))


std_normal_inv_cdf = _std_inv_cdf()
"""The standard normal quantile function, bit for bit ``NormalDist().inv_cdf``."""


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


_KEYS: dict[int, int] = {}


def _key(seed: int, salt: int) -> int:
    if len(_KEYS) > 4096:
        _KEYS.clear()
    k = _KEYS[(seed << 12) ^ salt] = mix64(mix64(seed & _M64) ^ (salt * 0xD1B54A32D192ED03 & _M64))
    return k


def hash64(seed: int, index: int, salt: int, extra: int = 0) -> int:
    """A 64-bit value determined by ``(seed, index, salt, extra)`` alone (one SplitMix64 step)."""
    return hash64k(_KEYS.get((seed << 12) ^ salt) or _key(seed, salt), index, extra)


def hash_key(seed: int, salt: int) -> int:
    """The key :func:`hash64` derives from ``(seed, salt)``, for :func:`hash64k` (hoisted out of loops)."""
    return _key(seed, salt)


def hash64k(key: int, index: int, extra: int = 0) -> int:
    """``hash64(seed, index, salt, extra)`` for ``key = hash_key(seed, salt)``."""
    x = (key + index * 0x9E3779B97F4A7C15 + extra * 0xC2B2AE3D27D4EB4F + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def unit_k(key: int, index: int, extra: int = 0) -> float:
    """``unit(seed, index, salt, extra)`` for ``key = hash_key(seed, salt)``."""
    return ((hash64k(key, index, extra) >> 11) + 0.5) * (1.0 / (1 << 53))


def unit(seed: int, index: int, salt: int, extra: int = 0) -> float:
    """A uniform number in the open interval (0, 1) determined by its arguments."""
    return ((hash64(seed, index, salt, extra) >> 11) + 0.5) * (1.0 / (1 << 53))


class DistKind(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"
    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    TRIANGULAR = "triangular"


@dataclass(frozen=True, slots=True)
class Dist:
    """One timing distribution over seconds; ``a``, ``b``, ``c`` mean what ``kind`` says.

    fixed: a=value · uniform: a=low b=high · exponential: a=mean · normal: a=mean b=sd c=min ·
    lognormal: a=median b=sigma · triangular: a=low b=mode c=high.
    """

    kind: DistKind
    a: float
    b: float = 0.0
    c: float = 0.0

    @staticmethod
    def fixed(value: float) -> Dist:
        return Dist(DistKind.FIXED, float(value))

    def at(self, u: float) -> float:
        """The value at quantile ``u`` (0 < u < 1): inverse-CDF sampling."""
        kind = self.kind
        if kind is DistKind.FIXED:
            return self.a
        if kind is DistKind.UNIFORM:
            return self.a + (self.b - self.a) * u
        if kind is DistKind.EXPONENTIAL:
            return -self.a * math.log1p(-u)
        if kind is DistKind.NORMAL:
            return max(self.c, self.a + self.b * std_normal_inv_cdf(u))
        if kind is DistKind.LOGNORMAL:
            return self.a * math.exp(self.b * std_normal_inv_cdf(u))
        # triangular
        low, mode, high = self.a, self.b, self.c
        if high <= low:
            return low
        split = (mode - low) / (high - low)
        if u < split:
            return low + math.sqrt(u * (high - low) * (mode - low))
        return high - math.sqrt((1.0 - u) * (high - low) * (high - mode))

    def sample(self, rng: random.Random) -> float:
        """One draw using ``rng``."""
        u = rng.random()
        return self.at(u if u > 0.0 else 0.5 / (1 << 53))

    def mean(self) -> float:
        """The distribution's mean (of the untruncated form for ``normal``)."""
        kind = self.kind
        if kind in (DistKind.FIXED, DistKind.EXPONENTIAL, DistKind.NORMAL):
            return self.a
        if kind is DistKind.UNIFORM:
            return (self.a + self.b) / 2
        if kind is DistKind.LOGNORMAL:
            return self.a * math.exp(self.b * self.b / 2)
        return (self.a + self.b + self.c) / 3


class Timing(StrEnum):
    """The timed activities of the nine-step flow a scenario gives a distribution for."""

    ASSOCIATION = "association"
    RADIUS_RTT = "radius_rtt"
    NAC_PROCESSING = "nac_processing"
    INTUNE_LATENCY = "intune_latency"
    ENROLLMENT = "enrollment"
    FIRST_EVALUATION = "first_evaluation"
    REMEDIATION = "remediation"
    PORTAL_VISIT = "portal_visit"
    RECONNECT = "reconnect"
    DRIFT = "drift"
    SESSION = "session"


_SALTS = {t: 1000 + i for i, t in enumerate(Timing)}


class Timings:
    """A scenario's timing distributions, drawn reproducibly per device and attempt.

    ``draw(Timing.ENROLLMENT, device_index, attempt)`` is the same number in every run with the same
    seed, whatever else happens in the simulation.
    """

    __slots__ = ("_by", "seed")

    def __init__(self, seed: int, dists: Mapping[Timing, Dist]) -> None:
        self.seed = seed
        # each timing's hash key, derived once: draw() is unit() with hash64's key lookup hoisted
        self._by = {t: (dists[t], _key(seed, _SALTS[t])) for t in dists}

    def dist(self, which: Timing) -> Dist:
        return self._by[which][0]

    def draw(self, which: Timing, device: int, attempt: int = 0) -> float:
        """``dist.at(unit(seed, device, salt, attempt))``, inlined (it runs several times a device)."""
        dist, key = self._by[which]
        if dist.kind is DistKind.FIXED:
            return dist.a
        x = (key + device * 0x9E3779B97F4A7C15 + attempt * 0xC2B2AE3D27D4EB4F + 0x9E3779B97F4A7C15) & _M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        return dist.at((((x ^ (x >> 31)) >> 11) + 0.5) * (1.0 / (1 << 53)))
