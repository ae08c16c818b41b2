"""The pytest plugin of the conformance suite (entry point ``pytest11: nac_harness``).

Installing the package gives any repository the whole suite's machinery:

* ``.feature`` files are collected directly (no test module needed): every scenario becomes a
  test, run once per Intune profile the capability statement declares and its tags allow
  (``@cr-cisco @legacy-cisco @legacy-json @graph``); a scenario whose rule does not apply to the
  declared NAC (profile, identity source, auth method, CoA) is SKIPPED with the reason;
* the step library (:mod:`harness.conformance.steps`) and the fixtures ``nac_capability``,
  ``nac_profile`` and ``bench``;
* ``--nac-capability PATH`` (or ``NAC_HARNESS_CAPABILITY``, or the ini option ``nac_capability``)
  names the capability statement; without one the suite refuses to run and says why.

Each scenario's :class:`~harness.conformance.evidence.Evidence` (exchanges, decisions, CoAs,
marks, the oracles' verdicts) is stored on the item (``item.stash[EVIDENCE_KEY]``) and handed to
the ``pytest_nac_harness_evidence`` hook, for the certification report.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.feature import get_feature
from pytest_bdd.scenario import make_python_name, scenario, scenario_wrapper_template_registry

from ..errors import ConfigError
from ..model import Profile
from .bench import Bench
from .rules import RULES, Area

try:  # the certify runner's collector reads the evidence from this key
    from .collector import EVIDENCE_KEY
except ImportError:  # pragma: no cover - the collector is optional for the plugin
    EVIDENCE_KEY = pytest.StashKey()

CAPABILITY_ENV = "NAC_HARNESS_CAPABILITY"
CAPABILITY_KEY: pytest.StashKey[Any] = pytest.StashKey()
DEFAULT_CAPABILITY_KEY: pytest.StashKey[Any] = pytest.StashKey()
STEPS_MODULE = "harness.conformance.steps"
PROFILE_TAGS = frozenset(p.value for p in Profile)
COA_TAG = "coa"
NO_CAPABILITY = (
    "the conformance suite needs a capability statement (nac.yaml) saying which NAC to test and what it "
    f"declares: pass --nac-capability PATH, set {CAPABILITY_ENV}, or set the ini option nac_capability"
)


class EvidenceHooks:
    """Hook specifications the plugin adds (``pytest_addhooks``)."""

    @pytest.hookspec
    def pytest_nac_harness_evidence(self, item: pytest.Item, evidence: Any) -> None:
        """A conformance scenario finished: ``evidence`` is what its oracles judged."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(EvidenceHooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nac-harness", "Intune NAC conformance suite")
    group.addoption(
        "--nac-capability",
        dest="nac_capability",
        metavar="PATH",
        default=None,
        help="the NAC's capability statement (nac.yaml) the conformance scenarios run against",
    )
    parser.addini("nac_capability", "path of the default capability statement (nac.yaml)", default="")
    parser.addini(
        "nac_collect_features", "collect .feature files as conformance scenarios", type="bool", default=True
    )


def pytest_configure(config: pytest.Config) -> None:
    for rule in RULES.values():
        config.addinivalue_line("markers", f"{rule.id}: scenario certifying rule {rule.id} ({rule.title})")
    for tag in sorted(PROFILE_TAGS):
        config.addinivalue_line("markers", f"{tag}: scenario applies to the {tag} profile")
    config.addinivalue_line("markers", f"{COA_TAG}: scenario needs a NAC that sends RADIUS CoA")
    for area in Area:
        config.addinivalue_line("markers", f"{area.value}: scenario of the {area.value} rule area")
    for access in ("wifi", "vpn"):
        config.addinivalue_line("markers", f"{access}: scenario uses {access} access")
    if not config.pluginmanager.has_plugin(STEPS_MODULE):
        config.pluginmanager.register(importlib.import_module(STEPS_MODULE), STEPS_MODULE)


def set_default_capability(config: pytest.Config, capability: Any) -> None:
    """Give the suite a capability statement when none is named (a conftest's ``pytest_configure``)."""
    config.stash[DEFAULT_CAPABILITY_KEY] = capability


def capability_of(config: pytest.Config) -> Any:
    """The capability statement of this run (validated), or None when none was given."""
    if CAPABILITY_KEY in config.stash:
        return config.stash[CAPABILITY_KEY]
    from .capability import load_capability

    cap: Any
    path = (
        config.getoption("nac_capability")
        or os.environ.get(CAPABILITY_ENV)
        or config.getini("nac_capability")
    )
    if path:
        resolved = Path(path)
        if not resolved.is_absolute() and not resolved.exists():
            resolved = config.rootpath / resolved
        try:
            cap = load_capability(resolved)
        except ConfigError as exc:
            raise pytest.UsageError(f"capability statement: {exc}") from None
    else:
        cap = config.stash.get(DEFAULT_CAPABILITY_KEY, None)
    config.stash[CAPABILITY_KEY] = cap
    return cap


