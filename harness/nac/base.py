"""The NAC-under-test seam: one interface for every NAC the harness can test, and their registry.

A NAC is asked to ``decide`` access requests and may push :class:`CoaMessage` to the access points
through the sink given to ``start``. In-process NACs run in the SimPy environment's time; wire
adapters (RADIUS, HTTP) run under ``simpy.rt.RealtimeEnvironment``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib import metadata
from typing import Any, ClassVar

import simpy

from ..errors import ConfigError
from ..model import AccessDecision, AccessRequest, CoaMessage

CoaSink = Callable[[CoaMessage], None]


class NacUnderTest(ABC):
    """A NAC the harness drives."""

    name: ClassVar[str] = "nac"

    @abstractmethod
    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        """Begin background work (onboarding, polling) as SimPy processes in ``env``."""

    @abstractmethod
    def decide(self, request: AccessRequest) -> AccessDecision:
        """Decide one access request (steps 5, 6, 8, 9) at ``env.now``."""

    def session_ended(self, session_id: str) -> None:  # noqa: B027 - optional hook
        """The device left (accounting stop); the NAC may forget the session."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Release resources (sockets, processes)."""


_ADAPTERS: dict[str, Callable[..., NacUnderTest]] = {}
ENTRY_POINT_GROUP = "nac_harness.adapters"


def register_adapter(name: str) -> Callable[[Callable[..., NacUnderTest]], Callable[..., NacUnderTest]]:
    """Class decorator: make a NAC adapter selectable by ``name`` (in ``nac.yaml``)."""

    def deco(factory: Callable[..., NacUnderTest]) -> Callable[..., NacUnderTest]:
        _ADAPTERS[name] = factory
        return factory

    return deco


def adapter(name: str) -> Callable[..., NacUnderTest]:
    """Find an adapter by name: registered here or exposed through the entry-point group."""
    if name not in _ADAPTERS:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                _ADAPTERS[name] = ep.load()
    if name not in _ADAPTERS:
        known = ", ".join(sorted(_ADAPTERS)) or "none"
        raise ConfigError(f"unknown NAC adapter {name!r} (known: {known})", field="adapter")
    return _ADAPTERS[name]


def adapters() -> dict[str, Callable[..., Any]]:
    return dict(_ADAPTERS)
