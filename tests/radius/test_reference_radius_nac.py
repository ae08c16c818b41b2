"""The FreeRADIUS reference NAC against the served mock Intune, over real RADIUS (MAB and EAP-TLS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import simpy.rt

from harness.model import AccessRequest, AccessType, Decision
from harness.nac.radius_adapter import RadiusNac
from harness.radius.freeradius import free_udp_port
from harness.radius.reference_nac import ReferenceRadiusNac, ReferenceRadiusSettings
from mock_intune.model import DEFAULT_PORTAL_URL

pytestmark = [pytest.mark.radius, pytest.mark.served]

COMPLIANT = str(uuid.UUID(int=0xC0))
NONCOMPLIANT = str(uuid.UUID(int=0xC1))
UNKNOWN = str(uuid.UUID(int=0xC2))


@pytest.fixture(scope="module")
def seeded(served_mock) -> dict[str, str]:
    """Three enrolled devices on the served mock: compliant, noncompliant, never evaluated."""
    devices = [
        {"intune_id": COMPLIANT, "wifi_mac": "AC0000000001", "compliance_state": "compliant"},
        {"intune_id": NONCOMPLIANT, "wifi_mac": "AC0000000002", "compliance_state": "noncompliant",
         "posture_compliant": False},
        {"intune_id": UNKNOWN, "wifi_mac": "AC0000000003", "compliance_state": "unknown"},
    ]  # fmt: skip
    with httpx.Client(verify=served_mock.ca_file) as client:
        r = client.post(
            f"{served_mock.base_url}/admin/devices",
            json={"devices": devices},
            headers={"Authorization": f"Bearer {served_mock.admin_token}"},
        )
        assert r.status_code in (200, 201), r.text
    return {"compliant": COMPLIANT, "noncompliant": NONCOMPLIANT, "unknown": UNKNOWN}


@pytest.fixture(scope="module")
def reference(served_mock, seeded, tmp_path_factory) -> Iterator[tuple[ReferenceRadiusNac, RadiusNac]]:
    coa_port = free_udp_port()
    settings = ReferenceRadiusSettings(
        mock_url=served_mock.base_url,
        mock_ca_file=served_mock.ca_file,
        tenant_id=served_mock.tenant_id,
        client_id=served_mock.client_id,
        client_secret=served_mock.client_secret,
        state_dir=str(tmp_path_factory.mktemp("reference-nac")),
        coa_port=coa_port,
    )
    with ReferenceRadiusNac(settings) as running:
        info = running.info()
        adapter = RadiusNac(
            host=info["host"],
            secret=info["secret"],
            auth_port=info["auth_port"],
            acct_port=info["acct_port"],
            coa_port=coa_port,
            ca=running.device_ca,
        )
        adapter.start(simpy.rt.RealtimeEnvironment(factor=0.01, strict=False), lambda m: None)
        try:
            yield running, adapter
        finally:
            adapter.stop()


def eap(guid: str, session: str) -> AccessRequest:
    sid = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"
    return AccessRequest(
        device=guid, session_id=session, access_type=AccessType.WIFI, mac="02AA00000001", nas_id="ap-1",
        ssid="corp", san_uris=(sid, f"IntuneDeviceId://{guid}"), cert_subject_cn=f"device-{guid[:8]}",
    )  # fmt: skip


def test_a_compliant_device_gets_access_over_eap_tls(reference):
    _, adapter = reference
    decision = adapter.decide(eap(COMPLIANT, "r-1"))
    assert decision.decision is Decision.ALLOW and decision.redirect_url is None


def test_a_noncompliant_device_is_sent_to_the_portal(reference):
    _, adapter = reference
    decision = adapter.decide(eap(NONCOMPLIANT, "r-2"))
    assert decision.decision is Decision.REMEDIATE_REDIRECT
    assert decision.redirect_url == DEFAULT_PORTAL_URL


def test_an_unevaluated_device_is_not_granted_access(reference):
    _, adapter = reference
    assert adapter.decide(eap(UNKNOWN, "r-3")).decision is not Decision.ALLOW


def test_mab_by_mac_and_an_unknown_mac(reference):
    _, adapter = reference
    mab = AccessRequest("d", "r-4", AccessType.VPN, "AC0000000001", "vpn-1")
    assert adapter.decide(mab).decision is Decision.ALLOW
    stranger = AccessRequest("d", "r-5", AccessType.WIFI, "AC00000000FF", "ap-1", "corp")
    assert adapter.decide(stranger).decision is Decision.ENROLL_REDIRECT


def test_the_nac_asked_the_mock_by_guid_for_certificates(reference, served_mock):
    with httpx.Client(verify=served_mock.ca_file) as client:
        calls = client.get(
            f"{served_mock.base_url}/admin/calls",
            headers={"Authorization": f"Bearer {served_mock.admin_token}"},
        ).json()
    queries = [c for c in calls["calls"] if c["surface"] == "cr_cisco" and "querycriteria=guid" in c["query"]]
    assert any(COMPLIANT in c["query"] for c in queries)
