"""Compliance Retrieval, Cisco MDM API v3: wire shapes from the research notes (§2.2), paging, call log."""

from __future__ import annotations

import pytest
from nac_world import CR, NS, World, cr_devices, guid, mac, make_world, text, xml

from mock_intune.cisco_xml import CR_NAMESPACE, XSI_NAMESPACE
from mock_intune.model import Surface

DEVICES = f"{CR}/cisco/devices/"


@pytest.fixture
def w() -> World:
    return make_world()


def query(**params: object) -> str:
    return DEVICES + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def test_mdminfo_v3_shape(w: World) -> None:
    resp = w.get(f"{CR}/ciscoise/mdminfo/?ise_api_version=3")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/xml")
    raw = resp.data.decode()
    assert f'xmlns="{CR_NAMESPACE}"' in raw and f'xmlns:i="{XSI_NAMESPACE}"' in raw
    root = xml(resp.data)
    assert root.tag == f"{NS}ise_api"
    fields = {child.tag.removeprefix(NS): child.text for child in root}
    assert fields == {
        "name": "mdminfo",
        "api_version": "3",
        "api_path": "/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService/cisco",
        "redirect_url": "https://portal.manage.microsoft.com/networkaccesscontrol/index",
        "query_max_size": "100",
        "messaging_support": "false",
        "vendor": "Microsoft",
        "product_name": "Microsoft Intune",
        "product_version": "5.0",
    }
    assert [c.tag.removeprefix(NS) for c in root][:3] == ["name", "api_version", "api_path"]


@pytest.mark.parametrize(("asked", "answered"), [("4", "3"), ("3", "3"), ("2", "2")])
def test_mdminfo_api_version_never_exceeds_the_request(w: World, asked: str, answered: str) -> None:
    root = xml(w.get(f"{CR}/ciscoise/mdminfo/?ise_api_version={asked}").data)
    assert text(root, f"{NS}api_version") == answered


def test_mdminfo_follows_config() -> None:
    w = make_world(redirect_url="https://portal.example/nac", query_max_size=50)
    root = xml(w.get(f"{CR}/ciscoise/mdminfo/?ise_api_version=3").data)
    assert text(root, f"{NS}redirect_url") == "https://portal.example/nac"
    assert text(root, f"{NS}query_max_size") == "50"


def test_device_by_guid_shape(w: World) -> None:
    w.add(1, posture_compliant=False)
    resp = w.get(query(paging=0, querycriteria="guid", value=guid(1).upper(), filter="all"))
    assert resp.status_code == 200
    root = xml(resp.data)
    assert text(root, f"{NS}name") == "attributes"
    assert text(root, f"{NS}api_version") == "3"
    assert root.find(f"{NS}paging_info") is None  # the single-GUID answer has no paging_info
    (device,) = cr_devices(root)
    assert [c.tag.removeprefix(NS) for c in device] == ["guid", "Attributes"]
    assert text(device, f"{NS}guid") == guid(1)
    attributes = device.find(f"{NS}Attributes")
    assert attributes is not None
    # Only what CR shares: guid, register_status, Compliance/status; capitalised containers.
    assert [c.tag.removeprefix(NS) for c in attributes] == ["guid", "register_status", "Compliance"]
    assert text(attributes, f"{NS}register_status") == "true"
    assert text(attributes, f"{NS}Compliance/{NS}status") == "false"
    assert attributes.find(f"{NS}attributes") is None and device.find(f"{NS}attributes") is None


def test_device_by_mac_includes_the_mac(w: World) -> None:
    w.add(1)
    root = xml(
        w.get(query(paging=0, querycriteria="macaddress", value="00:50:56:9a:00:01", filter="all")).data
    )
    (device,) = cr_devices(root)
    attributes = device.find(f"{NS}Attributes")
    assert attributes is not None
    assert [c.tag.removeprefix(NS) for c in attributes] == [
        "guid",
        "macaddress",
        "register_status",
        "Compliance",
    ]
    assert text(attributes, f"{NS}macaddress") == mac(1)
    assert text(attributes, f"{NS}Compliance/{NS}status") == "true"


def test_ethernet_mac_finds_the_device(w: World) -> None:
    w.add(1, ethernet_mac="A0CEC8000001")
    root = xml(w.get(query(paging=0, querycriteria="macaddress", value="A0CEC8000001", filter="all")).data)
    (device,) = cr_devices(root)
    assert text(device, f"{NS}Attributes/{NS}macaddress") == "A0CEC8000001"


@pytest.mark.parametrize("case", ["unknown", "unenrolled", "retired"])
def test_unknown_or_unenrolled_device_gives_an_empty_device_list(w: World, case: str) -> None:
    if case == "unenrolled":
        w.add(1, managed=False)
    elif case == "retired":
        w.add(1)
        w.svc.retire(guid(1))
    for params in (
        {"querycriteria": "guid", "value": guid(1)},
        {"querycriteria": "macaddress", "value": mac(1)},
    ):
        resp = w.get(query(paging=0, filter="all", **params))
        assert resp.status_code == 200
        device_list = xml(resp.data).find(f"{NS}deviceList")
        assert device_list is not None and len(device_list) == 0
        assert b"<deviceList />" in resp.data or b"<deviceList/>" in resp.data


def test_unknown_state_is_not_compliant(w: World) -> None:
    w.add(1, evaluate=False)
    (device,) = cr_devices(
        xml(w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="all")).data)
    )
    assert text(device, f"{NS}Attributes/{NS}register_status") == "true"
    assert text(device, f"{NS}Attributes/{NS}Compliance/{NS}status") == "false"


