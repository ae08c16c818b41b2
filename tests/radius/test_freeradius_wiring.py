"""The NAS simulator (MAB, accounting) and EAP-TLS (eapol_test) against a real FreeRADIUS.

FreeRADIUS asks a decision endpoint over HTTP (rlm_rest); here the endpoint is a small test app
whose answers depend on the MAC, so each path through the wiring is visible.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from harness.model import AccessRequest, AccessType, Decision
from harness.radius.eap_tls import EapTlsClient, parse_final_reply
from harness.radius.freeradius import FreeRadius, FreeRadiusConfig
from harness.radius.nas import AsyncNas, Nas, NasConfig
from mock_intune.pki import CertificateAuthority

pytestmark = pytest.mark.radius


class DecisionApp:
    """A decision endpoint: ALLOW for MACs starting AA, enroll redirect for BB, MDM unreachable otherwise."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.accounting: list[dict] = []
        app = Flask("decision")

        @app.post("/freeradius/authorize")
        def authorize():  # type: ignore[no-untyped-def]
            body = request.get_json(force=True)
            self.requests.append(body)
            mac = body["Calling-Station-Id"]["value"][0]
            if mac.startswith("AA"):
                return jsonify({"reply:Filter-Id": "CORP"}), 200
            if mac.startswith("BB"):
                return jsonify(
                    {
                        "reply:Cisco-AVPair": [
                            "url-redirect=https://portal.example/x",
                            "url-redirect-acl=ENROLL",
                        ]
                    }
                )
            return jsonify({"reply:Reply-Message": "MDM_UNREACHABLE"}), 401

        @app.post("/freeradius/accounting")
        def accounting():  # type: ignore[no-untyped-def]
            self.accounting.append(request.get_json(force=True))
            return "", 204

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("harness test CA")


@pytest.fixture(scope="module")
def wiring(
    tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority
) -> Iterator[tuple[FreeRadius, DecisionApp]]:
    app = DecisionApp()
    server = ca.issue("radius.test", san_dns=("localhost",), server=True)
    fr = FreeRadius(
        tmp_path_factory.mktemp("freeradius"),
        FreeRadiusConfig(decision_url=app.url, ca_pem=ca.cert_pem, server_cert_pem=server.cert_pem,
                         server_key_pem=server.key_pem),
    )  # fmt: skip
    with fr:
        yield fr, app
    app.server.shutdown()


def req(mac: str, access: AccessType = AccessType.WIFI, session: str = "s-1") -> AccessRequest:
    return AccessRequest(
        device="dev-1", session_id=session, access_type=access, mac=mac, nas_id="ap-1", ssid="corp"
    )


def nas_cfg(fr: FreeRadius) -> NasConfig:
    return NasConfig(
        auth_port=fr.config.auth_port, acct_port=fr.config.acct_port, secret=fr.config.secret.encode()
    )


def test_mab_requests_carry_what_an_access_point_sends(wiring):
    fr, app = wiring
    decision = Nas(nas_cfg(fr)).authenticate(req("AA:BB:CC:00:00:01"))
    assert decision.decision is Decision.ALLOW and decision.role == "CORP"
    sent = app.requests[-1]
    assert sent["Calling-Station-Id"]["value"] == ["AA:BB:CC:00:00:01"]  # as the device presents it
    assert sent["User-Name"]["value"] == ["aabbcc000001"]
    assert sent["NAS-Port-Type"]["value"] == ["Wireless-802.11"]
    assert sent["Called-Station-Id"]["value"] == ["02-00-00-00-00-01:corp"]
    assert sent["Service-Type"]["value"] == ["Call-Check"]
    assert "Message-Authenticator" in sent


def test_vpn_requests_use_nas_port_type_virtual(wiring):
    fr, app = wiring
    Nas(nas_cfg(fr)).authenticate(req("AA0000000002", AccessType.VPN))
    assert app.requests[-1]["NAS-Port-Type"]["value"] == ["Virtual"]


def test_redirects_and_rejects_become_harness_decisions(wiring):
    fr, _ = wiring
    nas = Nas(nas_cfg(fr))
    redirect = nas.authenticate(req("BB0000000001"))
    assert (
        redirect.decision is Decision.ENROLL_REDIRECT and redirect.redirect_url == "https://portal.example/x"
    )
    assert nas.authenticate(req("CC0000000001")).decision is Decision.MDM_UNREACHABLE


def test_wrong_secret_gets_no_answer(wiring):
    from harness.errors import NacUnreachable

    fr, _ = wiring
    cfg = NasConfig(auth_port=fr.config.auth_port, secret=b"wrong", timeout_s=0.3, retries=0)
    with pytest.raises(NacUnreachable, match="no RADIUS answer"):
        Nas(cfg).authenticate(req("AA0000000003"))


def test_accounting_start_and_stop_reach_the_nac(wiring):
    fr, app = wiring
    nas = Nas(nas_cfg(fr))
    assert nas.accounting(req("AA0000000004", session="acct-1"), "Start")
    assert nas.accounting(req("AA0000000004", session="acct-1"), "Stop")
    statuses = [
        a["Acct-Status-Type"]["value"][0]
        for a in app.accounting
        if a["Acct-Session-Id"]["value"] == ["acct-1"]
    ]
    assert statuses == ["Start", "Stop"]


def test_many_in_flight_get_their_own_answers(wiring):
    fr, _ = wiring
    macs = [f"{'AA' if i % 2 else 'BB'}00000001{i:02X}" for i in range(64)]
    results = asyncio.run(
        AsyncNas(nas_cfg(fr), in_flight=16).run([req(m, session=f"m{i}") for i, m in enumerate(macs)])
    )
    expected = [Decision.ALLOW if i % 2 else Decision.ENROLL_REDIRECT for i in range(64)]
    assert [r.decision if r else None for r in results] == expected


def test_eap_tls_with_a_device_certificate_exposes_the_san_uris(wiring, ca, tmp_path: Path):
    fr, app = wiring
    guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    device = ca.issue(
        "device-1",
        san_uris=("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001", f"IntuneDeviceId://{guid}"),
        client=True,
    )
    client = EapTlsClient(nas_cfg(fr), ca.cert_pem, tmp_path)
    decision = client.authenticate(req("AA00000000EE", session="eap-1"), device.cert_pem, device.key_pem)
    assert decision.decision is Decision.ALLOW
    san = app.requests[-1]["TLS-Client-Cert-X509v3-Subject-Alternative-Name"]["value"][0]
    assert f"URI:IntuneDeviceId://{guid}" in san and "URI:tag:microsoft.com" in san


def test_eapol_test_output_parsing_takes_the_final_reply():
    out = (
        "RADIUS message: code=11 (Access-Challenge) identifier=1 length=20\n"
        "   Attribute 18 (Reply-Message) length=7\n      Value: 'ignore'\n"
        "RADIUS message: code=2 (Access-Accept) identifier=2 length=60\n"
        "   Attribute 26 (Vendor-Specific) length=35\n"
        "      Value: 00000009011d75726c2d72656469726563742d61636c3d51554152414e54494e45\n"
        "   Attribute 11 (Filter-Id) length=7\n      Value: 'QUAR'\n"
        "decapsulated EAP packet\n"
    )
    code, attrs = parse_final_reply(out) or (0, {})
    assert code == 2
    assert attrs == {"Cisco-AVPair": ["url-redirect-acl=QUARANTINE"], "Filter-Id": ["QUAR"]}
