"""The reference NAC against each rule of RULES.md, over a scripted Intune (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fake_intune import CR_PATH, PORTAL, SERVICE_ORIGIN, FakeIntune, guid, mac, status
from nac_rig import Rig

from harness.errors import ConfigError
from harness.model import Decision, Profile
from harness.nac.entra_client import thumbprint_x5t

MakeRig = Callable[..., Rig]
SID = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"


# -- ONB-01 discovery ----------------------------------------------------------------------------
def test_onb01_discovers_before_first_query_and_uses_discovered_uri(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    assert rig.decide(1).decision is Decision.ALLOW
    paths = [r.url for r in fake.requests if "/token" not in r.url.path]
    assert "/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints" in str(paths[0])
    assert str(paths[1]).startswith(f"{SERVICE_ORIGIN}{CR_PATH}/ciscoise/mdminfo/")
    assert all(str(u).startswith(SERVICE_ORIGIN) for u in paths[1:])


def test_onb01_follows_a_moved_endpoint_after_rediscovery(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    assert rig.decide(1).decision is Decision.ALLOW
    fake.moved_prefix = "/fef-02"
    assert rig.decide(1, session="s-again", raw_mac="00-50-56-9A-00-01").decision is Decision.ALLOW  # cached
    rig.nac.cache.forget(["macaddress=0050569A0001"])
    assert rig.decide(1).decision is Decision.ALLOW
    assert len(fake.paths("/endpoints")) == 2
    assert fake.paths("/devices/")[-1].startswith("/fef-02/")


def test_onb01_connection_refused_rediscovers_then_fails_closed(make_rig: MakeRig) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    rig.nac.client.http._transport = httpx.MockTransport(
        lambda r: refuse(r) if "fef" in r.url.host else fake.handle(r)
    )  # type: ignore[attr-defined]
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE
    assert len(fake.paths("/endpoints")) == 2


# -- ONB-02 / ONB-03 tokens ----------------------------------------------------------------------
@pytest.mark.parametrize(("api", "key"), [("v1", "resource"), ("v2", "scope")])
def test_onb02_audiences(make_rig: MakeRig, api: str, key: str) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake, token_api=api)
    rig.decide(1)
    targets = sorted(f[key] for f in fake.token_forms)
    if api == "v2":
        assert targets == [
            "https://api.manage.microsoft.com//.default",
            "https://graph.microsoft.com/.default",
        ]
        assert all(r.url.path.endswith("/oauth2/v2.0/token") for r in fake.requests if "token" in r.url.path)
    else:
        assert targets == ["https://api.manage.microsoft.com/", "https://graph.microsoft.com"]
    assert all(f["grant_type"] == "client_credentials" for f in fake.token_forms)
    for r in fake.requests:
        if r.url.host.startswith("fef"):
            assert r.headers["Authorization"].startswith("Bearer tok-manage-")


def test_onb03_token_reused_then_refreshed_near_expiry(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    for n in range(1, 21):
        fake.add(n)
    rig = make_rig(intune=fake, polling_interval_s=0)
    for n in range(1, 21):
        rig.decide(n)
    manage = [f for f in fake.token_forms if "manage" in f["scope"]]
    assert len(manage) == 1
    rig.env.run(until=3599 - 300 + 1)  # inside the refresh margin
    rig.decide(21)
    assert len([f for f in fake.token_forms if "manage" in f["scope"]]) == 2


def test_onb03_refresh_once_on_401_and_retry_once(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    fake.revoke_all()
    assert rig.decide(1).decision is Decision.ALLOW
    assert len([f for f in fake.token_forms if "manage" in f["scope"]]) == 2


def test_onb03_never_loops_on_401(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    before = len(fake.paths("/devices/"))
    fake.queue("/devices/", *[status(401, body='{"error":"x"}')] * 10)
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE
    assert result.reason.startswith("integration error")
    assert len(fake.paths("/devices/")) - before == 2


# -- ONB-04 certificate --------------------------------------------------------------------------
def test_onb04_certificate_client_assertion(make_rig: MakeRig, assertion_cert: tuple[str, str]) -> None:
    cert_pem, key_pem = assertion_cert
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake, cert_pem=cert_pem, key_pem=key_pem, client_secret=None)
    rig.decide(1)
    rig.env.run(until=3400)  # inside the refresh margin of the first tokens
    rig.decide(1)
    forms = fake.token_forms
    assert forms and all("client_secret" not in f for f in forms)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    jtis, iats = set(), set()
    epoch = int(rig.nac.config.epoch.timestamp())
    for f in forms:
        assert f["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        token_url = f"http://mock.test/{rig.nac.config.tenant_id}/oauth2/v2.0/token"
        claims = jwt.decode(
            f["client_assertion"],
            cert.public_key(),
            algorithms=["RS256"],
            audience=token_url,  # type: ignore[arg-type]
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        header = jwt.get_unverified_header(f["client_assertion"])
        assert header["x5t"] == thumbprint_x5t(cert_pem)
        assert claims["iss"] == claims["sub"] == rig.nac.config.client_id
        assert claims["exp"] - claims["iat"] <= 600
        iats.add(claims["iat"] - epoch)
        jtis.add(claims["jti"])
    assert len(jtis) == len(forms) == 3  # graph + manage at onboarding, manage again at t=3400
    assert iats == {0, 3400}  # the NAC's clock (env.now), not the wall
    assert cert.fingerprint(hashes.SHA1())  # noqa: S303 - x5t is the SHA-1 thumbprint by definition


# -- ONB-05 missing permission -------------------------------------------------------------------
def test_onb05_missing_permission_is_an_integration_error(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    fake.queue("/devices/", status(403, body='{"error":{"code":"Authorization_RequestDenied"}}'))
    rig = make_rig(intune=fake, fail_open=True)
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE and not result.decision.grants_access
    assert result.reason.startswith("integration error")


def test_onb05_discovery_forbidden(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.queue("/endpoints", status(403), status(403))
    rig = make_rig(intune=fake)
    assert rig.nac.onboarding_error and "403" in rig.nac.onboarding_error
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE and result.reason.startswith("integration error")


# -- ACC-01..04, RED-01 --------------------------------------------------------------------------
@pytest.mark.parametrize("profile", list(Profile))
def test_acc_decisions_per_profile(make_rig: MakeRig, profile: Profile) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=True)
    fake.add(2, compliant=False)
    rig = make_rig(profile, intune=fake, portal_url="https://portal.configured.test/nac")
    allow = rig.decide(1)
    assert allow.decision is Decision.ALLOW and allow.redirect_url is None
    remediate = rig.decide(2)
    assert remediate.decision is Decision.REMEDIATE_REDIRECT
    enroll = rig.decide(3)
    assert enroll.decision is Decision.ENROLL_REDIRECT
    expected = (
        PORTAL
        if profile in (Profile.CR_CISCO, Profile.LEGACY_CISCO)
        else "https://portal.configured.test/nac"
    )
    assert remediate.redirect_url == enroll.redirect_url == expected


def test_acc04_graph_unknown_is_not_compliant(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False, state="unknown")
    rig = make_rig(Profile.GRAPH, intune=fake)
    result = rig.decide(1, san=(f"IntuneDeviceId://{guid(1)}",))
    assert result.decision is Decision.REMEDIATE_REDIRECT and "Unknown" in result.reason


def test_sta06_graph_grace_period_keeps_access(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=True, state="inGracePeriod")
    rig = make_rig(Profile.GRAPH, intune=fake)
    assert rig.decide(1).decision is Decision.ALLOW


# -- ACC-05 / ACC-06 identity --------------------------------------------------------------------
def test_acc05_queries_by_certificate_guid_beside_sid_tag(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(7)
    rig = make_rig(intune=fake)
    result = rig.decide(
        7, san=(SID, f"ID:Microsoft Endpoint Manager:GUID:{guid(7).upper()}"), raw_mac="02:00:00:00:00:01"
    )
    assert result.decision is Decision.ALLOW and result.intune_id == guid(7)
    assert fake.queries("/devices/")[-1]["querycriteria"] == "guid"
    assert fake.queries("/devices/")[-1]["value"] == guid(7)


def test_acc06_mac_normalised(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(5)
    rig = make_rig(intune=fake)
    assert rig.decide(5, raw_mac="00-50-56-9a-00-05").decision is Decision.ALLOW
    assert fake.queries("/devices/")[-1] == {
        "paging": "0",
        "querycriteria": "macaddress",
        "value": mac(5),
        "filter": "all",
    }


@pytest.mark.parametrize("profile", list(Profile))
def test_acc06_randomised_mac_without_certificate_never_allowed(make_rig: MakeRig, profile: Profile) -> None:
    fake = FakeIntune()
    rig = make_rig(profile, intune=fake)
    before = len(fake.requests)
    result = rig.decide(1, raw_mac="DA:A1:19:12:34:56", san=(SID,))
    assert result.decision is Decision.ENROLL_REDIRECT and result.redirect_url
    assert len(fake.requests) == before  # not even asked


def test_acc06_invalid_mac_denied(make_rig: MakeRig) -> None:
    rig = make_rig()
    assert rig.decide(1, raw_mac="not-a-mac").decision is Decision.DENY


# -- ACC-07 latency --------------------------------------------------------------------------------
def test_acc07_latency_is_intune_plus_processing(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake, processing_s=0.004)
    fake.queue(
        "/devices/",
        httpx.Response(
            200,
            content=fake.handle(  # same answer, with a modelled 150 ms
                httpx.Request(
                    "GET",
                    f"{SERVICE_ORIGIN}{CR_PATH}/cisco/devices/?querycriteria=macaddress&value={mac(1)}",
                    headers={"Authorization": f"Bearer {sorted(fake.valid_tokens)[-1]}"},
                )
            ).content,
            headers={"X-Mock-Latency-Ms": "150"},
        ),
    )
    result = rig.decide(1)
    assert result.decision is Decision.ALLOW
    assert result.latency_s == pytest.approx(0.154)
    assert result.attributes["within_budget"] is True


# -- RED-02 / RED-03 cache -------------------------------------------------------------------------
def test_red02_redirected_device_gets_a_fresh_answer(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    d = fake.add(1, compliant=False)
    rig = make_rig(intune=fake)
    assert rig.decide(1).decision is Decision.REMEDIATE_REDIRECT
    d.compliant = True  # the portal visit re-evaluated it
    assert rig.decide(1).decision is Decision.ALLOW


def test_red03_enrolment_completes(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    rig = make_rig(intune=fake)
    assert rig.decide(1).decision is Decision.ENROLL_REDIRECT
    fake.add(1)
    assert rig.decide(1).decision is Decision.ALLOW


def test_allow_is_cached_for_ttl_only(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    d = fake.add(1)
    rig = make_rig(intune=fake, cache_ttl_s=60, polling_interval_s=0)
    rig.decide(1)
    d.compliant = False
    hit = rig.decide(1)
    assert hit.decision is Decision.ALLOW and hit.attributes["cached"] is True
    rig.env.run(until=60)
    assert rig.decide(1).decision is Decision.REMEDIATE_REDIRECT


# -- RES-01 fail closed ---------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [status(500), status(502), status(503, {"Retry-After": "5"}), status(504)])
def test_res01_5xx_fails_closed(make_rig: MakeRig, answer: httpx.Response) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    fake.queue("/devices/", answer)
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE and result.reason.startswith("MDM unreachable")


def test_res01_timeout_fails_closed_and_costs_the_timeout(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake, timeout_s=1.5)

    def slow(request: httpx.Request) -> httpx.Response:
        if "/devices/" in request.url.path:
            raise httpx.ReadTimeout("slow", request=request)
        return fake.handle(request)

    rig.nac.client.http._transport = httpx.MockTransport(slow)  # type: ignore[attr-defined]
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE
    assert result.latency_s >= 1.5


def test_res01_declared_fail_open(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False)
    rig = make_rig(intune=fake, fail_open=True)
    fake.queue("/devices/", status(503))
    result = rig.decide(1)
    assert result.decision is Decision.ALLOW and "fail-open" in result.reason


# -- RES-03 429 -----------------------------------------------------------------------------------
def test_res03_graph_429_waits_retry_after(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(Profile.GRAPH, intune=fake)
    fake.queue("/managedDevices", status(429, {"Retry-After": "30"}))
    assert rig.decide(1).decision is Decision.MDM_UNREACHABLE
    asked = len(fake.paths("/managedDevices"))
    rig.env.run(until=29.9)
    assert rig.decide(1).decision is Decision.MDM_UNREACHABLE
    assert len(fake.paths("/managedDevices")) == asked  # no retry before Retry-After
    rig.env.run(until=30)
    assert rig.decide(1).decision is Decision.ALLOW


def test_res03_429_without_header_backs_off_exponentially(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(Profile.GRAPH, intune=fake, backoff_base_s=2.0)
    waits = []
    for _ in range(3):
        fake.queue("/managedDevices", status(429))
        rig.decide(1)
        waits.append(rig.nac._lookup_not_before - rig.env.now)
        rig.env.run(until=rig.nac._lookup_not_before)
    assert waits == [2.0, 4.0, 8.0]
    assert rig.decide(1).decision is Decision.ALLOW


# -- RES-05 malformed -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "body"),
    [
        (Profile.CR_CISCO, "<html>oops</html>"),
        (
            Profile.CR_CISCO,
            "<ise_api><deviceList><device><Attributes><register_status>true</register_status>"
            "<Compliance><status>TRUE-ish</status></Compliance></Attributes></device></deviceList></ise_api>",
        ),
        (
            Profile.LEGACY_JSON,
            '{"isManaged": true, "complianceState": "1", "lastContactTimeUtc": "10/18/2020 14:05:26"}',
        ),
        (Profile.LEGACY_JSON, "not json"),
        (Profile.GRAPH, '{"value": [{"id": "x", "complianceState": "Compliant"}]}'),
    ],
)
def test_res05_malformed_never_allowed(make_rig: MakeRig, profile: Profile, body: str) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(profile, intune=fake, fail_open=True)
    part = "/managedDevices" if profile is Profile.GRAPH else "/devices/"
    fake.queue(part, httpx.Response(200, content=body.encode()))
    result = rig.decide(1)
    assert result.decision is Decision.MDM_UNREACHABLE and "malformed" in result.reason


# -- config ---------------------------------------------------------------------------------------
def test_polling_more_often_than_four_hours_is_refused(make_rig: MakeRig) -> None:
    with pytest.raises(ConfigError, match="polling_interval_s"):
        make_rig(polling_interval_s=300)


def test_unknown_setting_named() -> None:
    from harness.nac.reference import ReferenceNac

    with pytest.raises(ConfigError, match="cache_tll_s"):
        ReferenceNac(cache_tll_s=3)


def test_decide_before_start_is_a_state_error(make_rig: MakeRig) -> None:
    from harness.errors import StateError

    rig = make_rig(start=False)
    with pytest.raises(StateError, match="start"):
        rig.decide(1)


def test_onb01_421_misdirected_rediscovers_and_retries_once(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    fake.queue("/devices/", status(421))
    assert rig.decide(1).decision is Decision.ALLOW
    assert len(fake.paths("/endpoints")) == 2
    assert len(fake.paths("/devices/")) == 2


def test_res01_fail_open_allow_is_not_cached(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1, compliant=False)
    rig = make_rig(intune=fake, fail_open=True)
    fake.queue("/devices/", status(503))
    assert rig.decide(1).decision is Decision.ALLOW
    assert rig.decide(1).decision is Decision.REMEDIATE_REDIRECT  # Intune is back: asked afresh


def test_registered_as_the_reference_adapter() -> None:
    from harness.nac.base import adapter
    from harness.nac.reference import ReferenceNac

    assert adapter("reference") is ReferenceNac
    nac = adapter("reference")(profile="graph", cache_ttl_s=30)
    assert isinstance(nac, ReferenceNac) and nac.config.cache_ttl_s == 30


def test_res01_503_with_retry_after_is_honoured_for_lookups(make_rig: MakeRig) -> None:
    fake = FakeIntune()
    fake.add(1)
    rig = make_rig(intune=fake)
    fake.queue("/devices/", status(503, {"Retry-After": "5"}))
    assert rig.decide(1).decision is Decision.MDM_UNREACHABLE
    asked = len(fake.paths("/devices/"))
    rig.env.run(until=4.9)
    assert rig.decide(1).decision is Decision.MDM_UNREACHABLE
    assert len(fake.paths("/devices/")) == asked
    rig.env.run(until=5)
    assert rig.decide(1).decision is Decision.ALLOW
