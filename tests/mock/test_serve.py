"""The served mock: gunicorn over TLS, its certificate's host names, restarts, and the CLI's errors."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import ssl
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.cli.main import main as cli_main
from mock_intune.config import MockConfig
from mock_intune.model import ComplianceState, Device
from mock_intune.pki import load_certificates, x5t
from mock_intune.serve import MICROSOFT_HOSTS, ServedMock, prepare_state
from mock_intune.service import MockIntune

pytestmark = pytest.mark.served


def token_for(served: ServedMock, scope: str = "https://graph.microsoft.com/.default") -> str:
    with httpx.Client(verify=served.ca_file, trust_env=False) as http:
        resp = http.post(
            f"{served.base_url}/{served.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": served.client_id,
                "client_secret": served.client_secret,
                "scope": scope,
            },
        )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def get_device(served: ServedMock, token: str, intune_id: str) -> httpx.Response:
    with httpx.Client(verify=served.ca_file, trust_env=False) as http:
        return http.get(
            f"{served.base_url}/v1.0/deviceManagement/managedDevices/{intune_id}",
            headers={"Authorization": f"Bearer {token}"},
        )


def test_certificate_covers_the_microsoft_host_names(served_mock: ServedMock) -> None:
    ctx = ssl.create_default_context(cafile=served_mock.ca_file)
    for name in ("localhost", *MICROSOFT_HOSTS):
        with (
            socket.create_connection(("127.0.0.1", served_mock.info.port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            assert der is not None
    cert = x509.load_der_x509_certificate(der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "api.manage.microsoft.com" in sans.get_values_for_type(x509.DNSName)


def test_a_client_that_does_not_trust_the_ca_is_refused(served_mock: ServedMock) -> None:
    with (
        httpx.Client(verify=ssl.create_default_context(cafile=None), trust_env=False) as http,
        pytest.raises(httpx.ConnectError),
    ):
        http.get(f"{served_mock.base_url}/common/discovery/keys")


def test_served_as_login_microsoftonline_com(served_mock: ServedMock) -> None:
    """An appliance that hard-codes Microsoft's host reaches the mock through a hosts override."""
    ctx = ssl.create_default_context(cafile=served_mock.ca_file)
    port = served_mock.info.port
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="login.microsoftonline.com") as tls,
    ):
        tls.sendall(
            f"GET /{served_mock.tenant_id}/v2.0/.well-known/openid-configuration HTTP/1.1\r\n"
            f"Host: login.microsoftonline.com:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert (
        f"https://login.microsoftonline.com:{port}/{served_mock.tenant_id}/oauth2/v2.0/token".encode() in body
    )


def test_state_survives_a_restart(tmp_path: Path) -> None:
    intune_id = str(uuid.uuid4())
    with ServedMock(tmp_path, workers=2) as first:
        ca_before = Path(first.ca_file).read_text()
        MockIntune(MockConfig(database=first.info.database)).seed(
            [
                Device(
                    intune_id=intune_id,
                    azure_ad_device_id=str(uuid.uuid4()),
                    device_name="LAPTOP-RESTART",
                    compliance_state=ComplianceState.COMPLIANT,
                )
            ]
        )
        old_token = token_for(first)
        seen = get_device(first, old_token, intune_id)
        assert seen.status_code == 200, seen.text
        assert seen.json()["deviceName"] == "LAPTOP-RESTART"
        assert first.stop() == 0  # SIGTERM: gunicorn stops gracefully
    with ServedMock(tmp_path, workers=2) as second:
        assert Path(second.ca_file).read_text() == ca_before
        again = get_device(second, old_token, intune_id)  # the signing key persisted too
        assert again.status_code == 200, again.text
        assert again.json()["complianceState"] == "compliant"
        assert get_device(second, old_token, str(uuid.uuid4())).status_code == 404


