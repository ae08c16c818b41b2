"""External bench mode: certify a NAC that runs outside the harness (adapter ``radius`` or ``http``).

An external NAC cannot be handed an in-process transport or the bench's virtual clock, so for it:

* each scenario's mock Intune is **served** over HTTPS (a threaded WSGI server with the certificates
  of a served-mock state directory, whose CA the vendor's NAC trusts) at the fixed address the
  capability statement names (``mock: {host, port, state_dir}``); one server lives for the whole
  suite and answers with the current scenario's mock, so every scenario starts from a fresh state
  (devices, faults, call log, throttling windows) while tokens stay valid (one signing key);
* time is **wall time sped up** by the declared ``speedup``: the mock's clock, the bench's
  ``simpy.rt.RealtimeEnvironment(factor=1/speedup)`` and the evidence timestamps all read one
  :class:`ExternalClock`; a step that would have to wait longer than ``max_wait_s`` of wall time is
  not judged (the scenario is skipped with the reason, see :data:`EXTERNAL_LIMIT`);
* evidence is captured **server-side**: :class:`ServerTap` records every request the NAC makes as
  an :class:`~harness.conformance.evidence.Exchange` (the same records the in-process transport tap
  makes) and injects the bench's transport faults there — a dropped connection for "unreachable",
  a held connection for a timeout, 401, malformed bodies; the mock's own faults (5xx, 429,
  latency) come from :mod:`mock_intune.faults` as in process.
"""

from __future__ import annotations

import contextlib
import io
import math
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mock_intune.faults import LATENCY_HEADER, SLEEP_CAP_S, TIMEOUT_HEADER

from ..errors import HarnessFailure
from .evidence import Exchange, classify
from .malformed import malform

if TYPE_CHECKING:
    from .bench import Bench
    from .capability import Capability

EXTERNAL_LIMIT = "external mode cannot judge this"
"""How a skip reason starts when the external bench could not run a scenario (wall-time limits)."""

EXTERNAL_ADAPTERS = frozenset({"radius", "http"})
"""Adapter types that name a NAC outside the harness process (the external bench mode)."""


def not_judgeable(reason: str) -> None:
    """Stop the scenario: the external bench cannot judge it (a skip the report shows with its reason)."""
    import pytest

    pytest.skip(f"{EXTERNAL_LIMIT}: {reason}")


class ExternalClock:
    """Wall time sped up by ``speedup`` from one origin: the mock's ``now`` and the bench's seconds.

    ``seconds()`` is what the evidence and the realtime SimPy environment count; ``now()`` is the
    mock's UTC clock (``origin + seconds()``). With speed-up 1 the mock's clock is the real clock.
    """

    def __init__(self, speedup: float, origin: datetime | None = None) -> None:
        if not (speedup > 0 and math.isfinite(speedup)):
            raise HarnessFailure(f"speed-up must be a finite number > 0, got {speedup!r}")
        self.speedup = speedup
        self.origin = origin or datetime.now(UTC)
        self._origin_mono = time.monotonic()

    def seconds(self) -> float:
        return (time.monotonic() - self._origin_mono) * self.speedup

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.seconds())


@dataclass(frozen=True)
class FrontKey:
    host: str
    port: int
    state_dir: str
    speedup: float


class _Drop(ConnectionError):
    """Raised inside the WSGI app to end the connection without an answer."""