# -- collecting .feature files directly ------------------------------------------------------------


class FeatureModule(pytest.Module):
    """A ``.feature`` file collected as a module whose tests are its scenarios."""

    def _getobj(self) -> types.ModuleType:
        path = Path(self.path)
        module = types.ModuleType(f"nac_feature_{make_python_name(path.stem)}")
        module.__file__ = str(path)
        feature = get_feature(str(path.parent), path.name)
        names: set[str] = set()
        for name in feature.scenarios:
            decorator = scenario(path.name, name, features_base_dir=str(path.parent))

            def _scenario() -> None:
                """A conformance scenario."""

            test = decorator(_scenario)
            base = f"test_{make_python_name(name)}"
            test_name, i = base, 1
            while test_name in names:
                i += 1
                test_name = f"{base}_{i}"
            names.add(test_name)
            setattr(module, test_name, test)
        return module


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature" and parent.config.getini("nac_collect_features"):
        return FeatureModule.from_parent(parent, path=file_path)
    return None


# -- one run per declared profile, skips that say why -------------------------------------------


def _scenario_tags(function: Any) -> set[str]:
    template = scenario_wrapper_template_registry.get(function)
    if template is None:
        return set()
    tags = set(template.tags) | set(template.feature.tags)
    if template.rule is not None:
        tags |= set(template.rule.tags)
    return tags


def not_applicable(capability: Any, tags: set[str]) -> str:
    """Why a scenario with ``tags`` does not apply to the declared NAC ('' when it applies)."""
    if capability is None:
        return ""
    applies, why = capability.applies_to_tags(sorted(tags))
    if not applies:
        return why
    for tag in sorted(tags):
        rule = RULES.get(tag.upper())
        if rule is not None:
            applies, why = capability.applicability(rule)
            if not applies:
                return f"{rule.id} {why}"
    if COA_TAG in tags and not capability.coa_support:
        return "needs a NAC that sends CoA / Disconnect; the NAC declares coa_support: false"
    return ""


def profiles_for(capability: Any, tags: set[str]) -> list[str]:
    """The declared profiles a scenario with ``tags`` runs under (its profile tags ∩ the declaration)."""
    declared = [str(p) for p in capability.profiles]
    wanted = tags & PROFILE_TAGS
    rule_profiles: set[str] = set(PROFILE_TAGS)
    for tag in tags:
        rule = RULES.get(tag.upper())
        if rule is not None:
            rule_profiles &= {str(p) for p in rule.profiles}
    return [p for p in declared if (not wanted or p in wanted) and p in rule_profiles]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    function = metafunc.function
    if function not in scenario_wrapper_template_registry:
        return
    capability = capability_of(metafunc.config)
    if capability is None:
        return
    tags = _scenario_tags(function)
    if "nac_profile" not in metafunc.fixturenames:
        metafunc.fixturenames.append("nac_profile")
    reason = not_applicable(capability, tags)
    profiles = [] if reason else profiles_for(capability, tags)
    if not profiles:
        why = reason or "no declared profile matches the scenario's profile tags"
        metafunc.parametrize(
            "nac_profile", [pytest.param(None, id="n/a", marks=pytest.mark.skip(reason=why))]
        )
        return
    metafunc.parametrize("nac_profile", profiles, ids=profiles)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if capability_of(config) is not None:
        return
    if any(getattr(item, "obj", None) in scenario_wrapper_template_registry for item in items):
        raise pytest.UsageError(NO_CAPABILITY)


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nac_capability(request: pytest.FixtureRequest) -> Any:
    """The validated capability statement of this run."""
    cap = capability_of(request.config)
    if cap is None:
        raise pytest.UsageError(NO_CAPABILITY)
    return cap


@pytest.fixture
def nac_profile(request: pytest.FixtureRequest) -> str | None:
    """The Intune profile this scenario run speaks (parametrised per declared profile)."""
    return getattr(request, "param", None)


@pytest.fixture
def bench(request: pytest.FixtureRequest, nac_capability: Any) -> Iterator[Bench]:
    """A fresh bench (mock Intune, NAC under test, access points) for one scenario run."""
    profile = request.getfixturevalue("nac_profile") or str(nac_capability.profiles[0])
    b = Bench(nac_capability, profile, seed=_seed(request.node.nodeid))
    request.node.stash[EVIDENCE_KEY] = b.evidence
    try:
        yield b
    finally:
        b.close()
        for text in b.deviations:
            request.node.user_properties.append(("deviation", text))
        request.config.hook.pytest_nac_harness_evidence(item=request.node, evidence=b.evidence)


def _seed(nodeid: str) -> int:
    import zlib

    return zlib.crc32(nodeid.encode())
