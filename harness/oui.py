"""Real IEEE-registered OUIs (MAC vendor prefixes) of the manufacturers a population uses.

Taken from the IEEE MA-L registry (``oui.txt``, as shipped by ``netaddr``); ``REGISTRANTS`` names the
registry entry each prefix belongs to, so a test can check every prefix against the registry.
A device's Wi-Fi MAC starts with an OUI of its radio's vendor: Windows and Linux laptops from Dell,
HP and Lenovo mostly carry Intel Wi-Fi modules, Apple, Samsung, Google, Microsoft and Motorola
devices their own prefixes.
"""

from __future__ import annotations

REGISTRANTS: dict[str, str] = {
    "Apple": "Apple, Inc.",
    "Dell": "Dell Inc.",
    "HP": "HP Inc.",
    "Lenovo": "LCFC(HeFei) Electronics Technology co., ltd",
    "Samsung": "Samsung Electronics Co.,Ltd",
    "Google": "Google, Inc.",
    "Microsoft": "Microsoft Corporation",
    "Intel": "Intel Corporate",
    "Motorola": "Motorola Mobility LLC, a Lenovo Company",
    "Framework": "Framework Computer LLC",
}
"""Vendor → IEEE registrant name."""

OUIS: dict[str, tuple[int, ...]] = {
    "Apple": (0x000393, 0x184A53, 0x38892C, 0x5C969D, 0x7C2ACA, 0x98FEE1, 0xB87BC5, 0xDC45B8),
    "Dell": (0x00065B, 0x0023AE, 0x1866DA, 0x381428, 0x6C2B59, 0x9840BB, 0xB8CA3A, 0xD4BED9),
    "HP": (0x0068EB, 0x2C58B9, 0x3822E2, 0x508140, 0x6C02E0, 0x842AFD, 0xB0227A, 0xBCE92F),
    "Lenovo": (0x002B67, 0x38F3AB, 0x507B9D, 0x54E1AD, 0x6C2408, 0x84A938, 0x8C1645, 0x902E16),
    "Samsung": (0x0000F0, 0x10E4C2, 0x3482C5, 0x58C5CB, 0x7C2EDD, 0x9C5FB0, 0xBC72B1, 0xD8E0E1),
    "Google": (0x001A11, 0x201F3B, 0x3886F7, 0x546009, 0x7CD95C, 0x9C4F5F, 0xBCDF58, 0xDCE55B),
    "Microsoft": (0x0003FF, 0x0C413E, 0x2816A8, 0x441622, 0x70BC10, 0x949AA9, 0xB84FD5, 0xD48F33),
    "Intel": (0x0012F0, 0x0C8BFD, 0x34415D, 0x586D67, 0x7470FD, 0x984FEE, 0xB88198, 0xDC97BA),
    "Motorola": (0x00B8B6, 0x2446C8, 0x40FAFE, 0x68871C, 0x8CF112, 0xB898AD, 0xCC0DF2, 0xE09861),
    "Framework": (0x9CBF0D,),
}
"""Vendor → OUIs (24-bit integers), all globally administered (the U/L bit is clear)."""


def oui_text(oui: int) -> str:
    """``0x00065B`` → ``00:06:5B``."""
    return ":".join(f"{(oui >> s) & 0xFF:02X}" for s in (16, 8, 0))
