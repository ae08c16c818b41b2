"""Serve the mock Intune over HTTPS under gunicorn, with its PKI and SQLite state in one directory.

``serve`` runs gunicorn in this process over the state directory that
:func:`mock_intune.serve_state.prepare_state` makes; :class:`mock_intune.served.ServedMock` runs it
in a subprocess for tests and benchmarks (both names are re-exported here).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .config import MockConfig
from .errors import ConfigError, InputError
from .pki import load_certificates, thumbprint_sha1
from .serve_state import (
    DEFAULT_STATE_DIR,
    DEFAULT_THREADS,
    MICROSOFT_HOSTS,
    READY_PREFIX,
    SERVICE_HOST,
    ServeInfo,
    StateFiles,
    prepare_state,
)
from .served import ServedMock

__all__ = [
    "DEFAULT_STATE_DIR",
    "DEFAULT_THREADS",
    "MICROSOFT_HOSTS",
    "READY_PREFIX",
    "SERVICE_HOST",
    "ServeInfo",
    "ServedMock",
    "StateFiles",
    "add_arguments",
    "prepare_state",
    "print_ready",
    "run",
    "serve",
]


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
