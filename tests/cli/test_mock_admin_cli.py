"""``nac-harness mock devices|device|calls|settings``: the admin verbs, in-process and against a served mock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from harness.cli import mock_admin_client
from harness.cli.main import main
from mock_intune import ManualClock, MockConfig, MockIntune, create_app
from mock_intune.model import GRAPH_RESOURCE
from mock_intune.pki import CertificateAuthority
from mock_intune.serve import ServedMock

ID1 = "5b2f3c1e-2222-4000-8000-000000000001"
ID2 = "5b2f3c1e-2222-4000-8000-000000000002"
TOKEN = "cli-admin-token"
CONN = ["--url", "http://mock.test", "--admin-token", TOKEN]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


class NacTrafficTransport(httpx.BaseTransport):
    """The in-process app behind a WSGI transport; on a chosen poll of the call log a NAC calls Graph first."""

    def __init__(self, svc: MockIntune, traffic_on_poll: int = 0) -> None:
        self.app = create_app(service=svc)
        self.inner = httpx.WSGITransport(app=self.app)
        self.svc = svc
        self.traffic_on_poll = traffic_on_poll
        self.polls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/calls":
            self.polls += 1
            if self.polls == self.traffic_on_poll:
                token, _ = self.svc.tokens.issue(self.svc.app(self.svc.config.client_id), GRAPH_RESOURCE)
                self.app.test_client().get(
                    f"/v1.0/deviceManagement/managedDevices/{ID1}",
                    headers={"Authorization": f"Bearer {token}"},
                )
        return self.inner.handle_request(request)


@pytest.fixture
def svc() -> MockIntune:
    return MockIntune(MockConfig(admin_token=TOKEN), clock=ManualClock(datetime(2026, 1, 5, 8, tzinfo=UTC)))


@pytest.fixture
def transport(svc: MockIntune, monkeypatch: pytest.MonkeyPatch) -> NacTrafficTransport:
    t = NacTrafficTransport(svc)
    monkeypatch.setattr(mock_admin_client, "make_transport", lambda: t)
    monkeypatch.setenv("COLUMNS", "220")
    for name in (
        "MOCK_INTUNE_URL",
        "MOCK_INTUNE_ADMIN_TOKEN",
        "MOCK_INTUNE_CA_FILE",
        "MOCK_INTUNE_STATE_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    return t


@pytest.fixture
def seeded(transport: NacTrafficTransport, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    doc = tmp_path / "devices.yaml"
    doc.write_text(
        f"devices:\n"
        f"  - intune_id: {ID1}\n    device_name: LAPTOP-1\n    wifi_mac: aa:bb:cc:dd:ee:01\n"
        f"    compliance_state: compliant\n"
        f"  - intune_id: {ID2}\n    device_name: PHONE-2\n    operating_system: iOS\n    managed: false\n"
    )
    code, out, err = run_cli(capsys, "mock", "devices", "add", str(doc), *CONN)
    assert (code, err) == (0, "")
    assert "seeded 2 device(s)" in out
    return doc


def test_devices_add_and_list(seeded: Path, capsys: pytest.CaptureFixture[str], svc: MockIntune) -> None:
    code, out, _ = run_cli(capsys, "mock", "devices", "list", *CONN)
    assert code == 0
    assert ID1 in out and "LAPTOP-1" in out and "AABBCCDDEE01" in out and "compliant" in out
    assert "2 device(s)" in out
    code, out, _ = run_cli(capsys, "mock", "devices", "list", "--managed", "false", "--format", "json", *CONN)
    assert [d["intune_id"] for d in json.loads(out)["devices"]] == [ID2]
    inline = json.dumps([{"device_name": "INLINE", "wifi_mac": "02AABBCCDDEE"}])
    code, out, _ = run_cli(capsys, "mock", "devices", "add", "--json", inline, *CONN)
    assert code == 0 and svc.store.count_devices(svc.tenant_id) == 3
    # a document larger than one request's body limit goes in batches
    big = [{"device_name": f"BULK-{i}", "wifi_mac": f"02{i:010X}"} for i in range(2500)]
    path = seeded.parent / "big.json"
    path.write_text(json.dumps(big))
    code, out, _ = run_cli(capsys, "mock", "devices", "add", str(path), "--format", "json", *CONN)
    assert code == 0 and json.loads(out)["seeded"] == 2500
    assert svc.store.count_devices(svc.tenant_id) == 2503


def test_devices_add_errors_name_file_item_and_field(
    transport: NacTrafficTransport, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"devices": [{}, {"wifi_mac": "not-a-mac"}]}')
    code, out, err = run_cli(capsys, "mock", "devices", "add", str(bad), *CONN)
    assert code == 2
    assert f"{bad}: devices[1].wifi_mac: not a MAC address" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "mock", "devices", "add", str(tmp_path / "missing.yaml"), *CONN)
    assert code == 2 and "missing.yaml: no such file" in err
    code, _, err = run_cli(capsys, "mock", "devices", "add", *CONN)
    assert code == 2 and "give a seed FILE or --json DOC" in err
    code, _, err = run_cli(capsys, "mock", "devices", "add", "--json", "{not json", *CONN)
    assert code == 2 and "--json:1: invalid JSON" in err


def test_device_state_posture_and_actions(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "mock", "device", "posture", ID1, "noncompliant", "--check-in", *CONN)
    assert code == 0 and "noncompliant" in out
    code, out, err = run_cli(capsys, "mock", "device", "set-state", ID1, "unknown", *CONN)
    assert code == 2
    assert "409" in err and "STA-01" in err
    code, out, _ = run_cli(capsys, "mock", "device", "set-state", ID1, "compliant", "--format", "json", *CONN)
    assert json.loads(out)["effective_state"] == "compliant"
    code, out, _ = run_cli(capsys, "mock", "device", "enroll", ID2, "--format", "json", *CONN)
    assert json.loads(out)["managed"] is True
    code, _, err = run_cli(capsys, "mock", "device", "show", "5b2f3c1e-2222-4000-8000-000000000099", *CONN)
    assert code == 2 and "404" in err
    code, _, err = run_cli(capsys, "mock", "device", "set-state", ID1, "purple", *CONN)
    assert code == 2 and "invalid choice: 'purple'" in err


def test_settings_show_and_set(transport: NacTrafficTransport, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "mock", "settings", "show", *CONN)
    assert code == 0 and "validity period" in out and "30" in out
    code, out, _ = run_cli(
        capsys, "mock", "settings", "set", "--no-policy-mark", "noncompliant", "--validity-days", "7", *CONN
    )
    assert code == 0
    code, out, _ = run_cli(capsys, "mock", "settings", "show", "--format", "json", *CONN)
    assert json.loads(out) == {
        "no_policy_mark": "noncompliant",
        "validity_days": 7,
        "grace_period_hours": 0.0,
    }
    code, _, err = run_cli(capsys, "mock", "settings", "set", "--validity-days", "500", *CONN)
    assert code == 2 and "--validity-days: must be 1..120" in err
    code, _, err = run_cli(capsys, "mock", "settings", "set", *CONN)
    assert code == 2 and "nothing to change" in err


def test_calls_and_follow(
    seeded: Path, transport: NacTrafficTransport, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "mock", "calls", *CONN)
    assert code == 0 and "no calls" in out
    # Follow: the first poll finds nothing, a NAC queries Graph before the second, and the call shows up.
    transport.polls, transport.traffic_on_poll = 0, 2
    code, out, _ = run_cli(
        capsys,
        "mock",
        "calls",
        "--follow",
        "--interval",
        "0.01",
        "--max-calls",
        "1",
        "--format",
        "json",
        *CONN,
    )
    assert code == 0
    (line,) = out.strip().splitlines()
    call = json.loads(line)
    assert call["surface"] == "graph" and call["status"] == 200
    assert call["path"] == f"/v1.0/deviceManagement/managedDevices/{ID1}"
    assert transport.polls == 2
    code, out, _ = run_cli(capsys, "mock", "calls", "--surface", "graph", *CONN)
    assert code == 0 and "/v1.0/deviceManagement/managedDevices" in out
    code, _, err = run_cli(capsys, "mock", "calls", "--interval", "0", *CONN)
    assert code == 2 and "--interval: must be > 0" in err


def test_faults_and_reset(seeded: Path, svc: MockIntune, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "mock", "faults", "show", *CONN)
    assert code == 0 and "no faults" in out
    spec = '{"error_rate": 1.0, "error_status": 503}'
    code, out, _ = run_cli(capsys, "mock", "faults", "set", "graph", spec, *CONN)
    assert code == 0 and '"error_status":503' in out
    code, out, _ = run_cli(capsys, "mock", "faults", "show", "--format", "json", *CONN)
    assert json.loads(out)["faults"]["graph"]["error_rate"] == 1.0
    code, _, err = run_cli(capsys, "mock", "faults", "set", "graph", '{"error_rate": 7}', *CONN)
    assert code == 2 and "error_rate" in err
    code, _, err = run_cli(capsys, "mock", "faults", "set", "graph", "[1]", *CONN)
    assert code == 2 and "SPEC: want a JSON object" in err
    code, out, _ = run_cli(capsys, "mock", "faults", "clear", "graph", *CONN)
    assert code == 0 and svc.store.faults() == {}
    code, _, err = run_cli(capsys, "mock", "reset", *CONN)
    assert code == 2 and "--yes" in err and svc.store.count_devices(svc.tenant_id) == 2
    code, out, _ = run_cli(capsys, "mock", "reset", "--yes", *CONN)
    assert code == 0 and svc.store.count_devices(svc.tenant_id) == 0


def test_bad_connection_flags(
    transport: NacTrafficTransport, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "mock", "devices", "list", "--url", "ftp://x", "--admin-token", TOKEN)
    assert code == 2 and "--url: want an http(s)://host[:port] URL" in err
    for bad in ("https://", "https://exa mple", "mock.test", "https://[bad", "https://127.0.0.1:99999"):
        code, _, err = run_cli(capsys, "mock", "devices", "list", "--url", bad, "--admin-token", TOKEN)
        assert code == 2 and "--url: want an http(s)://host[:port] URL" in err, bad
    code, _, err = run_cli(capsys, "mock", "devices", "list", *CONN, "--ca-file", "/nonexistent/ca.pem")
    assert code == 2 and "--ca-file: no such file" in err
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello")
    code, _, err = run_cli(capsys, "mock", "devices", "list", *CONN, "--ca-file", str(not_pem))
    assert code == 2 and "--ca-file: not a usable PEM CA file" in err
    code, _, err = run_cli(
        capsys, "mock", "devices", "list", "--url", "http://mock.test", "--admin-token", "nope"
    )
    assert code == 2 and "--admin-token: the mock refused the admin token" in err


@pytest.mark.served
def test_against_the_served_mock(
    served_mock: ServedMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.setenv("MOCK_INTUNE_URL", served_mock.base_url)
    monkeypatch.setenv("MOCK_INTUNE_ADMIN_TOKEN", served_mock.admin_token)
    monkeypatch.setenv("MOCK_INTUNE_CA_FILE", served_mock.ca_file)
    intune_id = "5b2f3c1e-2222-4000-8000-0000000000aa"
    code, out, err = run_cli(
        capsys,
        "mock",
        "devices",
        "add",
        "--json",
        json.dumps({"intune_id": intune_id, "device_name": "SERVED-CLI"}),
    )
    assert (code, err) == (0, ""), err
    code, out, _ = run_cli(capsys, "mock", "device", "show", intune_id, "--format", "json")
    assert json.loads(out)["device_name"] == "SERVED-CLI"
    # the wrong CA: a TLS failure, said in one line
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(CertificateAuthority.create("Someone Else").cert_pem)
    code, _, err = run_cli(capsys, "mock", "devices", "list", "--ca-file", str(other_ca))
    assert code == 2 and "TLS verification" in err and "--ca-file" in err
    # nothing listening: a connection failure, said in one line
    code, _, err = run_cli(capsys, "mock", "devices", "list", "--url", "https://127.0.0.1:9")
    assert code == 2 and "cannot reach the mock at https://127.0.0.1:9" in err
    assert "Traceback" not in err
