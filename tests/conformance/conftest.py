"""Fixtures for testing the conformance suite with itself (pytest's ``pytester``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest_plugins`` is only allowed in the rootdir's conftest; activate pytester from here instead.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
