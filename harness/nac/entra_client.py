"""App-only tokens from Entra ID for the NAC: client credentials, by secret or certificate assertion.

ONB-02 (one token per audience: ``https://api.manage.microsoft.com/`` for the NAC / CR services,
``https://graph.microsoft.com`` for discovery and Graph; v1 ``resource=`` or v2 ``scope=…/.default``),
ONB-03 (a token is reused until near expiry), ONB-04 (a signed client assertion: RS256, ``x5t`` of
the registered certificate, ``aud`` the token endpoint, short ``exp``, fresh ``jti``).

Time is injected: ``now()`` returns the NAC's seconds (SimPy ``env.now``), ``epoch_unix`` maps them
to the Unix time written into assertions, so the mock (reading the same simulated clock) agrees.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from ..errors import ConfigError
from .intune_answers import IntegrationError, IntuneUnavailable, MalformedAnswer, Throttled

MANAGE_AUDIENCE = "https://api.manage.microsoft.com/"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300


class TokenApi(StrEnum):
    """Which Entra token endpoint the NAC uses."""

    V1 = "v1"
    """``/{tenant}/oauth2/token`` with ``resource=``."""
    V2 = "v2"
    """``/{tenant}/oauth2/v2.0/token`` with ``scope=…/.default``."""


@dataclass(frozen=True)
class ClientCredential:
    """The NAC's app registration: a secret, or a certificate and its private key (PEM)."""

    client_id: str
    client_secret: str | None = None
    cert_pem: str | None = None
    key_pem: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError("is required", field="client_id")
        if (self.cert_pem is None) != (self.key_pem is None):
            raise ConfigError("a certificate needs both cert_pem and key_pem", field="cert_pem")
        if self.client_secret is None and self.cert_pem is None:
            raise ConfigError("give client_secret or cert_pem + key_pem", field="client_secret")

    @property
    def uses_certificate(self) -> bool:
        return self.cert_pem is not None


def thumbprint_x5t(cert_pem: str) -> str:
    """``x5t``: base64url (JOSE, unpadded) of the certificate's SHA-1 thumbprint."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise ConfigError(f"not a PEM certificate ({exc})", field="cert_pem") from exc
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()  # noqa: S303


def client_assertion(credential: ClientCredential, token_url: str, now_unix: float) -> str:
    """A fresh RS256 client assertion for ``token_url`` (ONB-04): short-lived, unique ``jti``."""
    assert credential.cert_pem is not None and credential.key_pem is not None
    try:
        key = serialization.load_pem_private_key(credential.key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not an unencrypted PEM private key ({exc})", field="key_pem") from exc
    now = int(now_unix)
    claims = {
        "aud": token_url,
        "iss": credential.client_id,
        "sub": credential.client_id,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + ASSERTION_LIFETIME_S,
    }
    headers = {"x5t": thumbprint_x5t(credential.cert_pem), "typ": "JWT"}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)  # type: ignore[arg-type]


@dataclass
class _Cached:
    token: str
    expires_at: float


class TokenSource:
    """Gets and caches one app-only token per audience (ONB-02, ONB-03).

    ``get`` returns the cached token until ``refresh_margin_s`` before it expires; ``drop`` forgets
    one (after a 401). ``requests`` counts token requests made, for tests and reports.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        login_base: str,
        tenant_id: str,
        credential: ClientCredential,
        now: Callable[[], float],
        epoch_unix: float,
        api: TokenApi = TokenApi.V2,
        refresh_margin_s: float = 300.0,
        latency_sink: Callable[[httpx.Response | None, float], None] | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.http = http
        self.login_base = login_base.rstrip("/")
        self.tenant_id = tenant_id
        self.credential = credential
        self.now = now
        self.epoch_unix = epoch_unix
        self.api = api
        self.refresh_margin_s = refresh_margin_s
        self.latency_sink = latency_sink
        self.timeout_s = timeout_s
        self._cache: dict[str, _Cached] = {}
        self.requests = 0

    def token_url(self) -> str:
        path = "oauth2/token" if self.api is TokenApi.V1 else "oauth2/v2.0/token"
        return f"{self.login_base}/{self.tenant_id}/{path}"

    def get(self, audience: str) -> str:
        """A valid token for ``audience``: cached, or fetched when absent or near expiry."""
        cached = self._cache.get(audience)
        if cached is not None and self.now() < cached.expires_at - self.refresh_margin_s:
            return cached.token
        return self.fetch(audience)

    def drop(self, audience: str) -> None:
        self._cache.pop(audience, None)

    def form(self, audience: str) -> dict[str, str]:
        """The token request body for ``audience`` (client credentials grant)."""
        body = {"grant_type": "client_credentials", "client_id": self.credential.client_id}
        if self.api is TokenApi.V1:
            body["resource"] = audience
        else:
            # The manage audience already ends in "/": its scope is "https://api.manage.microsoft.com//.default".
            body["scope"] = f"{audience}/.default"
        if self.credential.uses_certificate:
            body["client_assertion_type"] = ASSERTION_TYPE
            body["client_assertion"] = client_assertion(
                self.credential, self.token_url(), self.epoch_unix + self.now()
            )
        else:
            assert self.credential.client_secret is not None
            body["client_secret"] = self.credential.client_secret
        return body

    def fetch(self, audience: str) -> str:
        """Request a new token for ``audience`` and cache it."""
        url = self.token_url()
        self.requests += 1
        try:
            resp = self.http.post(url, data=self.form(audience), timeout=self.timeout_s)
        except httpx.TimeoutException as exc:
            if self.latency_sink:
                self.latency_sink(None, self.timeout_s)
            raise IntuneUnavailable(f"Entra token endpoint timed out: {url}") from exc
        except httpx.TransportError as exc:
            raise IntuneUnavailable(f"Entra token endpoint unreachable: {url} ({exc})") from exc
        if self.latency_sink:
            self.latency_sink(resp, 0.0)
        data = _json_or_none(resp)
        if resp.status_code == 429:
            raw = resp.headers.get("Retry-After", "")
            wait = float(raw) if raw.replace(".", "", 1).isdigit() else None
            raise Throttled("Entra answered 429", status=429, retry_after=wait)
        if resp.status_code >= 500:
            raise IntuneUnavailable(f"Entra answered {resp.status_code}", status=resp.status_code)
        if resp.status_code != 200:
            desc = ""
            if isinstance(data, dict):
                desc = f"{data.get('error', '')}: {str(data.get('error_description', ''))[:300]}"
            raise IntegrationError(
                f"Entra refused the token request ({resp.status_code}) {desc}".strip(),
                status=resp.status_code,
            )
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise MalformedAnswer("Entra token answer has no access_token")
        try:
            expires_in = float(data.get("expires_in", 3599))
        except (TypeError, ValueError) as exc:
            raise MalformedAnswer(f"Entra expires_in {data.get('expires_in')!r} is not a number") from exc
        token = data["access_token"]
        self._cache[audience] = _Cached(token, self.now() + expires_in)
        return token


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
