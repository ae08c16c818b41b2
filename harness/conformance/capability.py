"""The capability statement (``nac.yaml``): what the NAC under test is, speaks and declares.

The certify runner refuses to run without one. It selects the scenarios that apply (profiles,
identity sources, access types, auth method) and gives the oracles the vendor's declared values
(polling interval, cache lifetime, decision budget, fail-open). Loading it validates every field;
an error names the file, the field path and the line (``nac.yaml:7: adapter.host: …``).

Example::

    name: Reference NAC
    adapter: {type: reference}
    profiles: [cr-cisco, graph]
    identity_sources: [certificate, mac]
    access_types: [wifi, vpn]
    coa_support: true
    polling_interval_s: 300
    cache_ttl_s: 60
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
import socket
import struct
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from ..errors import CapabilityError, NacUnreachable
from ..model import AccessType, IdentitySource, Profile
from .rules import Rule
from .yaml_source import locate, validate_yaml


class AuthMethod(StrEnum):
    """How the NAC authenticates to Entra ID for its app-only token."""

    SECRET = "secret"
    CERTIFICATE = "certificate"


class EapMethod(StrEnum):
    """The EAP method a RADIUS NAC expects from supplicants (MAB: no EAP)."""

    TLS = "eap-tls"
    PEAP = "peap"
    TTLS = "ttls"
    MAB = "mab"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReferenceAdapter(_Strict):
    """The harness's own correct NAC, in process."""

    type: Literal["reference"]


class MutantAdapter(_Strict):
    """A faulty NAC from ``harness.nac.mutants`` that breaks exactly one rule."""

    type: Literal["mutant"]
    mutant: str = Field(min_length=1, description="the mutant's registered name")


class PythonAdapter(_Strict):
    """An in-process NAC class given by import path ``module:Class``, built with ``kwargs``."""

    type: Literal["python"]
    target: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:Class")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class RadiusAdapter(_Strict):
    """An external NAC reached over real RADIUS (auth, accounting) with a CoA listener."""

    type: Literal["radius"]
    host: str = Field(min_length=1)
    auth_port: int = Field(default=1812, ge=1, le=65535)
    acct_port: int = Field(default=1813, ge=1, le=65535)
    coa_port: int = Field(default=3799, ge=0, le=65535)
    """Where the harness listens for CoA / Disconnect from the NAC (0: any free port)."""
    secret: str = Field(min_length=1)
    eap_method: EapMethod = EapMethod.TLS
    device_ca_dir: str | None = None
    """The CA (``ca.pem`` + ``ca-key.pem``) the harness issues EAP-TLS device certificates from and the
    NAC trusts; relative to the capability file. Default: ``device-ca`` in the mock's state directory."""
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    """How long the access point waits for each RADIUS answer (wall seconds)."""


class HttpAdapter(_Strict):
    """An external NAC (or a vendor shim) answering access requests at a JSON decision URL."""

    type: Literal["http"]
    url: str = Field(pattern=r"^https?://", description="the decision endpoint")
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    """How long the harness waits for each decision (wall seconds)."""


