"""The admin API: auth, seeding (JSON / YAML), device changes under Intune's rules, settings, apps,
faults, the service endpoint, the call log, reset and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from mock_intune import ManualClock, MockConfig, MockIntune, create_app
from mock_intune.model import GRAPH_RESOURCE

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ID1 = "5b2f3c1e-1111-4000-8000-000000000001"
ID2 = "5b2f3c1e-1111-4000-8000-000000000002"
ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def svc(clock: ManualClock) -> MockIntune:
    return MockIntune(MockConfig(admin_token="test-admin-token"), clock=clock)


@pytest.fixture
def client(svc: MockIntune) -> FlaskClient:
    return create_app(service=svc).test_client()


def seed(client: FlaskClient, devices: list[dict[str, object]]) -> list[str]:
    resp = client.post("/admin/devices", json={"devices": devices}, headers=ADMIN)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["ids"]  # type: ignore[no-any-return]


def graph_token(svc: MockIntune) -> dict[str, str]:
    token, _ = svc.tokens.issue(svc.app(svc.config.client_id), GRAPH_RESOURCE)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}])
def test_admin_token_required(client: FlaskClient, headers: dict[str, str]) -> None:
    resp = client.get("/admin/devices", headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "Unauthorized"
    assert "WWW-Authenticate" in resp.headers


def test_seed_json_and_yaml_then_list_and_get(client: FlaskClient) -> None:
    seed(client, [{"intune_id": ID1, "wifi_mac": "aa-bb-cc-dd-ee-01", "compliance_state": "compliant"}])
    yaml_doc = f"- intune_id: {ID2}\n  device_name: PHONE-2\n  operating_system: iOS\n  managed: false\n"
    resp = client.post("/admin/devices", data=yaml_doc, content_type="application/yaml", headers=ADMIN)
    assert resp.status_code == 201
    assert resp.get_json() == {"seeded": 1, "ids": [ID2]}
    body = client.get("/admin/devices", headers=ADMIN).get_json()
    assert body["count"] == 2
    assert {d["intune_id"]: d["compliant"] for d in body["devices"]} == {ID1: True, ID2: False}
    only = client.get("/admin/devices", query_string={"managed": "false"}, headers=ADMIN).get_json()
    assert [d["intune_id"] for d in only["devices"]] == [ID2]
    dev = client.get(f"/admin/devices/{ID1.upper()}", headers=ADMIN).get_json()
    assert dev["wifi_mac"] == "AABBCCDDEE01"
    assert dev["effective_state"] == "compliant"
    assert client.get(f"/admin/devices/{ID2[:-1]}9", headers=ADMIN).status_code == 404
    assert client.get("/admin/devices/xyz", headers=ADMIN).status_code == 400


@pytest.mark.parametrize(
    ("data", "content_type", "status", "fragment"),
    [
        ('{"devices": [{}, {"wifi_mac": "zz"}]}', "application/json", 400, "devices[1].wifi_mac"),
        ('{"devices": [', "application/json", 400, "invalid JSON"),
        ("- {device_name: [unclosed", "application/yaml", 400, "invalid YAML"),
        ("device_name: x", "text/plain", 415, "application/json or application/yaml"),
        ('[{"compliance_state": "blue"}]', "application/json", 400, "devices[0].compliance_state"),
    ],
)
def test_seed_errors_are_4xx_naming_the_field(
    client: FlaskClient, data: str, content_type: str, status: int, fragment: str
) -> None:
    resp = client.post("/admin/devices", data=data, content_type=content_type, headers=ADMIN)
    assert resp.status_code == status
    assert fragment in resp.get_json()["error"]["message"]


def test_oversized_seed_is_413_not_500(client: FlaskClient) -> None:
    big = "devices:\n" + "  - device_name: " + "x" * 200 + "\n" * 1
    resp = client.post("/admin/devices", data=big * 6000, content_type="application/yaml", headers=ADMIN)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"]


def test_patch_posture_then_check_in_and_illegal_transition(client: FlaskClient) -> None:
    seed(client, [{"intune_id": ID1, "compliance_state": "compliant"}])
    dev = client.patch(f"/admin/devices/{ID1}", json={"posture": "noncompliant"}, headers=ADMIN).get_json()
    assert dev["posture_compliant"] is False
    assert dev["effective_state"] == "compliant"  # Intune has not looked yet
    dev = client.post(f"/admin/devices/{ID1}/check-in", headers=ADMIN).get_json()
    assert dev["effective_state"] == "noncompliant"
    resp = client.patch(
        f"/admin/devices/{ID1}", json={"compliance_state": "unknown", "device_name": "renamed"}, headers=ADMIN
    )
    assert resp.status_code == 409
    assert "STA-01" in resp.get_json()["error"]["message"]
    dev = client.get(f"/admin/devices/{ID1}", headers=ADMIN).get_json()
    assert dev["compliance_state"] == "noncompliant" and dev["device_name"] == ""  # unchanged
    dev = client.patch(
        f"/admin/devices/{ID1}", json={"compliance_state": "compliant", "serial_number": "SN1"}, headers=ADMIN
    ).get_json()
    assert (dev["compliance_state"], dev["serial_number"]) == ("compliant", "SN1")
    # Graph property names work too
    dev = client.patch(
        f"/admin/devices/{ID1}",
        json={"deviceName": "LAPTOP-9", "wiFiMacAddress": "aa:bb:cc:00:00:09"},
        headers=ADMIN,
    ).get_json()
    assert (dev["device_name"], dev["wifi_mac"]) == ("LAPTOP-9", "AABBCC000009")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"managed": False}, "enroll / retire"),
        ({"intune_id": ID2}, "not a patchable field"),
        ({"posture": "maybe"}, "body.posture"),
        ({"compliance_state": "purple"}, "body.compliance_state"),
        ({"wifi_mac": "12"}, "body.wifi_mac"),
        ({"last_sync_at": "noon"}, "body.last_sync_at"),
    ],
)
def test_patch_rejects_bad_fields(client: FlaskClient, body: dict[str, object], fragment: str) -> None:
    seed(client, [{"intune_id": ID1}])
    resp = client.patch(f"/admin/devices/{ID1}", json=body, headers=ADMIN)
    assert resp.status_code == 400
    assert fragment in resp.get_json()["error"]["message"]


def test_actions_follow_the_state_machine(client: FlaskClient) -> None:
    seed(client, [{"intune_id": ID1, "managed": False}])
    assert client.post(f"/admin/devices/{ID1}/evaluate", headers=ADMIN).status_code == 409
    dev = client.post(f"/admin/devices/{ID1}/enroll", headers=ADMIN).get_json()
    assert (dev["managed"], dev["effective_state"]) == (True, "unknown")
    client.patch(f"/admin/devices/{ID1}", json={"posture_compliant": False}, headers=ADMIN)
    dev = client.post(f"/admin/devices/{ID1}/evaluate", headers=ADMIN).get_json()
    assert dev["effective_state"] == "noncompliant"
    client.patch(f"/admin/devices/{ID1}", json={"posture": "compliant"}, headers=ADMIN)
    dev = client.post(f"/admin/devices/{ID1}/portal-visit", headers=ADMIN).get_json()
    assert dev["effective_state"] == "compliant"
    dev = client.post(f"/admin/devices/{ID1}/retire", headers=ADMIN).get_json()
    assert (dev["managed"], dev["compliant"]) == (False, False)
    assert client.post(f"/admin/devices/{ID1}/explode", headers=ADMIN).status_code == 404
    assert client.delete(f"/admin/devices/{ID1}", headers=ADMIN).status_code == 204
    assert client.delete(f"/admin/devices/{ID1}", headers=ADMIN).status_code == 404


def test_settings_round_trip_and_validation(client: FlaskClient, svc: MockIntune) -> None:
    assert client.get("/admin/settings", headers=ADMIN).get_json()["validity_days"] == 30
    resp = client.put(
        "/admin/settings", json={"no_policy_mark": "noncompliant", "validity_days": 7}, headers=ADMIN
    )
    assert resp.get_json() == {
        "no_policy_mark": "noncompliant",
        "validity_days": 7,
        "grace_period_hours": 0.0,
    }
    assert svc.settings().validity_days == 7
    for bad, field in (
        ({"validity_days": 0}, "validity_days"),
        ({"validity_days": "7"}, "validity_days"),
        ({"no_policy_mark": "maybe"}, "no_policy_mark"),
        ({"grace_period_hours": -1}, "grace_period_hours"),
        ({"colour": 1}, "colour"),
    ):
        resp = client.put("/admin/settings", json=bad, headers=ADMIN)
        assert resp.status_code == 400, bad
        assert field in resp.get_json()["error"]["message"]
    assert (
        client.put("/admin/settings", data="x", content_type="text/plain", headers=ADMIN).status_code == 415
    )


def test_apps_register_and_revoke_permission(client: FlaskClient, svc: MockIntune) -> None:
    apps = client.get("/admin/apps", headers=ADMIN).get_json()["apps"]
    assert apps[0]["client_id"] == svc.config.client_id and "client_secret" not in apps[0]
    new = "11111111-2222-4333-8444-555555555555"
    resp = client.post(
        "/admin/apps",
        json={"client_id": new, "client_secret": "s3cret", "permissions": ["get_device_compliance"]},
        headers=ADMIN,
    )
    assert resp.status_code == 201
    assert resp.get_json()["permissions"] == ["get_device_compliance"]
    assert svc.app(new).client_secret == "s3cret"
    bad = client.post("/admin/apps", json={"client_id": new, "permissions": ["root"]}, headers=ADMIN)
    assert bad.status_code == 400 and "root" in bad.get_json()["error"]["message"]
    # ONB-05: the default app loses DeviceManagementManagedDevices.Read.All -> Graph says 403
    cid = svc.config.client_id
    resp = client.put(
        f"/admin/apps/{cid}/permissions", json={"permissions": ["get_device_compliance"]}, headers=ADMIN
    )
    assert resp.get_json()["permissions"] == ["get_device_compliance"]
    graph = client.get("/v1.0/deviceManagement/managedDevices", headers=graph_token(svc))
    assert graph.status_code == 403
    assert client.get("/admin/apps/99999999-2222-4333-8444-555555555555", headers=ADMIN).status_code == 404


def test_faults_set_list_clear(client: FlaskClient, svc: MockIntune) -> None:
    resp = client.put("/admin/faults/graph", json={"error_rate": 1.0, "error_status": 503}, headers=ADMIN)
    assert resp.status_code == 200, resp.get_json()
    assert client.get("/admin/faults", headers=ADMIN).get_json()["faults"]["graph"]["error_rate"] == 1.0
    assert client.get("/v1.0/deviceManagement/managedDevices", headers=graph_token(svc)).status_code == 503
    assert client.delete("/admin/faults/graph", headers=ADMIN).status_code == 204
    assert client.get("/v1.0/deviceManagement/managedDevices", headers=graph_token(svc)).status_code == 200
    bad = client.put("/admin/faults/graph", json={"error_rate": 2}, headers=ADMIN)
    assert bad.status_code == 400
    assert client.put("/admin/faults/nowhere", json={}, headers=ADMIN).status_code == 400


def test_service_endpoint_moves(client: FlaskClient) -> None:
    before = client.get("/admin/service-endpoint", headers=ADMIN).get_json()["base_url"]
    moved = client.put("/admin/service-endpoint", json={"base_url": "/fef-02"}, headers=ADMIN).get_json()
    assert moved["base_url"] != before and moved["base_url"].endswith("/fef-02")
    back = client.put("/admin/service-endpoint", json={"base_url": None}, headers=ADMIN).get_json()
    assert back["base_url"] == before
    assert client.put("/admin/service-endpoint", json={"url": "/x"}, headers=ADMIN).status_code == 400


def test_call_log_reset_and_clock(client: FlaskClient, svc: MockIntune, clock: ManualClock) -> None:
    seed(client, [{"intune_id": ID1, "compliance_state": "compliant"}])
    auth = graph_token(svc)
    client.get("/v1.0/deviceManagement/managedDevices", headers=auth)
    client.get(f"/v1.0/deviceManagement/managedDevices/{ID1}", headers=auth)
    body = client.get("/admin/calls", headers=ADMIN).get_json()
    assert [c["surface"] for c in body["calls"]] == ["graph", "graph"]  # admin calls are not logged
    assert body["calls"][0]["detail"]["devices"] == [{"id": ID1, "compliant": True, "state": "compliant"}]
    first = body["calls"][0]["seq"]
    later = client.get("/admin/calls", query_string={"after": first}, headers=ADMIN).get_json()
    assert [c["path"] for c in later["calls"]] == [f"/v1.0/deviceManagement/managedDevices/{ID1}"]
    assert later["last"] == first + 1
    none = client.get("/admin/calls", query_string={"surface": "cr_cisco"}, headers=ADMIN).get_json()
    assert none == {"calls": [], "last": 0}
    assert client.get("/admin/calls", query_string={"surface": "mars"}, headers=ADMIN).status_code == 400
    assert client.get("/admin/calls", query_string={"after": "-1"}, headers=ADMIN).status_code == 400
    clock.advance(90)
    assert client.get("/admin/clock", headers=ADMIN).get_json()["now"] == "2026-01-05T08:01:30+00:00"
    assert client.post("/admin/reset", headers=ADMIN).get_json() == {"reset": True}
    assert client.get("/admin/devices", headers=ADMIN).get_json()["count"] == 0
    assert client.get("/admin/calls", headers=ADMIN).get_json()["calls"] == []
    info = client.get("/admin/tenant", headers=ADMIN).get_json()
    assert info["tenant_id"] == svc.tenant_id and info["devices"] == 0
