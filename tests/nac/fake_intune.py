"""A small scripted Intune behind ``httpx.MockTransport`` for the reference NAC's unit tests.

It speaks the wire shapes of ``shared/research/intune-nac-api.md`` (discovery, Entra v1/v2 tokens,
Cisco v3/v2 XML, legacy JSON, Graph), records every request, checks token audiences, and lets a
test queue canned responses for a path (``script``) to inject faults.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

TENANT = "8f1c0b7e-5d2a-4c6e-9b3f-1a2b3c4d5e6f"
ORIGIN = "http://mock.test"
SERVICE_ORIGIN = "http://fef.amsua0102.test"
CR_PATH = "/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService"
NAC_PATH = "/StatelessNACService"
PORTAL = "https://portal.example.test/networkaccesscontrol/index"
NS = (
    "http://schemas.datacontract.org/2004/07/Microsoft.Intune.ResourceAccess.ComplianceRetrievalService.Model"
)


def guid(n: int) -> str:
    return f"3eeb9e62-cec9-4dd8-9dd6-{n:012x}"


def mac(n: int) -> str:
    return f"0050569A{n:04X}"


@dataclass
class FakeDevice:
    intune_id: str
    mac: str
    compliant: bool
    state: str = ""
    """Graph state; derived from ``compliant`` when empty."""

    @property
    def graph_state(self) -> str:
        return self.state or ("compliant" if self.compliant else "noncompliant")


class FakeIntune:
    """Scripted Intune: ``devices`` are enrolled; anything else is unknown to it."""

    def __init__(self, *, page_size: int = 100, latency_ms: float = 0.0) -> None:
        self.devices: dict[str, FakeDevice] = {}
        self.requests: list[httpx.Request] = []
        self.token_forms: list[dict[str, str]] = []
        self.script: dict[str, deque[httpx.Response]] = defaultdict(deque)
        self.expires_in = 3599
        self.page_size = page_size
        self.latency_ms = latency_ms
        self.service_prefix = ""
        self.moved_prefix: str | None = None
        self.issued = 0
        self.valid_tokens: set[str] = set()

    # -- setup -------------------------------------------------------------------------------
    def add(self, n: int, compliant: bool = True, state: str = "") -> FakeDevice:
        d = FakeDevice(guid(n), mac(n), compliant, state)
        self.devices[d.intune_id] = d
        return d

    def queue(self, path_part: str, *responses: httpx.Response) -> None:
        """Answer the next requests whose path contains ``path_part`` with ``responses``."""
        self.script[path_part].extend(responses)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self, part: str = "") -> list[str]:
        return [r.url.path for r in self.requests if part in r.url.path]

    def queries(self, part: str) -> list[dict[str, str]]:
        return [
            {k: v[0] for k, v in parse_qs(r.url.query.decode()).items()}
            for r in self.requests
            if part in r.url.path
        ]

    # -- serving -----------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for part, queued in self.script.items():
            if part in request.url.path and queued:
                return queued.popleft()
        path = request.url.path
        if path.endswith("/token"):
            return self._token(request)
        audience = self._audience(request)
        if "/servicePrincipals/" in path:
            if audience != "graph":
                return _json({"error": {"code": "InvalidAuthenticationToken"}}, 401)
            base = SERVICE_ORIGIN + (self.moved_prefix or "")
            return _json(
                {
                    "value": [
                        {"providerName": "NACAPIService", "uri": base + NAC_PATH},
                        {"providerName": "ComplianceRetrievalService", "uri": base + CR_PATH},
                    ]
                }
            )
        if "/deviceManagement/managedDevices" in path:
            if audience != "graph":
                return _json({"error": {"code": "InvalidAuthenticationToken"}}, 401)
            return self._graph(request)
        if audience != "manage":
            return _json({"error": {"code": "InvalidAuthenticationToken"}}, 401)
        if request.url.host != "fef.amsua0102.test":
            return _json({"error": "not here"}, 404)
        if self.moved_prefix is not None and not path.startswith(self.moved_prefix + "/"):
            return _json({"error": {"code": "ServiceEndpointMoved"}}, 404)
        path = path[len(self.moved_prefix or "") :]
        if path == f"{CR_PATH}/ciscoise/mdminfo/":
            return _xml(_mdminfo(3, f"{self.moved_prefix or ''}{CR_PATH}/cisco", True))
        if path == f"{NAC_PATH}/ciscoise/mdminfo/":
            return _xml(
                _mdminfo(2, f"{self.moved_prefix or ''}/StatelessNacService/ciscodeviceinfo/mdm/api", False)
            )
        if path in (f"{CR_PATH}/cisco/devices/", "/StatelessNacService/ciscodeviceinfo/mdm/api/devices/"):
            return self._cisco(request, v3=path.startswith(CR_PATH))
        if path == f"{NAC_PATH}/devices/":
            return self._legacy_json(request)
        return _json({"error": "no such path"}, 404)

    def _audience(self, request: httpx.Request) -> str:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return ""
        return token.split("-")[1]

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.token_forms.append(form)
        target = form.get("resource") or form.get("scope", "")
        if target.startswith("https://api.manage.microsoft.com/"):
            aud = "manage"
        elif target.startswith("https://graph.microsoft.com"):
            aud = "graph"
        else:
            return _json({"error": "invalid_resource"}, 400)
        self.issued += 1
        token = f"tok-{aud}-{self.issued}"
        self.valid_tokens.add(token)
        return _json({"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token})

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    def _params(self, request: httpx.Request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}

    def _find(self, criteria: str, value: str) -> FakeDevice | None:
        for d in self.devices.values():
            if (criteria == "guid" and d.intune_id == value.lower()) or (
                criteria == "macaddress" and d.mac == value
            ):
                return d
        return None

    def _cisco(self, request: httpx.Request, *, v3: bool) -> httpx.Response:
        p = self._params(request)
        if p.get("querycriteria") == "compliance":
            bad = sorted((d for d in self.devices.values() if not d.compliant), key=lambda d: d.intune_id)
            start = int(p.get("paging", "0"))
            page = bad[start : start + self.page_size]
            nxt = start + self.page_size if start + self.page_size < len(bad) else 0
            return _xml(_device_list(page, v3, paging=nxt))
        found = self._find(p.get("querycriteria", ""), p.get("value", ""))
        return _xml(_device_list([found] if found else [], v3, paging=None))

    def _legacy_json(self, request: httpx.Request) -> httpx.Response:
        p = self._params(request)
        found = self._find("macaddress", p.get("value", ""))
        if found is None:
            return _json({"macAddress": p.get("value"), "isManaged": False, "complianceState": False})
        return _json(
            {
                "macAddress": found.mac,
                "isManaged": True,
                "complianceState": found.compliant,
                "azureDeviceId": "aad-" + found.intune_id,
                "lastContactTimeUtc": "10/18/2020 14:05:26",
                "model": "",
            }
        )

    def _graph(self, request: httpx.Request) -> httpx.Response:
        tail = request.url.path.rsplit("/managedDevices", 1)[1].strip("/")
        if tail:
            found = self._find("guid", tail)
            if found is None:
                return _json({"error": {"code": "ResourceNotFound"}}, 404)
            return _json(_graph_device(found))
        p = self._params(request)
        flt = p.get("$filter", "")
        skip = int(p.get("$skiptoken", "0"))
        if flt.startswith("wiFiMacAddress eq "):
            value = flt.split("'")[1]
            items = [d for d in self.devices.values() if d.mac == value]
        elif flt == "complianceState eq 'noncompliant'":
            items = sorted(
                (d for d in self.devices.values() if d.graph_state == "noncompliant"),
                key=lambda d: d.intune_id,
            )
        else:
            return _json({"error": {"code": "BadRequest"}}, 400)
        page = items[skip : skip + self.page_size]
        body: dict[str, Any] = {"value": [_graph_device(d) for d in page]}
        if skip + self.page_size < len(items):
            body["@odata.nextLink"] = (
                f"{ORIGIN}/v1.0/deviceManagement/managedDevices?$filter={flt}&$skiptoken={skip + self.page_size}"
            )
        return _json(body)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _xml(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": "application/xml"})


def status(code: int, headers: dict[str, str] | None = None, body: str = "") -> httpx.Response:
    """A canned error answer."""
    return httpx.Response(code, content=body.encode(), headers=headers or {})


def _mdminfo(version: int, api_path: str, namespaced: bool) -> str:
    ns = f' xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"' if namespaced else ""
    return (
        f"<ise_api{ns}><name>mdminfo</name><api_version>{version}</api_version>"
        f"<api_path>{api_path}</api_path><redirect_url>{PORTAL}</redirect_url>"
        "<query_max_size>100</query_max_size><messaging_support>false</messaging_support>"
        "<vendor>Microsoft</vendor><product_name>Microsoft Intune</product_name>"
        "<product_version>5.0</product_version></ise_api>"
    )


def _device_list(devices: list[FakeDevice], v3: bool, paging: int | None) -> str:
    ns = f' xmlns="{NS}"' if v3 else ""
    paging_xml = f"<paging_info>{paging}</paging_info>" if paging is not None else ""
    body = []
    for d in devices:
        status_ = "true" if d.compliant else "false"
        if v3:
            body.append(
                f"<device><guid>{d.intune_id}</guid><Attributes><guid>{d.intune_id}</guid>"
                f"<register_status>true</register_status><Compliance><status>{status_}</status>"
                "</Compliance></Attributes></device>"
            )
        else:
            body.append(
                f"<device><macaddress>{d.mac}</macaddress><attributes><register_status>true</register_status>"
                f"<compliance><status>{status_}</status></compliance><udid/><model>x</model></attributes></device>"
            )
    return (
        f"<ise_api{ns}><name>attributes</name><api_version>{3 if v3 else 2}</api_version>{paging_xml}"
        f"<deviceList>{''.join(body)}</deviceList></ise_api>"
    )


def _graph_device(d: FakeDevice) -> dict[str, Any]:
    return {
        "id": d.intune_id,
        "azureADDeviceId": "aad-" + d.intune_id,
        "complianceState": d.graph_state,
        "wiFiMacAddress": d.mac,
        "deviceRegistrationState": "registered",
    }