class MockEndpoint(_Strict):
    """Where an external NAC finds the bench's served mock Intune (external bench mode only)."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8443, ge=1, le=65535)
    state_dir: str = Field(default=".state/mock-intune", min_length=1)
    """The served mock's state directory: its CA (``ca.pem``, which the NAC trusts), server certificate
    and client certificate; made on first use; relative to the capability file."""


AdapterSpec = Annotated[
    ReferenceAdapter | MutantAdapter | PythonAdapter | RadiusAdapter | HttpAdapter,
    Field(discriminator="type"),
]
ADAPTER_TYPES: tuple[str, ...] = ("reference", "mutant", "python", "radius", "http")


class Capability(_Strict):
    """A validated ``nac.yaml``."""

    name: str = Field(min_length=1, description="the NAC product and version certified")
    vendor: str = ""
    adapter: AdapterSpec
    profiles: list[Profile] = Field(min_length=1)
    identity_sources: list[IdentitySource] = Field(min_length=1)
    access_types: list[AccessType] = Field(default_factory=lambda: [AccessType.WIFI])
    coa_support: bool = False
    polling_interval_s: float = Field(gt=0, description="how often the NAC re-checks connected devices")
    cache_ttl_s: float = Field(ge=0, description="how long the NAC caches an Intune answer")
    decision_budget_ms: float = Field(default=300, gt=0)
    fail_open: bool = False
    """A declared deviation: the NAC grants access when Intune is unreachable (RES-01 → WARNING)."""
    auth_method: AuthMethod = AuthMethod.SECRET
    waivers: str | None = None
    """A waivers file, relative to the capability file."""
    speedup: float = Field(default=1.0, gt=0, le=100000, allow_inf_nan=False)
    """External NACs: how much faster than the wall the NAC's and the mock's clocks run (1: real time)."""
    max_wait_s: float = Field(default=30.0, gt=0, le=3600, allow_inf_nan=False)
    """External NACs: the longest wall-clock wait one step may take; longer ones are not judged."""
    mock: MockEndpoint = Field(default_factory=MockEndpoint)
    """External NACs: the address and state directory of the served mock Intune."""

    _source: str = PrivateAttr(default="")

    @field_validator("adapter", mode="before")
    @classmethod
    def _adapter_shorthand(cls, value: Any) -> Any:
        # ``adapter: reference`` is short for ``adapter: {type: reference}``.
        return {"type": value} if isinstance(value, str) else value

    @field_validator("speedup", "max_wait_s", "mock")
    @classmethod
    def _external_only(cls, value: Any, info: ValidationInfo) -> Any:
        # Set in the file for an in-process NAC, these would be ignored: say so instead.
        adapter = info.data.get("adapter")
        kind = getattr(adapter, "type", None)
        if kind is not None and kind not in ("radius", "http"):
            raise ValueError(
                f"applies to external NACs only (adapter radius or http); the {kind!r} adapter runs "
                "in process on the bench's simulated clock"
            )
        return value

    @field_validator("profiles", "identity_sources", "access_types")
    @classmethod
    def _no_duplicates(cls, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValueError("lists a value twice")
        return value

    # --- what the runner asks -------------------------------------------------------------

    @property
    def source(self) -> str:
        """Where the statement was loaded from (set by :func:`load_capability`, not in the file)."""
        return self._source

    @property
    def adapter_type(self) -> str:
        return self.adapter.type

    @property
    def external(self) -> bool:
        """The NAC runs outside the harness (``radius`` / ``http``): the bench serves the mock to it."""
        return self.adapter.type in ("radius", "http")

    def resolve(self, path: str) -> Path:
        """``path`` against the capability file's folder (absolute paths unchanged)."""
        p = Path(path)
        if not p.is_absolute() and self.source:
            p = Path(self.source).parent / p
        return p.resolve()

    @property
    def waivers_path(self) -> Path | None:
        """The waivers file resolved against the capability file's folder."""
        if not self.waivers:
            return None
        path = Path(self.waivers)
        if not path.is_absolute() and self.source:
            path = Path(self.source).parent / path
        return path

    def declared(self, field: str) -> Any:
        """The declared value of a capability field, as a plain value (for verdict messages)."""
        value = getattr(self, field)
        if isinstance(value, list):
            return [str(v) for v in value]
        return str(value) if isinstance(value, StrEnum) else value

    def applicability(self, rule: Rule) -> tuple[bool, str]:
        """Whether ``rule`` applies to this NAC, and if not, why (for a SKIPPED verdict)."""
        if not set(self.profiles) & rule.profiles:
            wanted = ", ".join(sorted(str(p) for p in rule.profiles))
            return (
                False,
                f"applies to profiles {wanted}; the NAC declares {', '.join(map(str, self.profiles))}",
            )
        for req in rule.requires:
            have = getattr(self, req.field)
            ok = (
                req.value in [str(v) for v in have] if isinstance(have, list) else str(have) == str(req.value)
            )
            if not ok:
                return False, f"needs {req.field} {req.value!s}; the NAC declares {self.declared(req.field)}"
        return True, ""

    def applies_to_tags(self, tags: Sequence[str]) -> tuple[bool, str]:
        """Whether a scenario with these Gherkin tags runs for this NAC (its profile tags)."""
        profile_tags = {t.lstrip("@") for t in tags} & {str(p) for p in Profile}
        if profile_tags and not profile_tags & {str(p) for p in self.profiles}:
            return False, f"tagged for {', '.join(sorted(profile_tags))}; the NAC declares other profiles"
        access_tags = {t.lstrip("@") for t in tags} & {str(a) for a in AccessType}
        if access_tags and not access_tags & {str(a) for a in self.access_types}:
            return False, f"tagged for access {', '.join(sorted(access_tags))}; not declared"
        return True, ""

    def to_yaml_dict(self) -> dict[str, Any]:
        """The statement as plain data (for the report's 'capability statement used')."""
        return self.model_dump(mode="json")


# --- loading with file, field and line ----------------------------------------------------------


