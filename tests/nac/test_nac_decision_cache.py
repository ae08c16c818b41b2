"""RED-02/03: the decision cache holds allowed answers only, for its lifetime, and forgets the expired."""

from __future__ import annotations

from harness.model import AccessDecision, Decision
from harness.nac.decision_cache import DecisionCache

ALLOW = AccessDecision(Decision.ALLOW)


def test_only_allow_is_cached() -> None:
    cache = DecisionCache(60)
    for d in Decision:
        assert cache.put(d.value, AccessDecision(d), 0.0) is (d is Decision.ALLOW)
    assert len(cache) == 1


def test_lifetime_and_forget() -> None:
    cache = DecisionCache(60)
    cache.put("a", ALLOW, 0.0)
    assert cache.get("a", 59.9) is ALLOW
    assert cache.get("a", 60.0) is None
    cache.put("b", ALLOW, 0.0)
    assert cache.forget(["b", "zzz"]) == 1


def test_expired_entries_are_purged_as_time_passes() -> None:
    cache = DecisionCache(60)
    for i in range(1000):
        cache.put(f"k{i}", ALLOW, float(i))  # one new device a second
    assert len(cache) <= 121  # never more than two lifetimes' worth, however long the run


def test_zero_ttl_caches_nothing() -> None:
    cache = DecisionCache(0)
    assert cache.put("a", ALLOW, 0.0) is False and cache.get("a", 0.0) is None
