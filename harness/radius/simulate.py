"""``nac-harness simulate`` with the RADIUS adapter: a scenario's devices against a real RADIUS NAC.

The scenario's population is seeded into the mock Intune the NAC under test talks to (through the
mock's admin API), then every device authenticates over MAB at the configured rate with a window
of requests in flight, and each answer is judged against the device's true state at that moment.

Scenario keys (``nac:``)::

    nac:
      adapter: radius
      options:
        host: 127.0.0.1          # the NAC's RADIUS server
        auth_port: 1812
        secret: testing123
        in_flight: 32            # requests outstanding at once (1..255)
        rate: 500                # authentications per second to start (omit: as fast as the window allows)
        devices: 5000            # the first N devices of the population (omit: all)
        mock_url: https://127.0.0.1:8443      # the mock the NAC asks (its admin API seeds it)
        mock_ca_file: .state/mock-intune/ca.pem
        admin_token: mock-intune-admin
        timeout: 5               # seconds before a request is sent again
        retries: 2
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mock_intune import compliance
from mock_intune.config import DEFAULT_ADMIN_TOKEN
from mock_intune.store import device_to_json

from ..errors import ConfigError, NacUnreachable
from ..model import AccessRequest, AccessType
from ..population import Population, to_mock_device
from ..scenario import Scenario
from .load import LoadTarget, RadiusLoadResult, expected_decisions, run_load
from .nas import NasConfig

SEED_BATCH = 500
"""Devices per admin-API request (the admin API takes bodies up to 1 MiB)."""


@dataclass(frozen=True)
class RadiusLoadOptions:
    """``nac.options`` of a RADIUS load scenario, validated with the field named."""

    host: str
    auth_port: int
    secret: str
    in_flight: int
    rate: float | None
    devices: int | None
    mock_url: str
    mock_ca_file: str | None
    admin_token: str
    timeout_s: float = 5.0
    retries: int = 2

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> RadiusLoadOptions:
        o: dict[str, Any] = dict(scenario.nac.options)
        known = {"host", "auth_port", "secret", "in_flight", "rate", "devices", "mock_url", "mock_ca_file",
                 "admin_token", "timeout", "retries"}  # fmt: skip
        unknown = sorted(set(o) - known)
        if unknown:
            raise ConfigError(f"unknown option(s) {', '.join(unknown)}", field=f"nac.options.{unknown[0]}")

        def number(name: str, default: Any, kind: type) -> Any:
            value = o.get(name, default)
            if value is None:
                return None
            try:
                out = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"not a number: {value!r}", field=f"nac.options.{name}") from None
            if out <= 0:
                raise ConfigError("must be > 0", field=f"nac.options.{name}")
            return out

        in_flight = number("in_flight", 32, int)
        if in_flight > 255:
            raise ConfigError("at most 255 (one RADIUS id space)", field="nac.options.in_flight")
        for required in ("mock_url",):
            if not o.get(required):
                raise ConfigError("required for a RADIUS load run", field=f"nac.options.{required}")
        return cls(
            host=str(o.get("host", "127.0.0.1")),
            auth_port=number("auth_port", 1812, int),
            secret=str(o.get("secret", "testing123")),
            in_flight=in_flight,
            rate=number("rate", None, float),
            devices=number("devices", None, int),
            mock_url=str(o["mock_url"]).rstrip("/"),
            mock_ca_file=str(o["mock_ca_file"]) if o.get("mock_ca_file") else None,
            admin_token=str(o.get("admin_token", DEFAULT_ADMIN_TOKEN)),
            timeout_s=number("timeout", 5.0, float),
            retries=int(o.get("retries", 2)) if str(o.get("retries", 2)).isdigit() else _bad("retries"),
        )


def _bad(name: str) -> int:
    raise ConfigError("want a whole number >= 0", field=f"nac.options.{name}")


def seed_mock(scenario: Scenario, options: RadiusLoadOptions) -> list[LoadTarget]:
    """Seed the mock with the scenario's devices; return one judged request per device."""
    population = Population(scenario.population, scenario.seed)
    count = min(len(population), options.devices or len(population))
    settings = scenario.tenant.build()
    epoch = datetime.now(UTC)
    profiles = [population[i] for i in range(count)]
    devices = {p.index: to_mock_device(p, population, epoch, settings) for p in profiles if p.enrolled}
    verify: str | bool = options.mock_ca_file or True
    headers = {"Authorization": f"Bearer {options.admin_token}"}
    docs = [device_to_json(d) for d in devices.values()]
    try:
        with httpx.Client(verify=verify, timeout=60) as client:
            r = client.put(f"{options.mock_url}/admin/settings", json=settings.to_json(), headers=headers)
            _check(r, "tenant settings")
            for start in range(0, len(docs), SEED_BATCH):
                r = client.post(
                    f"{options.mock_url}/admin/devices", json={"devices": docs[start : start + SEED_BATCH]},
                    headers=headers,
                )  # fmt: skip
                _check(r, "devices")
    except httpx.HTTPError as exc:
        raise NacUnreachable(f"cannot seed the mock Intune at {options.mock_url}: {exc}") from exc
    now = datetime.now(UTC)
    targets = []
    for p in profiles:
        device = devices.get(p.index)
        if device is not None and device.managed:
            # judge against the state Intune reports now (validity period, grace end applied)
            device = device.copy(compliance_state=compliance.effective_state(device, settings, now))
        request = AccessRequest(
            device=p.device_name or p.intune_id, session_id=f"{scenario.name}-{p.index}",
            access_type=AccessType.WIFI, mac=p.session_mac, nas_id="load-ap", ssid="CORP",
        )  # fmt: skip
        targets.append(LoadTarget(request, expected_decisions(device, p.session_mac)))
    return targets


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise NacUnreachable(
            f"the mock's admin API refused the {what} ({response.status_code}): {response.text[:300]}"
        )


def run_radius_load(scenario: Scenario) -> RadiusLoadResult:
    """Seed, drive and judge one RADIUS load run of ``scenario``."""
    options = RadiusLoadOptions.from_scenario(scenario)
    targets = seed_mock(scenario, options)
    cfg = NasConfig(
        host=options.host, auth_port=options.auth_port, secret=options.secret.encode(), timeout_s=5.0
    )
    result = run_load(targets, cfg, in_flight=options.in_flight, rate=options.rate)
    if result.answered == 0 and result.sent:
        raise NacUnreachable(f"no RADIUS answer from {options.host}:{options.auth_port}")
    return result


def write_result(result: RadiusLoadResult, scenario: Scenario, out_dir: Path) -> Path:
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "radius-load.json"
    path.write_text(
        json.dumps({"scenario": scenario.name, **result.to_json()}, indent=2, sort_keys=True) + "\n"
    )
    return path
