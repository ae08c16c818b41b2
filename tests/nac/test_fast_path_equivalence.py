"""The fast path (mock core + modelled latency) decides exactly as the HTTP path does.

Two identical worlds are seeded from one seed: devices in all four states (compliant, noncompliant,
unknown, unenrolled), identified by certificate (GUID) or MAC, some with randomised MACs. The same
scripted day then runs in both: requests, drift while connected, check-ins, portal visits, the
noncompliant poll. Decisions, redirects, queried ids and CoA messages must match one for one.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy
from mock_world import STATES, MockWorld, guid, make_world, request

from harness.model import Profile
from harness.nac.reference import ReferenceNac

H4 = 4 * 3600.0


def _script(seed: int, devices: int) -> tuple[dict[int, str], list[tuple[float, str, int, bool]]]:
    rng = random.Random(seed)
    states = {n: STATES[(n - 1) % 4] if n <= 8 else rng.choice(STATES) for n in range(1, devices + 1)}
    events: list[tuple[float, str, int, bool]] = []
    for n in states:
        cert = rng.random() < 0.5
        t = rng.uniform(0, 3600)
        events.append((t, "connect", n, cert))
        if rng.random() < 0.3:
            events.append((t + rng.uniform(60, 7200), "drift", n, cert))
        if rng.random() < 0.3:
            events.append((t + rng.uniform(60, 7200), "portal", n, cert))
        events.append((t + rng.uniform(7200, 5 * 3600), "connect", n, cert))
    events.sort()
    return states, events


def _run(
    world: MockWorld,
    nac: ReferenceNac,
    states: dict[int, str],
    events: list[tuple[float, str, int, bool]],
    randomised: set[int],
) -> list[Any]:
    for n, state in states.items():
        world.add(n, state)
    out: list[Any] = []

    def drive() -> Generator[simpy.Event, Any, None]:
        for at, kind, n, cert in events:
            yield world.env.timeout(at - world.env.now)
            device = world.svc.device(guid(n))
            if kind == "connect":
                raw_mac = f"02AA00{n:06X}" if n in randomised else None
                r = nac.decide(request(n, cert=cert, raw_mac=raw_mac, at=world.env.now))
                out.append((round(at, 6), n, cert, r.decision.value, r.redirect_url, r.intune_id))
            elif kind == "drift" and device.managed:
                world.svc.set_posture(guid(n), not device.posture_compliant)
                world.svc.check_in(guid(n))
            elif kind == "portal" and device.managed:
                world.svc.set_posture(guid(n), True)
                world.svc.portal_visit(guid(n))

    world.env.process(drive())
    world.env.run(until=H4 + 3600)
    # CoA times differ by the modelled latency of the poll (the fast path charges 50 ms a call)
    assert all(H4 <= c.at < H4 + 60 for c in world.coas)
    out.extend((c.kind.value, c.session_id) for c in world.coas)
    return out


@pytest.mark.parametrize("profile", list(Profile))
def test_http_and_fast_path_decide_the_same(profile: Profile) -> None:
    states, events = _script(seed=20260105, devices=40)
    randomised = {n for n in states if n % 9 == 0}
    http_world, fast_world = make_world(), make_world()
    http_out = _run(http_world, http_world.nac(profile), states, events, randomised)
    fast_out = _run(fast_world, fast_world.fast_nac(profile), states, events, randomised)
    assert http_out == fast_out
    decisions = {row[3] for row in http_out if len(row) == 6}
    # the script exercised every kind of answer, and the poll sent CoAs
    assert {"allow", "remediate_redirect", "enroll_redirect"} <= decisions
    assert any(row[0] in ("coa", "disconnect") for row in http_out)