def test_prepare_state_keeps_the_client_certificate(tmp_path: Path) -> None:
    _, files, _ = prepare_state(tmp_path, MockConfig())
    first = files.client_cert.read_text()
    cfg, files, server = prepare_state(tmp_path, MockConfig())
    assert files.client_cert.read_text() == first
    assert cfg.database == str(files.database)
    assert MockIntune(cfg).app(cfg.client_id).certificate_pem == first
    assert files.client_key.stat().st_mode & 0o077 == 0
    assert "graph.microsoft.com" in server.certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--threads", "0"], "--threads"),
        (["--port", "70000"], "--port"),
        (["--public-base-url", "fef.msub01.manage.microsoft.com"], "--public-base-url"),
        (["--public-base-url", "https://host/path"], "--public-base-url"),
    ],
)
def test_bad_serve_options_exit_2_with_a_message(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["mock", "serve", "--state-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_port_in_use_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli_main(["mock", "serve", "--state-dir", str(tmp_path), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_unusable_state_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli_main(["mock", "serve", "--state-dir", str(blocker / "sub"), "--port", "0"]) == 2
    assert str(blocker / "sub") in capsys.readouterr().err


def test_broken_ca_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ca.pem").write_text("garbage")
    (tmp_path / "ca-key.pem").write_text("garbage")
    assert cli_main(["mock", "serve", "--state-dir", str(tmp_path), "--port", "0"]) == 2
    assert "ca.pem" in capsys.readouterr().err


def test_nac_harness_mock_serve_with_a_sped_up_clock(tmp_path: Path) -> None:
    """The console script's path: a sped-up clock shortens expires_in; SIGINT stops it cleanly."""
    served = ServedMock(tmp_path, workers=1, threads=2, time_scale=60, via_cli=True).start()
    try:
        banner = "".join(served.output)
        info = served.info
        for shown in (
            info.tenant_id,
            info.client_id,
            str(info.client_secret),
            info.client_cert_file,
            info.client_key_file,
            info.client_thumbprint,
            info.token_url_v1,
            info.token_url_v2,
            info.discovery_url,
            info.ca_file,
            info.admin_token,
        ):
            assert shown in banner
        with httpx.Client(verify=served.ca_file, trust_env=False) as http:
            body = http.post(
                served.info.token_url_v2,
                data={
                    "grant_type": "client_credentials",
                    "client_id": served.client_id,
                    "client_secret": served.client_secret,
                    "scope": "https://api.manage.microsoft.com//.default",
                },
            ).json()
        assert body["expires_in"] == 59
    finally:
        assert served.stop(sig=signal.SIGINT) == 0


def test_public_base_url_is_advertised(tmp_path: Path) -> None:
    """A NAC behind a hosts override sees Microsoft's host names in metadata, not the mock's address."""
    origin = "https://fef.msub01.manage.microsoft.com"
    with ServedMock(tmp_path, workers=1, threads=1, env={"MOCK_INTUNE_PUBLIC_BASE_URL": origin}) as served:
        assert served.info.advertised_url == origin
        assert served.base_url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=served.ca_file, trust_env=False) as http:
            meta = http.get(f"{served.info.authority}/v2.0/.well-known/openid-configuration").json()
        assert meta["token_endpoint"] == f"{origin}/{served.tenant_id}/oauth2/v2.0/token"
        assert "advertised as" in "".join(served.output)


def test_replay_protection_holds_across_workers(served_mock: ServedMock) -> None:
    """One signed assertion, sent at once over many connections (so to both workers): one token."""
    cert = load_certificates(Path(served_mock.client_cert_file).read_text())[0]
    key = serialization.load_pem_private_key(Path(served_mock.client_key_file).read_bytes(), password=None)
    now = int(time.time())
    assertion = jwt.encode(
        {
            "aud": served_mock.info.token_url_v2,
            "iss": served_mock.client_id,
            "sub": served_mock.client_id,
            "exp": now + 300,
            "nbf": now,
            "jti": str(uuid.uuid4()),
        },
        key,  # type: ignore[arg-type]
        algorithm="RS256",
        headers={"x5t": x5t(cert)},
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": "https://api.manage.microsoft.com//.default",
    }

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(verify=served_mock.ca_file, trust_env=False) as http:
            return http.post(served_mock.info.token_url_v2, data=form)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 7
    assert all(r.json()["error_codes"] == [7000274] for r in answers if r.status_code == 401)
