"""Access tokens the mock's Entra ID issues and its resource surfaces verify (RS256 JWTs).

The signing key lives in the store, so every server worker signs and verifies with the same key.
Expiry is judged on the mock's clock, not the wall, so a sped-up clock expires tokens sooner.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .clock import Clock
from .errors import RequestError
from .model import AAD_GRAPH_RESOURCE, GRAPH_RESOURCE, MANAGE_RESOURCE, AppRegistration
from .store import Store

RESOURCE_ALIASES: dict[str, str] = {
    # canonical audience -> accepted spellings of the resource / scope prefix
    MANAGE_RESOURCE: MANAGE_RESOURCE,
    MANAGE_RESOURCE.rstrip("/"): MANAGE_RESOURCE,
    "https://api.manage.microsoft.us/": MANAGE_RESOURCE,
    GRAPH_RESOURCE: GRAPH_RESOURCE,
    GRAPH_RESOURCE + "/": GRAPH_RESOURCE,
    "00000003-0000-0000-c000-000000000000": GRAPH_RESOURCE,
    AAD_GRAPH_RESOURCE: AAD_GRAPH_RESOURCE,
    AAD_GRAPH_RESOURCE + "/": AAD_GRAPH_RESOURCE,
    "00000002-0000-0000-c000-000000000000": AAD_GRAPH_RESOURCE,
}


def canonical_resource(value: str) -> str | None:
    """Map a ``resource=`` value or a ``…/.default`` scope to the audience the mock issues, or None."""
    v = value.strip()
    if v.endswith("/.default"):
        # "https://api.manage.microsoft.com//.default" leaves the resource with its own trailing slash.
        v = v[: -len("/.default")]
    if not v:
        return None
    return RESOURCE_ALIASES.get(v) or RESOURCE_ALIASES.get(v + "/")


class TokenAuthority:
    """Issues and verifies the mock tenant's access tokens."""

    def __init__(self, store: Store, clock: Clock, lifetime_s: int = 3599) -> None:
        self.store = store
        self.clock = clock
        self.lifetime_s = lifetime_s
        self._verified: dict[str, dict[str, Any]] = {}

    @functools.cached_property
    def _private(self) -> rsa.RSAPrivateKey:
        """The tenant's signing key: the store's (shared by every worker), made on first use.

        A mock that never issues a token (the load simulation's fleet) never pays for one.
        """
        pem = self.store.get_meta("signing_key_pem")
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            fresh = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            pem = self.store.setdefault_meta("signing_key_pem", fresh)
        # The mock's own key (generated here by this or another worker): RSA's costly consistency
        # checks (~30 ms) would find nothing.
        private = serialization.load_pem_private_key(
            pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert isinstance(private, rsa.RSAPrivateKey)
        return private

    @functools.cached_property
    def _public(self) -> rsa.RSAPublicKey:
        return self._private.public_key()

    @functools.cached_property
    def kid(self) -> str:
        """Key id (and ``x5t``): the SHA-1 of the public key's DER, base64url."""
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324

    VERIFIED_CACHE_SIZE = 4096
    """Signature checks remembered per worker, by exact token string (expiry, audience and tenant
    are still judged on every request): a NAC reuses one token for many queries (ONB-03)."""

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = dict(claims)

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set that Entra publishes at ``discovery/keys``."""
        jwk = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "x5t": self.kid, "alg": "RS256"})
        return {"keys": [jwk]}

    def issue(self, app: AppRegistration, audience: str, *, version: str = "1.0") -> tuple[str, int]:
        """Sign an app-only access token for ``audience``; returns (token, expires_in seconds)."""
        now = self.clock.now()
        tid = app.tenant_id
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tid}/"
            if version == "1.0"
            else f"https://login.microsoftonline.com/{tid}/v2.0",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.lifetime_s)).timestamp()),
            "tid": tid,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)),
            "roles": sorted(p.value for p in app.permissions),
            "idtyp": "app",
            "ver": version,
            "uti": uuid.uuid4().hex[:22],
        }
        if version == "1.0":
            claims["appid"] = app.client_id
        else:
            claims["azp"] = app.client_id
        token = jwt.encode(
            claims, self._private, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )
        return token, self.lifetime_s

    def verify(
        self, authorization: str | None, *, audience: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Check a ``Authorization: Bearer …`` header for ``audience``; return the claims.

        Raises :class:`RequestError` 401 with ``WWW-Authenticate`` for every kind of bad token.
        """
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if not authorization:
            raise RequestError(
                401,
                "Authorization header is missing",
                code="InvalidAuthenticationToken",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestError(
                401,
                "Authorization header is not a Bearer token",
                code="InvalidAuthenticationToken",
                headers=challenge,
            )
        token = token.strip()
        cached = self._verified.get(token)
        if cached is not None:
            claims = dict(cached)
        else:
            try:
                claims = jwt.decode(
                    token,
                    self._public,
                    algorithms=["RS256"],
                    options={
                        "verify_exp": False,
                        "verify_aud": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                    },
                )
            except jwt.PyJWTError as exc:
                raise RequestError(
                    401,
                    f"Access token is invalid: {exc}",
                    code="InvalidAuthenticationToken",
                    headers=challenge,
                ) from exc
            self._remember(token, claims)
        now = int(self.clock.now().timestamp())
        if int(claims.get("exp", 0)) <= now:
            raise RequestError(
                401,
                "Access token has expired or is not yet valid.",
                code="InvalidAuthenticationToken",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'},
            )
        aud = claims.get("aud")
        if RESOURCE_ALIASES.get(str(aud)) != RESOURCE_ALIASES.get(audience):
            raise RequestError(
                401,
                f"Access token audience {aud!r} is not valid for this resource ({audience}).",
                code="InvalidAuthenticationToken",
                headers=challenge,
            )
        if tenant_id is not None and claims.get("tid") != tenant_id:
            raise RequestError(
                401,
                "Access token was issued for another tenant.",
                code="InvalidAuthenticationToken",
                headers=challenge,
            )
        return claims
