"""The reference NAC's Intune client: one httpx client for the four profiles.

It discovers the service (ONB-01), holds one app-only token per audience (ONB-02/03, certificate
assertion for ONB-04), asks Cisco ``mdminfo`` for ``api_path`` / ``redirect_url`` / ``query_max_size``,
queries single devices and pages through the noncompliant list (RES-04). It never sleeps and never
reads the wall clock: waiting (RES-02/03) is the caller's business in SimPy time, so the client
raises :class:`Throttled` with ``retry_after`` instead. Latency is *modelled*: the sum of the
``X-Mock-Latency-Ms`` the mock reports (virtual-time transports) plus timeouts, in ``latency_s``.

Decisions that a faulty NAC would get wrong are methods of :class:`ClientPolicy`
(:mod:`harness.nac.client_policy`; the reference NAC is one), so a mutant overrides exactly one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..model import Profile
from .client_policy import (
    DEFAULT_PORTAL_URL,
    INTUNE_APP_ID,
    ISE_API_VERSION,
    LATENCY_HEADER,
    MOVED_STATUSES,
    PROVIDERS,
    ClientPolicy,
    ClientSettings,
    IntuneClient,
)
from .entra_client import GRAPH_AUDIENCE, TokenSource
from .identity import DeviceIdentity, IdentityKind
from .intune_answers import (
    DeviceAnswer,
    EndpointGone,
    IntegrationError,
    IntuneUnavailable,
    MalformedAnswer,
    MdmInfo,
    NoncompliantPage,
    Throttled,
)
from .intune_wire import (
    graph_listed,
    parse_cisco_device,
    parse_cisco_list,
    parse_graph_collection,
    parse_graph_device,
    parse_json_device,
    parse_json_list,
    parse_mdminfo,
)


class HttpIntuneClient:
    """The httpx-based client (network, ``WSGITransport`` or the mock's virtual transport)."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], float],
        epoch_unix: float,
        policy: ClientPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.profile = settings.profile
        self.policy = policy or ClientPolicy()
        self.now = now
        self.http = httpx.Client(transport=transport, timeout=settings.timeout_s, follow_redirects=False)
        self._transport = transport
        self.tokens = TokenSource(
            self.http,
            login_base=settings.login_base,
            tenant_id=settings.tenant_id,
            credential=settings.credential,
            now=now,
            epoch_unix=epoch_unix,
            api=settings.token_api,
            refresh_margin_s=settings.token_refresh_margin_s,
            latency_sink=self._account,
            timeout_s=settings.timeout_s,
        )
        self.latency_s = 0.0
        self.service_uri: str | None = None
        self.mdm: MdmInfo | None = None
        self.discoveries = 0
        self._last_rediscovery: float | None = None

    # -- bookkeeping -----------------------------------------------------------------------
    def reset_latency(self) -> None:
        self.latency_s = 0.0

    def _account(self, resp: httpx.Response | None, extra_s: float) -> None:
        self.latency_s += extra_s
        if resp is not None:
            with contextlib.suppress(ValueError):
                self.latency_s += float(resp.headers.get(LATENCY_HEADER, 0.0)) / 1000.0

    def _timeout_spent(self) -> float:
        """Time a timed-out call cost: our timeout, or less when the virtual transport says the hang was shorter."""
        hang = getattr(self._transport, "last_injected_s", None)
        if isinstance(hang, float) and hang > 0:
            return min(self.settings.timeout_s, hang)
        return self.settings.timeout_s

    def close(self) -> None:
        self.http.close()

    # -- onboarding ------------------------------------------------------------------------
    def discovery_url(self) -> str:
        return f"{self.settings.graph_base}/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints"

    def fetch_service_uri(self) -> str:
        """Call the discovery API and remember the profile's service ``uri`` (ONB-01)."""
        provider = PROVIDERS.get(self.profile)
        if provider is None:
            self.service_uri = self.settings.graph_base
            return self.service_uri
        self.discoveries += 1
        resp = self.send("GET", self.discovery_url(), audience=GRAPH_AUDIENCE, service=False)
        data = _json(resp, "discovery")
        entries = data.get("value") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise MalformedAnswer("discovery answer has no value array")
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            name = entry.get("providerName") or entry.get("serviceName")
            uri = entry.get("uri")
            if name == provider and isinstance(uri, str) and uri.startswith(("http://", "https://")):
                self.service_uri = uri.rstrip("/")
                self.mdm = None
                return self.service_uri
        raise IntegrationError(f"discovery lists no {provider} endpoint for this tenant")

    def forget_service(self) -> None:
        self.service_uri = None
        self.mdm = None

    def service(self) -> str:
        if self.service_uri is None:
            self.policy.discover(self)
        assert self.service_uri is not None
        return self.service_uri

    def mdminfo(self) -> MdmInfo:
        """Cisco ``mdminfo`` at the discovered base (fixed path; ISE does not know api_path yet)."""
        if self.mdm is None:
            self.mdm = self._moving(self._fetch_mdminfo)  # a 404 here also means the endpoint moved
        return self.mdm

    def _fetch_mdminfo(self) -> MdmInfo:
        version = ISE_API_VERSION[self.profile]
        url = f"{self.service()}/ciscoise/mdminfo/"
        resp = self.send("GET", url, params={"ise_api_version": str(version)}, xml=True)
        return parse_mdminfo(resp.content)

    def prepare(self) -> None:
        """Onboarding (steps 1-3): discovery, the service token, ``mdminfo`` — so no decision pays for them."""
        self.service()
        self.policy.token(self, self.policy.audience_for(self, True))
        if self.profile in ISE_API_VERSION:
            self.mdminfo()

    def redirect_url(self) -> str:
        """RED-01: ``redirect_url`` from ``mdminfo`` (Cisco profiles), else the configured portal."""
        if self.profile in ISE_API_VERSION and self.mdm is not None and self.mdm.redirect_url:
            return self.mdm.redirect_url
        return self.settings.portal_url

    def devices_url(self) -> str:
        """``{api_path}/devices/`` (Cisco), ``{NACAPIService}/devices/`` (JSON), managedDevices (Graph)."""
        if self.profile in ISE_API_VERSION:
            api_path = self.mdminfo().api_path
            if api_path.startswith(("http://", "https://")):
                base = api_path
            elif api_path.startswith("/"):
                parts = urlsplit(self.service())
                base = f"{parts.scheme}://{parts.netloc}{api_path}"
            else:
                base = urljoin(self.service() + "/", api_path)
            return base.rstrip("/") + "/devices/"
        if self.profile is Profile.LEGACY_JSON:
            return f"{self.service()}/devices/"
        return f"{self.settings.graph_base}/v1.0/deviceManagement/managedDevices"

    # -- HTTP ------------------------------------------------------------------------------
    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        audience: str | None = None,
        service: bool = True,
        xml: bool = False,
        ok: frozenset[int] = frozenset(),
        broad: bool = False,
    ) -> httpx.Response:
        """One authorised request, with ONB-03's single retry on 401; statuses become errors."""
        aud = audience or self.policy.audience_for(self, service)
        headers = {"Accept": "application/xml" if xml else "application/json"}
        attempts = 0
        while True:
            headers["Authorization"] = f"Bearer {self.policy.token(self, aud)}"
            try:
                resp = self.http.request(method, url, params=params, headers=headers)
            except httpx.TimeoutException as exc:
                self._account(None, self._timeout_spent())
                raise IntuneUnavailable(f"timed out after {self.settings.timeout_s:g} s: {url}") from exc
            except httpx.ConnectError as exc:
                raise EndpointGone(f"cannot connect to {url} ({exc})") from exc
            except httpx.TransportError as exc:
                raise IntuneUnavailable(f"transport error at {url} ({exc})") from exc
            self._account(resp, 0.0)
            if resp.status_code == 401 and attempts < self.policy.unauthorized_retries:
                attempts += 1
                self.policy.on_unauthorized(self, aud)
                continue
            break
        status = resp.status_code
        if status < 300 or status in ok:
            return resp
        retry_after = _retry_after(resp)
        detail = _error_text(resp)
        if status == 401:
            raise IntegrationError(f"401 Unauthorized after a fresh token at {url}: {detail}", status=401)
        if status == 403:
            raise IntegrationError(f"403 Forbidden (missing permission?) at {url}: {detail}", status=403)
        if status == 429 or (status == 503 and broad):
            raise Throttled(f"{status} at {url}: {detail}", status=status, retry_after=retry_after)
        if status in MOVED_STATUSES and service:
            raise EndpointGone(f"{status} at {url}: the endpoint moved?", status=status)
        if status >= 500:
            raise IntuneUnavailable(f"{status} at {url}: {detail}", status=status, retry_after=retry_after)
        raise IntegrationError(f"{status} at {url}: {detail}", status=status)

    def _moving(self, op: Callable[[], Any]) -> Any:
        """Run ``op``; when the discovered base is gone, re-discover once and retry once (ONB-01)."""
        try:
            return op()
        except EndpointGone:
            if self.profile not in PROVIDERS:
                raise
            last = self._last_rediscovery
            if last is not None and self.now() - last < self.settings.rediscover_min_interval_s:
                raise
            self._last_rediscovery = self.now()
            self.policy.rediscover(self)
            return op()

    # -- queries ---------------------------------------------------------------------------
    def lookup(self, identity: DeviceIdentity) -> DeviceAnswer:
        """Ask Intune about one device (steps 5 and 8)."""
        answer: DeviceAnswer = self._moving(lambda: self._lookup_once(identity))
        return answer

    def _lookup_once(self, identity: DeviceIdentity) -> DeviceAnswer:
        url = self.devices_url()
        if self.profile in ISE_API_VERSION:
            if self.profile is Profile.LEGACY_CISCO and identity.kind is not IdentityKind.MAC:
                raise IntegrationError("the legacy Cisco API (v2) queries by MAC only")
            params = {"paging": "0", "querycriteria": identity.kind.value, "value": identity.value}
            params["filter"] = "all"
            return parse_cisco_device(self.send("GET", url, params=params, xml=True).content)
        if self.profile is Profile.LEGACY_JSON:
            if identity.kind is not IdentityKind.MAC:
                raise IntegrationError("the legacy JSON NAC API queries by MAC only")
            params = {
                "querycriteria": "macaddress",
                "value": identity.value,
                "api-version": self.settings.json_api_version,
            }
            return parse_json_device(_json(self.send("GET", url, params=params), "legacy JSON device"))
        if identity.kind is IdentityKind.GUID:
            resp = self.send("GET", f"{url}/{identity.value}", ok=frozenset({404}))
            if resp.status_code == 404:
                return DeviceAnswer.not_enrolled()
            return parse_graph_device(_json(resp, "managedDevice"))
        params = {"$filter": f"wiFiMacAddress eq '{identity.value}'"}
        items, _ = parse_graph_collection(_json(self.send("GET", url, params=params), "managedDevices"))
        if not items:
            return DeviceAnswer.not_enrolled()
        answers = [parse_graph_device(item) for item in items]
        managed = all(a.managed for a in answers)
        first = answers[0]
        return DeviceAnswer(
            managed=managed,
            compliant=managed and all(a.compliant for a in answers),
            state=first.state,
            intune_id=first.intune_id,
            mac=first.mac,
        )

    def noncompliant_page(self, cursor: str | None) -> NoncompliantPage:
        """One page of "all noncompliant devices" (RES-02: the caller keeps it to once per 4 h)."""
        page: NoncompliantPage = self._moving(lambda: self._page_once(cursor))
        return page

    def _page_once(self, cursor: str | None) -> NoncompliantPage:
        if self.profile is Profile.GRAPH:
            if cursor is not None:
                url, params = cursor, None
            else:
                url = self.devices_url()
                params = {
                    "$filter": "complianceState eq 'noncompliant'",
                    "$select": "id,wiFiMacAddress,complianceState",
                }
            items, nxt = parse_graph_collection(
                _json(self.send("GET", url, params=params, broad=True), "managedDevices")
            )
            listed = tuple(d for d in (graph_listed(i) for i in items) if d is not None)
            return NoncompliantPage(listed, nxt)
        url = self.devices_url()
        paging = cursor or "0"
        if self.profile in ISE_API_VERSION:
            params = {"paging": paging, "querycriteria": "compliance", "value": "false", "filter": "all"}
            if self.profile is Profile.CR_CISCO:
                params["deviceidentifier"] = self.settings.list_identifier.value
            devices, nxt = parse_cisco_list(
                self.send("GET", url, params=params, xml=True, broad=True).content
            )
        else:
            params = {
                "querycriteria": "compliance",
                "value": "false",
                "paging": paging,
                "api-version": self.settings.json_api_version,
            }
            devices, nxt = parse_json_list(_json(self.send("GET", url, params=params, broad=True), "list"))
        return NoncompliantPage(tuple(devices), nxt)


def _json(resp: httpx.Response, what: str) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise MalformedAnswer(f"{what}: not JSON ({exc})") from exc


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _error_text(resp: httpx.Response) -> str:
    text = resp.text[:300] if resp.content else ""
    return " ".join(text.split())


__all__ = [
    "DEFAULT_PORTAL_URL",
    "INTUNE_APP_ID",
    "PROVIDERS",
    "ClientPolicy",
    "ClientSettings",
    "HttpIntuneClient",
    "IntuneClient",
]
