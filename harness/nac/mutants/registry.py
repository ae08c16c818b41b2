"""The registry of mutants: name → class, the rule each breaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError


@dataclass(frozen=True)
class Mutant:
    """A registered faulty NAC."""

    name: str
    rule: str
    """The rule it breaks (its scenarios must fail)."""
    cls: type[Any]
    fault: str
    """What it does wrong, in a NAC engineer's words."""


MUTANTS: dict[str, Mutant] = {}


def mutant(name: str, rule: str, fault: str) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: register a mutant under ``name`` as breaking ``rule``."""

    def deco(cls: type[Any]) -> type[Any]:
        if name in MUTANTS:
            raise ValueError(f"mutant {name!r} registered twice")
        if not name.startswith(rule + "-"):
            raise ValueError(f"mutant {name!r} must be named after its rule {rule}")
        MUTANTS[name] = Mutant(name, rule, cls, fault)
        cls.mutant_name = name
        cls.breaks_rule = rule
        return cls

    return deco


def mutant_class(name: str) -> type[Any]:
    """The mutant class registered as ``name`` (ConfigError naming the known ones otherwise)."""
    try:
        return MUTANTS[name].cls
    except KeyError:
        known = ", ".join(sorted(MUTANTS)) or "none"
        raise ConfigError(f"unknown mutant {name!r} (known: {known})", field="adapter.mutant") from None


def mutants_for(rule: str) -> list[Mutant]:
    return [m for m in MUTANTS.values() if m.rule == rule]
