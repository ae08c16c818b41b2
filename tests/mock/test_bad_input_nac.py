"""Bad input on the NAC-facing surfaces: the specific 4xx in the surface's shape, never a 500 or a traceback."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from nac_world import CR, NAC, START, World, guid, make_world, xml

from mock_intune.model import GRAPH_RESOURCE, MANAGE_RESOURCE, AppRegistration, Permission

DEV = f"{CR}/cisco/devices/"
LEGACY = f"{NAC}/ciscodeviceinfo/mdm/api/devices/"
JSON = f"{NAC}/devices/"
LONG = "A" * 200


@pytest.fixture(scope="module")
def w() -> World:
    world = make_world()
    world.add(1)
    return world


def assert_clean(resp: object, status: int) -> None:
    code = resp.status_code  # type: ignore[attr-defined]
    body = resp.data  # type: ignore[attr-defined]
    assert code == status, body
    assert b"Traceback" not in body and b'File "' not in body


@pytest.mark.parametrize(
    ("url", "status", "param"),
    [
        (f"{DEV}?paging=0&querycriteria=guid&value=not-a-guid&filter=all", 400, "value"),
        (f"{DEV}?paging=0&querycriteria=guid&value={guid(1)[:-1]}g&filter=all", 400, "value"),
        (f"{DEV}?paging=0&querycriteria=macaddress&value=00:50:56:9a:00&filter=all", 400, "value"),
        (f"{DEV}?paging=0&querycriteria=macaddress&value=GG5056AA0001&filter=all", 400, "value"),
        (f"{DEV}?paging=0&querycriteria=color&value=red&filter=all", 400, "querycriteria"),
        (f"{DEV}?paging=0&querycriteria=udid&value=abc&filter=all", 400, "querycriteria"),
        (f"{DEV}?paging=0&querycriteria=guid&value={LONG}&filter=all", 400, "value"),
        (f"{DEV}?paging=0&querycriteria=guid&value={'x' * 3000}&filter=all", 414, ""),
        (f"{DEV}?paging=0&value={guid(1)}&filter=all", 400, "querycriteria"),
        (f"{DEV}?paging=0&querycriteria=guid&filter=all", 400, "value"),
        (f"{DEV}", 400, "querycriteria"),
        (f"{DEV}?paging=abc&querycriteria=guid&value={guid(1)}&filter=all", 400, "paging"),
        (f"{DEV}?paging=-1&querycriteria=guid&value={guid(1)}&filter=all", 400, "paging"),
        (f"{DEV}?paging=5&querycriteria=guid&value={guid(1)}&filter=all", 400, "paging"),
        (f"{DEV}?paging=99999&querycriteria=compliance&value=false&filter=all", 400, "paging"),
        (f"{DEV}?paging={'9' * 40}&querycriteria=compliance&value=false&filter=all", 400, "paging"),
        (f"{DEV}?paging=0&querycriteria=compliance&value=maybe&filter=all", 400, "value"),
        (
            f"{DEV}?paging=0&querycriteria=compliance&value=false&deviceidentifier=imei",
            400,
            "deviceidentifier",
        ),
        (f"{DEV}?paging=0&querycriteria=guid&value={guid(1)}&filter=shoe_size", 400, "filter"),
        (f"{DEV}?paging=0&querycriteria=guid&value=%00%ff%fe&filter=all", 400, "value"),
        (f"{CR}/ciscoise/mdminfo/?ise_api_version=three", 400, "ise_api_version"),
        (f"{CR}/ciscoise/mdminfo/?ise_api_version=0", 400, "ise_api_version"),
        (f"{LEGACY}?paging=0&querycriteria=guid&value={guid(1)}&filter=all", 400, "querycriteria"),
        (f"{LEGACY}?paging=0&querycriteria=macaddress&value=zz&filter=all", 400, "value"),
        (f"{LEGACY}?paging=0&querycriteria=imei&value={LONG}&filter=all", 400, "value"),
        (f"{NAC}/ciscoise/mdminfo/?ise_api_version=x", 400, "ise_api_version"),
    ],
)
def test_bad_cisco_queries(w: World, url: str, status: int, param: str) -> None:
    resp = w.get(url)
    assert_clean(resp, status)
    assert resp.headers["Content-Type"].startswith("application/xml")
    root = xml(resp.data)
    assert root.tag == "error"
    message = root.findtext("message") or ""
    assert message.startswith(param)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("querycriteria=macaddress&value=xyz&api-version=1.1", "value"),
        (f"querycriteria=macaddress&value={LONG}&api-version=1.1", "value"),
        ("querycriteria=serialnumber&value=1&api-version=1.1", "querycriteria"),
        ("querycriteria=macaddress&value=0050569A0001&api-version=abc", "api-version"),
        ("querycriteria=macaddress&value=0050569A0001&api-version=1.1&paging=x", "paging"),
    ],
)
def test_bad_json_queries(w: World, query: str, param: str) -> None:
    resp = w.get(f"{JSON}?{query}")
    assert_clean(resp, 400)
    assert resp.get_json()["error"]["parameter"] == param


URLS = [
    f"{DEV}?paging=0&querycriteria=guid&value={guid(1)}&filter=all",
    f"{CR}/ciscoise/mdminfo/?ise_api_version=3",
    f"{LEGACY}?paging=0&querycriteria=macaddress&value=0050569A0001&filter=all",
    f"{JSON}?querycriteria=macaddress&value=0050569A0001&api-version=1.1",
]


def forged_token(w: World) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(w.token(), options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": w.svc.tokens.kid})


def none_token(w: World) -> str:
    claims = jwt.decode(w.token(), options={"verify_signature": False})
    return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("kind", ["missing", "basic", "garbage", "forged", "alg-none", "graph-audience"])
def test_bad_tokens_are_401(w: World, url: str, kind: str) -> None:
    headers = {
        "missing": {},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "forged": {"Authorization": f"Bearer {forged_token(w)}"},
        "alg-none": {"Authorization": f"Bearer {none_token(w)}"},
        "graph-audience": {"Authorization": f"Bearer {w.token(GRAPH_RESOURCE)}"},
    }[kind]
    resp = w.client.get(url, headers=headers)
    assert_clean(resp, 401)
    assert "WWW-Authenticate" in resp.headers


def test_expired_token_is_401_on_the_mock_clock() -> None:
    w = make_world(token_lifetime_s=600)
    w.add(1)
    headers = w.headers()
    assert w.client.get(URLS[0], headers=headers).status_code == 200
    w.clock.set(START + timedelta(seconds=600))
    resp = w.client.get(URLS[0], headers=headers)
    assert_clean(resp, 401)
    assert "expired" in resp.headers["WWW-Authenticate"]


def test_token_for_a_tenant_the_mock_does_not_hold_is_401(w: World) -> None:
    stranger = AppRegistration(
        client_id="stranger",
        tenant_id="0c0c0c0c-0000-4000-8000-000000000000",
        permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE}),
    )
    token, _ = w.svc.tokens.issue(stranger, MANAGE_RESOURCE)
    for url in URLS:
        assert_clean(w.client.get(url, headers={"Authorization": f"Bearer {token}"}), 401)


def test_missing_get_device_compliance_is_403(w: World) -> None:
    w.svc.register_app(
        AppRegistration(
            client_id="graph-only",
            tenant_id=w.svc.tenant_id,
            permissions=frozenset({Permission.MANAGED_DEVICES_READ_ALL, Permission.APPLICATION_READ_ALL}),
        )
    )
    for url in URLS:
        resp = w.client.get(url, headers=w.headers(client_id="graph-only"))
        assert_clean(resp, 403)
        assert b"get_device_compliance" in resp.data


def test_every_bad_request_is_logged_with_its_status(w: World) -> None:
    before = w.svc.calls()[-1].seq if w.svc.calls() else 0
    w.get(f"{DEV}?paging=0&querycriteria=guid&value=nope&filter=all")
    (call,) = w.svc.calls(after=before)
    assert call.status == 400 and call.surface.value == "cr_cisco" and call.app == w.svc.config.client_id
