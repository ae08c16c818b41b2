"""The served mock's state directory and start-up facts: paths, certificates, defaults, ServeInfo.

``prepare_state`` makes (or reuses) the directory: a CA, a server certificate that covers loopback
and the Microsoft host names NACs call, the RSA client certificate registered on the default app,
and the SQLite file every worker shares (so state survives a restart).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .config import MockConfig
from .errors import ConfigError, NotFound
from .model import INTUNE_APP_ID
from .pki import CertificateAuthority, IssuedCertificate, load_certificates, load_private_key, thumbprint_sha1

DEFAULT_STATE_DIR = ".state/mock-intune"
DATABASE_FILE = "mock-intune.sqlite3"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"
CLIENT_CERT_FILE = "client.pem"
CLIENT_KEY_FILE = "client-key.pem"
READY_PREFIX = "mock-intune ready: "
DEFAULT_THREADS = 4
"""gthread workers keep TLS connections alive; sync workers close each one, so every request pays a
TLS handshake (about ten times slower under load, see docs/benchmarks.md)."""
SERVICE_HOST = "fef.msub01.manage.microsoft.com"
"""The fake Intune service host the mock's certificate covers (a NAC's discovered endpoint host)."""

MICROSOFT_HOSTS: tuple[str, ...] = (
    "login.microsoftonline.com",
    "login.windows.net",
    "graph.microsoft.com",
    "graph.windows.net",
    "api.manage.microsoft.com",
    "portal.manage.microsoft.com",
    SERVICE_HOST,
)


@dataclass(frozen=True)
class ServeInfo:
    """What a vendor (or a test) needs to point a client at a served mock."""

    base_url: str
    host: str
    port: int
    state_dir: str
    ca_file: str
    database: str
    tenant_id: str
    client_id: str
    client_secret: str | None
    client_cert_file: str
    client_key_file: str
    client_thumbprint: str
    admin_token: str
    workers: int
    advertised_url: str = ""
    """``--public-base-url`` when set: the origin metadata and discovery name (map its host here)."""

    @property
    def token_url_v1(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/oauth2/token"

    @property
    def token_url_v2(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """The start-up banner: everything a vendor types into its NAC's Intune settings."""
        lines = [
            f"mock Intune serving on {self.base_url}  ({self.workers} workers, state in {self.state_dir})",
            f"  tenant id          {self.tenant_id}",
            f"  client id          {self.client_id}",
            f"  client secret      {self.client_secret or '(none)'}",
            f"  client certificate {self.client_cert_file}",
            f"  client key         {self.client_key_file}",
            f"  cert thumbprint    {self.client_thumbprint}",
            f"  token URL (v1)     {self.token_url_v1}",
            f"  token URL (v2)     {self.token_url_v2}",
            f"  OIDC metadata      {self.authority}/v2.0/.well-known/openid-configuration",
            f"  discovery URL      {self.discovery_url}",
            f"  CA file            {self.ca_file}",
            f"  admin token        {self.admin_token}",
            f"  server certificate also covers: {', '.join(MICROSOFT_HOSTS)}",
        ]
        if self.advertised_url:
            lines.insert(
                1,
                f"  advertised as      {self.advertised_url} (metadata and discovery name it; "
                "resolve its host to this server)",
            )
        return "\n".join(lines)


# -- state directory ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StateFiles:
    """Paths inside a state directory."""

    root: Path

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def database(self) -> Path:
        return self.root / DATABASE_FILE

    @property
    def server_cert(self) -> Path:
        return self.root / SERVER_CERT_FILE

    @property
    def server_key(self) -> Path:
        return self.root / SERVER_KEY_FILE

    @property
    def client_cert(self) -> Path:
        return self.root / CLIENT_CERT_FILE

    @property
    def client_key(self) -> Path:
        return self.root / CLIENT_KEY_FILE


def _client_certificate(ca: CertificateAuthority, files: StateFiles) -> tuple[str, str]:
    """(cert PEM, key PEM) of the default app's client certificate, made on first use."""
    if files.client_cert.exists() and files.client_key.exists():
        cert_pem, key_pem = files.client_cert.read_text(), files.client_key.read_text()
        try:
            load_certificates(cert_pem)
            load_private_key(key_pem)
        except ConfigError as exc:
            raise ConfigError(exc.message, file=str(files.client_cert)) from exc
        return cert_pem, key_pem
    issued = ca.issue("mock-intune NAC partner app", client=True, key_type="rsa", days=730)
    issued.write(files.client_cert, files.client_key)
    return issued.cert_pem, issued.key_pem


def prepare_state(
    state_dir: str | Path, config: MockConfig | None = None, *, extra_hosts: tuple[str, ...] = ()
) -> tuple[MockConfig, StateFiles, IssuedCertificate]:
    """Make the state directory ready to serve; return the workers' config, the paths, the server cert.

    The CA, the client certificate and the database persist; the server certificate is reissued on
    every start so its SANs follow ``extra_hosts``. The client certificate is registered on the
    default app (kept alongside any certificate already registered there).
    """
    from .service import MockIntune

    root = Path(state_dir).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the state directory: {exc.strerror}", file=str(root)) from exc
    files = StateFiles(root)
    ca = CertificateAuthority.load_or_create(root, "Mock Intune Test CA")
    server = ca.issue(
        "mock-intune",
        san_dns=("localhost", *MICROSOFT_HOSTS, *extra_hosts),
        san_ips=("127.0.0.1", "::1"),
        server=True,
    )
    server.write(files.server_cert, files.server_key)
    cert_pem, _ = _client_certificate(ca, files)
    base = config or MockConfig.from_env()
    cfg = base.with_changes(database=str(files.database), client_certificate_pem=cert_pem)
    svc = MockIntune(cfg)
    try:
        app = svc.app(cfg.client_id)
        registered = app.certificate_pem or ""
        wanted = thumbprint_sha1(load_certificates(cert_pem)[0])
        known = {thumbprint_sha1(c) for c in load_certificates(registered)} if registered else set()
        if wanted not in known:
            svc.register_app(
                replace(app, certificate_pem=(registered + cert_pem) if registered else cert_pem)
            )
    except NotFound:  # pragma: no cover - bootstrap registers the default app
        pass
    finally:
        svc.store.close()
    return cfg, files, server
