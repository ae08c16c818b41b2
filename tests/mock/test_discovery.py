"""Discovery (ONB-01, ONB-05): both shapes, permissions, audiences, and the movable endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from nac_world import CR, NAC, World, guid, make_world

from mock_intune.errors import InputError
from mock_intune.model import (
    AAD_GRAPH_RESOURCE,
    GRAPH_RESOURCE,
    INTUNE_APP_ID,
    MANAGE_RESOURCE,
    AppRegistration,
    Permission,
    Surface,
)

GRAPH_PATH = f"/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints"


@pytest.fixture
def w() -> World:
    return make_world()


def aad_path(w: World, tenant: str | None = None) -> str:
    return f"/{tenant or w.svc.tenant_id}/servicePrincipalsByAppId/{INTUNE_APP_ID}/serviceEndpoints"


def by_provider(body: dict[str, object], key: str = "providerName") -> dict[str, dict[str, object]]:
    return {str(e[key]): e for e in body["value"]}  # type: ignore[attr-defined, index]


def test_graph_endpoints_shape_and_advertised_uris(w: World) -> None:
    resp = w.get(GRAPH_PATH, GRAPH_RESOURCE, base_url="https://127.0.0.1:8443")
    assert resp.status_code == 200
    body = resp.get_json()
    assert "servicePrincipals" in body["@odata.context"] and body["@odata.context"].endswith("/endpoints")
    endpoints = by_provider(body)
    assert set(endpoints) == {"NACAPIService", "ComplianceRetrievalService"}
    for e in endpoints.values():
        assert set(e) >= {"id", "capability", "providerId", "providerName", "providerResourceId", "uri"}
    assert endpoints["NACAPIService"]["uri"] == "https://127.0.0.1:8443/StatelessNACService"
    assert endpoints["ComplianceRetrievalService"]["uri"] == (
        "https://127.0.0.1:8443/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService"
    )
    (call,) = w.svc.calls()
    assert call.surface is Surface.DISCOVERY and call.status == 200
    assert call.detail["endpoints"]["NACAPIService"].endswith("/StatelessNACService")


@pytest.mark.parametrize(
    "path",
    [
        f"/beta/servicePrincipals/appId={INTUNE_APP_ID}/endpoints",
        f"/v1.0/servicePrincipals(appId='{INTUNE_APP_ID}')/endpoints",
    ],
)
def test_graph_endpoint_spellings(w: World, path: str) -> None:
    resp = w.get(path, GRAPH_RESOURCE)
    assert resp.status_code == 200
    assert set(by_provider(resp.get_json())) == {"NACAPIService", "ComplianceRetrievalService"}


def test_graph_endpoints_by_service_principal_object_id(w: World) -> None:
    from mock_intune.api.discovery import intune_sp_object_id

    resp = w.get(f"/v1.0/servicePrincipals/{intune_sp_object_id(w.svc.tenant_id)}/endpoints", GRAPH_RESOURCE)
    assert resp.status_code == 200
    other = w.get(f"/v1.0/servicePrincipals/{guid(99)}/endpoints", GRAPH_RESOURCE)
    assert other.status_code == 404
    assert other.get_json()["error"]["code"] == "Request_ResourceNotFound"


def test_public_base_url_is_advertised() -> None:
    w = make_world(public_base_url="https://fef.amsua0102.manage.microsoft.com")
    endpoints = by_provider(w.get(GRAPH_PATH, GRAPH_RESOURCE).get_json())
    assert (
        endpoints["NACAPIService"]["uri"] == "https://fef.amsua0102.manage.microsoft.com/StatelessNACService"
    )


def test_aad_graph_service_endpoints_shape(w: World) -> None:
    resp = w.get(aad_path(w) + "?api-version=1.6", AAD_GRAPH_RESOURCE)
    assert resp.status_code == 200
    body = resp.get_json()
    assert "odata.metadata" in body
    endpoints = by_provider(body, "serviceName")
    assert endpoints["NACAPIService"]["uri"] == "http://localhost/StatelessNACService"
    assert endpoints["ComplianceRetrievalService"]["uri"].endswith("/ComplianceRetrievalService")
    # The api-version may come as a header, as the PowerShell sample sends it; myorganization works.
    header = w.get(aad_path(w, "myorganization"), AAD_GRAPH_RESOURCE, headers={"api-version": "1.6"})
    assert header.status_code == 200


def test_aad_graph_rejects_missing_version_other_tenant_and_graph_tokens(w: World) -> None:
    missing = w.get(aad_path(w), AAD_GRAPH_RESOURCE)
    assert missing.status_code == 400
    assert missing.get_json()["odata.error"]["code"] == "Request_BadRequest"
    bad_version = w.get(aad_path(w) + "?api-version=9.9", AAD_GRAPH_RESOURCE)
    assert bad_version.status_code == 400
    other = w.get(
        aad_path(w, "0c0c0c0c-0000-4000-8000-000000000000") + "?api-version=1.6", AAD_GRAPH_RESOURCE
    )
    assert other.status_code == 401
    wrong_aud = w.get(aad_path(w) + "?api-version=1.6", GRAPH_RESOURCE)
    assert wrong_aud.status_code == 401
    assert wrong_aud.get_json()["odata.error"]["code"] == "Authentication_MissingOrMalformed"


@pytest.mark.parametrize("audience", [MANAGE_RESOURCE, AAD_GRAPH_RESOURCE])
def test_graph_discovery_needs_a_graph_token(w: World, audience: str) -> None:
    resp = w.get(GRAPH_PATH, audience)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "InvalidAuthenticationToken"


def test_discovery_without_application_read_all_is_403(w: World) -> None:
    w.svc.register_app(
        AppRegistration(
            client_id="nac-no-read",
            tenant_id=w.svc.tenant_id,
            client_secret="s",
            permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE}),
        )
    )
    headers = w.headers(GRAPH_RESOURCE, client_id="nac-no-read")
    resp = w.client.get(GRAPH_PATH, headers=headers)
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "Authorization_RequestDenied"
    assert set(error["innerError"]) >= {"date", "request-id"}
    aad = w.client.get(
        aad_path(w) + "?api-version=1.6", headers=w.headers(AAD_GRAPH_RESOURCE, client_id="nac-no-read")
    )
    assert aad.status_code == 403
    assert aad.get_json()["odata.error"]["code"] == "Authorization_RequestDenied"


@pytest.mark.parametrize(
    "permission", [Permission.SERVICE_PRINCIPAL_ENDPOINT_READ_ALL, Permission.DIRECTORY_READ_ALL]
)
def test_equivalent_permissions_are_enough(w: World, permission: Permission) -> None:
    w.svc.register_app(
        AppRegistration(client_id="nac-eq", tenant_id=w.svc.tenant_id, permissions=frozenset({permission}))
    )
    resp = w.client.get(GRAPH_PATH, headers=w.headers(GRAPH_RESOURCE, client_id="nac-eq"))
    assert resp.status_code == 200


def test_unknown_app_id_is_404(w: World) -> None:
    resp = w.get(f"/v1.0/servicePrincipals/appId={guid(5)}/endpoints", GRAPH_RESOURCE)
    assert resp.status_code == 404


def test_moving_the_endpoint_to_a_shard_prefix(w: World) -> None:
    w.add(1)
    old_uri = by_provider(w.get(GRAPH_PATH, GRAPH_RESOURCE).get_json())["ComplianceRetrievalService"]["uri"]
    query = f"/cisco/devices/?paging=0&querycriteria=guid&value={guid(1)}&filter=all"
    assert w.get(f"{CR}{query}").status_code == 200
    w.svc.set_service_base("/fef-02")
    endpoints = by_provider(w.get(GRAPH_PATH, GRAPH_RESOURCE).get_json())
    new_uri = endpoints["ComplianceRetrievalService"]["uri"]
    assert new_uri != old_uri and new_uri == f"http://localhost/fef-02{CR}"
    assert endpoints["NACAPIService"]["uri"] == f"http://localhost/fef-02{NAC}"
    # The old base fails; the newly discovered one answers, and so does its mdminfo api_path.
    stale = w.get(f"{CR}{query}")
    assert stale.status_code == 404 and b"ServiceEndpointMoved" in stale.data
    assert w.get(f"/fef-02{CR}{query}").status_code == 200
    assert w.get(f"/fef-01{CR}{query}").status_code == 404
    info = w.get(f"/fef-02{CR}/ciscoise/mdminfo/?ise_api_version=3")
    assert f"<api_path>/fef-02{CR}/cisco</api_path>".encode() in info.data
    assert (
        w.get(
            f"/fef-02{NAC}/devices/?querycriteria=macaddress&value=0050569A0001&api-version=1.1"
        ).status_code
        == 200
    )
    assert (
        w.get(f"{NAC}/devices/?querycriteria=macaddress&value=0050569A0001&api-version=1.1").status_code
        == 404
    )
    moved = [c for c in w.svc.calls() if c.status == 404 and "moved" in c.detail]
    assert moved and moved[0].detail["moved"] == {"asked": "/", "current": "/fef-02"}
    # Moving back restores the fixed paths.
    w.svc.set_service_base(None)
    assert w.get(f"{CR}{query}").status_code == 200
    assert w.get(f"/fef-02{CR}{query}").status_code == 404


def test_moving_the_endpoint_to_another_origin(w: World) -> None:
    w.svc.set_service_base("https://fef.amsua0202.manage.microsoft.com/shard-7/")
    endpoints = by_provider(w.get(GRAPH_PATH, GRAPH_RESOURCE).get_json())
    assert (
        endpoints["NACAPIService"]["uri"]
        == "https://fef.amsua0202.manage.microsoft.com/shard-7/StatelessNACService"
    )
    assert w.svc.service_prefix() == "/shard-7"


@pytest.mark.parametrize(
    "bad", ["", "ftp://x/y", "/a/b", "/StatelessNACService", "/bad segment", "https://h/x?q=1", "/v1.0"]
)
def test_bad_service_base_is_rejected(w: World, bad: str) -> None:
    with pytest.raises(InputError) as err:
        w.svc.set_service_base(bad)
    assert err.value.where == "service_base_url"


@pytest.mark.served
def test_served_mock_advertises_itself_and_the_move_is_followed(served_mock: object) -> None:
    """On a real server (127.0.0.1, port 0, TLS): discovery → uri on that origin → CR answers there;
    after a move (admin API) the old uri fails and the re-discovered one works."""
    import httpx

    served: Any = served_mock
    base, tenant = served.base_url, served.tenant_id

    def token(scope: str) -> str:
        resp = http.post(
            f"{base}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": served.client_id,
                "client_secret": served.client_secret,
                "scope": scope,
            },
        )
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    def discover() -> str:
        resp = http.get(f"{base}{GRAPH_PATH}", headers={"Authorization": f"Bearer {graph}"})
        assert resp.status_code == 200, resp.text
        return str(by_provider(resp.json())["ComplianceRetrievalService"]["uri"])

    admin = {"Authorization": f"Bearer {served.info.admin_token}"}
    with httpx.Client(verify=served.ca_file, trust_env=False, timeout=30) as http:
        graph = token("https://graph.microsoft.com/.default")
        nac = {"Authorization": f"Bearer {token('https://api.manage.microsoft.com//.default')}"}
        uri = discover()
        assert uri == f"{base}{CR}"
        info = "/ciscoise/mdminfo/?ise_api_version=3"
        assert http.get(uri + info, headers=nac).status_code == 200
        try:
            moved = http.put(f"{base}/admin/service-endpoint", json={"base_url": "/fef-09"}, headers=admin)
            assert moved.status_code == 200, moved.text
            assert http.get(uri + info, headers=nac).status_code == 404
            new_uri = discover()
            assert new_uri == f"{base}/fef-09{CR}"
            resp = http.get(new_uri + info, headers=nac)
            assert resp.status_code == 200 and f"/fef-09{CR}/cisco".encode() in resp.content
        finally:
            http.put(f"{base}/admin/service-endpoint", json={"base_url": None}, headers=admin)
        assert http.get(uri + info, headers=nac).status_code == 200
