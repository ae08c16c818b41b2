"""The world in virtual time: devices walk the nine steps at the simulated times the timings say."""

from __future__ import annotations

import math

import pytest
from sim_rig import build, scenario

from harness.model import Decision, Step
from harness.sim.devices import DeviceState
from harness.sim.world import run_world

T0 = 8 * 3600.0
ASSOC, RTT, INTUNE = 1.0, 0.02, 0.1


def test_compliant_device_reaches_step_9_at_the_expected_time() -> None:
    rig = build(scenario())
    rig.env.run(until=T0 + 60)
    path = rig.path(0)
    assert [(s, o) for s, _, o in path] == [(4, "associated"), (5, "allow"), (9, "connected")]
    assert path[0][1] == pytest.approx(T0 + ASSOC)
    assert path[1][1] == pytest.approx(T0 + ASSOC + RTT + INTUNE)
    assert path[2][1] == pytest.approx(T0 + ASSOC + RTT + INTUNE)
    assert rig.world.table.state[0] == DeviceState.CONNECTED
    assert list(rig.world.result.time_to_access) == [pytest.approx(RTT + INTUNE)]


def test_nac_onboarding_is_recorded_once_as_steps_1_to_3() -> None:
    rig = build(scenario(population={"size": 3}))
    rig.env.run(until=T0 + 60)
    nac = rig.path(-1)
    assert [s for s, _, _ in nac] == [Step.REGISTER_APP, Step.CONFIGURE_DISCOVERY, Step.CERTIFICATE_AUTH]
    assert nac[0][2] == "registered"


def test_noncompliant_device_is_redirected_remediates_reverifies_and_connects() -> None:
    sc = scenario(
        population={
            "compliance": {
                "compliant": 0.0,
                "noncompliant": 1.0,
                "in_grace": 0.0,
                "unknown": 0.0,
                "stale": 0.0,
                "no_policy": 0.0,
            }
        }
    )
    rig = build(sc)
    rig.env.run(until=T0 + 3600)
    assert rig.steps(0) == [
        (4, "associated"),
        (5, "remediate_redirect"),
        (6, "remediate"),
        (7, "portal_visit"),
        (7, "reconnect"),
        (4, "associated"),
        (5, "allow"),
        (8, "compliant"),
        (9, "connected"),
    ]
    t = [at for _, at, _ in rig.path(0)]
    decided = T0 + ASSOC + RTT + INTUNE
    assert t[3] == pytest.approx(decided + 300 + 30)  # remediation, then the portal visit
    assert t[4] == pytest.approx(decided + 300 + 30 + 5)  # reconnect
    assert t[8] == pytest.approx(decided + 335 + ASSOC + RTT + INTUNE)
    assert rig.world.result.remediations == 1
    assert rig.world.ops.earned_access(0)
    # time to access runs from the first connect to step 9
    assert rig.world.result.time_to_access[0] == pytest.approx(t[8] - t[0])


def test_unenrolled_device_enrolls_is_evaluated_and_connects() -> None:
    sc = scenario(population={"enrollment": {"enrolled": 0.0, "unenrolled": 1.0}})
    rig = build(sc)
    assert not rig.world.ops.managed(0)
    rig.env.run(until=T0 + 3600)
    assert rig.steps(0) == [
        (4, "associated"),
        (5, "enroll_redirect"),
        (6, "enroll"),
        (7, "enrolled"),
        (7, "reconnect"),
        (4, "associated"),
        (5, "allow"),
        (8, "compliant"),
        (9, "connected"),
    ]
    t = [at for _, at, _ in rig.path(0)]
    decided = T0 + ASSOC + RTT + INTUNE
    assert t[3] == pytest.approx(decided + 600)  # enrolled after the enrollment duration
    assert t[4] == pytest.approx(decided + 600 + 120 + 5)  # first evaluation, then reconnect
    assert rig.world.ops.managed(0)
    # the device got its Intune certificate at enrollment: the NAC now queries by its Intune id
    assert rig.world.counters["enrollments"] == 1


def test_user_who_declines_enrollment_is_left_without_access_with_the_reason() -> None:
    sc = scenario(
        population={"enrollment": {"enrolled": 0.0, "unenrolled": 1.0}, "declines_enrollment_share": 1.0}
    )
    rig = build(sc)
    rig.env.run(until=sc.duration)
    assert rig.steps(0)[-1] == (9, "no_access")
    assert rig.world.trace.path(0)[-1][0] == Step.CONNECTED
    r = rig.world.finish()
    assert r.traces[-1].detail == "declined_enrollment"
    assert r.left == {"declined_enrollment": 1}
    assert r.outcomes == {"enroll_redirect": 1}
    assert r.without_access == []  # never enrolled: it did not earn access


