"""Who a device is, as a NAC sees it: the Intune device id in a certificate, or a MAC address.

Pure functions, no I/O. Rules: ACC-05 (identity from the certificate's SAN URI, never the Entra
device id, tolerant of the strong-mapping SID tag beside it) and ACC-06 (MAC normalised to 12
upper-case hex digits; randomised, locally administered MACs recognised).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..errors import InputError

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SAN_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Intune's own convention: IntuneDeviceId://{{DeviceID}}
    re.compile(rf"^IntuneDeviceId://\{{?(?P<id>{_GUID})\}}?/?$", re.IGNORECASE),
    # Cisco ISE's convention: ID:Microsoft Endpoint Manager:GUID:{{DeviceId}} (or ID:Intune:GUID:…)
    re.compile(
        rf"^ID:(?:Microsoft Endpoint Manager|Intune):GUID:\{{?(?P<id>{_GUID})\}}?$",
        re.IGNORECASE,
    ),
)
_MAC_STRIP = re.compile(r"[\s:.\-]")
_MAC_OK = re.compile(r"^[0-9A-F]{12}$")


class IdentityKind(StrEnum):
    """How the NAC names a device to Intune (Cisco ``querycriteria``)."""

    GUID = "guid"
    """The Intune device id (from the certificate)."""
    MAC = "macaddress"
    """The Wi-Fi / Ethernet MAC (MAB, or no usable certificate)."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """One identifier the NAC queries Intune with."""

    kind: IdentityKind
    value: str
    """Lower-case GUID, or 12 upper-case hex digits."""

    def __str__(self) -> str:
        return _KEY_PREFIX[self.kind] + self.value


_KEY_PREFIX = {kind: f"{kind.value}=" for kind in IdentityKind}
"""``str(identity)`` is ``"guid=…"`` / ``"macaddress=…"`` (the decision cache's keys)."""


def intune_id_from_san(uris: tuple[str, ...] | list[str]) -> str | None:
    """The Intune device id from a certificate's SAN URIs, lower-case, or None (ACC-05).

    Accepts ``IntuneDeviceId://{id}`` and ``ID:Microsoft Endpoint Manager:GUID:{id}`` /
    ``ID:Intune:GUID:{id}``. Other URIs (the strong-mapping SID tag
    ``tag:microsoft.com,2022-09-14:sid:…``, anything else) are ignored, and a value that arrives as
    one comma-separated string (as some RADIUS servers render a multi-valued SAN) is split first.
    The Entra device id is never read from here: it is not in a SAN URI of these schemes.
    """
    for raw in uris:
        for part in str(raw).split(","):
            value = part.strip()
            if value.upper().startswith("URI:"):
                value = value[4:].strip()
            for pattern in _SAN_PATTERNS:
                match = pattern.match(value)
                if match:
                    return match.group("id").lower()
    return None


def normalize_mac(value: str) -> str:
    """``aa:bb-cc.dd ee ff`` → ``AABBCCDDEEFF`` (ACC-06); :class:`InputError` for anything else."""
    mac = _MAC_STRIP.sub("", value or "").upper()
    if not _MAC_OK.match(mac):
        raise InputError(f"not a MAC address (want 12 hex digits): {str(value)[:64]!r}", where="mac")
    return mac


def is_randomized_mac(mac: str) -> bool:
    """True for a randomised / private MAC: the locally administered bit (0x02 of octet 1) is set."""
    return bool(int(normalize_mac(mac)[:2], 16) & 0x02)