class _Handler(WSGIRequestHandler):
    """Quiet request handler that closes the socket when the tap drops a connection."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class ServerTap:
    """WSGI middleware in front of the current scenario's mock: records exchanges, injects faults."""

    def __init__(self, front: MockFront) -> None:
        self.front = front
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        bench = self.front.bench
        if bench is None:
            body = b'{"error":{"code":"ServiceUnavailable","message":"no conformance scenario is running"}}'
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json")])
            return [body]
        started = time.perf_counter()
        ex = self._record(bench, environ)
        try:
            return self._serve(bench, ex, environ, start_response)
        finally:
            ex.wall_ms = (time.perf_counter() - started) * 1000

    def _record(self, bench: Bench, environ: dict[str, Any]) -> Exchange:
        path = environ.get("PATH_INFO", "")
        qs = environ.get("QUERY_STRING", "")
        query = dict(parse_qsl(qs, keep_blank_values=True))
        scheme = environ.get("wsgi.url_scheme", "https")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        url = f"{scheme}://{host}{path}" + (f"?{qs}" if qs else "")
        form: dict[str, str] = {}
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""

            environ["wsgi.input"] = io.BytesIO(raw)
            if "json" not in environ.get("CONTENT_TYPE", ""):
                form = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
        auth = environ.get("HTTP_AUTHORIZATION", "")
        with self._lock:
            decision = bench.current_decision
            ex = Exchange(
                seq=len(bench.evidence.exchanges) + 1,
                at=bench.now(),
                method=environ.get("REQUEST_METHOD", "GET"),
                url=url,
                kind=classify(path, query),
                query=query,
                bearer=auth[7:] if auth.lower().startswith("bearer ") else "",
                form=form,
                decision=decision,
            )
            bench.evidence.exchanges.append(ex)
            if decision is not None:
                bench.evidence.decisions[decision - 1].exchanges.append(ex.seq)
        return ex

    def _serve(
        self, bench: Bench, ex: Exchange, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        fault = bench.tap_fault_for(ex.kind)
        if fault is not None and fault.kind == "unreachable":
            ex.fault = "unreachable"
            ex.error = "ConnectError"
            raise _Drop("the bench made Intune unreachable")
        if fault is not None and fault.kind == "unauthorized":
            ex.fault = "unauthorized"
            ex.status = 401
            body = b'{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}'
            ex.body = body.decode()
            start_response("401 UNAUTHORIZED", [("Content-Type", "application/json")])
            return [body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = bench.app(environ, capture)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        status_line: str = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        header_map = dict(headers)
        latency_ms = _float(header_map.get(LATENCY_HEADER))
        ex.modelled_ms = latency_ms
        if header_map.get(TIMEOUT_HEADER) == "1":
            # Intune hangs: hold the connection (wall seconds, as a real hang would last) and drop it;
            # the NAC's own HTTP timeout ends its wait first.
            ex.fault = "timeout"
            ex.error = "ReadTimeout"
            self.front.hold(min(latency_ms / 1000.0, SLEEP_CAP_S))
            raise _Drop("the bench made Intune hang")
        if latency_ms:
            time.sleep(min(latency_ms / 1000.0 / bench.speedup, SLEEP_CAP_S))
        ex.status = int(status_line.split(" ", 1)[0])
        ex.response_headers = dict(headers)
        if fault is not None and fault.kind == "malformed" and fault.malformation is not None and ex.ok:
            content = malform(fault.malformation, content, header_map.get("Content-Type", ""))
            ex.fault = f"malformed: {fault.malformation.value}"
        ex.body = content[:4000].decode("utf-8", "replace")
        out = [(k, v) for k, v in headers if k.lower() != "content-length"]
        out.append(("Content-Length", str(len(content))))
        start_response(status_line, out)
        return [content]


def _float(raw: str | None) -> float:
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        return 0.0


class MockFront:
    """The suite's HTTPS server at the declared address, answering with the current scenario's mock."""

    def __init__(self, key: FrontKey) -> None:
        from mock_intune.config import MockConfig
        from mock_intune.serve_state import prepare_state

        self.key = key
        self.clock = ExternalClock(key.speedup)
        self.bench: Bench | None = None
        self._stopping = threading.Event()
        _, self.files, _ = prepare_state(key.state_dir, MockConfig())
        self.client_cert_pem = self.files.client_cert.read_text()
        self.client_key_pem = self.files.client_key.read_text()
        self.workdir = Path(tempfile.mkdtemp(prefix="nac-external-bench-"))
        self.bases: list[str] = []
        """The service bases earlier scenarios advertised (their endpoints answer 404 now)."""
        try:
            self.server: BaseWSGIServer = make_server(
                key.host,
                key.port,
                ServerTap(self),
                threaded=True,
                request_handler=_Handler,
                ssl_context=(str(self.files.server_cert), str(self.files.server_key)),
            )
        except OSError as exc:
            raise HarnessFailure(
                f"cannot serve the mock Intune at {key.host}:{key.port} (capability mock.host/mock.port): "
                f"{exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(target=self.server.serve_forever, name="external-mock", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"https://{self.key.host}:{self.key.port}"

    def database(self, name: str) -> str:
        """A fresh SQLite file for one scenario's mock (file-backed: safe across server threads)."""
        return str(self.workdir / f"{name}.sqlite3")

    def attach(self, bench: Bench | None) -> None:
        self.bench = bench

    def fresh_base(self, tag: str) -> tuple[str, list[str]]:
        """A service base (shard prefix) for a new scenario, and the ones advertised before it."""
        earlier = list(self.bases)
        base = f"/fef-{tag}"
        self.bases.append(base)
        return base, earlier

    def hold(self, seconds: float) -> None:
        """Keep a request hanging for ``seconds`` (cut short when the suite ends)."""
        self._stopping.wait(seconds)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        import shutil

        shutil.rmtree(self.workdir, ignore_errors=True)


_fronts: dict[FrontKey, MockFront] = {}
_lock = threading.Lock()


def mock_front(key: FrontKey) -> MockFront:
    """The process's served mock for ``key`` (started on first use, stopped at exit)."""
    with _lock:
        front = _fronts.get(key)
        if front is None:
            for other in list(_fronts.values()):  # another address in the same process: free the old one
                other.stop()
            _fronts.clear()
            import atexit

            front = _fronts[key] = MockFront(key)
            atexit.register(front.stop)
        return front


def describe_mock(capability: Capability) -> str:
    """What a vendor configures its NAC with for an external certification (makes the state on first use)."""
    from mock_intune.config import MockConfig
    from mock_intune.pki import CertificateAuthority, load_certificates, thumbprint_sha1
    from mock_intune.serve_state import ServeInfo, prepare_state

    from ..errors import CapabilityError

    if not capability.external:
        raise CapabilityError(
            f"adapter {capability.adapter.type!r} runs in process: only radius and http NACs use the served mock",
            file=capability.source,
            field="adapter.type",
        )
    mock = capability.mock
    cfg, files, _ = prepare_state(capability.resolve(mock.state_dir), MockConfig())
    shown = f"[{mock.host}]" if ":" in mock.host else mock.host
    info = ServeInfo(
        base_url=f"https://{shown}:{mock.port}",
        host=mock.host,
        port=mock.port,
        state_dir=str(files.root),
        ca_file=str(files.ca_file),
        database="(one fresh database per scenario)",
        tenant_id=cfg.tenant_id,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        client_cert_file=str(files.client_cert),
        client_key_file=str(files.client_key),
        client_thumbprint=thumbprint_sha1(load_certificates(files.client_cert.read_text())[0]).hex().upper(),
        admin_token="(not served: the bench drives the mock itself)",
        workers=1,
    )
    lines = [
        info.describe().replace("serving on", "will serve on", 1),
        f"  speed-up           {capability.speedup:g} (the NAC's clock must run this much faster than the wall)",
        f"  longest step wait  {capability.max_wait_s:g} s of wall time (longer waits are not judged)",
    ]
    spec = capability.adapter
    if getattr(spec, "type", "") == "radius":
        ca_dir = getattr(spec, "device_ca_dir", None)
        path = capability.resolve(ca_dir) if ca_dir else files.root / "device-ca"
        CertificateAuthority.load_or_create(path, "Harness Device CA")  # made on first use
        lines.append(f"  device CA          {path}/ca.pem (trust it for EAP-TLS client certificates)")
        lines.append(
            f"  CoA / Disconnect   send to the harness at <this host>:{getattr(spec, 'coa_port', 3799)}/udp"
        )
    return "\n".join(lines)
