"""Helpers for the NAC-facing surface tests: a mock on a ManualClock, devices, tokens, XML parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from mock_intune import ManualClock, MockConfig, MockIntune, create_app
from mock_intune.cisco_xml import CR_NAMESPACE
from mock_intune.model import MANAGE_RESOURCE, Device
from mock_intune.service_base import CR_SERVICE_PATH, NAC_SERVICE_PATH

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CR = CR_SERVICE_PATH
NAC = NAC_SERVICE_PATH
NS = "{" + CR_NAMESPACE + "}"


def guid(n: int) -> str:
    return f"3eeb9e62-cec9-4dd8-9dd6-{n:012x}"


def mac(n: int) -> str:
    return f"0050569A{n:04X}"


@dataclass
class World:
    """One mock Intune on a manual clock, its Flask app and a test client."""

    svc: MockIntune
    clock: ManualClock
    app: Flask
    client: FlaskClient

    def token(self, audience: str = MANAGE_RESOURCE, client_id: str | None = None) -> str:
        app = self.svc.app(client_id or self.svc.config.client_id)
        return self.svc.tokens.issue(app, audience)[0]

    def headers(self, audience: str = MANAGE_RESOURCE, client_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience, client_id)}"}

    def get(self, url: str, audience: str = MANAGE_RESOURCE, **kw: Any) -> Any:
        headers = {**self.headers(audience), **kw.pop("headers", {})}
        return self.client.get(url, headers=headers, **kw)

    def add(self, n: int, *, evaluate: bool = True, **fields: Any) -> Device:
        """Seed device ``n`` (enrolled now) and, by default, evaluate it once."""
        values: dict[str, Any] = {
            "intune_id": guid(n),
            "azure_ad_device_id": f"aad00000-0000-4000-8000-{n:012x}",
            "wifi_mac": mac(n),
            "device_name": f"DEV-{n}",
            "enrolled_at": self.clock.now(),
            "last_sync_at": self.clock.now(),
        }
        values.update(fields)
        device = Device(**values)
        self.svc.seed([device])
        if evaluate and device.managed:
            device = self.svc.evaluate(device.intune_id)
        return device


def make_world(**config: Any) -> World:
    config.setdefault("sleep_latency", False)
    clock = ManualClock(START)
    svc = MockIntune(MockConfig(**config), clock=clock)
    app = create_app(service=svc)
    return World(svc, clock, app, app.test_client())


def xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def cr_devices(root: ET.Element) -> list[ET.Element]:
    device_list = root.find(f"{NS}deviceList")
    assert device_list is not None
    return device_list.findall(f"{NS}device")


def text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    return None if found is None else (found.text or "")
