"""Legacy NAC service, Cisco MDM API v2: no namespace, lower-case, the full attribute set (§1.3b, §2.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nac_world import NAC, START, World, guid, mac, make_world, text, xml

API = "/StatelessNacService/ciscodeviceinfo/mdm/api/devices/"
FULL = [
    "register_status",
    "compliance",
    "disk_encryption_on",
    "pin_lock_on",
    "jail_broken",
    "manufacturer",
    "model",
    "imei",
    "meid",
    "udid",
    "serial_number",
    "os_version",
    "phone_number",
    "lastCheckinTimeStamp",
]


@pytest.fixture
def w() -> World:
    return make_world()


def query(path: str = API, **params: object) -> str:
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("base", [NAC, "/StatelessNacService"])
def test_mdminfo_v2_shape(w: World, base: str) -> None:
    resp = w.get(f"{base}/ciscoise/mdminfo/?ise_api_version=2")
    assert resp.status_code == 200
    assert b"xmlns" not in resp.data
    root = xml(resp.data)
    assert root.tag == "ise_api"
    assert {c.tag: c.text for c in root} == {
        "name": "mdminfo",
        "api_version": "2",
        "api_path": "/StatelessNacService/ciscodeviceinfo/mdm/api",
        "redirect_url": "https://portal.manage.microsoft.com/networkaccesscontrol/index",
        "query_max_size": "100",
        "messaging_support": "false",
        "vendor": "Microsoft",
        "product_name": "Microsoft Intune",
        "product_version": "5.0",
    }
    assert text(xml(w.get(f"{base}/ciscoise/mdminfo/?ise_api_version=3").data), "api_version") == "2"


def test_device_by_mac_full_attribute_set(w: World) -> None:
    w.add(
        1,
        posture_compliant=False,
        manufacturer="VMware, Inc.",
        model="VMware Virtual Platform",
        serial_number="VMware-42 24 61",
        os_version="10.0.19043.2006",
        imei="356789012345678",
        udid="",
        jail_broken=False,
        is_encrypted=True,
    )
    resp = w.get(query(paging=0, querycriteria="macaddress", value="00-50-56-9A-00-01", filter="all"))
    assert resp.status_code == 200
    assert b"xmlns" not in resp.data
    root = xml(resp.data)
    assert [c.tag for c in root] == ["name", "api_version", "paging_info", "deviceList"]
    assert text(root, "api_version") == "2" and text(root, "paging_info") == "0"
    devices = root.findall("deviceList/device")
    assert len(devices) == 1
    attributes = devices[0].find("attributes")
    assert attributes is not None and devices[0].find("Attributes") is None
    assert [c.tag for c in attributes] == FULL
    assert text(attributes, "register_status") == "true"
    assert text(attributes, "compliance/status") == "false"
    assert text(attributes, "compliance/failure_reason")
    assert "portal.manage.microsoft.com" in (text(attributes, "compliance/remediation") or "")
    assert text(attributes, "disk_encryption_on") == "true"
    assert text(attributes, "jail_broken") == "false"
    assert text(attributes, "manufacturer") == "VMware, Inc."
    assert text(attributes, "model") == "VMware Virtual Platform"
    assert text(attributes, "serial_number") == "VMware-42 24 61"
    assert text(attributes, "os_version") == "10.0.19043.2006"
    assert text(attributes, "imei") == "356789012345678"
    assert text(attributes, "udid") == ""  # withheld properties come back empty
    assert text(attributes, "lastCheckinTimeStamp") == str(int(START.timestamp() * 1000))


def test_compliant_device_has_no_failure_reason(w: World) -> None:
    w.add(1)
    attributes = xml(
        w.get(query(paging=0, querycriteria="macaddress", value=mac(1), filter="all")).data
    ).find("deviceList/device/attributes")
    assert attributes is not None
    assert text(attributes, "compliance/status") == "true"
    assert text(attributes, "compliance/failure_reason") == ""


def test_validity_period_shows_in_failure_reason(w: World) -> None:
    w.add(1)
    w.clock.advance(timedelta(days=31).total_seconds())
    attributes = xml(
        w.get(query(paging=0, querycriteria="macaddress", value=mac(1), filter="all")).data
    ).find("deviceList/device/attributes")
    assert attributes is not None
    assert text(attributes, "compliance/status") == "false"
    assert "validity period" in (text(attributes, "compliance/failure_reason") or "")


@pytest.mark.parametrize(
    ("criteria", "field", "value"),
    [
        ("udid", "udid", "00008020-0015784C218A402E"),
        ("imei", "imei", "356789012345678"),
        ("meid", "meid", "A1000012345678"),
        ("serialnumber", "serial_number", "F9GDX3RQQ1GC"),
    ],
)
def test_other_legacy_identifiers(w: World, criteria: str, field: str, value: str) -> None:
    w.add(1, **{field: value})
    w.add(2)
    root = xml(w.get(query(paging=0, querycriteria=criteria, value=value.lower(), filter="all")).data)
    (device,) = root.findall("deviceList/device")
    assert text(device, f"attributes/{field}") == value
    miss = xml(w.get(query(paging=0, querycriteria=criteria, value="NOPE123", filter="all")).data)
    assert miss.findall("deviceList/device") == []


def test_unknown_and_unenrolled_give_empty_device_list(w: World) -> None:
    w.add(2, managed=False)
    for value in (mac(1), mac(2)):
        resp = w.get(query(paging=0, querycriteria="macaddress", value=value, filter="all"))
        assert resp.status_code == 200
        device_list = xml(resp.data).find("deviceList")
        assert device_list is not None and len(device_list) == 0


def test_noncompliant_list_keys_devices_by_mac(w: World) -> None:
    w.add(1, posture_compliant=False)
    w.add(2)
    w.add(3, posture_compliant=False)
    root = xml(w.get(query(paging=0, querycriteria="compliance", value="false", filter="all")).data)
    devices = root.findall("deviceList/device")
    assert [text(d, "macaddress") for d in devices] == [mac(1), mac(3)]
    assert all(text(d, "attributes/compliance/status") == "false" for d in devices)
    assert text(root, "paging_info") == "0"


def test_guid_criteria_is_not_part_of_v2(w: World) -> None:
    resp = w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="all"))
    assert resp.status_code == 400
    assert xml(resp.data).tag == "error"


def test_filter_selects_v2_attributes(w: World) -> None:
    w.add(1)
    root = xml(
        w.get(
            query(
                paging=0, querycriteria="macaddress", value=mac(1), filter="register_status+compliance_status"
            )
        ).data
    )
    attributes = root.find("deviceList/device/attributes")
    assert attributes is not None
    assert [c.tag for c in attributes] == ["register_status", "compliance"]


def test_legacy_query_logged(w: World) -> None:
    w.add(1)
    w.get(query(paging=0, querycriteria="macaddress", value=mac(1).lower(), filter="all"))
    call = w.svc.calls()[-1]
    assert call.surface.value == "legacy_cisco"
    assert call.detail["criteria"] == "macaddress" and call.detail["value"] == mac(1)
    assert call.detail["devices"] == [{"id": guid(1), "registered": True, "compliant": True}]
