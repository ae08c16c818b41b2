"""The portal (RED-01, RED-02): a visit re-evaluates synchronously; the next query of any surface sees it."""

from __future__ import annotations

import re

import pytest
from nac_world import CR, NAC, NS, World, cr_devices, guid, mac, make_world, text, xml

from mock_intune.model import GRAPH_RESOURCE, ComplianceState, Surface

PORTAL = "/networkaccesscontrol/index"


@pytest.fixture
def w() -> World:
    return make_world()


def state_of(html: str) -> tuple[str, str]:
    found = re.search(r'id="state" data-state="([^"]+)" data-compliant="([^"]+)"', html)
    assert found, html
    return found.group(1), found.group(2)


def cr_status(w: World, n: int) -> str | None:
    url = f"{CR}/cisco/devices/?paging=0&querycriteria=guid&value={guid(n)}&filter=all"
    (device,) = cr_devices(xml(w.get(url).data))
    return text(device, f"{NS}Attributes/{NS}Compliance/{NS}status")


def test_portal_visit_reevaluates_and_every_surface_sees_it_next(w: World) -> None:
    w.add(1, posture_compliant=False)
    assert cr_status(w, 1) == "false"
    w.svc.set_posture(guid(1), True)  # fixed on the device; Intune does not know yet
    assert cr_status(w, 1) == "false"
    resp = w.client.get(f"{PORTAL}?deviceId={guid(1)}")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert state_of(resp.data.decode()) == ("compliant", "true")
    # The very next query on each surface has the fresh answer.
    assert cr_status(w, 1) == "true"
    legacy = xml(
        w.get(
            f"{NAC}/ciscodeviceinfo/mdm/api/devices/?paging=0&querycriteria=macaddress&value={mac(1)}&filter=all"
        ).data
    )
    assert text(legacy, "deviceList/device/attributes/compliance/status") == "true"
    body = w.get(f"{NAC}/devices/?querycriteria=macaddress&value={mac(1)}&api-version=1.3").get_json()
    assert body["complianceState"] is True
    graph = w.get(f"/v1.0/deviceManagement/managedDevices/{guid(1)}", GRAPH_RESOURCE)
    assert graph.status_code == 200 and graph.get_json()["complianceState"] == "compliant"
    visit = [c for c in w.svc.calls() if c.surface is Surface.PORTAL]
    assert visit[0].detail["outcome"] == "reevaluated"
    assert visit[0].detail["devices"] == [{"id": guid(1), "registered": True, "compliant": True}]


def test_portal_shows_noncompliant_with_a_recheck_link(w: World) -> None:
    w.add(1, posture_compliant=False)
    html = w.client.get(f"{PORTAL}?mac=00-50-56-9a-00-01").data.decode()
    assert state_of(html) == ("noncompliant", "false")
    assert 'id="recheck"' in html


def test_portal_evaluates_a_never_evaluated_device(w: World) -> None:
    w.add(1, evaluate=False)
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.UNKNOWN
    html = w.client.get(f"{PORTAL}?client_mac={mac(1)}").data.decode()
    assert state_of(html) == ("compliant", "true")
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.COMPLIANT


@pytest.mark.parametrize("query", [f"mac={mac(5)}", f"deviceId={guid(5)}", f"mac={mac(2)}"])
def test_unknown_or_unenrolled_device_is_told_to_enroll(w: World, query: str) -> None:
    w.add(2, managed=False)
    resp = w.client.get(f"{PORTAL}?{query}")
    assert resp.status_code == 200
    html = resp.data.decode()
    assert state_of(html) == ("notEnrolled", "false")
    assert re.search(r'<a id="enroll" href="https://[^"]+">enroll', html)
    assert w.svc.calls()[-1].detail["outcome"] == "enroll"


@pytest.mark.parametrize("path", ["/networkaccesscontrol", "/"])
def test_portal_aliases(w: World, path: str) -> None:
    w.add(1)
    assert state_of(w.client.get(f"{path}?guid={guid(1)}").data.decode()) == ("compliant", "true")


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("", "could not be identified"),
        ("mac=xyz", "mac:"),
        ("deviceId=<script>alert(1)</script>", "deviceId:"),
    ],
)
def test_bad_identifiers_are_a_400_page_without_injection(w: World, query: str, needle: str) -> None:
    resp = w.client.get(f"{PORTAL}?{query}")
    assert resp.status_code == 400 and resp.headers["Content-Type"].startswith("text/html")
    html = resp.data.decode()
    assert needle in html and "<script>" not in html and "Traceback" not in html
