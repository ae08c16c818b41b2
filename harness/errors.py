"""The harness's errors: the project's one tree lives in :mod:`mock_intune.errors`; re-exported here."""

from mock_intune.errors import (
    ConfigError,
    HarnessFailure,
    IllegalTransition,
    InputError,
    NacHarnessError,
    NotFound,
    RequestError,
    StateError,
)


class ScenarioError(ConfigError):
    """A scenario file is invalid (file, field, line)."""


class CapabilityError(ConfigError):
    """A NAC capability statement (``nac.yaml``) is invalid (file, field, line)."""


class NacUnreachable(HarnessFailure):
    """The NAC under test could not be reached at the address tried."""


__all__ = [
    "CapabilityError",
    "ConfigError",
    "HarnessFailure",
    "IllegalTransition",
    "InputError",
    "NacHarnessError",
    "NacUnreachable",
    "NotFound",
    "RequestError",
    "ScenarioError",
    "StateError",
]
