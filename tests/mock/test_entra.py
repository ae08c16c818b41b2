"""The mock's Entra ID: metadata, JWKS and client-credentials tokens with a secret (shapes and errors)."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from mock_intune.api import create_app
from mock_intune.clock import ManualClock
from mock_intune.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, MockConfig
from mock_intune.model import AppRegistration, Permission, Surface
from mock_intune.service import MockIntune

TENANT = DEFAULT_TENANT_ID
V1 = f"/{TENANT}/oauth2/token"
V2 = f"/{TENANT}/oauth2/v2.0/token"
MANAGE_SCOPE = "https://api.manage.microsoft.com//.default"


@pytest.fixture
def svc() -> MockIntune:
    return MockIntune(MockConfig(), clock=ManualClock())


@pytest.fixture
def client(svc: MockIntune) -> FlaskClient:
    return create_app(service=svc).test_client()


def secret_form(**extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    form.update(extra)
    return form


def assert_aad_error(resp: Any, status: int, error: str, code: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    desc = body["error_description"]
    assert desc.startswith(f"AADSTS{code}: ")
    assert f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}\r\n" in desc
    assert desc.endswith(f"Timestamp: {body['timestamp']}")
    return body  # type: ignore[no-any-return]


# -- metadata -------------------------------------------------------------------------------------
def test_v2_metadata_points_at_this_host(client: FlaskClient) -> None:
    resp = client.get(f"/{TENANT}/v2.0/.well-known/openid-configuration", base_url="https://mock.test:8443")
    assert resp.status_code == 200
    meta = resp.get_json()
    assert meta["token_endpoint"] == f"https://mock.test:8443/{TENANT}/oauth2/v2.0/token"
    assert meta["jwks_uri"] == f"https://mock.test:8443/{TENANT}/discovery/v2.0/keys"
    assert meta["issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]


def test_v1_metadata(client: FlaskClient) -> None:
    meta = client.get(f"/{TENANT}/.well-known/openid-configuration").get_json()
    assert meta["token_endpoint"] == f"http://localhost/{TENANT}/oauth2/token"
    assert meta["issuer"] == f"https://sts.windows.net/{TENANT}/"
    assert meta["jwks_uri"] == "http://localhost/common/discovery/keys"


def test_common_metadata_has_the_tenant_placeholder(client: FlaskClient) -> None:
    meta = client.get("/common/v2.0/.well-known/openid-configuration").get_json()
    assert meta["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"


def test_public_base_url_overrides_the_host() -> None:
    app = create_app(MockConfig(public_base_url="https://login.microsoftonline.com/"))
    meta = app.test_client().get(f"/{TENANT}/v2.0/.well-known/openid-configuration").get_json()
    assert meta["token_endpoint"] == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


def test_unknown_and_malformed_tenants(client: FlaskClient) -> None:
    assert_aad_error(
        client.get("/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration"),
        400,
        "invalid_request",
        90002,
    )
    assert_aad_error(
        client.get("/nowhere.example.com/.well-known/openid-configuration"), 400, "invalid_request", 90002
    )
    assert_aad_error(client.get("/not_a%20tenant/discovery/keys"), 400, "invalid_request", 900023)


def test_jwks_verifies_issued_tokens(client: FlaskClient) -> None:
    keys = client.get(f"/{TENANT}/discovery/keys").get_json()
    assert client.get("/common/discovery/keys").get_json() == keys
    v2 = client.get(f"/{TENANT}/discovery/v2.0/keys").get_json()
    assert v2["keys"][0]["issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    token = client.post(V2, data=secret_form(scope=MANAGE_SCOPE)).get_json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = jwt.PyJWKSet.from_dict(keys)[kid]
    claims = jwt.decode(
        token,
        jwk.key,
        algorithms=["RS256"],
        audience="https://api.manage.microsoft.com/",
        options={"verify_exp": False},
    )
    assert claims["tid"] == TENANT


def test_instance_discovery(client: FlaskClient) -> None:
    resp = client.get(
        "/common/discovery/instance",
        query_string={
            "api-version": "1.1",
            "authorization_endpoint": f"https://x/{TENANT}/oauth2/v2.0/authorize",
        },
    )
    body = resp.get_json()
    assert (
        body["tenant_discovery_endpoint"]
        == f"http://localhost/{TENANT}/v2.0/.well-known/openid-configuration"
    )
    assert "login.microsoftonline.com" in body["metadata"][0]["aliases"]


# -- tokens with a secret ---------------------------------------------------------------------------
def test_v1_token_for_intune(client: FlaskClient, svc: MockIntune) -> None:
    resp = client.post(V1, data=secret_form(resource="https://api.manage.microsoft.com/"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3599"  # v1 answers numbers as strings
    assert body["resource"] == "https://api.manage.microsoft.com/"
    assert int(body["expires_on"]) == int(svc.now().timestamp()) + 3599
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://api.manage.microsoft.com/"
    assert claims["appid"] == DEFAULT_CLIENT_ID
    assert claims["tid"] == TENANT
    assert "get_device_compliance" in claims["roles"]
    assert resp.headers["Cache-Control"].startswith("no-store")


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        (MANAGE_SCOPE, "https://api.manage.microsoft.com/"),
        (f"{MANAGE_SCOPE} openid profile offline_access", "https://api.manage.microsoft.com/"),
        ("https://api.manage.microsoft.com/.default", "https://api.manage.microsoft.com/"),
        ("https://graph.microsoft.com/.default", "https://graph.microsoft.com"),
        ("00000003-0000-0000-c000-000000000000/.default", "https://graph.microsoft.com"),
    ],
)
def test_v2_token_scopes(client: FlaskClient, scope: str, audience: str) -> None:
    resp = client.post(V2, data=secret_form(scope=scope))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["expires_in"] == 3599
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["aud"] == audience


def test_http_basic_client_authentication(client: FlaskClient) -> None:
    creds = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    resp = client.post(
        V2,
        data={"grant_type": "client_credentials", "scope": MANAGE_SCOPE},
        headers={"Authorization": f"Basic {creds}"},
    )
    assert resp.status_code == 200
    bad = base64.b64encode(f"{DEFAULT_CLIENT_ID}:wrong".encode()).decode()
    assert_aad_error(
        client.post(
            V2,
            data={"grant_type": "client_credentials", "scope": MANAGE_SCOPE},
            headers={"Authorization": f"Basic {bad}"},
        ),
        401,
        "invalid_client",
        7000215,
    )


def test_double_slashes_in_the_path_are_tolerated(client: FlaskClient) -> None:
    assert (
        client.post(f"/{TENANT}//oauth2//v2.0/token", data=secret_form(scope=MANAGE_SCOPE)).status_code == 200
    )


def test_sped_up_clock_shortens_expires_in() -> None:
    svc = MockIntune(MockConfig(time_scale=60.0), clock=ManualClock())
    body = create_app(service=svc).test_client().post(V2, data=secret_form(scope=MANAGE_SCOPE)).get_json()
    assert body["expires_in"] == 59


def test_app_without_permissions_still_gets_a_token_without_roles(
    client: FlaskClient, svc: MockIntune
) -> None:
    svc.register_app(
        AppRegistration(client_id="aaaaaaaa-0000-0000-0000-000000000001", tenant_id=TENANT, client_secret="s")
    )
    body = client.post(
        V2,
        data=secret_form(
            client_id="aaaaaaaa-0000-0000-0000-000000000001", client_secret="s", scope=MANAGE_SCOPE
        ),
    ).get_json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["roles"] == []


# -- rejections -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "form", "status", "error", "code"),
    [
        (V2, secret_form(client_secret="nope", scope=MANAGE_SCOPE), 401, "invalid_client", 7000215),
        (V1, secret_form(client_secret="", resource="https://api.manage.microsoft.com/"), 401, "invalid_client", 7000215),
        (V2, secret_form(client_id="99999999-9999-9999-9999-999999999999", scope=MANAGE_SCOPE), 400, "unauthorized_client", 700016),
        (V2, {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "scope": MANAGE_SCOPE}, 401, "invalid_client", 7000218),
        (V2, {"grant_type": "client_credentials", "scope": MANAGE_SCOPE}, 400, "invalid_request", 900144),
        (V2, secret_form(scope="https://evil.example.com/.default"), 400, "invalid_resource", 500011),
        (V1, secret_form(resource="https://evil.example.com/"), 400, "invalid_resource", 500011),
        (V2, secret_form(scope="openid profile offline_access"), 400, "invalid_scope", 1002012),
        (V2, secret_form(scope="https://graph.microsoft.com/User.Read"), 400, "invalid_scope", 1002012),
        (V2, secret_form(scope=f"{MANAGE_SCOPE} https://graph.microsoft.com/.default"), 400, "invalid_scope", 700022),
        (V2, secret_form(), 400, "invalid_request", 900144),
        (V2, secret_form(resource="https://api.manage.microsoft.com/"), 400, "invalid_request", 901002),
        (V1, secret_form(), 400, "invalid_request", 900144),
        (V2, secret_form(grant_type="password", scope=MANAGE_SCOPE), 400, "unsupported_grant_type", 70003),
        (V2, {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "scope": MANAGE_SCOPE}, 400, "invalid_request", 900144),
        ("/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", secret_form(scope=MANAGE_SCOPE), 400, "invalid_request", 90002),
        ("/common/oauth2/v2.0/token", secret_form(scope=MANAGE_SCOPE), 400, "invalid_request", 50059),
        ("/bad!tenant/oauth2/token", secret_form(resource="https://api.manage.microsoft.com/"), 400, "invalid_request", 900023),
        (V2, secret_form(scope=MANAGE_SCOPE, client_assertion="x.y.z", client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), 400, "invalid_request", 9002313),
    ],
)  # fmt: skip
def test_token_rejections(
    client: FlaskClient, path: str, form: dict[str, str], status: int, error: str, code: int
) -> None:
    assert_aad_error(client.post(path, data=form), status, error, code)


def test_app_of_another_tenant_is_unknown_here(client: FlaskClient, svc: MockIntune) -> None:
    other = "0f0f0f0f-1111-2222-3333-444444444444"
    svc.register_app(
        AppRegistration(client_id="bbbbbbbb-0000-0000-0000-000000000002", tenant_id=other, client_secret="s")
    )
    form = secret_form(
        client_id="bbbbbbbb-0000-0000-0000-000000000002", client_secret="s", scope=MANAGE_SCOPE
    )
    assert_aad_error(client.post(V2, data=form), 400, "unauthorized_client", 700016)
    assert client.post(f"/{other}/oauth2/v2.0/token", data=form).status_code == 200


def test_get_on_the_token_endpoint(client: FlaskClient) -> None:
    assert_aad_error(client.get(V2), 400, "invalid_request", 900561)


def test_json_body_is_not_a_form(client: FlaskClient) -> None:
    assert_aad_error(client.post(V2, json=secret_form(scope=MANAGE_SCOPE)), 400, "invalid_request", 900144)


def test_malformed_basic_header(client: FlaskClient) -> None:
    resp = client.post(
        V2,
        data={"grant_type": "client_credentials", "scope": MANAGE_SCOPE},
        headers={"Authorization": "Basic !!!"},
    )
    assert_aad_error(resp, 400, "invalid_request", 9002313)


@pytest.mark.parametrize(
    "value",
    [
        "x" * 5000,
        "\x00\x01",
        "é" * 100,
        "https://api.manage.microsoft.com//.default" * 50,
        "{}",
        "../../etc/passwd",
    ],
)
def test_hostile_values_never_500(client: FlaskClient, value: str) -> None:
    for field in ("client_id", "client_secret", "scope", "grant_type", "client_assertion"):
        form = secret_form(scope=MANAGE_SCOPE)
        form[field] = value
        resp = client.post(V2, data=form)
        assert 400 <= resp.status_code < 500, (field, resp.status_code)
        assert resp.get_json()["error_codes"]


# -- the call log -------------------------------------------------------------------------------------
def test_call_log_records_grant_resource_method_and_result(client: FlaskClient, svc: MockIntune) -> None:
    client.post(V2, data=secret_form(scope=MANAGE_SCOPE))
    client.post(V2, data=secret_form(client_secret="bad", scope=MANAGE_SCOPE))
    ok, bad = [c for c in svc.calls() if c.surface is Surface.ENTRA][-2:]
    assert ok.app == DEFAULT_CLIENT_ID and ok.status == 200
    assert ok.detail == {
        "endpoint": "v2.0",
        "grant": "client_credentials",
        "resource": "https://api.manage.microsoft.com/",
        "auth_method": "client_secret_post",
        "result": "issued",
    }
    assert bad.status == 401 and bad.detail["result"] == "AADSTS7000215"


def test_permission_enum_roles_round_trip(client: FlaskClient, svc: MockIntune) -> None:
    svc.register_app(
        AppRegistration(
            client_id="cccccccc-0000-0000-0000-000000000003",
            tenant_id=TENANT,
            client_secret="s",
            permissions=frozenset({Permission.APPLICATION_READ_ALL}),
        )
    )
    body = client.post(
        V1,
        data=secret_form(
            client_id="cccccccc-0000-0000-0000-000000000003",
            client_secret="s",
            resource="https://graph.microsoft.com",
        ),
    ).get_json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["Application.Read.All"]
    assert claims["aud"] == "https://graph.microsoft.com"
