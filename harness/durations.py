"""Durations and clock times as people write them in scenario files.

Durations are seconds (a number) or ``"90s"``, ``"15m"``, ``"8h"``, ``"1h30m"``, ``"2d"``, ``"250ms"``;
clock times of the simulated day are ``"HH:MM"`` / ``"HH:MM:SS"`` (hours may pass 23 for later days).
"""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
    r"(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+(?:\.\d+)?)ms)?\s*$"
)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a ``"1h30m"``-style string; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '15m'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str) and value.strip():
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s, ms = (float(g) if g else 0.0 for g in m.groups())
            return d * 86400 + h * 3600 + mi * 60 + s + ms / 1000
    raise ValueError(f"not a duration: {value!r} (use seconds or e.g. '90s', '15m', '8h', '1h30m')")


def parse_clock(value: Any) -> float:
    """Seconds after the epoch from ``"HH:MM[:SS]"`` (hours may exceed 23 for later days) or a duration."""
    if isinstance(value, str):
        m = _CLOCK.match(value.strip())
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0)
            if mi > 59 or s >= 60:
                raise ValueError(f"not a clock time: {value!r}")
            return h * 3600 + mi * 60 + s
    return parse_duration(value)
