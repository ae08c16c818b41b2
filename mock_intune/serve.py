"""Serve the mock Intune over HTTPS under gunicorn, with its PKI and SQLite state in one directory.

``prepare_state`` makes (or reuses) the state directory: a CA, a server certificate that covers
loopback and the Microsoft host names NACs call, the RSA client certificate registered on the
default app, and the SQLite file every worker shares (so state survives a restart). ``serve`` runs
gunicorn in this process; :class:`ServedMock` runs it in a subprocess for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from .config import MockConfig
from .errors import ConfigError, HarnessFailure, InputError, NotFound
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


def _check_bind(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}", field="--host/--port"
            ) from exc


# -- gunicorn ----------------------------------------------------------------------------------
def _gunicorn_app(options: Mapping[str, Any], factory: Callable[[], Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class MockIntuneServer(BaseApplication):  # type: ignore[misc]
        """gunicorn with settings from a dict; each worker builds its own app after the fork."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    return MockIntuneServer()


def serve(
    state_dir: str | Path = DEFAULT_STATE_DIR,
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    workers: int = 2,
    threads: int = DEFAULT_THREADS,
    time_scale: float | None = None,
    config: MockConfig | None = None,
    app_factory: str | None = None,
    ready: Callable[[ServeInfo], None] | None = None,
) -> None:
    """Run the mock under gunicorn over HTTPS until SIGTERM / SIGINT (blocks).

    ``port`` 0 picks a free port; ``ready`` is called in the master with the real address once the
    socket listens. ``app_factory`` ("module:function", called with the config) replaces
    :func:`mock_intune.api.create_app` (the benchmark serves a trivial app under the same server).
    """
    if workers < 1:
        raise ConfigError("must be >= 1", field="--workers")
    if threads < 1:
        raise ConfigError("must be >= 1", field="--threads")
    if not 0 <= port <= 65535:
        raise ConfigError("must be 0..65535", field="--port")
    base_cfg = config or MockConfig.from_env()
    if time_scale is not None:
        base_cfg = base_cfg.with_changes(time_scale=time_scale)
    cfg, files, _ = prepare_state(state_dir, base_cfg)
    if port:
        _check_bind(host, port)
    client_pem = files.client_cert.read_text()
    thumb = thumbprint_sha1(load_certificates(client_pem)[0]).hex().upper()

    def factory() -> Any:
        if app_factory:
            import importlib

            module, _, name = app_factory.partition(":")
            return getattr(importlib.import_module(module), name)(cfg)
        from .api import create_app

        return create_app(cfg)

    def when_ready(server: Any) -> None:
        sock = server.LISTENERS[0].sock
        real_port = int(sock.getsockname()[1])
        shown = f"[{host}]" if ":" in host else host
        info = ServeInfo(
            base_url=f"https://{shown}:{real_port}",
            advertised_url=(cfg.public_base_url or "").rstrip("/"),
            host=host,
            port=real_port,
            state_dir=str(files.root),
            ca_file=str(files.ca_file),
            database=str(files.database),
            tenant_id=cfg.tenant_id,
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            client_cert_file=str(files.client_cert),
            client_key_file=str(files.client_key),
            client_thumbprint=thumb,
            admin_token=cfg.admin_token,
            workers=workers,
        )
        if ready is not None:
            ready(info)

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "certfile": str(files.server_cert),
        "keyfile": str(files.server_key),
        "when_ready": when_ready,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "timeout": 60,
        "graceful_timeout": 5,
        "keepalive": 5,
        "backlog": 2048,
        "proc_name": "mock-intune",
    }
    _gunicorn_app(options, factory).run()


def print_ready(info: ServeInfo) -> None:
    """Default ``ready`` callback: the banner for a person, then one JSON line for programs."""
    print(info.describe(), flush=True)
    print(READY_PREFIX + json.dumps(info.to_json()), flush=True)


