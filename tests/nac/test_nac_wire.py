"""RES-05 and the wire shapes: the parsers read every profile's answer and never read junk as compliant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.nac.intune_answers import MalformedAnswer
from harness.nac.intune_wire import (
    parse_cisco_device,
    parse_cisco_list,
    parse_graph_device,
    parse_json_device,
    parse_last_contact,
    parse_mdminfo,
)

NS = (
    "http://schemas.datacontract.org/2004/07/Microsoft.Intune.ResourceAccess.ComplianceRetrievalService.Model"
)
V3_ONE = (
    f'<ise_api xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><name>attributes</name>'
    "<api_version>3</api_version><deviceList><device><guid>ABC-1</guid><Attributes><guid>ABC-1</guid>"
    "<register_status>true</register_status><Compliance><status>{s}</status></Compliance>"
    "</Attributes></device></deviceList></ise_api>"
)
V2_ONE = (
    "<ise_api><name>attributes</name><api_version>2</api_version><paging_info>0</paging_info><deviceList>"
    "<device><attributes><register_status>true</register_status><compliance><status>{s}</status>"
    "</compliance><pin_lock_on>true</pin_lock_on><udid/><serial_number>C02</serial_number>"
    "</attributes></device></deviceList></ise_api>"
)


def test_mdminfo_v3_namespaced() -> None:
    body = (
        f'<ise_api xmlns="{NS}"><name>mdminfo</name><api_version>3</api_version>'
        "<api_path>/TrafficGateway/x/cisco</api_path>"
        "<redirect_url>https://portal.manage.microsoft.com/networkaccesscontrol/index</redirect_url>"
        "<query_max_size>100</query_max_size><vendor>Microsoft</vendor></ise_api>"
    )
    info = parse_mdminfo(body)
    assert (info.api_version, info.api_path, info.query_max_size) == (3, "/TrafficGateway/x/cisco", 100)
    assert info.redirect_url.endswith("/networkaccesscontrol/index")


@pytest.mark.parametrize("template", [V3_ONE, V2_ONE])
def test_cisco_device_compliance(template: str) -> None:
    assert parse_cisco_device(template.format(s="true")).compliant is True
    answer = parse_cisco_device(template.format(s="false"))
    assert answer.managed and not answer.compliant


def test_v3_guid_is_lower_cased() -> None:
    assert parse_cisco_device(V3_ONE.format(s="true")).intune_id == "abc-1"


def test_empty_device_list_is_not_enrolled() -> None:
    answer = parse_cisco_device(f'<ise_api xmlns="{NS}"><name>attributes</name><deviceList/></ise_api>')
    assert not answer.managed and not answer.compliant


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not xml <",
        "<html><body>Service Unavailable</body></html>",
        "<ise_api><name>attributes</name></ise_api>",  # no deviceList
        V3_ONE.format(s="yes"),
        V3_ONE.format(s=""),
        V3_ONE.replace("<Compliance><status>{s}</status></Compliance>", "").format(s="true"),
        "<ise_api><deviceList><device><guid>x</guid></device></deviceList></ise_api>",
    ],
)
def test_malformed_cisco_never_compliant(body: str) -> None:
    with pytest.raises(MalformedAnswer):
        parse_cisco_device(body)


def test_cisco_list_paging() -> None:
    body = (
        "<ise_api><paging_info>7</paging_info><deviceList><device><macaddress>00:50:56:9a:00:01</macaddress>"
        "<attributes/></device><device><guid>G-2</guid><attributes/></device></deviceList></ise_api>"
    )
    listed, nxt = parse_cisco_list(body)
    assert nxt == "7"
    assert [(d.intune_id, d.mac) for d in listed] == [(None, "0050569A0001"), ("g-2", None)]
    assert parse_cisco_list(body.replace(">7<", ">0<"))[1] is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10/18/2020 14:05:26", datetime(2020, 10, 18, 14, 5, 26, tzinfo=UTC)),
        ("10/18/2020 14:05:26 +0000", datetime(2020, 10, 18, 14, 5, 26, tzinfo=UTC)),
        ("10/18/2020 16:05:26 +02:00", datetime(2020, 10, 18, 14, 5, 26, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_last_contact_variants(raw: str | None, expected: datetime | None) -> None:
    assert parse_last_contact(raw) == expected


@pytest.mark.parametrize("raw", ["2020-10-18T14:05:26Z", "18/10/2020 14:05:26", 1603029926])
def test_last_contact_garbage(raw: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_last_contact(raw)


def test_json_device_tolerates_empty_and_unexpected_fields() -> None:
    answer = parse_json_device(
        {
            "isManaged": True,
            "complianceState": True,
            "imei": "",
            "model": None,
            "newField": {"x": 1},
            "macAddress": "00-50-56-9a-00-01",
            "lastContactTimeUtc": "10/18/2020 14:05:26 +0000",
        }
    )
    assert answer.managed and answer.compliant and answer.mac == "0050569A0001"


@pytest.mark.parametrize(
    "data",
    [
        {"isManaged": True, "complianceState": "maybe"},
        {"isManaged": True, "complianceState": True, "lastContactTimeUtc": "yesterday"},
        {"complianceState": True},
        {"isManaged": "yes", "complianceState": True},
        ["isManaged", True],
    ],
)
def test_json_malformed_never_compliant(data: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_json_device(data)


def test_json_withheld_compliance_is_not_compliant() -> None:
    answer = parse_json_device({"isManaged": True, "complianceState": ""})
    assert answer.managed and not answer.compliant


def test_json_unmanaged() -> None:
    assert not parse_json_device({"isManaged": False, "complianceState": True}).managed


@pytest.mark.parametrize(
    ("state", "compliant"),
    [
        ("compliant", True),
        ("inGracePeriod", True),
        ("unknown", False),
        ("noncompliant", False),
        ("error", False),
    ],
)
def test_graph_states(state: str, compliant: bool) -> None:
    answer = parse_graph_device({"id": "ABC", "complianceState": state, "wiFiMacAddress": ""})
    assert answer.compliant is compliant and answer.state == state and answer.intune_id == "abc"


@pytest.mark.parametrize("state", [None, "", "Compliant", 1, "compliantish"])
def test_graph_malformed_state(state: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_graph_device({"id": "x", "complianceState": state})
