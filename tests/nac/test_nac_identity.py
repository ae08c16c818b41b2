"""ACC-05 / ACC-06: the identity the reference NAC queries Intune with."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.nac.identity import intune_id_from_san, is_randomized_mac, normalize_mac

ID = "3EEB9E62-CEC9-4DD8-9DD6-0000000000AB"
SID = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512"


@pytest.mark.parametrize(
    "uris",
    [
        (f"IntuneDeviceId://{ID}",),
        (f"ID:Microsoft Endpoint Manager:GUID:{ID}",),
        (f"ID:Intune:GUID:{ID}",),
        (SID, f"IntuneDeviceId://{ID}"),  # strong mapping: the SID tag comes first
        (f"URI:{SID}, URI:IntuneDeviceId://{ID}",),  # one comma-separated rendering
        ("https://example.test/other", f"id:microsoft endpoint manager:guid:{{{ID}}}"),
    ],
)
def test_intune_id_from_san_schemes(uris: tuple[str, ...]) -> None:
    assert intune_id_from_san(uris) == ID.lower()


@pytest.mark.parametrize(
    "uris",
    [
        (),
        (SID,),
        ("ID:Microsoft Endpoint Manager:GUID:not-a-guid",),
        (f"AzureADDeviceId://{ID}",),  # the Entra id is never the Intune id
        (f"https://intune.example/{ID}",),
    ],
)
def test_no_intune_id(uris: tuple[str, ...]) -> None:
    assert intune_id_from_san(uris) is None


@pytest.mark.parametrize(
    "raw",
    ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "aabbccddeeff", " aa bb cc dd ee ff "],
)
def test_normalize_mac(raw: str) -> None:
    assert normalize_mac(raw) == "AABBCCDDEEFF"


@pytest.mark.parametrize("raw", ["", "aabbccddee", "aabbccddeeffgg", "zz:bb:cc:dd:ee:ff"])
def test_normalize_mac_rejects(raw: str) -> None:
    with pytest.raises(InputError, match="MAC"):
        normalize_mac(raw)


@pytest.mark.parametrize(
    ("raw", "randomized"),
    [
        ("00:50:56:9a:00:01", False),
        ("02:50:56:9a:00:01", True),
        ("DA:A1:19:00:00:01", True),
        ("F0:18:98:00:00:01", False),
    ],
)
def test_randomized_mac(raw: str, randomized: bool) -> None:
    assert is_randomized_mac(raw) is randomized
