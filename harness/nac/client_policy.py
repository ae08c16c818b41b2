"""What the reference NAC's Intune clients share: the client protocol, settings, and ClientPolicy.

:class:`ClientPolicy` holds the client-side decisions a faulty NAC would get wrong (discovery,
audience, token reuse, the 401 retry); :class:`harness.nac.reference.ReferenceNac` is one, so a
mutant overrides exactly one of them. :mod:`harness.nac.intune_client` (HTTP) and
:mod:`harness.nac.core_client` (fast path) implement :class:`IntuneClient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..model import Profile
from .entra_client import GRAPH_AUDIENCE, MANAGE_AUDIENCE, ClientCredential, TokenApi
from .identity import DeviceIdentity, IdentityKind
from .intune_answers import DeviceAnswer, NoncompliantPage

if TYPE_CHECKING:
    from .intune_client import HttpIntuneClient

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
LATENCY_HEADER = "X-Mock-Latency-Ms"
DEFAULT_PORTAL_URL = "https://portal.manage.microsoft.com/networkaccesscontrol/index"

PROVIDERS: dict[Profile, str] = {
    Profile.CR_CISCO: "ComplianceRetrievalService",
    Profile.LEGACY_CISCO: "NACAPIService",
    Profile.LEGACY_JSON: "NACAPIService",
}
"""Discovery ``providerName`` per profile (Graph needs no discovery: it is its own service)."""
ISE_API_VERSION: dict[Profile, int] = {Profile.CR_CISCO: 3, Profile.LEGACY_CISCO: 2}
MOVED_STATUSES = frozenset({404, 421})


class IntuneClient(Protocol):
    """What the NAC needs from Intune; HTTP and fast-path clients both provide it."""

    profile: Profile
    latency_s: float
    """Modelled Intune time spent since the last :meth:`reset_latency`."""

    def reset_latency(self) -> None: ...

    def prepare(self) -> None:
        """Onboarding: discovery, tokens, ``mdminfo`` (may raise :class:`IntuneError`)."""

    def lookup(self, identity: DeviceIdentity) -> DeviceAnswer: ...

    def noncompliant_page(self, cursor: str | None) -> NoncompliantPage: ...

    def redirect_url(self) -> str: ...


@dataclass(frozen=True)
class ClientSettings:
    """Where the mock is and how to talk to it."""

    profile: Profile
    base_url: str
    """Origin of the mock (login, Graph and the services all live there unless overridden)."""
    tenant_id: str
    credential: ClientCredential
    login_base_url: str | None = None
    graph_base_url: str | None = None
    token_api: TokenApi = TokenApi.V2
    token_refresh_margin_s: float = 300.0
    timeout_s: float = 2.0
    portal_url: str = DEFAULT_PORTAL_URL
    """Redirect target for profiles without ``mdminfo`` (legacy-json, graph)."""
    list_identifier: IdentityKind = IdentityKind.GUID
    """CR ``deviceidentifier`` of the noncompliant list."""
    json_api_version: str = "1.1"
    rediscover_min_interval_s: float = 30.0

    @property
    def login_base(self) -> str:
        return (self.login_base_url or self.base_url).rstrip("/")

    @property
    def graph_base(self) -> str:
        return (self.graph_base_url or self.base_url).rstrip("/")


class ClientPolicy:
    """The client's rule-relevant choices; :class:`harness.nac.reference.ReferenceNac` is one.

    Each method is correct here and is the single place a mutant breaks its rule.
    """

    unauthorized_retries: int = 1
    """ONB-03: after a 401, get a new token and retry once; never loop."""

    def discover(self, client: HttpIntuneClient) -> str:
        """ONB-01: the service base from the discovery API (never a hard-coded host)."""
        return client.fetch_service_uri()

    def rediscover(self, client: HttpIntuneClient) -> str:
        """ONB-01: the endpoint moved; forget it and discover again."""
        client.forget_service()
        return self.discover(client)

    def token(self, client: HttpIntuneClient, audience: str) -> str:
        """ONB-03: the cached token for ``audience``, refreshed near expiry."""
        return client.tokens.get(audience)

    def on_unauthorized(self, client: HttpIntuneClient, audience: str) -> None:
        """ONB-03: a 401 means the token is no good: drop it so the retry gets a fresh one."""
        client.tokens.drop(audience)

    def audience_for(self, client: HttpIntuneClient, service: bool) -> str:
        """ONB-02: manage audience for the NAC / CR services, Graph audience for Graph calls."""
        return MANAGE_AUDIENCE if service and client.profile is not Profile.GRAPH else GRAPH_AUDIENCE