def test_drift_while_connected_triggers_coa_and_the_device_remediates() -> None:
    sc = scenario(
        drift={"share": 1.0, "fix_share": 1.0},
        duration="24h",
        timings={"drift": 600.0},
    )
    rig = build(sc)
    rig.env.run(until=sc.duration)
    steps = rig.steps(0)
    assert (8, "drift") in steps
    assert (8, "coa_coa") in steps
    after = steps[steps.index((8, "coa_coa")) :]
    assert after[:3] == [(8, "coa_coa"), (5, "remediate_redirect"), (6, "remediate")]
    assert after[-1] == (9, "connected")
    r = rig.world.finish()
    assert sum(r.coas.values()) == 1
    # the CoA came within the NAC's polling interval of Intune learning the device was noncompliant
    drift_at = next(at for s, at, o in rig.path(0) if o == "drift")
    coa_at = next(at for s, at, o in rig.path(0) if o == "coa_coa")
    assert drift_at < coa_at <= drift_at + 8 * 3600 + 4 * 3600 + 60


def test_checkins_follow_intunes_cadence() -> None:
    sc = scenario(population={"enrollment": {"enrolled": 0.0, "unenrolled": 1.0}}, duration="20h")
    rig = build(sc)
    seen: list[float] = []
    original = rig.world.ops.check_in

    def spy(j: int) -> None:
        seen.append(rig.env.now)
        original(j)

    rig.world.ops.check_in = spy  # type: ignore[method-assign]
    rig.env.run(until=sc.duration)
    enrolled = T0 + ASSOC + RTT + INTUNE + 600
    first = enrolled + 120
    assert seen[0] == pytest.approx(first)
    # 15 minutes while within the first hour after enrollment, then 8 hours; a check-in runs on
    # the first whole second at or after it is due
    for a, b in zip(seen, seen[1:], strict=False):
        assert b == math.ceil(a + (900 if a - enrolled < 3600 else 8 * 3600))
    fast = [b - a for a, b in zip(seen, seen[1:], strict=False) if b - a < 1000]
    assert len(fast) == 4
    assert seen[-1] - seen[-2] == 8 * 3600


def test_ap_capacity_sends_devices_to_another_ap() -> None:
    sc = scenario(
        population={"size": 3},
        sites=[
            {"name": "s", "access_points": [{"name": "ap", "count": 2, "capacity": 1, "auth_concurrency": 1}]}
        ],
    )
    rig = build(sc)
    rig.env.run(until=T0 + 3600)
    r = rig.world.finish()
    # two APs with room for one client each: the third device finds both full and gives up
    assert r.outcomes.get("allow") == 2
    assert r.left == {"no_capacity": 1}


def test_association_waits_for_the_aps_own_auth_resource() -> None:
    sc = scenario(
        population={"size": 3},
        sites=[{"name": "s", "access_points": [{"name": "ap", "capacity": 10, "auth_concurrency": 1}]}],
    )
    rig = build(sc)
    rig.env.run(until=T0 + 60)
    connects = sorted(at for i in range(3) for s, at, _ in rig.path(i) if s == Step.CONNECT)
    assert connects == [pytest.approx(T0 + 1), pytest.approx(T0 + 2), pytest.approx(T0 + 3)]


def test_same_seed_gives_the_same_trace_and_counters() -> None:
    sc = scenario(
        population={
            "size": 40,
            "enrollment": {"enrolled": 0.8, "unenrolled": 0.2},
            "compliance": {
                "compliant": 0.7,
                "noncompliant": 0.2,
                "in_grace": 0.0,
                "unknown": 0.1,
                "stale": 0.0,
                "no_policy": 0.0,
            },
            "randomized_mac_share": 0.3,
            "certificate_share": 0.7,
        },
        arrival={"start": "08:00", "end": "09:00", "shape": "normal"},
        timings={
            "association": {"dist": "lognormal", "median": 1, "sigma": 0.5},
            "remediation": {"dist": "exponential", "mean": 300},
        },
        drift={"share": 0.3},
    )
    a, b = run_world(sc), run_world(sc)
    assert a.traces == b.traces
    assert a.counters == b.counters and a.outcomes == b.outcomes and a.decisions == b.decisions
    assert list(a.time_to_access) == list(b.time_to_access)
    c = run_world(sc.model_copy(update={"seed": 6}))
    assert c.traces != a.traces


