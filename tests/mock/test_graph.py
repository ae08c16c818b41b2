"""Graph managedDevices: shapes, $filter / $select / $top / $count, paging, auth, throttling, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from mock_intune import ComplianceState, Device, ManualClock, MockConfig, MockIntune, Permission, create_app
from mock_intune.faults import set_fault
from mock_intune.model import (
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    AppRegistration,
    OperatingSystem,
    Surface,
    TenantSettings,
)

BASE = "/v1.0/deviceManagement/managedDevices"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def make_device(n: int, **kw: object) -> Device:
    values: dict[str, object] = {
        "intune_id": guid(n),
        "azure_ad_device_id": f"aaaaaaaa-0000-4000-8000-{n:012d}",
        "device_name": f"DESKTOP-{n:04d}",
        "wifi_mac": f"0A1B2C3D{n:04X}",
        "ethernet_mac": f"0E1B2C3D{n:04X}",
        "serial_number": f"SN{n:06d}",
        "imei": f"35{n:013d}",
        "operating_system": OperatingSystem.WINDOWS,
        "os_version": "10.0.22631.4317",
        "model": "Latitude 7440",
        "manufacturer": "Dell Inc.",
        "user_principal_name": f"user{n}@contoso.example",
        "enrolled_at": START - timedelta(days=10),
        "last_sync_at": START - timedelta(hours=1),
        "evaluated_at": START - timedelta(hours=1),
        "compliance_state": ComplianceState.COMPLIANT,
    }
    values.update(kw)
    return Device(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def svc(clock: ManualClock) -> MockIntune:
    return MockIntune(MockConfig(), clock=clock)


@pytest.fixture
def client(svc: MockIntune) -> FlaskClient:
    return create_app(service=svc).test_client()


def bearer(
    svc: MockIntune, audience: str = GRAPH_RESOURCE, app: AppRegistration | None = None
) -> dict[str, str]:
    token, _ = svc.tokens.issue(app or svc.app(svc.config.client_id), audience)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(svc: MockIntune) -> dict[str, str]:
    return bearer(svc)


def test_list_shape_uses_graph_property_names(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str]
) -> None:
    svc.seed([make_device(1)])
    resp = client.get(BASE, headers=auth)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["@odata.context"] == "http://localhost/v1.0/$metadata#deviceManagement/managedDevices"
    (dev,) = body["value"]
    assert dev["id"] == guid(1)
    assert dev["azureADDeviceId"] == "aaaaaaaa-0000-4000-8000-000000000001"
    assert dev["deviceName"] == "DESKTOP-0001"
    assert dev["complianceState"] == "compliant"
    assert dev["wiFiMacAddress"] == "0A1B2C3D0001"
    assert dev["jailBroken"] == "False"
    assert dev["isEncrypted"] is True
    assert dev["managementAgent"] == "mdm"
    assert dev["managedDeviceOwnerType"] == "company"
    assert dev["deviceRegistrationState"] == "registered"
    assert dev["lastSyncDateTime"] == "2026-01-05T07:00:00Z"
    assert dev["enrolledDateTime"] == "2025-12-26T08:00:00Z"
    assert dev["complianceGracePeriodExpirationDateTime"] == "9999-12-31T23:59:59Z"
    assert dev["managedDeviceName"].startswith("user1_Windows_12/26/2025_")
    assert "ethernetMacAddress" not in dev  # beta only
    assert resp.headers["request-id"]


def test_beta_adds_ethernet_mac_and_udid(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(1, udid="UDID-1")])
    dev = client.get("/beta/deviceManagement/managedDevices", headers=auth).get_json()["value"][0]
    assert dev["ethernetMacAddress"] == "0E1B2C3D0001"
    assert dev["udid"] == "UDID-1"
    resp = client.get(BASE, query_string={"$filter": "ethernetMacAddress eq '0E1B2C3D0001'"}, headers=auth)
    assert resp.status_code == 400  # not a v1.0 property
    resp = client.get(
        "/beta/deviceManagement/managedDevices",
        query_string={"$filter": "ethernetMacAddress eq '0e:1b:2c:3d:00:01'"},
        headers=auth,
    )
    assert [d["id"] for d in resp.get_json()["value"]] == [guid(1)]


def test_effective_state_applies_validity_period(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str], clock: ManualClock
) -> None:
    svc.seed([make_device(1)])
    clock.advance(timedelta(days=31).total_seconds())
    auth = bearer(svc)  # the first token expired meanwhile
    dev = client.get(f"{BASE}/{guid(1)}", headers=auth).get_json()
    assert dev["complianceState"] == "noncompliant"
    assert dev["@odata.context"].endswith("managedDevices/$entity")


def test_unmanaged_devices_are_not_listed(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(1), make_device(2)])
    svc.retire(guid(2))
    ids = [d["id"] for d in client.get(BASE, headers=auth).get_json()["value"]]
    assert ids == [guid(1)]
    resp = client.get(f"{BASE}/{guid(2)}", headers=auth)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (f"id eq '{guid(2)}'", [2]),
        ("azureADDeviceId eq 'AAAAAAAA-0000-4000-8000-000000000003'", [3]),
        ("serialNumber eq 'SN000001'", [1]),
        ("deviceName eq 'desktop-0002'", [2]),
        ("imei eq '350000000000003'", [3]),
        ("wiFiMacAddress eq '0a:1b:2c:3d:00:02'", [2]),
        ("wiFiMacAddress eq '0A1B2C3D0002'", [2]),
        ("wiFiMacAddress eq 'zz'", []),
        ("complianceState eq 'noncompliant'", [3]),
        ("operatingSystem eq 'iOS'", [2]),
        ("operatingSystem eq 'Windows' and complianceState eq 'compliant'", [1]),
        ("(operatingSystem eq 'Windows') and (serialNumber eq 'SN000003')", [3]),
        ("deviceName eq 'O''Brien'", [4]),
    ],
)
def test_filter_eq(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str], flt: str, expected: list[int]
) -> None:
    svc.seed(
        [
            make_device(1),
            make_device(2, operating_system=OperatingSystem.IOS),
            make_device(3, compliance_state=ComplianceState.NONCOMPLIANT),
            make_device(4, device_name="O'Brien", operating_system=OperatingSystem.ANDROID),
        ]
    )
    resp = client.get(BASE, query_string={"$filter": flt}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    assert [d["id"] for d in resp.get_json()["value"]] == [guid(n) for n in expected]
    detail = svc.calls()[-1].detail
    assert detail["filter"] == flt
    assert detail["results"] == len(expected)


@pytest.mark.parametrize(
    ("flt", "fragment"),
    [
        ("model eq 'x'", "Filtering on property 'model'"),
        ("nosuch eq 'x'", "Could not find a property named 'nosuch'"),
        ("deviceName ne 'x'", "operator 'ne'"),
        ("startswith(deviceName,'D')", "function 'startswith'"),
        ("deviceName eq 'a' or deviceName eq 'b'", "operator 'or'"),
        ("deviceName eq x", "quoted string"),
        ("deviceName eq 'unterminated", "unterminated"),
        ("deviceName eq", "quoted string literal"),
        ("(deviceName eq 'a'", "unbalanced"),
        ("deviceName eq 'a')", "unbalanced"),
        ("deviceName eq 'a' and", "ends where a term"),
        ("", "empty"),
        ("deviceName eq '" + "x" * 3000 + "'", "longer than"),
    ],
)
def test_unsupported_filter_is_odata_400(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str], flt: str, fragment: str
) -> None:
    client_request_id = "5b2f3c1e-0000-4000-8000-000000000042"
    resp = client.get(
        BASE, query_string={"$filter": flt}, headers={**auth, "client-request-id": client_request_id}
    )
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "BadRequest"
    assert fragment in err["message"]
    inner = err["innerError"]
    assert inner["client-request-id"] == client_request_id
    assert inner["request-id"] == resp.headers["request-id"]
    assert inner["date"] == "2026-01-05T08:00:00"


def test_select_top_count_and_paging(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(n) for n in range(1, 26)])
    url = BASE
    query: dict[str, str] | None = {
        "$select": "id,complianceState",
        "$top": "10",
        "$count": "true",
        "$filter": "operatingSystem eq 'Windows'",
    }
    seen: list[str] = []
    pages = 0
    while url:
        resp = client.get(url, query_string=query, headers=auth)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        pages += 1
        assert body["@odata.count"] == 25
        assert body["@odata.context"].endswith("managedDevices(id,complianceState)")
        assert all(set(d) == {"id", "complianceState"} for d in body["value"])
        seen += [d["id"] for d in body["value"]]
        next_link = body.get("@odata.nextLink")
        if next_link:
            parts = urlsplit(next_link)
            assert parts.scheme == "http" and parts.netloc == "localhost"
            kept = parse_qs(parts.query)
            assert kept["$filter"] == ["operatingSystem eq 'Windows'"]
            assert kept["$top"] == ["10"]
            url, query = f"{parts.path}?{parts.query}", None
        else:
            url = ""
    assert pages == 3
    assert seen == [guid(n) for n in range(1, 26)]
    assert [c.detail["page"] for c in svc.calls()] == [1, 2, 3]
    assert [c.detail["results"] for c in svc.calls()] == [10, 10, 5]


def test_paging_survives_changes_between_pages(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str]
) -> None:
    svc.seed([make_device(n) for n in range(1, 7)])
    first = client.get(BASE, query_string={"$top": "3"}, headers=auth).get_json()
    svc.seed([make_device(0)])  # sorts before the page boundary: must not shift later pages
    second = client.get(first["@odata.nextLink"], headers=auth).get_json()
    assert [d["id"] for d in second["value"]] == [guid(4), guid(5), guid(6)]
    assert "@odata.nextLink" not in second


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"$top": "0"}, "$top"),
        ({"$top": "ten"}, "$top"),
        ({"$count": "maybe"}, "$count"),
        ({"$select": "id,nosuch"}, "nosuch"),
        ({"$select": "id,"}, "empty property"),
        ({"$skiptoken": "garbage!"}, "$skiptoken"),
        ({"$orderby": "deviceName"}, "$orderby"),
        ({"$expand": "users"}, "$expand"),
    ],
)
def test_bad_query_options(
    client: FlaskClient, auth: dict[str, str], query: dict[str, str], fragment: str
) -> None:
    resp = client.get(BASE, query_string=query, headers=auth)
    assert resp.status_code == 400
    assert fragment in resp.get_json()["error"]["message"]


def test_top_above_max_is_paged_at_max(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(n) for n in range(1, 4)])
    body = client.get(BASE, query_string={"$top": "5000"}, headers=auth).get_json()
    assert len(body["value"]) == 3


def test_count_segment(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(1), make_device(2, compliance_state=ComplianceState.NONCOMPLIANT)])
    resp = client.get(f"{BASE}/$count", headers=auth)
    assert resp.data == b"2"
    resp = client.get(
        f"{BASE}/$count", query_string={"$filter": "complianceState eq 'compliant'"}, headers=auth
    )
    assert resp.data == b"1"


def test_get_with_select_and_bad_id(svc: MockIntune, client: FlaskClient, auth: dict[str, str]) -> None:
    svc.seed([make_device(1)])
    body = client.get(
        f"{BASE}/{guid(1).upper()}", query_string={"$select": "deviceName"}, headers=auth
    ).get_json()
    assert body["deviceName"] == "DESKTOP-0001"
    assert "id" not in body
    resp = client.get(f"{BASE}/not-a-guid", headers=auth)
    assert resp.status_code == 404
    assert "innerError" in resp.get_json()["error"]


def test_wrong_audience_missing_token_and_missing_permission(svc: MockIntune, client: FlaskClient) -> None:
    resp = client.get(BASE)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "InvalidAuthenticationToken"
    resp = client.get(BASE, headers=bearer(svc, MANAGE_RESOURCE))
    assert resp.status_code == 401
    lacking = AppRegistration(
        client_id="11111111-2222-4333-8444-555555555555",
        tenant_id=svc.tenant_id,
        client_secret="s",
        permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE}),
    )
    svc.register_app(lacking)
    resp = client.get(BASE, headers=bearer(svc, app=lacking))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "Authorization_RequestDenied"
    assert "DeviceManagementManagedDevices.Read.All" in resp.get_json()["error"]["message"]
    readwrite = AppRegistration(
        client_id="22222222-2222-4333-8444-555555555555",
        tenant_id=svc.tenant_id,
        permissions=frozenset({Permission.MANAGED_DEVICES_READWRITE_ALL}),
    )
    svc.register_app(readwrite)
    assert client.get(BASE, headers=bearer(svc, app=readwrite)).status_code == 200


def test_throttled_with_retry_after(clock: ManualClock) -> None:
    svc = MockIntune(MockConfig(graph_rate_limit=3, graph_rate_window_s=20.0), clock=clock)
    client = create_app(service=svc).test_client()
    auth = bearer(svc)
    statuses = [client.get(BASE, headers=auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = client.get(BASE, headers=auth)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "21"
    assert resp.get_json()["error"]["code"] == "TooManyRequests"
    clock.advance(21)
    assert client.get(BASE, headers=auth).status_code == 200
    log = [c for c in svc.calls() if c.surface is Surface.GRAPH]
    assert [c.status for c in log] == [200, 200, 200, 429, 429, 200]


def test_graph_fault_can_drop_retry_after_from_real_throttling(clock: ManualClock) -> None:
    svc = MockIntune(MockConfig(graph_rate_limit=1), clock=clock)
    set_fault(svc, Surface.GRAPH, {"retry_after": False})
    client = create_app(service=svc).test_client()
    auth = bearer(svc)
    assert client.get(BASE, headers=auth).status_code == 200
    resp = client.get(BASE, headers=auth)
    assert resp.status_code == 429
    assert "Retry-After" not in resp.headers
    set_fault(svc, Surface.GRAPH, None)
    resp = client.get(BASE, headers=auth)
    assert resp.status_code == 429 and resp.headers["Retry-After"]


def test_tenant_settings_no_policy_mark_shows_in_graph(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str]
) -> None:
    svc.seed([make_device(1, has_policy=False, compliance_state=ComplianceState.UNKNOWN, last_sync_at=None)])
    svc.update_settings(
        TenantSettings(no_policy_mark=TenantSettings().no_policy_mark.__class__("noncompliant"))
    )
    svc.evaluate(guid(1))
    dev = client.get(f"{BASE}/{guid(1)}", headers=auth).get_json()
    assert dev["complianceState"] == "noncompliant"


def test_filters_find_every_record_sharing_an_identifier(
    svc: MockIntune, client: FlaskClient, auth: dict[str, str]
) -> None:
    # A re-enrolled device: the retired record and the new one share the Entra id and the MAC;
    # a third device has that MAC as its Ethernet address. Only the managed Wi-Fi match is listed.
    shared_aad = "aaaaaaaa-0000-4000-8000-00000000abcd"
    svc.seed(
        [
            make_device(1, azure_ad_device_id=shared_aad, wifi_mac="0A0000000001"),
            make_device(2, azure_ad_device_id=shared_aad, wifi_mac="0A0000000001"),
            make_device(3, ethernet_mac="0A0000000001"),
        ]
    )
    svc.retire(guid(1))
    for flt in (f"azureADDeviceId eq '{shared_aad}'", "wiFiMacAddress eq '0a-00-00-00-00-01'"):
        body = client.get(BASE, query_string={"$filter": flt}, headers=auth).get_json()
        assert [d["id"] for d in body["value"]] == [guid(2)], flt
    beta = client.get(
        "/beta/deviceManagement/managedDevices",
        query_string={"$filter": "ethernetMacAddress eq '0A0000000001'"},
        headers=auth,
    ).get_json()
    assert [d["id"] for d in beta["value"]] == [guid(3)]
