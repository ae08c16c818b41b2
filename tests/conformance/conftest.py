"""Fixtures for testing the conformance suite with itself."""

from __future__ import annotations

pytest_plugins = ["pytester"]
