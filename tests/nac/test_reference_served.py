"""The reference NAC over real sockets: the served mock (gunicorn, HTTPS with its CA) on 127.0.0.1."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import simpy

from harness.model import AccessRequest, AccessType, CoaMessage, Decision, Profile
from harness.nac.reference import ReferenceNac
from mock_intune.serve import ServedMock

pytestmark = pytest.mark.served


def _seed(served: ServedMock) -> dict[str, dict[str, object]]:
    tag = uuid.uuid4().hex[:8]
    devices = {}
    for i, state in enumerate(("compliant", "noncompliant", "unknown", "unenrolled"), start=1):
        devices[state] = {
            "intune_id": f"{tag}-0000-4000-8000-{i:012x}",
            "wifi_mac": f"00155D{int(tag[:4], 16):04X}{i:02X}",
            "managed": state != "unenrolled",
            "compliance_state": state if state in ("compliant", "noncompliant") else "unknown",
            "posture_compliant": state != "noncompliant",
        }
    with httpx.Client(verify=served.ca_file) as http:
        resp = http.post(
            f"{served.base_url}/admin/devices",
            json={"devices": list(devices.values())},
            headers={"Authorization": f"Bearer {served.info.admin_token}"},
        )
        assert resp.status_code == 201, resp.text
    return devices


@pytest.mark.parametrize("profile", [Profile.CR_CISCO, Profile.GRAPH])
def test_reference_nac_over_https_with_certificate_auth(served_mock: ServedMock, profile: Profile) -> None:
    devices = _seed(served_mock)
    info = served_mock.info
    env = simpy.Environment()
    coas: list[CoaMessage] = []
    nac = ReferenceNac(
        profile=profile,
        base_url=info.base_url,
        tenant_id=info.tenant_id,
        client_id=info.client_id,
        client_secret=None,
        cert_pem=Path(info.client_cert_file).read_text(),
        key_pem=Path(info.client_key_file).read_text(),
        epoch=datetime.now(UTC),  # env.now stays 0: the NAC's clock is the wall clock here
        transport=httpx.HTTPTransport(verify=info.ca_file, retries=0),
    )
    nac.start(env, coas.append)
    assert nac.onboarding_error is None
    expected = {
        "compliant": Decision.ALLOW,
        "noncompliant": Decision.REMEDIATE_REDIRECT,
        "unknown": Decision.REMEDIATE_REDIRECT,
        "unenrolled": Decision.ENROLL_REDIRECT,
    }
    try:
        for state, device in devices.items():
            for cert in (True, False):
                result = nac.decide(
                    AccessRequest(
                        device=state,
                        session_id=f"{state}-{cert}",
                        access_type=AccessType.VPN,
                        mac=str(device["wifi_mac"]),
                        nas_id="vpn-1",
                        san_uris=(f"ID:Microsoft Endpoint Manager:GUID:{device['intune_id']}",)
                        if cert
                        else (),
                    )
                )
                assert result.decision is expected[state], (state, cert, result.reason)
    finally:
        nac.stop()
