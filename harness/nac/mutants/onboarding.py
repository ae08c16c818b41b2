"""Mutants breaking the onboarding rules (ONB-01 … ONB-05)."""

from __future__ import annotations

from typing import Any

from mock_intune.config import DEFAULT_CLIENT_SECRET

from ...model import Decision, Profile
from ..entra_client import GRAPH_AUDIENCE, MANAGE_AUDIENCE
from ..intune_answers import IntegrationError, IntuneError, NoncompliantPage
from ..intune_client import PROVIDERS, HttpIntuneClient
from ..reference import ReferenceNac
from .registry import mutant

HARD_CODED_PATHS = {
    "ComplianceRetrievalService": "/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService",
    "NACAPIService": "/StatelessNACService",
}


@mutant("ONB-01-hard-coded-endpoint", "ONB-01", "uses a hard-coded service URL instead of the discovery API")
class HardCodedEndpoint(ReferenceNac):
    def discover(self, client: HttpIntuneClient) -> str:
        provider = PROVIDERS.get(client.profile)
        if provider is None:
            return client.fetch_service_uri()
        client.service_uri = client.settings.base_url.rstrip("/") + HARD_CODED_PATHS[provider]
        client.mdm = None
        return client.service_uri


@mutant("ONB-01-never-rediscovers", "ONB-01", "keeps calling the old endpoint after the service moved")
class NeverRediscovers(ReferenceNac):
    def rediscover(self, client: HttpIntuneClient) -> str:
        assert client.service_uri is not None
        return client.service_uri


@mutant(
    "ONB-02-graph-token-to-service",
    "ONB-02",
    "presents its Graph token to the NAC/CR service for list sweeps",
)
class GraphTokenToService(ReferenceNac):
    _sweeping = False

    def poll_noncompliant(self, cursor: str | None) -> NoncompliantPage:
        self._sweeping = True
        try:
            return super().poll_noncompliant(cursor)
        finally:
            self._sweeping = False

    def query(self, identity: Any) -> Any:
        self._sweeping = self.profile is Profile.LEGACY_JSON and self._in_recheck
        try:
            return super().query(identity)
        finally:
            self._sweeping = False

    _in_recheck = False

    def recheck_sessions(self) -> Any:
        self._in_recheck = True
        try:
            yield from super().recheck_sessions()
        finally:
            self._in_recheck = False

    def audience_for(self, client: HttpIntuneClient, service: bool) -> str:
        if not self._sweeping:
            return super().audience_for(client, service)
        # the audiences swapped: Graph's token to the NAC/CR service, the manage token to Graph
        return MANAGE_AUDIENCE if self.profile is Profile.GRAPH else GRAPH_AUDIENCE


@mutant("ONB-03-token-per-request", "ONB-03", "gets a new token for every request")
class TokenPerRequest(ReferenceNac):
    def token(self, client: HttpIntuneClient, audience: str) -> str:
        client.tokens.drop(audience)
        return client.tokens.get(audience)


@mutant("ONB-03-loops-on-401", "ONB-03", "keeps refreshing and retrying on 401")
class LoopsOn401(ReferenceNac):
    unauthorized_retries = 6


@mutant(
    "ONB-04-client-secret",
    "ONB-04",
    "authenticates with a client secret although it declares certificate auth",
)
class ClientSecretInstead(ReferenceNac):
    def __init__(self, config: Any = None, **fields: Any) -> None:
        if fields.get("cert_pem"):
            fields.update(cert_pem=None, key_pem=None, client_secret=DEFAULT_CLIENT_SECRET)
        super().__init__(config, **fields)


@mutant("ONB-05-grants-on-403", "ONB-05", "treats a missing permission as 'Intune degraded' and allows")
class GrantsOn403(ReferenceNac):
    def on_error(self, exc: IntuneError) -> tuple[Decision, str]:
        if isinstance(exc, IntegrationError) and (exc.status == 403 or "403" in str(exc)):
            return Decision.ALLOW, f"integration degraded, allowing: {exc}"
        return super().on_error(exc)


@mutant("ONB-04-day-long-assertion", "ONB-04", "signs client assertions that stay valid for a day")
class DayLongAssertion(ReferenceNac):
    def __init__(self, config: Any = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        tokens = getattr(self.client, "tokens", None)
        if tokens is not None and tokens.credential.uses_certificate:
            plain = tokens.form

            def form(audience: str) -> dict[str, str]:
                body = plain(audience)
                body["client_assertion"] = _long_assertion(tokens, body["client_assertion"])
                return body

            tokens.form = form


def _long_assertion(tokens: Any, assertion: str) -> str:
    """The same assertion re-signed with ``exp`` a day after ``iat``."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    header = jwt.get_unverified_header(assertion)
    claims = jwt.decode(assertion, options={"verify_signature": False})
    claims["exp"] = int(claims["iat"]) + 86400
    key = serialization.load_pem_private_key(tokens.credential.key_pem.encode(), password=None)
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": header["x5t"], "typ": "JWT"})  # type: ignore[arg-type]
