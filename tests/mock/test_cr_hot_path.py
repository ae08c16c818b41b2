"""The CR query's fast path keeps its answers exact: the v3 XML template against an element tree, and
the per-worker cache of tenants, settings, faults and the service base against changes made through
another worker's admin API (two apps on one SQLite file, as two gunicorn workers)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from nac_world import CR, START, guid, mac

from mock_intune import ManualClock, MockConfig, MockIntune, create_app
from mock_intune.cisco_xml import CR_NAMESPACE, XSI_NAMESPACE, CiscoDevice, attributes_v3
from mock_intune.model import MANAGE_RESOURCE, ComplianceState, Device, Surface

ADMIN = {"Authorization": "Bearer hot-path-admin"}


def tree_v3(
    devices: list[CiscoDevice],
    *,
    paging_info: int | None,
    with_mac: bool,
    identifier: str,
    selected: frozenset[str] | None,
) -> bytes:
    """The v3 answer built with ElementTree, as the template's reference."""

    def sub(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
        el = ET.SubElement(parent, tag)
        if text:
            el.text = text
        return el

    def want(name: str) -> bool:
        return selected is None or name in selected

    root = ET.Element("ise_api")
    root.set("xmlns:i", XSI_NAMESPACE)
    root.set("xmlns", CR_NAMESPACE)
    sub(root, "name", "attributes")
    sub(root, "api_version", "3")
    if paging_info is not None:
        sub(root, "paging_info", str(paging_info))
    device_list = sub(root, "deviceList")
    for d in devices:
        device = sub(device_list, "device")
        sub(
            device,
            "macaddress" if identifier == "macaddress" else "guid",
            d.mac if identifier == "macaddress" else d.guid,
        )
        attrs = sub(device, "Attributes")
        sub(attrs, "guid", d.guid)
        if with_mac and want("macaddress"):
            sub(attrs, "macaddress", d.mac)
        if want("register_status"):
            sub(attrs, "register_status", "true" if d.registered else "false")
        if want("compliance"):
            sub(sub(attrs, "Compliance"), "status", "true" if d.compliant else "false")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


ODD = [
    CiscoDevice(guid="a&b<c>\"'", registered=True, compliant=False, mac=""),
    CiscoDevice(guid="0f0e-\u00e9\u2603", registered=False, compliant=True, mac="0A1B2C3D4E5F"),
    CiscoDevice(guid="", registered=False, compliant=False, mac="x>y&z"),
]
SELECTIONS = [None, frozenset(), frozenset({"macaddress"}), frozenset({"register_status", "compliance"})]


@pytest.mark.parametrize("identifier", ["guid", "macaddress"])
@pytest.mark.parametrize("with_mac", [True, False])
@pytest.mark.parametrize("paging_info", [None, 0, 123456789])
def test_v3_template_matches_the_element_tree_bytes(
    identifier: str, with_mac: bool, paging_info: int | None
) -> None:
    for k in range(4):
        for devices in itertools.permutations(ODD, k):
            for selected in SELECTIONS:
                kw = {
                    "paging_info": paging_info,
                    "with_mac": with_mac,
                    "identifier": identifier,
                    "selected": selected,
                }
                assert attributes_v3(list(devices), **kw) == tree_v3(list(devices), **kw)  # type: ignore[arg-type]


class Worker:
    """One app over the shared database file, as one gunicorn worker."""

    def __init__(self, db: Path, clock: ManualClock) -> None:
        config = MockConfig(database=str(db), admin_token="hot-path-admin", sleep_latency=False)
        self.svc = MockIntune(config, clock=clock)
        self.client: FlaskClient = create_app(service=self.svc).test_client()

    def query(self, n: int, path: str = CR) -> tuple[int, bytes]:
        app = self.svc.app(self.svc.config.client_id)
        token = self.svc.tokens.issue(app, MANAGE_RESOURCE)[0]
        resp = self.client.get(
            f"{path}/cisco/devices/?paging=0&querycriteria=guid&value={guid(n)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        return resp.status_code, resp.data


def compliant_in(body: bytes) -> bool:
    root = ET.fromstring(body)
    ns = "{" + CR_NAMESPACE + "}"
    status = root.find(f".//{ns}Compliance/{ns}status")
    assert status is not None
    return status.text == "true"


@pytest.fixture
def workers(tmp_path: Path) -> tuple[Worker, Worker, ManualClock]:
    clock = ManualClock(START)
    a, b = Worker(tmp_path / "mock.db", clock), Worker(tmp_path / "mock.db", clock)
    a.svc.seed(
        [
            Device(
                intune_id=guid(1),
                azure_ad_device_id="aad00000-0000-4000-8000-000000000001",
                wifi_mac=mac(1),
                enrolled_at=START,
                last_sync_at=START,
                evaluated_at=START,
                compliance_state=ComplianceState.COMPLIANT,
            )
        ]
    )
    return a, b, clock


def test_a_settings_change_in_one_worker_reaches_the_next_query_in_another(
    workers: tuple[Worker, Worker, ManualClock],
) -> None:
    a, b, clock = workers
    clock.advance(10 * 86400)
    status, body = b.query(1)
    assert status == 200 and compliant_in(body)  # cached now, with validity_days 30
    resp = a.client.patch("/admin/settings", json={"validity_days": 7}, headers=ADMIN)
    assert resp.status_code == 200, resp.get_json()
    status, body = b.query(1)
    assert status == 200 and not compliant_in(body)  # last check-in 10 days ago > 7
    assert a.client.patch("/admin/settings", json={"validity_days": 30}, headers=ADMIN).status_code == 200
    assert compliant_in(b.query(1)[1])


def test_a_fault_or_endpoint_move_in_one_worker_reaches_the_next_query_in_another(
    workers: tuple[Worker, Worker, ManualClock],
) -> None:
    a, b, _ = workers
    assert b.query(1)[0] == 200
    resp = a.client.put(
        "/admin/faults/cr_cisco", json={"error_rate": 1.0, "error_status": 503}, headers=ADMIN
    )
    assert resp.status_code == 200, resp.get_json()
    assert b.query(1)[0] == 503
    assert a.client.delete("/admin/faults/cr_cisco", headers=ADMIN).status_code == 204
    assert b.query(1)[0] == 200
    assert (
        a.client.put("/admin/service-endpoint", json={"base_url": "/fef-02"}, headers=ADMIN).status_code
        == 200
    )
    assert b.query(1)[0] == 404
    assert b.query(1, path="/fef-02" + CR)[0] == 200
    assert a.client.put("/admin/service-endpoint", json={"base_url": None}, headers=ADMIN).status_code == 200
    assert b.query(1)[0] == 200


def test_every_query_of_either_worker_is_in_the_call_log_at_once(
    workers: tuple[Worker, Worker, ManualClock],
) -> None:
    a, b, _ = workers
    for i in range(6):
        assert (a if i % 2 else b).query(1)[0] == 200
        calls = a.client.get("/admin/calls?surface=cr_cisco", headers=ADMIN).get_json()["calls"]
        assert len(calls) == i + 1
        assert calls[-1]["detail"]["devices"] == [{"id": guid(1), "registered": True, "compliant": True}]
    assert {c.surface for c in b.svc.calls()} == {Surface.CR_CISCO}


def test_single_device_reads_are_fresh_copies_that_follow_every_write(
    workers: tuple[Worker, Worker, ManualClock],
) -> None:
    a, b, _ = workers
    first = b.svc.store.get_device(b.svc.tenant_id, guid(1))
    assert first is not None and first.compliance_state is ComplianceState.COMPLIANT
    first.compliance_state = ComplianceState.NONCOMPLIANT  # a caller changing its own copy
    again = b.svc.store.get_device(b.svc.tenant_id, guid(1))
    assert again is not None and again is not first
    assert again.compliance_state is ComplianceState.COMPLIANT
    a.svc.set_state(guid(1), ComplianceState.NONCOMPLIANT)  # written by the other worker
    by_mac = b.svc.store.find_by_mac(b.svc.tenant_id, mac(1))
    assert by_mac is not None and by_mac.compliance_state is ComplianceState.NONCOMPLIANT
    assert not compliant_in(b.query(1)[1])
