"""Waivers: a vendor's declared, reasoned, time-limited exceptions to the certification.

A waiver names a rule (``rule: RES-03``) or a scenario (``scenario: <its name>``), gives a reason
and optionally an expiry date. A failing scenario it covers is reported WAIVED instead of FAILED.
A waiver must earn its place: one that covers a scenario that passes (stale), or that matches
nothing that ran, is reported and fails the run, so waivers cannot silently outlive their cause.
An expired waiver covers nothing and is reported. Harness errors are never waivable.

File format::

    waivers:
      - rule: RES-03
        reason: "Retry-After honoured from firmware 9.2 (ticket NAC-1234)"
        expires: 2027-03-31
      - scenario: "A device in its grace period keeps access"
        reason: "Grace period not supported on the legacy API"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError
from .rules import RULES
from .yaml_source import validate_yaml


class WaiverError(ConfigError):
    """A waivers file is invalid (file, field, line)."""


class Waiver(BaseModel):
    """One waiver: a rule ID or a scenario name, with a reason and an optional expiry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str | None = None
    scenario: str | None = None
    reason: str = Field(min_length=1)
    expires: dt.date | None = None

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        rule_id = value.strip().lstrip("@").upper()
        if rule_id not in RULES:
            raise ValueError(f"unknown rule {value!r} (known: {', '.join(RULES)})")
        return rule_id

    @model_validator(mode="after")
    def _one_key(self) -> Waiver:
        if (self.rule is None) == (self.scenario is None):
            raise ValueError("a waiver names exactly one of 'rule' or 'scenario'")
        return self

    @property
    def key(self) -> str:
        """What the waiver is keyed by, for messages: ``rule RES-03`` / ``scenario '…'``."""
        return f"rule {self.rule}" if self.rule else f"scenario {self.scenario!r}"

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, scenario_names: Sequence[str], rule_ids: set[str] | frozenset[str]) -> bool:
        """True when this waiver is about a scenario with one of these names and these rule tags.

        A scenario has its name in the feature file and the name of one run (with the profile it ran
        under, ``… [graph]``): a waiver may name either.
        """
        if self.rule is not None:
            return self.rule in rule_ids
        return self.scenario in scenario_names


class WaiverFile(BaseModel):
    """The whole waivers file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = Field(default_factory=list)


class WaiverProblemKind(StrEnum):
    """Why a waiver fails the run (or is merely reported)."""

    STALE = "stale"
    """It covers a scenario that passes: the NAC was fixed, remove the waiver."""
    UNMATCHED = "unmatched"
    """It matches no scenario that ran: a typo, a renamed scenario, or a rule not applicable."""
    EXPIRED = "expired"
    """Its expiry date has passed; it covers nothing any more."""


@dataclass(frozen=True, slots=True)
class WaiverProblem:
    """A waiver the report must show; every kind fails the run."""

    kind: WaiverProblemKind
    waiver: Waiver
    message: str

    def to_json(self) -> dict[str, object]:
        return {"kind": str(self.kind), "waiver": self.waiver.key, "message": self.message}


@dataclass
class WaiverBook:
    """The waivers of one run, and what each one matched."""

    waivers: list[Waiver]
    source: str = ""
    today: dt.date = field(default_factory=dt.date.today)
    _matched: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)

    def covering(
        self,
        scenario_name: str,
        rule_ids: set[str] | frozenset[str],
        *,
        failed: bool,
        base_name: str = "",
    ) -> Waiver | None:
        """The first live waiver matching a scenario that ran; record the match and its outcome."""
        chosen: Waiver | None = None
        names = [scenario_name, base_name] if base_name else [scenario_name]
        for i, waiver in enumerate(self.waivers):
            if waiver.matches(names, rule_ids):
                self._matched.setdefault(i, []).append((scenario_name, failed))
                if chosen is None and not waiver.expired(self.today):
                    chosen = waiver
        return chosen

    def problems(self) -> list[WaiverProblem]:
        """Stale, unmatched and expired waivers, after every scenario went through :meth:`covering`."""
        out: list[WaiverProblem] = []
        for i, waiver in enumerate(self.waivers):
            matches = self._matched.get(i, [])
            if waiver.expired(self.today):
                out.append(
                    WaiverProblem(
                        WaiverProblemKind.EXPIRED,
                        waiver,
                        f"waiver for {waiver.key} expired on {waiver.expires}; it covers nothing",
                    )
                )
            elif not matches:
                out.append(
                    WaiverProblem(
                        WaiverProblemKind.UNMATCHED,
                        waiver,
                        f"waiver for {waiver.key} matches no scenario that ran",
                    )
                )
            else:
                passing = [name for name, failed in matches if not failed]
                if passing:
                    out.append(
                        WaiverProblem(
                            WaiverProblemKind.STALE,
                            waiver,
                            f"waiver for {waiver.key} covers scenario(s) that pass: "
                            + "; ".join(repr(n) for n in passing)
                            + " — remove the waiver",
                        )
                    )
        return out


def load_waivers(path: str | Path, *, today: dt.date | None = None) -> WaiverBook:
    """Read and validate a waivers file; :class:`WaiverError` names file, field and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WaiverError("no such waivers file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(f"cannot read: {exc}", file=str(path)) from None
    parsed = validate_yaml(text, WaiverFile, source=str(path), error=WaiverError, what="waivers file")
    return WaiverBook(list(parsed.waivers), source=str(path), today=today or dt.date.today())


def no_waivers() -> WaiverBook:
    """The empty book, for a run without a waivers file."""
    return WaiverBook([])
