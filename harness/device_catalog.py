"""The device models a population draws from: manufacturer, model, OS versions and Wi-Fi radio vendor.

Names are as Intune reports them (``manufacturer`` / ``model`` of a managed device); the radio vendor
picks the MAC's OUI (:mod:`harness.oui`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_intune.model import OperatingSystem


@dataclass(frozen=True, slots=True)
class Model:
    """One catalog entry: a device model with the OS versions it runs and its Wi-Fi radio's vendor."""

    os: OperatingSystem
    manufacturer: str
    model: str
    radio_vendor: str
    os_versions: tuple[str, ...]


_WIN = ("10.0.22631.4602", "10.0.26100.2605", "10.0.19045.5247", "10.0.22631.4751")
_MAC = ("14.7.2", "15.2", "15.1.1", "13.7.2")
_IOS = ("18.2", "18.1.1", "17.7.2", "16.7.10")
_AND = ("14", "15", "13", "12")
_LIN = ("Ubuntu 22.04.5 LTS", "Ubuntu 24.04.1 LTS", "Red Hat Enterprise Linux 9.5")

CATALOG: dict[OperatingSystem, tuple[Model, ...]] = {
    OperatingSystem.WINDOWS: (
        Model(OperatingSystem.WINDOWS, "Dell Inc.", "Latitude 5440", "Intel", _WIN),
        Model(OperatingSystem.WINDOWS, "Dell Inc.", "Latitude 7440", "Intel", _WIN),
        Model(OperatingSystem.WINDOWS, "Dell Inc.", "OptiPlex 7010", "Dell", _WIN),
        Model(OperatingSystem.WINDOWS, "HP", "HP EliteBook 840 G10", "Intel", _WIN),
        Model(OperatingSystem.WINDOWS, "HP", "HP ProBook 450 G10", "HP", _WIN),
        Model(OperatingSystem.WINDOWS, "LENOVO", "ThinkPad T14 Gen 4", "Lenovo", _WIN),
        Model(OperatingSystem.WINDOWS, "LENOVO", "ThinkPad X1 Carbon Gen 11", "Intel", _WIN),
        Model(OperatingSystem.WINDOWS, "Microsoft Corporation", "Surface Laptop 5", "Microsoft", _WIN),
        Model(OperatingSystem.WINDOWS, "Microsoft Corporation", "Surface Pro 9", "Microsoft", _WIN),
    ),
    OperatingSystem.MACOS: (
        Model(OperatingSystem.MACOS, "Apple", "MacBook Air (M2, 2022)", "Apple", _MAC),
        Model(OperatingSystem.MACOS, "Apple", "MacBook Pro (14-inch, M3, 2023)", "Apple", _MAC),
        Model(OperatingSystem.MACOS, "Apple", "iMac (24-inch, M3, 2023)", "Apple", _MAC),
    ),
    OperatingSystem.IOS: (
        Model(OperatingSystem.IOS, "Apple", "iPhone 15", "Apple", _IOS),
        Model(OperatingSystem.IOS, "Apple", "iPhone 14", "Apple", _IOS),
        Model(OperatingSystem.IOS, "Apple", "iPhone 13", "Apple", _IOS),
        Model(OperatingSystem.IOS, "Apple", "iPad Air (5th generation)", "Apple", _IOS),
    ),
    OperatingSystem.ANDROID: (
        Model(OperatingSystem.ANDROID, "samsung", "SM-S921B", "Samsung", _AND),
        Model(OperatingSystem.ANDROID, "samsung", "SM-A546B", "Samsung", _AND),
        Model(OperatingSystem.ANDROID, "Google", "Pixel 8", "Google", _AND),
        Model(OperatingSystem.ANDROID, "Google", "Pixel 7a", "Google", _AND),
        Model(OperatingSystem.ANDROID, "motorola", "moto g84 5G", "Motorola", _AND),
    ),
    OperatingSystem.LINUX: (
        Model(OperatingSystem.LINUX, "Dell Inc.", "Latitude 5440", "Intel", _LIN),
        Model(OperatingSystem.LINUX, "LENOVO", "ThinkPad T14 Gen 4", "Intel", _LIN),
        Model(OperatingSystem.LINUX, "Framework", "Laptop 13 (AMD Ryzen 7040)", "Framework", _LIN),
    ),
}

OS_ORDER = (
    OperatingSystem.WINDOWS,
    OperatingSystem.MACOS,
    OperatingSystem.IOS,
    OperatingSystem.ANDROID,
    OperatingSystem.LINUX,
)
