"""The world's seams: any NacUnderTest via ``nac_factory``, CoA routing, a real-time environment."""

from __future__ import annotations

import simpy
import simpy.rt
from sim_rig import scenario

from harness.model import AccessDecision, AccessRequest, CoaKind, CoaMessage, Decision
from harness.nac.base import CoaSink, NacUnderTest
from harness.population import Population
from harness.sim.access import parse_session_id
from harness.sim.runner import build_intune, mock_config
from harness.sim.world import World, run_world


class DenyAll(NacUnderTest):
    """A NAC that never lets anyone in (a broken one): the world must say who earned access anyway."""

    name = "deny-all"

    def __init__(self) -> None:
        self.requests: list[AccessRequest] = []
        self.ended: list[str] = []

    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        self.env = env

    def decide(self, request: AccessRequest) -> AccessDecision:
        self.requests.append(request)
        return AccessDecision(Decision.DENY, reason="no", latency_s=0.5)

    def session_ended(self, session_id: str) -> None:
        self.ended.append(session_id)


def test_a_nac_that_denies_everyone_leaves_compliant_devices_without_earned_access() -> None:
    nac = DenyAll()
    sc = scenario(population={"size": 4}, max_attempts=3)
    r = run_world(sc, nac_factory=lambda env, service, scenario, seed: nac)
    assert r.outcomes == {"deny": 4}
    assert r.left == {"max_attempts": 4}
    assert r.without_access == ["dev-0000000", "dev-0000001", "dev-0000002", "dev-0000003"]
    assert len(nac.requests) == 12 and len(nac.ended) == 12
    req = nac.requests[0]
    # what the NAC sees: the certificate's SAN URI with the Intune id, a RADIUS-style MAC, the AP
    pop = Population(sc.population, sc.seed)
    assert any(pop.intune_id(0) in uri for uri in req.san_uris)
    assert len(req.mac) == 17 and req.mac.count("-") == 5
    assert parse_session_id(req.session_id) == ("s-ap", 0, 1)
    # retries back off: 5 s, then 10 s between attempts (reconnect × 2^attempt)
    times = [r.at for r in nac.requests if r.device == "dev-0000000"]
    assert round(times[1] - times[0], 6) == round(0.02 + 0.5 + 5 + 1.0, 6)
    assert round(times[2] - times[1], 6) == round(0.02 + 0.5 + 10 + 1.0, 6)


class AllowThenCoa(NacUnderTest):
    """Allows everyone, then sends one Disconnect to the first session at t = 9:00."""

    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        self.env, self.sink = env, coa_sink
        self.first: str | None = None
        env.process(self.later())

    def later(self):  # type: ignore[no-untyped-def]
        yield self.env.timeout(9 * 3600 - self.env.now)
        assert self.first is not None
        self.sink(CoaMessage(CoaKind.DISCONNECT, self.first, "", self.env.now, "test"))
        self.sink(CoaMessage(CoaKind.COA, "nowhere/1/1", "", self.env.now, "unknown session"))

    def decide(self, request: AccessRequest) -> AccessDecision:
        self.first = self.first or request.session_id
        return AccessDecision(Decision.ALLOW, latency_s=0.1)


def test_disconnect_reaches_the_ap_and_the_device_reassociates() -> None:
    sc = scenario(population={"size": 2})
    env = simpy.Environment()
    pop = Population(sc.population, sc.seed)
    service = build_intune(env, sc, pop, range(2), fast=False, config=mock_config(sc, 1))
    world = World(env, sc, pop, service, AllowThenCoa())
    world.start()
    env.run(until=10 * 3600)
    steps = [(int(s), o) for s, _, o in world.trace.path(0)]
    assert steps[-5:] == [
        (8, "coa_disconnect"),
        (4, "associated"),
        (5, "allow"),
        (8, "compliant"),
        (9, "connected"),
    ]
    assert world.network.coa_unknown == 1
    ap = world.network.aps[0]
    assert ap.clients == 2 and ap.coa_received == 1


def test_the_world_runs_under_a_realtime_environment() -> None:
    sc = scenario(population={"size": 3}, arrival={"start": 0, "end": 0, "shape": "burst"}, duration=30)
    env = simpy.rt.RealtimeEnvironment(factor=0.001, strict=False)
    r = run_world(sc, env=env)
    assert r.outcomes == {"allow": 3}
    assert env.now == 30
