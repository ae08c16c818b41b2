"""A population's initial Intune records for a whole shard at once, in numpy arrays.

:meth:`harness.population.Population.initial_state` and :meth:`~harness.population.Population.
initial_times` derive one device at a time from the counter-based hash; seeding a million-device
fleet that way is a few seconds of interpreter time. :func:`initial_records` computes the same
values for a strided range of devices with numpy's wrapping ``uint64`` arithmetic (SplitMix64 is
defined modulo 2**64, so the bits are the same) and the same float operations in the same order
(so the times are the same doubles). ``tests/test_population.py`` holds both derivations equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .sim.timing import hash_key

if TYPE_CHECKING:
    from .population import Population

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = 0xC2B2AE3D27D4EB4F
_C3 = np.uint64(0xBF58476D1CE4E5B9)
_C4 = np.uint64(0x94D049BB133111EB)
_M64 = (1 << 64) - 1


def hash64_many(key: int, index: np.ndarray, extra: int = 0) -> np.ndarray:
    """:func:`harness.sim.timing.hash64k` of every index in ``index`` (a ``uint64`` array)."""
    x = index * _C1 + np.uint64((key + extra * _C2 + 0x9E3779B97F4A7C15) & _M64)
    x = (x ^ (x >> np.uint64(30))) * _C3
    x = (x ^ (x >> np.uint64(27))) * _C4
    return x ^ (x >> np.uint64(31))


def _u16(h: np.ndarray, k: int) -> np.ndarray:
    return ((h >> np.uint64(16 * k)) & np.uint64(0xFFFF)).astype(np.int64)


def initial_records(
    population: Population, devices: range, validity_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(initial state codes, enrolled_at, last_sync_at, grace_expires_at)`` for ``devices``.

    Codes are :class:`~harness.population.InitialState` values; times are seconds relative to
    t=0, NaN where :meth:`~harness.population.Population.initial_times` gives None.
    """
    from .population import _S_STATE, _S_TIMES, _STATE_ORDER, InitialState

    with np.errstate(over="ignore"):
        index = np.arange(devices.start, devices.stop, devices.step, dtype=np.uint64)
        h = hash64_many(hash_key(population.seed, _S_STATE), index)
        enrolled_mask = _u16(h, 0) < population._enrolled
        order = np.array([int(s) for s in _STATE_ORDER], dtype=np.int64)
        picked = np.searchsorted(np.array(population._state_cum, dtype=np.int64), _u16(h, 1), side="right")
        codes = np.where(
            enrolled_mask, order[np.minimum(picked, len(order) - 1)], int(InitialState.UNENROLLED)
        )
        t = hash64_many(hash_key(population.seed, _S_TIMES), index)
    u0, u1, u2, u3 = _u16(t, 0), _u16(t, 1), _u16(t, 2), _u16(t, 3)
    enrolled = -86400.0 * (30 + u0 % 700)
    sync = -(u1 / 65536.0) * 16 * 3600
    grace = np.full(len(index), np.nan)
    unknown = codes == int(InitialState.UNKNOWN)
    fresh = -60.0 - (u2 % 600)
    enrolled = np.where(unknown, fresh, enrolled)
    sync = np.where(unknown, fresh, sync)
    stale = codes == int(InitialState.STALE)
    sync = np.where(stale, -86400.0 * (validity_days + 1 + u2 % 30), sync)
    in_grace = codes == int(InitialState.IN_GRACE)
    grace = np.where(in_grace, 8 * 3600 + (u3 / 65536.0) * 8 * 3600, grace)
    none = codes == int(InitialState.UNENROLLED)
    enrolled = np.where(none, np.nan, enrolled)
    sync = np.where(none, np.nan, sync)
    return codes, enrolled.astype(np.float64), sync.astype(np.float64), grace.astype(np.float64)
