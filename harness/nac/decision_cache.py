"""The reference NAC's decision cache: positive answers only, for a declared lifetime.

RED-02 / RED-03: a device that was redirected (noncompliant, unenrolled, unknown) must get a fresh
answer on its next attempt, so only "allow" is ever cached; STA-03 invalidates an entry when the
noncompliant list names the device.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..model import AccessDecision, Decision


class DeferredDecision:
    """An allowed decision cached in parts (by the lean path, :mod:`harness.nac.lean_path`).

    The parts are what a cache hit answers with; the full :class:`AccessDecision` (its attributes)
    is ``build(*args)``, called the first time a full-path reader asks :meth:`DecisionCache.get`.
    """

    __slots__ = ("args", "build", "decision", "reason", "redirect_url")

    def __init__(
        self,
        decision: Decision,
        reason: str,
        redirect_url: str | None,
        build: Callable[..., AccessDecision],
        args: tuple[Any, ...],
    ) -> None:
        self.decision = decision
        self.reason = reason
        self.redirect_url = redirect_url
        self.build = build
        self.args = args


class DecisionCache:
    """``key -> (expires_at, decision)`` for allowed devices; time is the caller's (``env.now``)."""

    def __init__(self, ttl_s: float) -> None:
        if ttl_s < 0:
            raise ValueError("cache ttl must be >= 0")
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, AccessDecision | DeferredDecision]] = {}
        self._expiry: deque[tuple[float, str]] = deque()
        self.hits = 0
        self._next_purge = 0.0

    def get(self, key: str, now: float) -> AccessDecision | None:
        found = self.peek(key, now)
        if isinstance(found, DeferredDecision):
            built = found.build(*found.args)
            self._entries[key] = (self._entries[key][0], built)
            return built
        return found

    def peek(self, key: str, now: float) -> AccessDecision | DeferredDecision | None:
        """As :meth:`get` (a hit is counted, an expired entry dropped), without building a deferred one."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, decision = entry
        if now >= expires_at:
            del self._entries[key]
            return None
        self.hits += 1
        return decision

    def put(self, key: str, decision: AccessDecision | DeferredDecision, now: float) -> bool:
        """Cache ``decision`` if it grants access and the lifetime is positive; True if cached."""
        verdict = decision.decision
        if self.ttl_s <= 0 or not verdict.grants_access:
            self._entries.pop(key, None)
            return False
        expires_at = now + self.ttl_s
        self._entries[key] = (expires_at, decision)
        self._expiry.append((expires_at, key))
        if now >= self._next_purge:
            self.purge(now)
        return True

    def purge(self, now: float) -> int:
        """Drop expired entries (run at most once per lifetime, so memory tracks the live set).

        Every entry has the same lifetime, so the queue of ``(expiry, key)`` in put order is in expiry
        order: a purge reads only what has expired (an entry put again since keeps its later expiry).
        """
        entries, queue = self._entries, self._expiry
        dropped = 0
        while queue and queue[0][0] <= now:
            _, key = queue.popleft()
            entry = entries.get(key)
            if entry is not None and entry[0] <= now:
                del entries[key]
                dropped += 1
        self._next_purge = now + self.ttl_s
        return dropped

    def forget(self, keys: Iterable[str]) -> int:
        """Drop entries for ``keys``; returns how many were present."""
        return sum(self._entries.pop(k, None) is not None for k in keys)

    def __len__(self) -> int:
        return len(self._entries)
