"""Typed, frozen settings for one mock Intune, with one prefixed environment loader."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError
from .model import DEFAULT_PORTAL_URL, Permission

DEFAULT_TENANT_ID = "8f1c0b7e-5d2a-4c6e-9b3f-1a2b3c4d5e6f"
DEFAULT_CLIENT_ID = "4d6f1e2a-7b8c-4d9e-a0f1-b2c3d4e5f607"
DEFAULT_CLIENT_SECRET = "mock-intune-secret-change-me"
DEFAULT_ADMIN_TOKEN = "mock-intune-admin"

ENV_PREFIX = "MOCK_INTUNE_"


@dataclass(frozen=True)
class MockConfig:
    """Everything that shapes one mock Intune.

    ``database`` is a SQLite file path (shared by all server workers) or ``None`` for memory.
    ``public_base_url`` fixes the origin the mock advertises (discovery URIs, token endpoints);
    ``None`` derives it from each request's ``Host``.
    """

    database: str | None = None
    tenant_id: str = DEFAULT_TENANT_ID
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str | None = DEFAULT_CLIENT_SECRET
    client_certificate_pem: str | None = None
    permissions: frozenset[Permission] = frozenset(
        {
            Permission.GET_DEVICE_COMPLIANCE,
            Permission.APPLICATION_READ_ALL,
            Permission.MANAGED_DEVICES_READ_ALL,
        }
    )
    admin_token: str = DEFAULT_ADMIN_TOKEN
    public_base_url: str | None = None
    redirect_url: str = DEFAULT_PORTAL_URL
    query_max_size: int = 100
    token_lifetime_s: int = 3599
    broad_query_interval_s: float = 4 * 3600
    graph_rate_limit: int = 2000
    graph_rate_window_s: float = 20.0
    time_scale: float = 1.0
    """Speed-up of the mock's clock relative to the wall (served mock against a real-time run)."""
    sleep_latency: bool = True
    """Injected latency is slept (served) or only reported in ``X-Mock-Latency-Ms`` (virtual time)."""
    log_calls: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.query_max_size < 1:
            raise ConfigError("must be >= 1", field="query_max_size")
        if self.time_scale <= 0:
            raise ConfigError("must be > 0", field="time_scale")
        if self.graph_rate_limit < 1:
            raise ConfigError("must be >= 1", field="graph_rate_limit")
        if self.token_lifetime_s < 1:
            raise ConfigError("must be >= 1", field="token_lifetime_s")

    def with_changes(self, **changes: Any) -> MockConfig:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> MockConfig:
        """Read ``MOCK_INTUNE_<FIELD>`` variables (e.g. ``MOCK_INTUNE_DATABASE``); overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key not in env or f.name in ("permissions", "extra"):
                continue
            raw = env[key]
            try:
                if f.type in ("int",):
                    values[f.name] = int(raw)
                elif f.type in ("float",):
                    values[f.name] = float(raw)
                elif f.type in ("bool",):
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError(raw)
                    values[f.name] = raw.lower() in ("1", "true", "yes")
                else:
                    values[f.name] = raw
            except ValueError as exc:
                raise ConfigError(f"cannot read {raw!r} as {f.type}", field=key) from exc
        if ENV_PREFIX + "PERMISSIONS" in env:
            try:
                values["permissions"] = frozenset(
                    Permission(p.strip()) for p in env[ENV_PREFIX + "PERMISSIONS"].split(",") if p.strip()
                )
            except ValueError as exc:
                raise ConfigError(str(exc), field=ENV_PREFIX + "PERMISSIONS") from exc
        values.update(overrides)
        return cls(**values)