# -- a served mock for tests and benchmarks -----------------------------------------------------
class ServedMock:
    """Start ``nac-harness mock serve`` in a subprocess on 127.0.0.1, port 0; stop it on exit.

    Use as a context manager; ``info`` (and the shortcuts below) say where it listens and how to
    authenticate. ``env`` adds ``MOCK_INTUNE_*`` settings for the workers.
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        workers: int = 2,
        threads: int = DEFAULT_THREADS,
        time_scale: float | None = None,
        env: Mapping[str, str] | None = None,
        app_factory: str | None = None,
        startup_timeout_s: float = 60.0,
        via_cli: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.workers = workers
        self.threads = threads
        self.time_scale = time_scale
        self.env = dict(env or {})
        self.app_factory = app_factory
        self.startup_timeout_s = startup_timeout_s
        self.via_cli = via_cli
        """Start through ``nac-harness mock serve`` (the console script's module) instead of ``-m mock_intune.serve``."""
        self.process: subprocess.Popen[bytes] | None = None
        self._info: ServeInfo | None = None
        self.output: list[str] = []
        self._drain: threading.Thread | None = None

    # shortcuts
    @property
    def info(self) -> ServeInfo:
        if self._info is None:
            raise HarnessFailure("the served mock is not running")
        return self._info

    @property
    def base_url(self) -> str:
        return self.info.base_url

    @property
    def ca_file(self) -> str:
        return self.info.ca_file

    @property
    def tenant_id(self) -> str:
        return self.info.tenant_id

    @property
    def client_id(self) -> str:
        return self.info.client_id

    @property
    def client_secret(self) -> str | None:
        return self.info.client_secret

    @property
    def client_cert_file(self) -> str:
        return self.info.client_cert_file

    @property
    def client_key_file(self) -> str:
        return self.info.client_key_file

    @property
    def admin_token(self) -> str:
        return self.info.admin_token

    def command(self) -> list[str]:
        entry = ["harness.cli.main", "mock", "serve"] if self.via_cli else ["mock_intune.serve"]
        cmd = [
            sys.executable,
            "-m",
            *entry,
            "--state-dir",
            str(self.state_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
        ]
        if self.time_scale is not None:
            cmd += ["--time-scale", str(self.time_scale)]
        if self.app_factory:
            cmd += ["--app-factory", self.app_factory]
        return cmd

    def start(self) -> ServedMock:
        if self.process is not None:
            raise HarnessFailure("the served mock is already running")
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout_s
        pending = b""
        # Read the raw pipe (a buffered reader would hide a ready line from select()).
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while self._info is None:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    self.stop()
                    raise HarnessFailure("the served mock did not start in time:\n" + "".join(self.output))
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self.process.wait()
                    self.process = None
                    self.output.append(pending.decode(errors="replace"))
                    raise HarnessFailure(
                        f"the served mock exited with status {code}:\n" + "".join(self.output)
                    )
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace") + "\n"
                    self.output.append(line)
                    if line.startswith(READY_PREFIX):
                        self._info = ServeInfo(**json.loads(line[len(READY_PREFIX) :]))
        if pending:
            self.output.append(pending.decode(errors="replace"))
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        return self

    def _drain_output(self) -> None:
        proc = self.process
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            self.output.append(line.decode(errors="replace"))

    def stop(self, timeout_s: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """``sig`` (SIGTERM: gunicorn's graceful stop), then SIGKILL after ``timeout_s``; returns the exit status."""
        proc, self.process = self.process, None
        self._info = None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> ServedMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options (shared by ``nac-harness mock serve`` and ``python -m mock_intune.serve``)."""
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, help="CA, certificates and SQLite state")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="TCP port; 0 picks a free one (default 8443)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"threads per worker; 1 gives sync workers, more gthread workers with keep-alive "
        f"(default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--time-scale", type=float, default=None, help="speed-up of the mock's clock over the wall clock"
    )
    parser.add_argument(
        "--public-base-url",
        default=None,
        help="origin the mock advertises in metadata and discovery, e.g. https://fef.msub01.manage.microsoft.com "
        "(default: the origin each request used)",
    )
    parser.add_argument("--app-factory", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Serve with parsed ``args`` until stopped; print the banner and a JSON ready line."""
    config = None
    if args.public_base_url is not None:
        if not re.match(r"^https?://[^/\s]+/?$", args.public_base_url):
            raise ConfigError(
                f"want an origin like https://host[:port], got {args.public_base_url!r}",
                field="--public-base-url",
            )
        config = MockConfig.from_env(public_base_url=args.public_base_url.rstrip("/"))
    serve(
        args.state_dir,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        time_scale=args.time_scale,
        app_factory=args.app_factory,
        config=config,
        ready=print_ready,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m mock_intune.serve``: the same as ``nac-harness mock serve``."""
    parser = argparse.ArgumentParser(prog="python -m mock_intune.serve", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputError as exc:
        print(f"mock_intune.serve: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
