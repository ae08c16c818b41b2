"""Entra ID's client-credential checks, pure of Flask: AADSTS errors and certificate client assertions.

A NAC that authenticates with a certificate sends a signed JWT (RFC 7523) instead of a secret. Entra
finds the registered certificate by the header's ``x5t`` (SHA-1) or ``x5t#S256`` (SHA-256)
thumbprint, checks the signature with it (``RS256``; ``PS256`` as MSAL sends with ``x5t#S256``),
then ``iss`` = ``sub`` = client id, ``aud`` = the token endpoint, the validity window and that the
``jti`` was not used before. Each failure is an :class:`AadError` with the AADSTS code Entra uses.

AADSTS codes used (from Microsoft's error-code reference and the Azure SDK troubleshooting guides):
7000215 bad secret, 7000218 no credential, 700016 unknown app, 700021 assertion/client_id mismatch,
700023 wrong assertion audience, 700024 assertion outside its time range, 700027 signature or
certificate not valid, 50027 malformed JWT, 90002 unknown tenant, 900023 malformed tenant,
50059 no tenant (``/common``), 500011 unknown resource, 700022 several resources in one scope,
1002012 client-credentials scope without ``/.default``, 70011 invalid scope, 70003 unsupported
grant, 900144 missing parameter, 901002 ``resource`` at the v2 endpoint, 900561 wrong HTTP method, 9002313 malformed request.
7000274 (replayed ``jti``) is mock-assigned: Entra documents no code for a replayed assertion, and
in practice accepts MSAL's reuse of one signed assertion across the resources it needs tokens for,
so the token endpoint keys replay protection by ``jti`` and resource.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import RequestError
from .pki import b64url, load_certificates, thumbprint_sha1, x5t_s256

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256")
MAX_ASSERTION_LIFETIME_S = 3600
CLOCK_SKEW_S = 300
"""Entra tolerates five minutes of clock skew on ``nbf`` / ``exp``."""
AUTHORITY_HOST = "https://login.microsoftonline.com"


class AadError(RequestError):
    """An Entra ID token-endpoint error: OAuth ``error``, AADSTS number and description."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        self.aadsts = aadsts
        super().__init__(status, description, code=f"AADSTS{aadsts}", error=error)


def invalid_client(aadsts: int, description: str) -> AadError:
    return AadError(401, "invalid_client", aadsts, description)


def invalid_request(aadsts: int, description: str) -> AadError:
    return AadError(400, "invalid_request", aadsts, description)


def error_body(exc: RequestError, now: datetime) -> dict[str, Any]:
    """Entra's JSON error body for ``exc`` (non-AADSTS errors get the generic malformed-request code)."""
    if isinstance(exc, AadError):
        number, error = exc.aadsts, exc.error
    elif exc.status == 405:
        number, error = 900561, "invalid_request"
    else:
        number, error = 9002313, exc.error or "invalid_request"
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": f"AADSTS{number}: {exc.message}\r\nTrace ID: {trace}\r\n"
        f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [number],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{AUTHORITY_HOST}/error?code={number}",
    }


# -- the unverified look at an assertion ------------------------------------------------------
@dataclass(frozen=True)
class UnverifiedAssertion:
    """Header and claims of a client assertion before any check (to find the app and its key)."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.claims.get("sub") or self.claims.get("iss") or "")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def peek(assertion: str) -> UnverifiedAssertion:
    """Split and decode a compact JWS; AADSTS50027 when it is not one."""
    parts = assertion.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise invalid_client(50027, "JWT token is invalid or malformed.")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_client(50027, "JWT token is invalid or malformed.") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise invalid_client(50027, "JWT token is invalid or malformed.")
    return UnverifiedAssertion(assertion.strip(), header, claims)


# -- the full check ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifiedAssertion:
    """A client assertion that passed every check but replay (the caller claims the ``jti``)."""

    client_id: str
    jti: str
    expires: datetime
    thumbprint: str
    """How the certificate was named: ``x5t`` or ``x5t#S256``."""


def registered_certificates(pem: str | None) -> list[x509.Certificate]:
    """The certificates registered on an app (its ``certificate_pem`` may hold several)."""
    if not pem:
        return []
    return load_certificates(pem)


