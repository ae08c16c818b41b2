"""Microsoft's msgraph-sdk, unmodified, lists managedDevices from the served mock with a filter and paging.

Only public configuration points it at the mock: azure-identity's ``ClientSecretCredential`` with the
mock's authority and CA, an httpx client (the SDK's default middleware) that trusts the generated CA,
and the request adapter's ``base_url``. The devices are seeded through the admin API.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.device_management.managed_devices.managed_devices_request_builder import (
    ManagedDevicesRequestBuilder,
)
from msgraph.generated.models.compliance_state import ComplianceState
from msgraph.generated.models.managed_device import ManagedDevice
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

from mock_intune.serve import ServedMock

pytestmark = pytest.mark.served

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEVICES = 23
PAGE = 10


@pytest.fixture
def trust_mock_ca(served_mock: ServedMock, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", served_mock.ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", served_mock.ca_file)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return served_mock.ca_file


def seed(served: ServedMock, name: str) -> dict[str, str]:
    """Seed DEVICES devices named ``name`` (every third noncompliant); return id -> expected state."""
    devices = [
        {
            "intune_id": str(uuid.uuid4()),
            "device_name": name,
            "wifi_mac": f"02{uuid.uuid4().hex[:10].upper()}",
            "operating_system": "Windows",
            "compliance_state": "noncompliant" if i % 3 == 0 else "compliant",
        }
        for i in range(DEVICES)
    ]
    with httpx.Client(verify=served.ca_file, trust_env=False) as http:
        resp = http.post(
            f"{served.base_url}/admin/devices",
            json={"devices": devices},
            headers={"Authorization": f"Bearer {served.admin_token}"},
        )
    assert resp.status_code == 201, resp.text
    return {d["intune_id"]: d["compliance_state"] for d in devices}


async def list_all(
    served: ServedMock, flt: str, *, top: int | None = PAGE
) -> tuple[list[ManagedDevice], int, int]:
    """(devices over every page, @odata.count, pages) as msgraph-sdk sees them."""
    credential = ClientSecretCredential(
        served.tenant_id,
        served.client_id,
        served.client_secret or "",
        authority=served.base_url,
        disable_instance_discovery=True,
        connection_verify=served.ca_file,
    )
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=served.ca_file))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{served.base_url}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)
    query = ManagedDevicesRequestBuilder.ManagedDevicesRequestBuilderGetQueryParameters(
        filter=flt, top=top, count=True, select=["id", "deviceName", "complianceState", "wiFiMacAddress"]
    )
    try:
        first = await client.device_management.managed_devices.get(
            request_configuration=RequestConfiguration(query_parameters=query)
        )
        assert first is not None
        count = first.odata_count or 0
        seen: list[ManagedDevice] = []
        pages = [0]

        def collect(device: ManagedDevice) -> bool:
            seen.append(device)
            return True

        iterator = PageIterator(first, adapter)
        original_next = iterator.next

        async def counting_next() -> object:
            page = await original_next()
            pages[0] += page is not None
            return page

        iterator.next = counting_next  # type: ignore[method-assign]
        await iterator.iterate(collect)
        return seen, count, pages[0] + 1
    finally:
        await http.aclose()
        await credential.close()


def test_msgraph_sdk_lists_with_filter_and_follows_paging(
    served_mock: ServedMock, trust_mock_ca: str
) -> None:
    name = f"MSGRAPH-{uuid.uuid4().hex[:8].upper()}"
    expected = seed(served_mock, name)
    devices, count, pages = asyncio.run(list_all(served_mock, f"deviceName eq '{name}'"))
    assert count == DEVICES
    assert pages == 3  # 10 + 10 + 3
    assert sorted(d.id for d in devices if d.id) == sorted(expected)
    assert len(devices) == DEVICES  # none twice
    for device in devices:
        assert device.device_name == name
        assert device.compliance_state == ComplianceState(expected[device.id or ""])
        assert device.wi_fi_mac_address and len(device.wi_fi_mac_address) == 12
    # The mock's call log shows the SDK following @odata.nextLink: pages 1, 2, 3 of this filter.
    with httpx.Client(verify=served_mock.ca_file, trust_env=False) as http:
        log = http.get(
            f"{served_mock.base_url}/admin/calls",
            params={"surface": "graph"},
            headers={"Authorization": f"Bearer {served_mock.admin_token}"},
        ).json()["calls"]
    mine = [c["detail"] for c in log if c["detail"].get("filter") == f"deviceName eq '{name}'"]
    assert [(d["page"], d["results"]) for d in mine] == [(1, 10), (2, 10), (3, 3)]


def test_msgraph_sdk_combined_filter(served_mock: ServedMock, trust_mock_ca: str) -> None:
    name = f"MSGRAPH-{uuid.uuid4().hex[:8].upper()}"
    expected = seed(served_mock, name)
    flt = f"deviceName eq '{name}' and complianceState eq 'noncompliant'"
    devices, count, pages = asyncio.run(list_all(served_mock, flt, top=None))
    wanted = sorted(i for i, s in expected.items() if s == "noncompliant")
    assert sorted(d.id for d in devices if d.id) == wanted
    assert count == len(wanted) == 8
    assert pages == 1


def test_msgraph_sdk_surfaces_odata_errors(served_mock: ServedMock, trust_mock_ca: str) -> None:
    with pytest.raises(ODataError) as info:
        asyncio.run(list_all(served_mock, "model eq 'x'"))
    assert info.value.response_status_code == 400
    assert info.value.error is not None
    assert info.value.error.code == "BadRequest"
    assert "model" in (info.value.error.message or "")
