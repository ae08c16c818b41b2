"""Seed documents: JSON / YAML into Devices, with errors naming the item index and the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mock_intune.errors import ConfigError
from mock_intune.model import ComplianceState, OperatingSystem, OwnerType
from mock_intune.seed import load_document, parse_devices

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ID1 = "5b2f3c1e-1111-4000-8000-000000000001"


def parse(doc: object) -> list:  # type: ignore[type-arg]
    return parse_devices(doc, now=NOW, source="seed.yaml")


def test_yaml_document_with_graph_aliases() -> None:
    text = f"""
devices:
  - id: "{ID1.upper()}"
    deviceName: LAPTOP-1
    wiFiMacAddress: "aa:bb:cc:dd:ee:01"
    operatingSystem: ios
    complianceState: noncompliant
    managedDeviceOwnerType: personal
    jailBroken: "True"
    lastSyncDateTime: 2026-01-04T10:00:00Z
  - wifi_mac: AABBCCDDEE02
"""
    first, second = parse(load_document(text, fmt="yaml", source="seed.yaml"))
    assert first.intune_id == ID1
    assert first.wifi_mac == "AABBCCDDEE01"
    assert first.operating_system is OperatingSystem.IOS
    assert first.compliance_state is ComplianceState.NONCOMPLIANT
    assert first.owner_type is OwnerType.PERSONAL
    assert first.jail_broken is True
    assert first.last_sync_at == datetime(2026, 1, 4, 10, tzinfo=UTC)
    assert first.evaluated_at == NOW
    assert first.enrolled_at == NOW
    # defaults are stated: fresh GUIDs, Unknown until evaluated, enrolled now
    assert len(second.intune_id) == 36 and second.intune_id != second.azure_ad_device_id
    assert second.compliance_state is ComplianceState.UNKNOWN
    assert second.last_sync_at is None


def test_json_list_and_single_object() -> None:
    assert len(parse(load_document('[{"device_name": "a"}, {"device_name": "b"}]'))) == 2
    assert parse(load_document('{"device_name": "solo"}'))[0].device_name == "solo"


@pytest.mark.parametrize(
    ("doc", "where", "fragment"),
    [
        ([{"wifi_mac": "nope"}], "devices[0].wifi_mac", "not a MAC address"),
        ([{}, {"intune_id": "123"}], "devices[1].intune_id", "not a GUID"),
        ([{}, {}, {"complianceState": "sortof"}], "devices[2].complianceState", "not one of"),
        ([{"colour": "red"}], "devices[0].colour", "unknown field"),
        ([{"managed": "yes"}], "devices[0].managed", "true or false"),
        ([{"enrolled_at": "2026-01-05T08:00:00"}], "devices[0].enrolled_at", "time zone"),
        ([{"enrolled_at": "yesterday"}], "devices[0].enrolled_at", "ISO 8601"),
        ([{"device_name": 7}], "devices[0].device_name", "want a string"),
        ([{"device_name": "x" * 300}], "devices[0].device_name", "longer than"),
        ([{"managed": False, "compliance_state": "compliant"}], "devices[0].compliance_state", "unenrolled"),
        ([{"compliance_state": "inGracePeriod"}], "devices[0].grace_expires_at", "inGracePeriod needs"),
        ([{"id": ID1, "intune_id": ID1}], "devices[0].intune_id", "given twice"),
        ([{"id": ID1}, {"id": ID1}], "devices[1].intune_id", "duplicate"),
        (["text"], "devices[0]", "want an object"),
        ("just text", "devices", "want a list"),
        ({"devices": [], "extra": 1}, "seed.yaml", "unknown top-level"),
    ],
)
def test_errors_name_item_and_field(doc: object, where: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(doc)
    message = str(info.value)
    assert message.startswith("seed.yaml")
    assert where in message
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "fmt", "fragment"),
    [
        ('{"devices": [', "json", "invalid JSON"),
        ("devices: [\n  - a: b\n  c", "yaml", "invalid YAML"),
        ("[" * 100_000, "json", "nested too deeply"),
        (b"\xff\xfe", None, "not UTF-8"),
    ],
)
def test_syntax_errors(text: str | bytes, fmt: str | None, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_document(text, fmt=fmt, source="body")
    assert fragment in str(info.value)
    assert str(info.value).startswith("body")


def test_json_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_document('[\n {"a": 1},\n {"b": }\n]', fmt="json", source="f.json")
    assert info.value.line == 3