def _find_certificate(
    header: dict[str, Any], certificates: list[x509.Certificate]
) -> tuple[x509.Certificate, str]:
    # MSAL pads its base64url thumbprints ("…="); JOSE says unpadded. Entra accepts both.
    want_sha1 = str(header.get("x5t") or "").rstrip("=")
    want_sha256 = str(header.get("x5t#S256") or "").rstrip("=")
    if not want_sha1 and not want_sha256:
        raise invalid_client(
            700027,
            "Client assertion failed signature validation. [Reason - The x5t or x5t#S256 header "
            "naming the signing certificate is missing.]",
        )
    for cert in certificates:
        if want_sha256 and want_sha256 == x5t_s256(cert):
            return cert, "x5t#S256"
        if want_sha1 and want_sha1 == b64url(thumbprint_sha1(cert)):
            return cert, "x5t"
    shown = want_sha256 or want_sha1
    try:
        shown = _b64decode(str(shown)).hex().upper()
    except (binascii.Error, ValueError):
        shown = str(shown)[:64]
    raise invalid_client(
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on "
        f"application. [Reason - The key was not found., Thumbprint of key used by client: '{shown}']",
    )


def verify_assertion(
    unverified: UnverifiedAssertion,
    *,
    certificates: list[x509.Certificate],
    audiences: set[str],
    now: datetime,
    client_id: str | None = None,
) -> VerifiedAssertion:
    """Check a client assertion against an app's registered ``certificates``.

    ``audiences`` are the token-endpoint URLs the assertion may be addressed to (compared without a
    trailing slash, case-insensitively); ``client_id`` is the form parameter, when one was sent.
    """
    header, claims = unverified.header, unverified.claims
    alg = str(header.get("alg", ""))
    if alg not in ASSERTION_ALGORITHMS:
        raise invalid_client(
            700027,
            f"Client assertion failed signature validation. [Reason - The algorithm '{alg or 'none'}' "
            "is not supported; sign with RS256 or PS256.]",
        )
    iss, sub = claims.get("iss"), claims.get("sub")
    if not iss or iss != sub or (client_id and iss != client_id):
        raise invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the "
            "documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.",
        )
    cert, named_by = _find_certificate(header, certificates)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise invalid_client(
            700027, "Client assertion failed signature validation. [Reason - not an RSA key.]"
        )
    try:
        jwt.decode(
            unverified.token,
            key,
            algorithms=[alg],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise invalid_client(700027, "Client assertion contains an invalid signature.") from exc
    except jwt.PyJWTError as exc:
        raise invalid_client(50027, f"JWT token is invalid or malformed. [{exc}]") from exc
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    wanted = {a.rstrip("/").lower() for a in audiences}
    if not any(isinstance(a, str) and a.rstrip("/").lower() in wanted for a in auds):
        raise invalid_client(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.",
        )
    now_s = int(now.timestamp())
    try:
        exp = int(claims["exp"])
        nbf = int(claims.get("nbf", claims.get("iat", now_s)))
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid_client(
            700024, "Client assertion is not within its valid time range: it has no numeric 'exp'."
        ) from exc
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def _when(s: int) -> str:
        return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    if exp <= now_s - CLOCK_SKEW_S or nbf > now_s + CLOCK_SKEW_S:
        raise invalid_client(
            700024,
            f"Client assertion is not within its valid time range. Current time: {stamp}, assertion "
            f"valid from {_when(nbf)}, expiry time of assertion {_when(exp)}.",
        )
    if exp - now_s > MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S:
        raise invalid_client(
            700024,
            f"Client assertion is not within its valid time range: it expires at {_when(exp)}, more than "
            f"{MAX_ASSERTION_LIFETIME_S // 60} minutes after the current time {stamp}.",
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise invalid_client(50027, "JWT token is invalid or malformed. [The 'jti' claim is missing.]")
    return VerifiedAssertion(
        client_id=str(iss),
        jti=jti,
        expires=datetime.fromtimestamp(exp, UTC) + timedelta(seconds=CLOCK_SKEW_S),
        thumbprint=named_by,
    )


def replayed(jti: str) -> AadError:
    return invalid_client(
        7000274,
        f"The client assertion with identifier (jti) '{jti[:64]}' has already been used; each "
        "assertion is accepted once.",
    )
