"""The reference NAC's lean decision path decides exactly as its full path does.

Each shipped scenario (resized where large) runs twice on the load fleet: once with the lean path
(:mod:`harness.nac.lean_path`), once with every request going through ``decide(AccessRequest)``.
Every aggregate, counter and trace event must be equal — across the four wire profiles (Graph takes
the full path throughout), both identity sources, randomised MACs, faults and outages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from harness.model import AccessDecision, AccessRequest, Decision, IdentitySource, Profile
from harness.nac.lean_path import lean_decider
from harness.nac.mutants import mutant_class
from harness.nac.reference import ReferenceNac
from harness.scenario import Scenario, load_scenario
from harness.sim.runner import build_intune, run_world

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIOS = ROOT / "scenarios"


def _scenario(name: str, n: int = 1500, **nac: Any) -> Scenario:
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    if sc.population.size > n:
        sc = sc.resized(n)
    if nac:
        sc = sc.model_copy(update={"nac": sc.nac.model_copy(update=nac)})
    return sc


def _both(sc: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    lean = run_world(sc, fast=True, trace=True, lean=True)
    full = run_world(sc, fast=True, trace=True, lean=False)
    return dataclasses.asdict(lean), dataclasses.asdict(full)


@pytest.mark.parametrize(
    "name", ["small-office", "byod-onboarding", "campus-morning", "intune-outage", "compliance-drift"]
)
def test_lean_and_full_paths_give_the_same_run(name: str) -> None:
    lean, full = _both(_scenario(name))
    assert lean["decisions"] and lean["traces"]
    for key in full:
        assert lean[key] == full[key], key


@pytest.mark.parametrize(
    ("profile", "identity"),
    [
        (Profile.LEGACY_CISCO, IdentitySource.MAC),
        (Profile.LEGACY_JSON, IdentitySource.MAC),
        (Profile.CR_CISCO, IdentitySource.MAC),
        (Profile.GRAPH, IdentitySource.CERTIFICATE),
    ],
)
def test_lean_and_full_paths_agree_on_every_profile(profile: Profile, identity: IdentitySource) -> None:
    lean, full = _both(_scenario("compliance-drift", 800, profile=profile, identity=identity))
    for key in full:
        assert lean[key] == full[key], key


def test_the_lean_path_is_used_where_it_qualifies() -> None:
    sc = _scenario("small-office")
    import simpy

    from harness.population import Population
    from harness.sim.nac_setup import build_nac

    env = simpy.Environment()
    population = Population(sc.population, sc.seed)
    service = build_intune(env, sc, population, range(population.size), fast=True)
    nac = build_nac(env, service, sc, 1)
    assert isinstance(nac, ReferenceNac)
    assert lean_decider(nac) is not None
    # a mutant overrides one rule method: it never gets a lean path
    mutant = mutant_class("RES-01-fail-open")
    assert issubclass(mutant, ReferenceNac)
    assert lean_decider(mutant.fast(service, nac.config)) is None  # type: ignore[attr-defined]
    # the HTTP client (not the fast path) never does either
    assert lean_decider(ReferenceNac(nac.config)) is None


class _Recording(ReferenceNac):
    """The reference NAC with ``decide`` wrapped: counts the full-path decisions."""

    full_decisions = 0

    def decide(self, request: AccessRequest) -> AccessDecision:
        type(self).full_decisions += 1
        return super().decide(request)


def test_a_subclass_that_overrides_decide_sees_every_request() -> None:
    sc = _scenario("small-office")
    _Recording.full_decisions = 0

    def factory(env: Any, service: Any, scenario: Scenario, seed: int) -> ReferenceNac:
        from harness.sim.nac_setup import build_nac

        base = build_nac(env, service, scenario, seed)
        assert isinstance(base, ReferenceNac)
        return _Recording.fast(service, base.config, latency=base.client.latency)  # type: ignore[attr-defined]

    r = run_world(sc, fast=True, nac_factory=factory)
    assert _Recording.full_decisions == sum(r.decisions.values()) > 0
    assert Decision.ALLOW.value in r.decisions


def test_most_decisions_of_a_load_run_take_the_lean_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.nac.lean_path import LeanDecider

    answered: list[bool] = []
    original = LeanDecider.decide

    def counting(self: LeanDecider, session_id: str, mac: int, guid: str | None) -> Any:
        out = original(self, session_id, mac, guid)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(LeanDecider, "decide", counting)
    r = run_world(_scenario("campus-morning"), fast=True, lean=True)
    assert len(answered) == sum(r.decisions.values())
    assert sum(answered) > 0.9 * len(answered)  # randomised MACs without a certificate go the full way


def _started_world(sc: Scenario, lean: bool) -> Any:
    import simpy

    from harness.population import Population
    from harness.sim.nac_setup import build_nac
    from harness.sim.world import World

    env = simpy.Environment()
    population = Population(sc.population, sc.seed)
    service = build_intune(env, sc, population, range(population.size), fast=True)
    nac = build_nac(env, service, sc, 7)
    world = World(env, sc, population, service, nac, lean=lean)
    world.nac.start(env, world.network.coa)
    return world


def test_a_lean_cached_decision_reads_back_as_the_full_path_would_have_cached_it() -> None:
    from harness.population import SanForm
    from harness.sim.devices import F_CERT

    sc = _scenario("small-office")
    lean_world, full_world = _started_world(sc, True), _started_world(sc, False)
    assert lean_world.lean is not None and full_world.lean is None
    checked = 0
    for j in range(lean_world.slots):
        has_cert = j % 2 and lean_world.population.cert_form(j)[0] is not SanForm.NONE
        for w in (lean_world, full_world):
            w.table.flags[j] = F_CERT if has_cert else 0  # some by certificate, the others by MAC
        ap = lean_world.network.aps[lean_world.network.home(j)]
        lean = lean_world.decide_at(j, ap, f"{ap.name}/{j}/1")
        full = full_world.decide_at(j, ap, f"{ap.name}/{j}/1")
        assert lean == full
        if lean[0] is Decision.ALLOW:
            request = full_world.access_request(j, ap, f"{ap.name}/{j}/1")
            identity = full_world.nac.identity_from_request(request)
            now = full_world.env.now
            assert lean_world.nac.cache_get(identity, now) == full_world.nac.cache_get(identity, now)
            assert lean_world.nac.sessions.get(request.session_id) == full_world.nac.sessions.get(
                request.session_id
            )
            checked += 1
    assert checked > 10