def test_grace_period_device_reads_compliant(w: World) -> None:
    from mock_intune.model import TenantSettings

    w.svc.update_settings(TenantSettings(grace_period_hours=2))
    w.add(1, posture_compliant=False)
    status = f"{NS}Attributes/{NS}Compliance/{NS}status"
    (device,) = cr_devices(
        xml(w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="all")).data)
    )
    assert text(device, status) == "true"
    w.clock.advance(2 * 3600)
    (device,) = cr_devices(
        xml(w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="all")).data)
    )
    assert text(device, status) == "false"


def test_filter_limits_the_attributes(w: World) -> None:
    w.add(1)
    root = xml(w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="register_status")).data)
    (device,) = cr_devices(root)
    attributes = device.find(f"{NS}Attributes")
    assert attributes is not None
    assert [c.tag.removeprefix(NS) for c in attributes] == ["guid", "register_status"]


def test_json_accept_still_gets_xml(w: World) -> None:
    w.add(1)
    resp = w.get(
        query(paging=0, querycriteria="guid", value=guid(1), filter="all"),
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/xml")


def sweep(w: World, identifier: str = "guid") -> tuple[list[str], list[str]]:
    """Follow paging_info to the end; return (device keys, paging_info values)."""
    keys: list[str] = []
    infos: list[str] = []
    paging = "0"
    for _ in range(20):
        resp = w.get(
            query(
                paging=paging,
                querycriteria="compliance",
                value="false",
                deviceidentifier=identifier,
                filter="all",
            )
        )
        assert resp.status_code == 200, resp.data
        root = xml(resp.data)
        info = text(root, f"{NS}paging_info")
        assert info is not None
        infos.append(info)
        for device in cr_devices(root):
            keys.append(text(device, f"{NS}{identifier}") or "")
            assert text(device, f"{NS}Attributes/{NS}Compliance/{NS}status") == "false"
        if info == "0":
            return keys, infos
        paging = info
    raise AssertionError("paging never ended")


def test_noncompliant_list_pages_by_query_max_size_and_misses_none(w: World) -> None:
    for n in range(1, 251):
        w.add(n, posture_compliant=n % 5 == 0)  # 50 compliant, 200 noncompliant
    w.add(900, evaluate=False)  # Unknown: not compliant, so listed
    w.add(901, managed=False, posture_compliant=False)  # not enrolled: never listed
    keys, infos = sweep(w)
    expected = sorted([guid(n) for n in range(1, 251) if n % 5 != 0] + [guid(900)])
    assert sorted(keys) == expected and len(keys) == len(set(keys)) == 201
    assert len(infos) == 3 and infos[-1] == "0" and all(i.isdigit() and i != "0" for i in infos[:-1])
    pages = [c.detail for c in w.svc.calls() if c.detail.get("broad")]
    assert [p["results"] for p in pages] == [100, 100, 1]
    assert [p["continued"] for p in pages] == [False, True, True]
    assert pages[0]["criteria"] == "compliance" and pages[0]["value"] == "false"
    assert all(d["compliant"] is False for p in pages for d in p["devices"])


def test_noncompliant_list_by_mac(w: World) -> None:
    w.add(1, posture_compliant=False)
    w.add(2, posture_compliant=False, wifi_mac="")  # no MAC: cannot be keyed by MAC
    w.add(3)
    root = xml(
        w.get(
            query(
                paging=0,
                querycriteria="compliance",
                value="false",
                deviceidentifier="macaddress",
                filter="all",
            )
        ).data
    )
    (device,) = cr_devices(root)
    assert [c.tag.removeprefix(NS) for c in device] == ["macaddress", "Attributes"]
    assert text(device, f"{NS}macaddress") == mac(1)
    assert text(device, f"{NS}Attributes/{NS}guid") == guid(1)


def test_a_device_fixed_mid_sweep_is_not_repeated_and_none_is_missed(w: World) -> None:
    for n in range(1, 151):
        w.add(n, posture_compliant=False)
    first = xml(w.get(query(paging=0, querycriteria="compliance", value="false", filter="all")).data)
    info = text(first, f"{NS}paging_info")
    seen = [text(d, f"{NS}guid") for d in cr_devices(first)]
    # A device of page 1 gets fixed and one of page 2 too; the rest of page 2 still arrives.
    w.svc.set_posture(guid(1), True)
    w.svc.check_in(guid(1))
    w.svc.set_posture(guid(150), True)
    w.svc.check_in(guid(150))
    second = xml(w.get(query(paging=info, querycriteria="compliance", value="false", filter="all")).data)
    rest = [text(d, f"{NS}guid") for d in cr_devices(second)]
    assert text(second, f"{NS}paging_info") == "0"
    assert sorted(seen + rest) == sorted(guid(n) for n in range(1, 150))


def test_devices_query_is_logged_with_decision_fields(w: World) -> None:
    w.add(1)
    w.get(query(paging=0, querycriteria="guid", value=guid(1), filter="all"))
    call = [c for c in w.svc.calls() if c.surface is Surface.CR_CISCO][-1]
    assert call.app == w.svc.config.client_id
    assert call.detail["criteria"] == "guid" and call.detail["value"] == guid(1)
    assert call.detail["deviceidentifier"] == "guid" and call.detail["paging"] == 0
    assert call.detail["results"] == 1
    assert call.detail["devices"] == [{"id": guid(1), "registered": True, "compliant": True}]
