"""The decision service behind FreeRADIUS, and the RADIUS adapter driving it over the wire.

A table-driven NAC sits behind the seam here so the wiring itself is the subject: FreeRADIUS
(rlm_rest) → decision service → NAC, accounting into the session table, and CoA from the NAC back
through the service to the adapter's RFC 5176 listener and into the SimPy world.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import simpy.rt
from werkzeug.serving import make_server

from harness.model import AccessDecision, AccessRequest, AccessType, CoaKind, CoaMessage, Decision
from harness.nac.base import CoaSink, NacUnderTest
from harness.nac.http_adapter import HttpNac
from harness.nac.radius_adapter import RadiusNac
from harness.radius.decision_service import (
    CoaTarget,
    DecisionService,
    reply_for,
    request_from_freeradius,
)
from harness.radius.freeradius import FreeRadius, FreeRadiusConfig, free_udp_port
from mock_intune.pki import CertificateAuthority

GUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


class TableNac(NacUnderTest):
    """Decides from a MAC → decision table; ``push_coa`` stands for a compliance change."""

    name = "table"

    def __init__(self, table: dict[str, Decision]) -> None:
        self.table = table
        self.seen: list[AccessRequest] = []
        self.sink: CoaSink | None = None
        self.ended: list[str] = []

    def start(self, env, coa_sink) -> None:  # type: ignore[no-untyped-def]
        self.sink = coa_sink

    def decide(self, request: AccessRequest) -> AccessDecision:
        self.seen.append(request)
        key = request.mac.replace("-", "").replace(":", "").upper()
        decision = self.table.get(key, Decision.MDM_UNREACHABLE)
        url = (
            "https://portal.manage.microsoft.com/networkaccesscontrol/index" if decision.is_redirect else None
        )
        return AccessDecision(decision, redirect_url=url, reason="from the table")

    def session_ended(self, session_id: str) -> None:
        self.ended.append(session_id)

    def push_coa(self, session_id: str, mac: str) -> None:
        assert self.sink is not None
        self.sink(CoaMessage(CoaKind.DISCONNECT, session_id, mac, 0.0, "turned noncompliant"))


def test_freeradius_attributes_become_an_access_request():
    body = {
        "User-Name": {"type": "string", "value": ["host/device-1"]},
        "Calling-Station-Id": {"type": "string", "value": ["AA-BB-CC-DD-EE-01"]},
        "Called-Station-Id": {"type": "string", "value": ["02-00-00-00-00-01:corp"]},
        "NAS-Port-Type": {"type": "integer", "value": ["Virtual"]},
        "NAS-Identifier": {"type": "string", "value": ["vpn-1"]},
        "Acct-Session-Id": {"type": "string", "value": ["sess-9"]},
        "TLS-Client-Cert-Common-Name": {"type": "string", "value": ["device-1"]},
        "TLS-Client-Cert-X509v3-Subject-Alternative-Name": {
            "type": "string",
            "value": [f"URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1, URI:IntuneDeviceId://{GUID}"],
        },
    }
    req = request_from_freeradius(body, at=5.0)
    assert req.mac == "AA-BB-CC-DD-EE-01" and req.access_type is AccessType.VPN and req.ssid == "corp"
    assert req.san_uris == ("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1", f"IntuneDeviceId://{GUID}")
    assert (req.session_id, req.nas_id, req.cert_subject_cn, req.at) == ("sess-9", "vpn-1", "device-1", 5.0)


@pytest.mark.parametrize(
    ("decision", "status", "marker"),
    [
        (Decision.ALLOW, 200, "CORP"),
        (Decision.ENROLL_REDIRECT, 200, "url-redirect-acl=ENROLL"),
        (Decision.REMEDIATE_REDIRECT, 200, "url-redirect-acl=QUARANTINE"),
        (Decision.DENY, 401, "DENY"),
        (Decision.MDM_UNREACHABLE, 200, "MDM_UNREACHABLE"),
    ],
)
def test_each_decision_has_its_radius_reply(decision, status, marker):
    body, code = reply_for(
        AccessDecision(decision, redirect_url="https://p/x" if decision.is_redirect else None)
    )
    assert code == status and marker in str(body)


@pytest.fixture
def service_app() -> Iterator[tuple[DecisionService, TableNac]]:
    nac = TableNac({"AA0000000001": Decision.ALLOW})
    service = DecisionService(nac)
    yield service, nac
    service.stop()


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"User-Name": {"value": ["x"]}}',
        b'{"Calling-Station-Id": {"value": ["zz"]}}',
    ],
    ids=["not-json", "not-object", "no-mac", "bad-mac"],
)
def test_bad_requests_get_a_400_naming_the_problem(service_app, payload):
    service, nac = service_app
    client = service.app().test_client()
    response = client.post("/freeradius/authorize", data=payload, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]
    assert nac.seen == []


def test_the_json_webhook_serves_the_http_adapter(service_app):
    import httpx

    service, _ = service_app
    adapter = HttpNac(url="http://decisions/decide", transport=httpx.WSGITransport(app=service.app()))
    req = AccessRequest("d", "s", AccessType.WIFI, "AA0000000001", "ap-1", "corp")
    assert adapter.decide(req).decision is Decision.ALLOW
    assert adapter.decide(AccessRequest("d", "t", AccessType.WIFI, "BB0000000001", "ap-1")).decision is (
        Decision.MDM_UNREACHABLE
    )


@pytest.mark.radius
def test_over_real_radius_decisions_accounting_and_coa_reach_the_simulation(tmp_path):
    ca = CertificateAuthority.create("harness CA")
    server = ca.issue("radius.test", san_dns=("localhost",), server=True)
    nac = TableNac({"AA0000000001": Decision.ALLOW, "BB0000000002": Decision.REMEDIATE_REDIRECT})
    coa_port = free_udp_port()
    service = DecisionService(nac, coa=CoaTarget("127.0.0.1", coa_port, b"testing123"))
    http = make_server("127.0.0.1", 0, service.app(), threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    fr = FreeRadius(
        tmp_path / "fr",
        FreeRadiusConfig(
            decision_url=f"http://127.0.0.1:{http.server_port}",
            ca_pem=ca.cert_pem,
            server_cert_pem=server.cert_pem,
            server_key_pem=server.key_pem,
        ),
    )
    env = simpy.rt.RealtimeEnvironment(factor=0.01, strict=False)
    received: list[CoaMessage] = []
    fr.start()
    adapter = RadiusNac(
        host="127.0.0.1",
        secret="testing123",
        auth_port=fr.config.auth_port,
        acct_port=fr.config.acct_port,
        coa_port=coa_port,
        ca=ca,
    )
    try:
        adapter.start(env, received.append)
        mab = AccessRequest("dev-1", "sess-1", AccessType.WIFI, "AA0000000001", "ap-1", "corp")
        assert adapter.decide(mab).decision is Decision.ALLOW
        eap = AccessRequest(
            "dev-2",
            "sess-2",
            AccessType.WIFI,
            "BB0000000002",
            "ap-1",
            "corp",
            san_uris=(f"IntuneDeviceId://{GUID}",),
        )
        redirect = adapter.decide(eap)
        assert redirect.decision is Decision.REMEDIATE_REDIRECT and redirect.redirect_url
        assert nac.seen[-1].san_uris == (f"IntuneDeviceId://{GUID}",)
        assert service.sessions.get("sess-1") is not None
        env.run(until=env.now + 1)  # the session has been up for a simulated second
        nac.push_coa("sess-1", "AA0000000001")
        for _ in range(300):
            env.run(until=env.now + 1)
            if received:
                break
        assert [(m.kind, m.session_id) for m in received] == [(CoaKind.DISCONNECT, "sess-1")]
        assert received[0].at >= 1  # stamped with the simulation's time on arrival
        adapter.session_ended("sess-1")
        assert service.sessions.get("sess-1") is None and "sess-1" in nac.ended
    finally:
        adapter.stop()
        fr.stop()
        http.shutdown()
        service.stop()
