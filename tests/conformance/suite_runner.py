"""Run the repository's features in process against one NAC and collect per-scenario outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from pytest_bdd.scenario import scenario_wrapper_template_registry

from harness.conformance.rules import RULES

FEATURES = Path(__file__).resolve().parents[2] / "features"
ALL_PROFILES = ["cr-cisco", "legacy-cisco", "legacy-json", "graph"]


@dataclass
class Outcome:
    nodeid: str
    rules: tuple[str, ...]
    profile: str
    outcome: str
    message: str = ""


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)

    def for_rule(self, rule: str) -> list[Outcome]:
        return [o for o in self.outcomes if rule in o.rules]


class _Recorder:
    """pytest plugin: keeps wanted scenarios only and records how each ended."""

    def __init__(self, wanted: Callable[[str, tuple[str, ...], str], bool]) -> None:
        self.wanted = wanted
        self.results = Results()
        self._meta: dict[str, tuple[tuple[str, ...], str]] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
            rules = tuple(sorted(t for t in (template.tags if template else ()) if t in RULES))
            params = getattr(getattr(item, "callspec", None), "params", {})
            profile = str(params.get("nac_profile") or "")
            self._meta[item.nodeid] = (rules, profile)
            (keep if profile and self.wanted(item.nodeid, rules, profile) else drop).append(item)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rules, profile = self._meta.get(report.nodeid, ((), ""))
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "passed" if report.passed else ("skipped" if report.skipped else "failed")
            message = ""
            if report.failed:
                message = str(
                    getattr(report.longrepr, "reprcrash", None) and report.longrepr.reprcrash.message
                )
            self.results.outcomes.append(Outcome(report.nodeid, rules, profile, outcome, message))


def capability_file(tmp: Path, adapter: dict[str, object], *, certificate: bool = False) -> Path:
    data = {
        "name": f"suite under test: {adapter}",
        "adapter": adapter,
        "profiles": ALL_PROFILES,
        "identity_sources": ["certificate", "mac"],
        "access_types": ["wifi", "vpn"],
        "coa_support": True,
        "polling_interval_s": 14400,
        "cache_ttl_s": 60,
        "decision_budget_ms": 300,
        "fail_open": False,
        "auth_method": "certificate" if certificate else "secret",
    }
    path = tmp / f"nac-{abs(hash(str(adapter)))}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_features(capability: Path, wanted: Callable[[str, tuple[str, ...], str], bool]) -> Results:
    recorder = _Recorder(wanted)
    pytest.main(
        [
            str(FEATURES),
            f"--nac-capability={capability}",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "-o",
            "addopts=",
            "--tb=line",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
        ],
        plugins=[recorder],
    )
    return recorder.results
