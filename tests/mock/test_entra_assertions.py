"""Certificate client assertions at the mock's token endpoints, and the access tokens it then rejects."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient

from mock_intune.api import create_app
from mock_intune.assertions import JWT_BEARER
from mock_intune.clock import ManualClock
from mock_intune.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, MockConfig
from mock_intune.errors import RequestError
from mock_intune.model import GRAPH_RESOURCE, MANAGE_RESOURCE, AppRegistration
from mock_intune.pki import CertificateAuthority, IssuedCertificate
from mock_intune.service import MockIntune

TENANT = DEFAULT_TENANT_ID
V1 = f"/{TENANT}/oauth2/token"
V2 = f"/{TENANT}/oauth2/v2.0/token"
MANAGE_SCOPE = "https://api.manage.microsoft.com//.default"
LOCAL_V2 = f"http://localhost{V2}"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("assertion test CA")


@pytest.fixture(scope="module")
def cert(ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue("nac app", client=True, key_type="rsa")


@pytest.fixture(scope="module")
def stranger(ca: CertificateAuthority) -> IssuedCertificate:
    """A certificate from the same CA that is not registered on the app."""
    return ca.issue("someone else", client=True, key_type="rsa")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def svc(cert: IssuedCertificate, clock: ManualClock) -> MockIntune:
    return MockIntune(MockConfig(client_certificate_pem=cert.cert_pem), clock=clock)


@pytest.fixture
def client(svc: MockIntune) -> FlaskClient:
    return create_app(service=svc).test_client()


def make_assertion(
    cert: IssuedCertificate,
    now: int,
    *,
    aud: str = LOCAL_V2,
    iss: str = DEFAULT_CLIENT_ID,
    sub: str | None = None,
    lifetime: int = 600,
    nbf: int | None = None,
    jti: str | None = "fresh",
    alg: str = "RS256",
    thumb: str = "x5t",
    key: Any = None,
) -> str:
    claims: dict[str, Any] = {
        "aud": aud,
        "iss": iss,
        "sub": iss if sub is None else sub,
        "exp": now + lifetime,
        "nbf": now if nbf is None else nbf,
        "iat": now,
    }
    if jti is not None:
        claims["jti"] = str(uuid.uuid4()) if jti == "fresh" else jti
    header = {"x5t": cert.x5t} if thumb == "x5t" else {"x5t#S256": cert.x5t_s256}
    return jwt.encode(claims, key or cert.key, algorithm=alg, headers=header)


def assertion_form(assertion: str, **extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": MANAGE_SCOPE,
    }
    form.update(extra)
    return form


def now_s(clock: ManualClock) -> int:
    return int(clock.now().timestamp())


def expect(resp: Any, status: int, code: int) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error_codes"] == [code], body
    return str(body["error_description"])


# -- accepted ---------------------------------------------------------------------------------------
def test_rs256_assertion_with_x5t(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock, svc: MockIntune
) -> None:
    resp = client.post(V2, data=assertion_form(make_assertion(cert, now_s(clock))))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    claims = jwt.decode(resp.get_json()["access_token"], options={"verify_signature": False})
    assert claims["appid"] == DEFAULT_CLIENT_ID
    last = svc.calls()[-1]
    assert last.detail["auth_method"] == "private_key_jwt"
    assert last.detail["certificate"] == "x5t"


def test_ps256_assertion_with_x5t_s256(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    assertion = make_assertion(cert, now_s(clock), alg="PS256", thumb="x5t#S256")
    assert client.post(V2, data=assertion_form(assertion)).status_code == 200


def test_client_id_may_be_absent(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    form = assertion_form(make_assertion(cert, now_s(clock)))
    del form["client_id"]
    assert client.post(V2, data=form).status_code == 200


@pytest.mark.parametrize(
    ("path", "aud"),
    [
        (V1, f"http://localhost{V1}"),
        (V1, f"https://login.microsoftonline.com/{TENANT}/oauth2/token"),
        (V2, f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
        (V2, f"http://localhost{V1}"),
        (V2, f"https://login.microsoftonline.com/{TENANT}/v2.0"),
    ],
)
def test_accepted_audiences(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock, path: str, aud: str
) -> None:
    form = assertion_form(make_assertion(cert, now_s(clock), aud=aud), resource=MANAGE_RESOURCE)
    assert client.post(path, data=form).status_code == 200


def test_second_registered_certificate_works(
    svc: MockIntune,
    client: FlaskClient,
    cert: IssuedCertificate,
    stranger: IssuedCertificate,
    clock: ManualClock,
) -> None:
    app = svc.app(DEFAULT_CLIENT_ID)
    svc.register_app(AppRegistration(**{**vars(app), "certificate_pem": cert.cert_pem + stranger.cert_pem}))
    assert client.post(V2, data=assertion_form(make_assertion(stranger, now_s(clock)))).status_code == 200


# -- rejected ---------------------------------------------------------------------------------------
def test_replayed_assertion(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    assertion = make_assertion(cert, now_s(clock), jti="once-only")
    assert client.post(V2, data=assertion_form(assertion)).status_code == 200
    desc = expect(client.post(V2, data=assertion_form(assertion)), 401, 7000274)
    assert "once-only" in desc
    # v1 spelling of the same resource is the same resource: still a replay.
    form = assertion_form(assertion, resource=MANAGE_RESOURCE)
    expect(client.post(f"/{TENANT}/oauth2/token", data=form), 401, 7000274)


def test_one_assertion_may_serve_each_resource_once(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    """MSAL reuses its signed assertion for every resource it needs a token for; Entra accepts that."""
    assertion = make_assertion(cert, now_s(clock), jti="per-resource")
    assert client.post(V2, data=assertion_form(assertion)).status_code == 200
    graph = assertion_form(assertion, scope="https://graph.microsoft.com/.default")
    assert client.post(V2, data=graph).status_code == 200
    expect(client.post(V2, data=graph), 401, 7000274)


def test_expired_assertion(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    assertion = make_assertion(cert, now_s(clock), lifetime=600)
    clock.advance(600 + 301)  # past exp and the five minutes of skew Entra allows
    expect(client.post(V2, data=assertion_form(assertion)), 401, 700024)


def test_assertion_within_skew_still_accepted(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    assertion = make_assertion(cert, now_s(clock), lifetime=600)
    clock.advance(600 + 200)
    assert client.post(V2, data=assertion_form(assertion)).status_code == 200


def test_assertion_not_yet_valid(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    now = now_s(clock)
    expect(client.post(V2, data=assertion_form(make_assertion(cert, now, nbf=now + 900))), 401, 700024)


def test_assertion_living_too_long(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    expect(
        client.post(V2, data=assertion_form(make_assertion(cert, now_s(clock), lifetime=2 * 86400))),
        401,
        700024,
    )


@pytest.mark.parametrize(
    "aud",
    [
        "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
        "https://evil.example.com/oauth2/token",
        "https://api.manage.microsoft.com/",
    ],
)
def test_wrong_audience(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock, aud: str) -> None:
    expect(client.post(V2, data=assertion_form(make_assertion(cert, now_s(clock), aud=aud))), 401, 700023)


def test_alg_none(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = now_s(clock)
    unsigned = ".".join(
        [
            b64({"alg": "none", "x5t": cert.x5t}),
            b64(
                {
                    "aud": LOCAL_V2,
                    "iss": DEFAULT_CLIENT_ID,
                    "sub": DEFAULT_CLIENT_ID,
                    "exp": now + 600,
                    "nbf": now,
                    "jti": "n",
                }
            ),
            "",
        ]
    )
    desc = expect(client.post(V2, data=assertion_form(unsigned)), 401, 700027)
    assert "'none'" in desc


def test_hmac_signed_with_the_secret(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    now = now_s(clock)
    token = jwt.encode(
        {"aud": LOCAL_V2, "iss": DEFAULT_CLIENT_ID, "sub": DEFAULT_CLIENT_ID, "exp": now + 600, "jti": "h"},
        DEFAULT_CLIENT_SECRET * 2,
        algorithm="HS256",
        headers={"x5t": cert.x5t},
    )
    expect(client.post(V2, data=assertion_form(token)), 401, 700027)


def test_forged_signature_naming_the_registered_certificate(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    desc = expect(
        client.post(V2, data=assertion_form(make_assertion(cert, now_s(clock), key=forger))), 401, 700027
    )
    assert "invalid signature" in desc


def test_tampered_claims(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    head, _, sig = make_assertion(cert, now_s(clock)).split(".")
    now = now_s(clock)
    other = (
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "aud": LOCAL_V2,
                    "iss": DEFAULT_CLIENT_ID,
                    "sub": DEFAULT_CLIENT_ID,
                    "exp": now + 60,
                    "jti": "t",
                }
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    expect(client.post(V2, data=assertion_form(f"{head}.{other}.{sig}")), 401, 700027)


def test_unregistered_certificate(
    client: FlaskClient, stranger: IssuedCertificate, clock: ManualClock
) -> None:
    desc = expect(client.post(V2, data=assertion_form(make_assertion(stranger, now_s(clock)))), 401, 700027)
    assert stranger.thumbprint_hex in desc


def test_issuer_must_be_the_subject_and_the_client(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    now = now_s(clock)
    expect(client.post(V2, data=assertion_form(make_assertion(cert, now, sub="someone"))), 401, 700021)
    other = "99999999-0000-0000-0000-000000000000"
    expect(client.post(V2, data=assertion_form(make_assertion(cert, now), client_id=other)), 401, 700021)


def test_assertion_for_an_unknown_app(
    client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    form = assertion_form(make_assertion(cert, now_s(clock), iss="99999999-0000-0000-0000-000000000000"))
    del form["client_id"]
    expect(client.post(V2, data=form), 400, 700016)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "!!!.???.###", "W10.W10.x"])
def test_malformed_assertions(client: FlaskClient, garbage: str) -> None:
    expect(client.post(V2, data=assertion_form(garbage)), 401, 50027)


def test_missing_jti(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    expect(client.post(V2, data=assertion_form(make_assertion(cert, now_s(clock), jti=None))), 401, 50027)


def test_wrong_assertion_type(client: FlaskClient, cert: IssuedCertificate, clock: ManualClock) -> None:
    form = assertion_form(make_assertion(cert, now_s(clock)), client_assertion_type="urn:example:saml")
    expect(client.post(V2, data=form), 400, 50027)


def test_app_without_certificate(
    svc: MockIntune, client: FlaskClient, cert: IssuedCertificate, clock: ManualClock
) -> None:
    svc.register_app(
        AppRegistration(client_id="dddddddd-0000-0000-0000-000000000004", tenant_id=TENANT, client_secret="s")
    )
    form = assertion_form(make_assertion(cert, now_s(clock), iss="dddddddd-0000-0000-0000-000000000004"))
    form["client_id"] = "dddddddd-0000-0000-0000-000000000004"
    expect(client.post(V2, data=form), 401, 700027)


# -- access tokens at the resource surfaces ---------------------------------------------------------
GRAPH_DEVICES = "/v1.0/deviceManagement/managedDevices"


def token(client: FlaskClient, scope: str = "https://graph.microsoft.com/.default") -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": scope,
    }
    return str(client.post(V2, data=form).get_json()["access_token"])


def test_good_token_passes_and_each_bad_one_is_401(
    client: FlaskClient, svc: MockIntune, clock: ManualClock
) -> None:
    good = token(client)
    assert svc.tokens.verify(f"Bearer {good}", audience=GRAPH_RESOURCE)["appid"] == DEFAULT_CLIENT_ID
    claims = jwt.decode(good, options={"verify_signature": False})
    header = jwt.get_unverified_header(good)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": header["kid"]})
    unsigned = jwt.encode(claims, None, algorithm="none")
    wrong_tenant = token(client)
    manage = token(client, MANAGE_SCOPE)
    cases = {
        "forged": forged,
        "alg none": unsigned,
        "wrong audience": manage,
        "garbage": "not.a.token",
    }
    for what, bad in cases.items():
        with pytest.raises(RequestError) as err:
            svc.tokens.verify(f"Bearer {bad}", audience=GRAPH_RESOURCE)
        assert err.value.status == 401, what
    with pytest.raises(RequestError) as err:
        svc.tokens.verify(
            f"Bearer {wrong_tenant}",
            audience=GRAPH_RESOURCE,
            tenant_id="0f0f0f0f-1111-2222-3333-444444444444",
        )
    assert err.value.status == 401
    clock.advance(3600)
    with pytest.raises(RequestError) as err:
        svc.tokens.verify(f"Bearer {good}", audience=GRAPH_RESOURCE)
    assert err.value.status == 401 and "expired" in err.value.message


def test_bad_tokens_at_a_served_surface_are_401_never_500(client: FlaskClient, clock: ManualClock) -> None:
    good = token(client)
    assert client.get(GRAPH_DEVICES, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    unsigned = jwt.encode(jwt.decode(good, options={"verify_signature": False}), None, algorithm="none")
    for bad in (unsigned, token(client, MANAGE_SCOPE), "x" * 4000, ""):
        resp = client.get(GRAPH_DEVICES, headers={"Authorization": f"Bearer {bad}"})
        assert resp.status_code == 401, resp.get_data(as_text=True)
        assert "error" in resp.get_json()
    clock.advance(4000)
    assert client.get(GRAPH_DEVICES, headers={"Authorization": f"Bearer {good}"}).status_code == 401
