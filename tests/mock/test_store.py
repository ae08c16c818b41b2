"""The SQLite store: records round-trip, state survives a restart, reset forgets the right things."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from nac_world import START, guid, mac

from mock_intune import ManualClock, MockConfig, MockIntune
from mock_intune.errors import NotFound
from mock_intune.model import (
    AppRegistration,
    CallRecord,
    ComplianceState,
    Device,
    NoPolicyMark,
    OperatingSystem,
    OwnerType,
    Permission,
    RegistrationState,
    Surface,
    TenantSettings,
)
from mock_intune.store import Store, device_from_json, device_to_json

TENANT = "t-1"


def full_device() -> Device:
    return Device(
        intune_id=guid(7),
        azure_ad_device_id="aad-7",
        device_name="LAPTOP-7",
        wifi_mac=mac(7),
        ethernet_mac=mac(8),
        serial_number="SER7",
        imei="3567",
        meid="A1",
        udid="UD-7",
        operating_system=OperatingSystem.IOS,
        os_version="17.2",
        model="iPhone",
        manufacturer="Apple",
        owner_type=OwnerType.PERSONAL,
        user_principal_name="u@example.com",
        registration_state=RegistrationState.REGISTERED,
        enrolled_at=START,
        last_sync_at=START + timedelta(hours=1),
        evaluated_at=START + timedelta(hours=1),
        compliance_state=ComplianceState.IN_GRACE_PERIOD,
        grace_expires_at=START + timedelta(days=1),
        has_policy=True,
        posture_compliant=False,
        jail_broken=True,
        is_encrypted=False,
    )


def test_device_json_round_trip() -> None:
    device = full_device()
    assert device_from_json(device_to_json(device)) == device


def test_devices_round_trip_and_lookups() -> None:
    store = Store()
    store.put_tenant(TENANT, TenantSettings())
    device = full_device()
    store.put_devices(TENANT, [device, Device(intune_id=guid(9), azure_ad_device_id="aad-9", managed=False)])
    assert store.get_device(TENANT, guid(7)) == device
    assert store.get_device("other-tenant", guid(7)) is None
    assert store.find_by_mac(TENANT, mac(7)) == device
    assert store.find_by_mac(TENANT, mac(8)) == device  # the Ethernet MAC finds it too
    assert store.find_by_azure_id(TENANT, "aad-7") == device
    assert [d.intune_id for d in store.devices(TENANT)] == [guid(7), guid(9)]
    assert [d.intune_id for d in store.devices(TENANT, managed_only=True)] == [guid(7)]
    assert store.count_devices(TENANT) == 2
    assert store.delete_device(TENANT, guid(9)) and not store.delete_device(TENANT, guid(9))


def test_tenants_apps_meta_faults_round_trip() -> None:
    store = Store()
    settings = TenantSettings(
        no_policy_mark=NoPolicyMark.NONCOMPLIANT, validity_days=7, grace_period_hours=2.5
    )
    store.put_tenant(TENANT, settings)
    assert store.tenant_settings(TENANT) == settings
    with pytest.raises(NotFound):
        store.tenant_settings("nope")
    app = AppRegistration(
        client_id="c-1",
        tenant_id=TENANT,
        client_secret="s",
        permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE, Permission.APPLICATION_READ_ALL}),
    )
    store.put_app(app)
    assert store.get_app("c-1") == app
    with pytest.raises(NotFound):
        store.get_app("c-2")
    assert store.setdefault_meta("k", "first") == "first"
    assert store.setdefault_meta("k", "second") == "first"
    store.put_fault("cr_cisco", {"spec": {"error_rate": 0.5}})
    assert store.faults() == {"cr_cisco": {"spec": {"error_rate": 0.5}}}
    store.put_fault("cr_cisco", None)
    assert store.faults() == {}


def test_call_log_round_trip() -> None:
    store = Store()
    record = CallRecord(
        at=START,
        app="c-1",
        surface=Surface.CR_CISCO,
        method="GET",
        path="/x",
        query="a=1",
        status=200,
        latency_ms=12.5,
        detail={"criteria": "guid", "devices": [{"id": guid(1), "compliant": True}]},
    )
    seq = store.log_call(record)
    (back,) = store.calls()
    assert back.seq == seq and back.detail == record.detail and back.at == START
    assert store.calls(after=seq) == []
    assert store.calls(surface=Surface.GRAPH) == []


def test_broad_query_and_rate_window_bookkeeping() -> None:
    store = Store()
    assert store.last_broad_query(TENANT, "app") is None
    store.set_broad_query(TENANT, "app", START)
    assert store.last_broad_query(TENANT, "app") == START
    assert store.hit_window("k", 100.0, 20.0) == (1, 100.0)
    assert store.hit_window("k", 110.0, 20.0) == (2, 100.0)
    assert store.hit_window("k", 120.0, 20.0) == (1, 120.0)  # a new window


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "mock.sqlite")
    clock = ManualClock(START)
    first = MockIntune(MockConfig(database=db), clock=clock)
    first.seed([Device(intune_id=guid(1), azure_ad_device_id="a", wifi_mac=mac(1), enrolled_at=START)])
    first.evaluate(guid(1))
    first.set_service_base("/fef-02")
    first.store.close()
    second = MockIntune(MockConfig(database=db), clock=clock)
    assert second.device(guid(1)).compliance_state is ComplianceState.COMPLIANT
    assert second.service_prefix() == "/fef-02"
    # The token signing key is shared too: a token from the first instance verifies in the second.
    token, _ = first.tokens.issue(first.app(first.config.client_id), "https://api.manage.microsoft.com/")
    assert second.tokens.verify(f"Bearer {token}", audience="https://api.manage.microsoft.com/")["tid"]
    second.store.close()


def test_reset_forgets_devices_calls_and_limits_but_keeps_apps() -> None:
    svc = MockIntune(MockConfig(), clock=ManualClock(START))
    svc.seed([Device(intune_id=guid(1), azure_ad_device_id="a")])
    svc.claim_broad_query("app")
    svc.store.put_fault("graph", {"spec": {}})
    svc.reset()
    assert svc.store.count_devices(svc.tenant_id) == 0
    assert svc.store.faults() == {}
    svc.claim_broad_query("app")  # the limit was forgotten: no 503
    assert svc.app(svc.config.client_id).client_id == svc.config.client_id
