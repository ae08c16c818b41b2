"""Microsoft's own identity libraries, unmodified, against the served mock (TLS, 127.0.0.1, port 0).

Only public constructor parameters point them at the mock: the authority, turning instance
discovery off, and the CA to trust. A token they obtain must then open a resource surface.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import jwt
import msal
import pytest
from azure.identity import CertificateCredential, ClientSecretCredential

from mock_intune.serve import ServedMock

pytestmark = pytest.mark.served

MANAGE_SCOPE = "https://api.manage.microsoft.com//.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def trust_mock_ca(served_mock: ServedMock, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make requests-based clients (MSAL, azure-core) trust the mock's CA and nothing else."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", served_mock.ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", served_mock.ca_file)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return served_mock.ca_file


def graph_devices_status(served: ServedMock, token: str) -> int:
    with httpx.Client(verify=served.ca_file, trust_env=False) as http:
        resp = http.get(
            f"{served.base_url}/v1.0/deviceManagement/managedDevices",
            headers={"Authorization": f"Bearer {token}"},
        )
    return resp.status_code


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def msal_app(served: ServedMock, credential: object) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        served.client_id,
        client_credential=credential,
        authority=f"{served.base_url}/{served.tenant_id}",
        validate_authority=False,
        instance_discovery=False,
    )


def test_msal_with_a_secret(served_mock: ServedMock, trust_mock_ca: str) -> None:
    app = msal_app(served_mock, served_mock.client_secret)
    result = app.acquire_token_for_client(scopes=[MANAGE_SCOPE])
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["aud"] == "https://api.manage.microsoft.com/"
    graph = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert graph_devices_status(served_mock, graph["access_token"]) == 200
    # MSAL caches: the second call for the same scope is served from its cache.
    again = app.acquire_token_for_client(scopes=[MANAGE_SCOPE])
    assert again["access_token"] == result["access_token"]
    assert again.get("token_source") == "cache"


def test_msal_with_a_wrong_secret_reports_the_aadsts_code(
    served_mock: ServedMock, trust_mock_ca: str
) -> None:
    result = msal_app(served_mock, "wrong").acquire_token_for_client(scopes=[MANAGE_SCOPE])
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]


def test_msal_with_a_certificate_thumbprint(served_mock: ServedMock, trust_mock_ca: str) -> None:
    credential = {
        "private_key": Path(served_mock.client_key_file).read_text(),
        "thumbprint": served_mock.info.client_thumbprint,
    }
    result = msal_app(served_mock, credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    assert graph_devices_status(served_mock, result["access_token"]) == 200


def test_msal_with_a_public_certificate_uses_ps256(served_mock: ServedMock, trust_mock_ca: str) -> None:
    credential = {
        "private_key": Path(served_mock.client_key_file).read_text(),
        "public_certificate": Path(served_mock.client_cert_file).read_text(),
    }
    result = msal_app(served_mock, credential).acquire_token_for_client(scopes=[MANAGE_SCOPE])
    assert "access_token" in result, result


def test_azure_identity_client_secret_credential(served_mock: ServedMock, trust_mock_ca: str) -> None:
    cred = ClientSecretCredential(
        served_mock.tenant_id,
        served_mock.client_id,
        served_mock.client_secret or "",
        authority=served_mock.base_url,
        disable_instance_discovery=True,
        connection_verify=served_mock.ca_file,
    )
    with cred:
        manage = cred.get_token(MANAGE_SCOPE)
        graph = cred.get_token(GRAPH_SCOPE)
    assert claims_of(manage.token)["aud"] == "https://api.manage.microsoft.com/"
    assert manage.expires_on > 0
    assert graph_devices_status(served_mock, graph.token) == 200


def test_azure_identity_certificate_credential(served_mock: ServedMock, trust_mock_ca: str) -> None:
    pem = (
        Path(served_mock.client_cert_file).read_text() + Path(served_mock.client_key_file).read_text()
    ).encode()
    cred = CertificateCredential(
        served_mock.tenant_id,
        served_mock.client_id,
        certificate_data=pem,
        authority=served_mock.base_url,
        disable_instance_discovery=True,
        connection_verify=served_mock.ca_file,
    )
    with cred:
        manage = cred.get_token(MANAGE_SCOPE)
        graph = cred.get_token(GRAPH_SCOPE)
    assert claims_of(manage.token)["appid"] == served_mock.client_id
    assert graph_devices_status(served_mock, graph.token) == 200
