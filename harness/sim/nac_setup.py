"""Build the scenario's NAC under test for a world: the adapter named in ``nac.adapter``.

``reference`` is the reference NAC (:mod:`harness.nac.reference`) on the fast path (the mock core
with the scenario's ``intune_latency`` and ``nac_processing``), configured from the scenario's NAC
profile (profile, identity source, polling interval, cache TTL, decision budget; ``options`` are
passed through to :class:`~harness.nac.reference_config.ReferenceNacConfig`). The scenario's faults
are installed in the mock by the world (:mod:`harness.sim.faults`). Any other name is looked up in the
adapter registry (:func:`harness.nac.base.adapter`) and built with ``options``.
"""

from __future__ import annotations

import random
from typing import Any

import simpy

from mock_intune.service import MockIntune

from ..errors import ConfigError, ScenarioError
from ..model import IdentitySource
from ..nac.base import NacUnderTest, adapter
from ..scenario import Scenario
from .timing import Dist


class DistLatency:
    """Intune's answer time per call: a scenario distribution drawn from a seeded stream."""

    def __init__(self, dist: Dist, seed: int) -> None:
        self.dist = dist
        self.rng = random.Random(seed)

    def sample(self) -> float:
        return self.dist.sample(self.rng)


def reference_settings(scenario: Scenario, service: MockIntune) -> dict[str, Any]:
    """The reference NAC's settings from the scenario's NAC profile."""
    spec = scenario.nac
    sources = (
        (IdentitySource.CERTIFICATE, IdentitySource.MAC)
        if spec.identity is IdentitySource.CERTIFICATE
        else (IdentitySource.MAC,)
    )
    values: dict[str, Any] = {
        "profile": spec.profile,
        "tenant_id": service.config.tenant_id,
        "client_id": service.config.client_id,
        "client_secret": service.config.client_secret,
        "identity_sources": sources,
        "polling_interval_s": spec.polling_interval,
        "cache_ttl_s": spec.cache_ttl,
        "decision_budget_s": spec.decision_budget,
        "processing_s": scenario.timings.nac_processing.build().mean(),
        "epoch": scenario.epoch,
    }
    values.update(spec.options)
    return values


def build_nac(
    env: simpy.Environment, service: MockIntune, scenario: Scenario, shard_seed: int
) -> NacUnderTest:
    """The NAC the scenario names, ready for ``World.start`` to start."""
    spec = scenario.nac
    if spec.adapter == "reference":
        from ..nac.reference import ReferenceNac
        from ..nac.reference_config import ReferenceNacConfig

        try:
            config = ReferenceNacConfig.from_mapping(reference_settings(scenario, service))
            latency = DistLatency(scenario.timings.intune_latency.build(), shard_seed)
            nac = ReferenceNac.fast(service, config, latency=latency)
        except ConfigError as exc:
            raise ScenarioError(
                exc.message, field=f"nac.options.{exc.field}" if exc.field else "nac"
            ) from None
        return nac
    try:
        factory = adapter(spec.adapter)
    except ConfigError as exc:
        raise ScenarioError(exc.message, field="nac.adapter") from None
    return factory(**spec.options)
