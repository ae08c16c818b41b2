"""Legacy JSON NAC API 1.x: flat object, ``isManaged``, boolean ``complianceState``, dates (§1.3a)."""

from __future__ import annotations

import re

import pytest
from nac_world import NAC, World, mac, make_world

from mock_intune.model import OwnerType

KEYS_10 = {
    "macAddress",
    "isManaged",
    "complianceState",
    "azureDeviceId",
    "imei",
    "meid",
    "udid",
    "serialNumber",
    "model",
    "manufacturer",
    "osVersion",
    "lastContactTimeUtc",
}


@pytest.fixture
def w() -> World:
    return make_world()


def url(value: str, version: str = "1.1", base: str = NAC, **extra: str) -> str:
    tail = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"{base}/devices/?querycriteria=macaddress&value={value}&api-version={version}{tail}"


@pytest.mark.parametrize(("version", "owner"), [("1.0", False), ("1.1", True), ("1.3", True)])
def test_managed_device_flat_object(w: World, version: str, owner: bool) -> None:
    w.add(1, serial_number="C02XXXX", os_version="10.0.19045", owner_type=OwnerType.PERSONAL, model="Surface")
    resp = w.get(url("00:50:56:9a:00:01", version))
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    body = resp.get_json()
    assert set(body) == (KEYS_10 | {"deviceOwner"} if owner else KEYS_10)
    assert body["isManaged"] is True and body["complianceState"] is True
    assert body["macAddress"] == mac(1)
    assert (
        body["serialNumber"] == "C02XXXX" and body["osVersion"] == "10.0.19045" and body["model"] == "Surface"
    )
    assert body["azureDeviceId"].startswith("aad00000")
    assert body["lastContactTimeUtc"] == "01/05/2026 08:00:00"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", body["lastContactTimeUtc"])
    if owner:
        assert body["deviceOwner"] == "Personal"


def test_noncompliant_is_false(w: World) -> None:
    w.add(1, posture_compliant=False)
    body = w.get(url(mac(1), "1.3", paging="0")).get_json()
    assert body["isManaged"] is True and body["complianceState"] is False


@pytest.mark.parametrize("kind", ["unknown", "unenrolled"])
def test_unmanaged_shares_nothing_but_not_managed(w: World, kind: str) -> None:
    if kind == "unenrolled":
        w.add(1, managed=False, serial_number="S", model="M")
    resp = w.get(url(mac(1), "1.3"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["isManaged"] is False and body["complianceState"] is False
    assert all(
        body[k] == ""
        for k in KEYS_10 | {"deviceOwner"}
        if k not in ("isManaged", "complianceState", "macAddress")
    )


def test_lower_case_path_spelling(w: World) -> None:
    w.add(1)
    assert w.get(url(mac(1), base="/StatelessNacService")).get_json()["isManaged"] is True


@pytest.mark.parametrize(
    ("path", "param"),
    [
        (url(mac(1), "2.0"), "api-version"),
        (f"{NAC}/devices/?querycriteria=macaddress&value={mac(1)}", "api-version"),
        (f"{NAC}/devices/?querycriteria=imei&value=1&api-version=1.1", "querycriteria"),
        (f"{NAC}/devices/?value={mac(1)}&api-version=1.1", "querycriteria"),
        (f"{NAC}/devices/?querycriteria=macaddress&api-version=1.1", "value"),
        (url("not-a-mac"), "value"),
        (url(mac(1), paging="7"), "paging"),
    ],
)
def test_bad_requests_are_400_naming_the_parameter(w: World, path: str, param: str) -> None:
    resp = w.get(path)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["message"].startswith(param) and error["parameter"] == param


def test_json_query_logged(w: World) -> None:
    w.add(1)
    w.get(url(mac(1), "1.3"))
    call = w.svc.calls()[-1]
    assert call.surface.value == "legacy_json" and call.status == 200
    assert call.detail["criteria"] == "macaddress" and call.detail["results"] == 1
    assert call.detail["devices"][0]["compliant"] is True