def load_capability(path: str | Path) -> Capability:
    """Read and validate a ``nac.yaml``; :class:`CapabilityError` names file, field and line."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CapabilityError("no such file", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CapabilityError(f"cannot read: {exc}", file=name) from None
    return parse_capability(text, source=name)


def parse_capability(text: str, *, source: str = "<nac.yaml>") -> Capability:
    """Validate a capability statement given as YAML text; errors name ``source``."""
    cap = validate_yaml(
        text,
        Capability,
        source=source,
        error=CapabilityError,
        what="capability statement",
        messages={
            "union_tag_invalid": "unknown adapter type {tag!r} (known: " + ", ".join(ADAPTER_TYPES) + ")",
            "union_tag_not_found": "adapter needs a 'type' (one of: " + ", ".join(ADAPTER_TYPES) + ")",
        },
    )
    cap._source = source
    _check_adapter_target(cap, text, source)
    return cap


def _check_adapter_target(cap: Capability, text: str, source: str) -> None:
    """A mutant name must be registered and a python target importable (named with its line)."""
    spec = cap.adapter

    def fail(message: str, field: str) -> CapabilityError:
        path, line = locate(yaml.compose(text), tuple(field.split(".")), "value")
        return CapabilityError(message, file=source, field=path, line=line)

    if isinstance(spec, MutantAdapter):
        from ..nac.mutants import MUTANTS

        if spec.mutant not in MUTANTS:
            known = ", ".join(sorted(MUTANTS)) or "none"
            raise fail(f"unknown mutant {spec.mutant!r} (known: {known})", "adapter.mutant")
    elif isinstance(spec, RadiusAdapter) and cap.coa_support and spec.coa_port == 0:
        raise fail(
            "must be a fixed port when coa_support is true: the NAC is configured to send CoA there",
            "adapter.coa_port",
        )
    elif isinstance(spec, HttpAdapter) and cap.coa_support:
        path, line = locate(yaml.compose(text), ("coa_support",), "value")
        raise CapabilityError(
            "the http adapter's decision webhook has no CoA channel: declare coa_support: false "
            "(or certify the NAC over RADIUS)",
            file=source,
            field=path,
            line=line,
        )
    elif isinstance(spec, PythonAdapter):
        module, _, name = spec.target.partition(":")
        try:
            loaded = importlib.import_module(module)
        except ImportError as exc:
            raise fail(f"cannot import {module!r}: {exc}", "adapter.target") from None
        if not callable(getattr(loaded, name, None)):
            raise fail(f"module {module!r} has no class {name!r}", "adapter.target")


# --- reachability of external NACs ----------------------------------------------------------------


def check_reachable(cap: Capability, *, timeout_s: float = 2.0) -> None:
    """Probe a wire NAC (RADIUS, HTTP) before a run; :class:`NacUnreachable` names the address tried.

    In-process adapters (reference, mutant, python) need no probe.
    """
    spec = cap.adapter
    if isinstance(spec, RadiusAdapter):
        _probe_radius(spec, timeout_s, cap.source)
    elif isinstance(spec, HttpAdapter):
        _probe_http(spec.url, timeout_s, cap.source)
    if cap.external:
        _check_mock_address(cap)


def _check_mock_address(cap: Capability) -> None:
    """The served mock's address must be free to listen on (the bench serves it there)."""
    host, port = cap.mock.host, cap.mock.port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, sockaddr = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr)
    except OSError as exc:
        raise CapabilityError(
            f"cannot serve the mock Intune at {host}:{port}: {exc.strerror or exc} "
            "(is another mock or certify run using it?)",
            file=cap.source,
            field="mock.port",
        ) from None
    spec = cap.adapter
    if isinstance(spec, RadiusAdapter) and spec.coa_port:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", spec.coa_port))
        except OSError as exc:
            raise CapabilityError(
                f"cannot listen for CoA on 127.0.0.1:{spec.coa_port}/udp: {exc.strerror or exc}",
                file=cap.source,
                field="adapter.coa_port",
            ) from None


def _probe_http(url: str, timeout_s: float, source: str) -> None:
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False) as client:
            client.request("OPTIONS", url)
    except httpx.HTTPError as exc:
        raise NacUnreachable(
            f"{source}: adapter.url: the NAC's decision endpoint did not answer at {url}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    # Any HTTP answer (even 404/405) proves something listens there; the run judges the rest.


def _probe_radius(spec: RadiusAdapter, timeout_s: float, source: str) -> None:
    """Send a RADIUS Status-Server (RFC 5997) and wait for any answer on the auth port."""
    address = f"{spec.host}:{spec.auth_port}/udp"
    raw = status_server_packet(spec.secret.encode())
    try:
        infos = socket.getaddrinfo(spec.host, spec.auth_port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise NacUnreachable(f"{source}: adapter.host: cannot resolve {spec.host!r}: {exc}") from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(sockaddr)
            sock.send(raw)
            sock.recv(4096)
        except ConnectionRefusedError:
            raise NacUnreachable(
                f"{source}: adapter.auth_port: nothing listens at {address} (connection refused)"
            ) from None
        except TimeoutError:
            raise NacUnreachable(
                f"{source}: adapter: no RADIUS answer from {address} within {timeout_s:g} s "
                "(the NAC is down, filtered, or the shared secret is wrong)"
            ) from None
        except OSError as exc:
            raise NacUnreachable(f"{source}: adapter: cannot reach {address}: {exc}") from None


def status_server_packet(secret: bytes, ident: int = 1) -> bytes:
    """A RADIUS Status-Server packet (RFC 5997) with its Message-Authenticator."""

    length = 20 + 18
    header = struct.pack("!BBH", 12, ident, length) + os.urandom(16)
    zeroed = header + bytes([80, 18]) + b"\x00" * 16
    digest = hmac.new(secret, zeroed, hashlib.md5).digest()
    return header + bytes([80, 18]) + digest
