"""mock_intune: a faithful, stateful mock of Microsoft Intune's NAC side.

``MockIntune`` is the pure core (no Flask); ``create_app`` serves it over HTTP.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, ScaledClock, SystemClock
from .config import MockConfig
from .model import ComplianceState, Device, Permission, Surface, TenantSettings
from .service import DeviceStatus, MockIntune


def create_app(config: MockConfig | None = None, *, service: MockIntune | None = None):  # type: ignore[no-untyped-def]
    """Build the Flask app for ``config`` (or around an existing ``service``)."""
    from .api import create_app as _create_app

    return _create_app(config, service=service)


__all__ = [
    "Clock",
    "ComplianceState",
    "Device",
    "DeviceStatus",
    "ManualClock",
    "MockConfig",
    "MockIntune",
    "Permission",
    "ScaledClock",
    "Surface",
    "SystemClock",
    "TenantSettings",
    "create_app",
]
