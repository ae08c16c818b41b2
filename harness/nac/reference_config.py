"""Settings of the reference NAC (what a vendor would type into its MDM server form)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mock_intune.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID

from ..errors import ConfigError
from ..model import CoaKind, Decision, IdentitySource, Profile
from ..sim.clock import DEFAULT_EPOCH
from .entra_client import ClientCredential, TokenApi
from .identity import IdentityKind
from .intune_client import DEFAULT_PORTAL_URL, ClientSettings

BROAD_QUERY_MIN_INTERVAL_S = 4 * 3600.0
"""RES-02: Intune allows the "all noncompliant devices" query at most once per 4 hours."""


@dataclass(frozen=True)
class ReferenceNacConfig:
    """Everything that shapes one reference NAC; values are validated with the field named."""

    profile: Profile = Profile.CR_CISCO
    base_url: str = "http://mock-intune.test"
    tenant_id: str = DEFAULT_TENANT_ID
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str | None = DEFAULT_CLIENT_SECRET
    cert_pem: str | None = None
    """Certificate for the client assertion (ONB-04); with ``key_pem`` it replaces the secret."""
    key_pem: str | None = None
    login_base_url: str | None = None
    graph_base_url: str | None = None
    token_api: TokenApi = TokenApi.V2
    identity_sources: tuple[IdentitySource, ...] = (IdentitySource.CERTIFICATE, IdentitySource.MAC)
    """Preference order: the certificate's Intune device id first, then the MAC."""
    polling_interval_s: float = BROAD_QUERY_MIN_INTERVAL_S
    """How often the noncompliant list is polled (STA-03); 0 disables polling."""
    cache_ttl_s: float = 300.0
    """How long an "allow" is cached (RED-03); other answers are never cached."""
    decision_budget_s: float = 0.3
    processing_s: float = 0.002
    """Modelled NAC processing time per decision, added to Intune's latency (ACC-07)."""
    fail_open: bool = False
    """Declared deviation from RES-01: allow when Intune is unreachable."""
    portal_url: str = DEFAULT_PORTAL_URL
    timeout_s: float = 2.0
    coa_kind: CoaKind = CoaKind.COA
    randomized_mac_decision: Decision = Decision.ENROLL_REDIRECT
    """What a randomised MAC without a certificate identity gets (ACC-06): never allow."""
    list_identifier: IdentityKind = IdentityKind.GUID
    backoff_base_s: float = 2.0
    backoff_max_s: float = 3600.0
    sweep_max_attempts: int = 6
    token_refresh_margin_s: float = 300.0
    epoch: datetime = DEFAULT_EPOCH
    """Wall time of ``env.now == 0`` (must match the mock's SimClock epoch for assertions)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "profile", Profile(self.profile))
            object.__setattr__(self, "token_api", TokenApi(self.token_api))
            object.__setattr__(self, "coa_kind", CoaKind(self.coa_kind))
            object.__setattr__(self, "randomized_mac_decision", Decision(self.randomized_mac_decision))
            object.__setattr__(self, "list_identifier", IdentityKind(self.list_identifier))
            object.__setattr__(
                self, "identity_sources", tuple(IdentitySource(s) for s in self.identity_sources)
            )
        except ValueError as exc:
            raise ConfigError(str(exc), field="reference NAC") from exc
        if not self.identity_sources:
            raise ConfigError("name at least one identity source", field="identity_sources")
        for name in ("cache_ttl_s", "processing_s", "polling_interval_s", "backoff_base_s"):
            if getattr(self, name) < 0:
                raise ConfigError("must be >= 0", field=name)
        for name in ("decision_budget_s", "timeout_s", "backoff_max_s"):
            if getattr(self, name) <= 0:
                raise ConfigError("must be > 0", field=name)
        if self.sweep_max_attempts < 1:
            raise ConfigError("must be >= 1", field="sweep_max_attempts")
        if self.randomized_mac_decision is Decision.ALLOW:
            raise ConfigError("a randomised MAC is never allowed (ACC-06)", field="randomized_mac_decision")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"not an http(s) URL: {self.base_url!r}", field="base_url")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ReferenceNacConfig:
        """Build from plain values (``nac.yaml`` kwargs); unknown keys are a :class:`ConfigError`."""
        cls.check_names(data)
        return cls(**data)

    @classmethod
    def check_names(cls, data: dict[str, Any]) -> None:
        """:class:`ConfigError` naming the first unknown setting in ``data``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}", field=unknown[0])

    def credential(self) -> ClientCredential:
        if self.cert_pem is not None or self.key_pem is not None:
            return ClientCredential(self.client_id, cert_pem=self.cert_pem, key_pem=self.key_pem)
        return ClientCredential(self.client_id, client_secret=self.client_secret)

    def client_settings(self) -> ClientSettings:
        return ClientSettings(
            profile=self.profile,
            base_url=self.base_url,
            tenant_id=self.tenant_id,
            credential=self.credential(),
            login_base_url=self.login_base_url,
            graph_base_url=self.graph_base_url,
            token_api=self.token_api,
            token_refresh_margin_s=self.token_refresh_margin_s,
            timeout_s=self.timeout_s,
            portal_url=self.portal_url,
            list_identifier=self.list_identifier,
        )