def test_fast_and_faithful_intune_give_the_same_run() -> None:
    sc = scenario(
        population={
            "size": 60,
            "enrollment": {"enrolled": 0.8, "unenrolled": 0.2},
            "compliance": {
                "compliant": 0.6,
                "noncompliant": 0.2,
                "in_grace": 0.05,
                "unknown": 0.05,
                "stale": 0.05,
                "no_policy": 0.05,
            },
            "randomized_mac_share": 0.3,
            "certificate_share": 0.6,
        },
        arrival={"start": "08:00", "end": "09:00", "shape": "uniform"},
        drift={"share": 0.2},
        duration="24h",
        tenant={"grace_period_hours": 2},
        faults=[
            {"surface": "cr_cisco", "kind": "outage", "start": "08:20", "end": "08:30"},
            {"surface": "cr_cisco", "kind": "errors", "start": "08:40", "end": "09:00", "rate": 0.3},
        ],
        max_attempts=10,
    )
    slow, fast = run_world(sc, fast=False), run_world(sc, fast=True)
    assert fast.decisions.get("mdm_unreachable", 0) > 0
    assert fast.traces == slow.traces
    assert fast.outcomes == slow.outcomes and fast.counters == slow.counters
    assert fast.intune_calls == slow.intune_calls and fast.coas == slow.coas


def test_shards_partition_the_devices_and_merge() -> None:
    sc = scenario(
        population={"size": 30, "enrollment": {"enrolled": 0.8, "unenrolled": 0.2}},
        arrival={"start": "08:00", "end": "09:00", "shape": "uniform"},
    )
    whole = run_world(sc)
    parts = [run_world(sc, shard_index=k, shard_count=3) for k in range(3)]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert merged.devices == whole.devices == 30
    assert merged.outcomes == whole.outcomes
    # every device's walk is the same whichever shard ran it (timings are keyed by device)
    assert merged.paths() == whole.paths()
    assert sorted(merged.time_to_access) == sorted(whole.time_to_access)
    assert merged.decisions.get(Decision.ALLOW.value) == whole.decisions.get(Decision.ALLOW.value)


def test_result_pickles() -> None:
    import pickle

    r = run_world(scenario(population={"size": 5}))
    assert pickle.loads(pickle.dumps(r)).outcomes == r.outcomes


def test_intune_outage_fails_closed_and_devices_get_in_after_it() -> None:
    sc = scenario(
        population={"size": 2},
        faults=[{"surface": "cr_cisco", "kind": "outage", "start": "07:00", "end": "08:10", "status": 503}],
        max_attempts=10,
    )
    rig = build(sc)
    rig.env.run(until=T0 + 3600)
    path = rig.path(0)
    decisions = [(at, o) for s, at, o in path if s == Step.QUERY_INTUNE]
    assert decisions[0][1] == Decision.MDM_UNREACHABLE.value
    assert all(o == "mdm_unreachable" for at, o in decisions if at < T0 + 600)
    assert decisions[-1][1] == "allow" and decisions[-1][0] >= T0 + 600
    r = rig.world.finish()
    assert r.outcomes == {"allow": 2}
    assert sum(r.throttled.values()) >= 2  # the 503s are in the call counts


def test_no_policy_devices_follow_the_tenant_mark() -> None:
    no_policy = {
        "compliant": 0.0,
        "noncompliant": 0.0,
        "in_grace": 0.0,
        "unknown": 0.0,
        "stale": 0.0,
        "no_policy": 1.0,
    }
    ok = build(scenario(population={"compliance": no_policy}, tenant={"no_policy_mark": "compliant"}))
    ok.env.run(until=T0 + 60)
    assert ok.steps(0)[-1] == (9, "connected")
    bad = build(
        scenario(
            population={"compliance": no_policy}, tenant={"no_policy_mark": "noncompliant"}, max_attempts=2
        )
    )
    bad.env.run(until=T0 + 7200)
    r = bad.world.finish()
    assert r.outcomes == {"remediate_redirect": 1} and r.left == {"max_attempts": 1}
    assert r.without_access == []  # Intune says noncompliant: it did not earn access


def test_large_runs_keep_a_sample_of_device_paths_the_same_for_any_shard_count() -> None:
    sc = scenario(
        population={"size": 40},
        arrival={"start": "08:00", "end": "09:00", "shape": "uniform"},
        trace_devices=10,
    )
    whole = run_world(sc)
    traced = {e.device for e in whole.traces} - {"nac"}
    assert traced == {f"dev-{i:07d}" for i in range(0, 40, 4)}
    assert whole.events > len(whole.traces)  # every event is counted, a sample is kept
    halves = run_world(sc, shard_index=0, shard_count=2).merge(run_world(sc, shard_index=1, shard_count=2))
    assert halves.paths() == whole.paths()
