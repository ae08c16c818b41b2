"""Timing distributions, hashed draws, arrivals, and the check-in agenda."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Generator
from datetime import UTC, datetime, timedelta

import pytest
import simpy

from harness.scenario import ArrivalSpec
from harness.sim.arrivals import arrival_time, quantile
from harness.sim.checkins import Agenda, Chore, next_checkin_s
from harness.sim.timing import Dist, DistKind, Timing, Timings, unit
from mock_intune import compliance
from mock_intune.model import Device


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        (Dist(DistKind.FIXED, 3.0), 3.0),
        (Dist(DistKind.UNIFORM, 2.0, 6.0), 4.0),
        (Dist(DistKind.EXPONENTIAL, 5.0), 5.0),
        (Dist(DistKind.NORMAL, 10.0, 2.0), 10.0),
        (Dist(DistKind.LOGNORMAL, 1.0, 0.5), math.exp(0.125)),
        (Dist(DistKind.TRIANGULAR, 0.0, 1.0, 5.0), 2.0),
    ],
)
def test_inverse_cdf_sampling_has_the_declared_mean(dist: Dist, mean: float) -> None:
    rng = random.Random(1)
    draws = [dist.sample(rng) for _ in range(20_000)]
    assert statistics.fmean(draws) == pytest.approx(mean, rel=0.03)
    assert dist.mean() == pytest.approx(mean)
    assert min(draws) >= 0


def test_quantiles_are_monotone_and_bounded() -> None:
    tri = Dist(DistKind.TRIANGULAR, 1.0, 2.0, 4.0)
    qs = [tri.at(q / 100) for q in range(1, 100)]
    assert qs == sorted(qs) and qs[0] >= 1.0 and qs[-1] <= 4.0
    assert Dist(DistKind.NORMAL, 1.0, 5.0, 0.0).at(0.001) == 0.0  # truncated at min


def test_hashed_draws_depend_only_on_their_key() -> None:
    assert unit(1, 2, 3) == unit(1, 2, 3)
    assert unit(1, 2, 3) != unit(1, 3, 3) != unit(2, 2, 3)
    us = [unit(7, i, 1) for i in range(50_000)]
    assert min(us) > 0 and max(us) < 1
    assert statistics.fmean(us) == pytest.approx(0.5, abs=0.01)
    t = Timings(7, {Timing.REMEDIATION: Dist(DistKind.EXPONENTIAL, 100.0)})
    assert t.draw(Timing.REMEDIATION, 5, 0) == t.draw(Timing.REMEDIATION, 5, 0)
    assert t.draw(Timing.REMEDIATION, 5, 0) != t.draw(Timing.REMEDIATION, 5, 1)


def test_arrivals_increase_with_the_index_and_fill_the_window() -> None:
    for shape in ("uniform", "normal", "triangular"):
        spec = ArrivalSpec(start=8 * 3600, end=10 * 3600, shape=shape)
        times = [arrival_time(spec, 3, i, 1000) for i in range(1000)]
        assert times == sorted(times)
        assert times[0] >= 8 * 3600 and times[-1] <= 10 * 3600
    normal = ArrivalSpec(start=0, end=6000, shape="normal", peak=3000, spread=600)
    assert quantile(normal, 0.5) == pytest.approx(3000)
    assert quantile(ArrivalSpec(start=5, end=100, shape="burst"), 0.7) == 5


def test_next_checkin_matches_the_mocks_rule() -> None:
    epoch = datetime(2026, 1, 5, tzinfo=UTC)
    for enrolled_s, now_s in ((0.0, 10.0), (0.0, 3599.0), (0.0, 3600.0), (100.0, 50_000.0)):
        d = Device(intune_id="x", azure_ad_device_id="y", enrolled_at=epoch + timedelta(seconds=enrolled_s))
        expected = compliance.next_checkin(d, epoch + timedelta(seconds=now_s))
        assert next_checkin_s(enrolled_s, now_s) == (expected - epoch).total_seconds()
    assert next_checkin_s(None, 10.0) == 10.0 + 8 * 3600


def test_agenda_runs_chores_on_the_whole_second_and_wakes_for_earlier_ones() -> None:
    env = simpy.Environment()
    ran: list[tuple[float, int, Chore]] = []
    agenda = Agenda(env, lambda slot, chore: ran.append((env.now, slot, chore)))
    agenda.schedule(100.2, 1, Chore.CHECKIN)

    def later() -> Generator[simpy.Event, None, None]:
        yield env.timeout(10)
        agenda.schedule(50.0, 2, Chore.DRIFT)  # earlier than what the agenda sleeps towards

    env.process(later())
    env.run(until=200)
    assert ran == [(50, 2, Chore.DRIFT), (101, 1, Chore.CHECKIN)]
    assert agenda.pending == 0 and agenda.done == 2


def test_the_standard_normal_quantile_is_the_standard_librarys_bit_for_bit() -> None:
    import random
    from statistics import NormalDist

    from harness.sim.timing import std_normal_inv_cdf

    rng = random.Random(7)
    for u in [1e-12, 0.02425, 0.5, 0.97575, 1 - 1e-12] + [rng.random() or 0.5 for _ in range(20000)]:
        assert std_normal_inv_cdf(u) == NormalDist().inv_cdf(u)
