"""Golden pins: a seed's population and a seeded run's trace do not drift unnoticed.

If a deliberate change to population derivation, timing draws or the world's flow moves these, update
the pins in the same commit and say why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.model import AccessDecision, AccessRequest, Decision
from harness.nac.base import CoaSink, NacUnderTest
from harness.population import InitialState, Population, SanForm
from harness.scenario import PopulationSpec, load_scenario
from harness.sim.world import run_world
from mock_intune.model import OperatingSystem

ROOT = Path(__file__).resolve().parent.parent.parent


def test_population_golden() -> None:
    d = Population(PopulationSpec(size=1000), 2026)[7]
    assert d.intune_id == "0368c58d-b29b-4dab-a9b3-4aeb1c5b0afb"
    assert d.entra_id == "e16eefdf-0009-40d3-809e-92e04a311389"
    assert d.wifi_mac == "3482C5464298"  # Samsung's 34:82:C5
    assert (d.os, d.model, d.randomized_mac) == (OperatingSystem.ANDROID, "SM-S921B", None)
    assert d.user_principal_name == "savannah.robinson@contoso.com"
    assert (d.san_form, d.initial) == (SanForm.INTUNE_DEVICE_ID, InitialState.COMPLIANT)


class AllowAll(NacUnderTest):
    def start(self, env: object, coa_sink: CoaSink) -> None:  # type: ignore[override]
        pass

    def decide(self, request: AccessRequest) -> AccessDecision:
        return AccessDecision(Decision.ALLOW, latency_s=0.05)


def test_small_office_world_golden() -> None:
    sc = load_scenario(ROOT / "scenarios" / "small-office.yaml")
    r = run_world(sc, nac_factory=lambda *a: AllowAll())
    text = "\n".join(f"{e.device},{int(e.step)},{e.at:.6f},{e.outcome},{e.detail}" for e in r.traces)
    assert (len(r.traces), r.counters) == (153, {"arrived": 50, "checkins": 47, "connected": 50})
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "637839b77344b84d7bda3d24da97c5c3b597a17ba68aa0d6913450f66a9e3fe0"
    )
