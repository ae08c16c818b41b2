"""The FreeRADIUS reference NAC: FreeRADIUS 3.2 + the decision service + the reference NAC.

FreeRADIUS terminates RADIUS on loopback (MAB, EAP-TLS against the device CA, accounting); every
authorisation goes over HTTP (rlm_rest) to the decision service, where the reference NAC (or, for
a deliberately misconfigured variant, one of its mutants) asks the mock Intune over HTTPS. When
compliance changes the NAC's poll sends CoA / Disconnect to the NAS (RFC 5176).

``nac-harness reference-nac start`` runs :func:`serve` in a detached process and returns once it is
ready; ``stop`` ends it. Tests use :class:`ReferenceRadiusNac` in process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mock_intune.pki import CertificateAuthority

from ..errors import ConfigError, HarnessFailure
from ..model import Profile
from ..nac.base import NacUnderTest
from ..nac.reference import ReferenceNac
from ..nac.reference_config import BROAD_QUERY_MIN_INTERVAL_S, ReferenceNacConfig
from .decision_service import CoaTarget, DecisionService
from .freeradius import FreeRadius, FreeRadiusConfig

STATE_FILE = "reference-nac.json"


class _QuietHandler(WSGIRequestHandler):
    """No access log line per RADIUS decision (FreeRADIUS logs authentications itself)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


DEVICE_CA_DIR = "device-ca"


@dataclass(frozen=True)
class ReferenceRadiusSettings:
    """How to wire the FreeRADIUS reference NAC to a served mock Intune and to the NAS."""

    mock_url: str
    mock_ca_file: str
    state_dir: str = ".state/reference-nac"
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str | None = None
    profile: Profile = Profile.CR_CISCO
    secret: str = "testing123"
    auth_port: int = 0
    acct_port: int = 0
    coa_host: str = "127.0.0.1"
    coa_port: int = 3799
    time_scale: float = 1.0
    polling_interval_s: float = BROAD_QUERY_MIN_INTERVAL_S
    cache_ttl_s: float = 300.0
    fail_open: bool = False
    mutant: str | None = None
    """Run a faulty NAC (``harness.nac.mutants``) instead: a deliberately misconfigured deployment."""
    threads: int = 4
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.mock_url.startswith("https://") and not self.mock_url.startswith("http://"):
            raise ConfigError(f"not an http(s) URL: {self.mock_url!r}", field="--mock-url")
        if not Path(self.mock_ca_file).is_file():
            raise ConfigError(f"no such CA file: {self.mock_ca_file}", field="--mock-ca-file")
        if self.time_scale <= 0:
            raise ConfigError("must be > 0", field="--time-scale")


def build_nac(settings: ReferenceRadiusSettings) -> NacUnderTest:
    """The reference NAC (or the named mutant) talking to the served mock over HTTPS."""
    from mock_intune.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID

    config = ReferenceNacConfig(
        profile=settings.profile,
        base_url=settings.mock_url,
        tenant_id=settings.tenant_id or DEFAULT_TENANT_ID,
        client_id=settings.client_id or DEFAULT_CLIENT_ID,
        client_secret=settings.client_secret if settings.client_secret is not None else DEFAULT_CLIENT_SECRET,
        polling_interval_s=settings.polling_interval_s,
        cache_ttl_s=settings.cache_ttl_s,
        fail_open=settings.fail_open,
        epoch=datetime.now(UTC),
        **settings.extra,
    )
    transport = httpx.HTTPTransport(verify=settings.mock_ca_file, retries=0)
    cls: type[ReferenceNac] = ReferenceNac
    if settings.mutant:
        from ..nac.mutants import mutant_class

        cls = mutant_class(settings.mutant)
    return cls(config, transport=transport)


class ReferenceRadiusNac:
    """FreeRADIUS, the decision service and the NAC, running in this process."""

    def __init__(self, settings: ReferenceRadiusSettings, nac: NacUnderTest | None = None) -> None:
        self.settings = settings
        self.state_dir = Path(settings.state_dir).resolve()
        self.nac = nac
        self.service: DecisionService | None = None
        self.http: BaseWSGIServer | None = None
        self.freeradius: FreeRadius | None = None
        self.device_ca: CertificateAuthority | None = None

    def start(self) -> ReferenceRadiusNac:
        s = self.settings
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.device_ca = CertificateAuthority.load_or_create(
            self.state_dir / DEVICE_CA_DIR, "Harness Device CA"
        )
        nac = self.nac or build_nac(s)
        self.service = DecisionService(
            nac, factor=s.time_scale, coa=CoaTarget(s.coa_host, s.coa_port, s.secret.encode())
        )
        self.http = make_server(
            "127.0.0.1", 0, self.service.app(), threaded=True, request_handler=_QuietHandler
        )
        threading.Thread(target=self.http.serve_forever, name="decision-service", daemon=True).start()
        server = self.device_ca.issue("reference-nac.radius", san_dns=("localhost",), server=True)
        self.freeradius = FreeRadius(
            self.state_dir / "freeradius",
            FreeRadiusConfig(
                decision_url=self.decision_url,
                ca_pem=self.device_ca.cert_pem,
                server_cert_pem=server.cert_pem,
                server_key_pem=server.key_pem,
                secret=s.secret,
                auth_port=s.auth_port,
                acct_port=s.acct_port,
                threads=s.threads,
            ),
        )
        try:
            self.freeradius.start()
        except HarnessFailure:
            self.stop()
            raise
        return self

    @property
    def decision_url(self) -> str:
        assert self.http is not None
        return f"http://127.0.0.1:{self.http.server_port}"

    def info(self) -> dict[str, Any]:
        """What a ``nac.yaml`` (adapter: radius) needs, plus where things live."""
        assert self.freeradius is not None
        return {
            "pid": os.getpid(),
            "host": "127.0.0.1",
            "auth_port": self.freeradius.config.auth_port,
            "acct_port": self.freeradius.config.acct_port,
            "secret": self.settings.secret,
            "coa_target": f"{self.settings.coa_host}:{self.settings.coa_port}",
            "device_ca_dir": str(self.state_dir / DEVICE_CA_DIR),
            "decision_url": self.decision_url,
            "mock_url": self.settings.mock_url,
            "profile": str(self.settings.profile),
            "mutant": self.settings.mutant,
            "log": str(self.freeradius.log_file),
        }

    def stop(self) -> None:
        if self.freeradius is not None:
            self.freeradius.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self.service is not None:
            self.service.stop()

    def __enter__(self) -> ReferenceRadiusNac:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the detached daemon behind `nac-harness reference-nac start|stop` -------------------------
def serve(settings: ReferenceRadiusSettings) -> None:
    """Run until SIGTERM / SIGINT, with the state file written once ready (blocks)."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    state = Path(settings.state_dir).resolve() / STATE_FILE
    with ReferenceRadiusNac(settings) as running:
        state.write_text(json.dumps(running.info(), indent=2))
        try:
            stopping.wait()
        finally:
            state.unlink(missing_ok=True)


def start_detached(settings: ReferenceRadiusSettings, timeout_s: float = 30.0) -> dict[str, Any]:
    """Start :func:`serve` in a new session; return its info once ready (or raise with its errors)."""
    state_dir = Path(settings.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state = state_dir / STATE_FILE
    if state.exists():
        info = json.loads(state.read_text())
        if _alive(int(info.get("pid", 0))):
            raise HarnessFailure(f"a reference NAC is already running (pid {info['pid']}); stop it first")
        state.unlink()
    log = state_dir / "daemon.log"
    payload = json.dumps({**asdict(settings), "profile": str(settings.profile), "state_dir": str(state_dir)})
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.radius.reference_nac", payload],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if state.exists():
            return dict(json.loads(state.read_text()))
        if proc.poll() is not None:
            raise HarnessFailure(
                f"the reference NAC exited on start:\n{log.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.1)
    proc.terminate()
    raise HarnessFailure(f"the reference NAC was not ready within {timeout_s:g} s; see {log}")


def stop_detached(state_dir: str | Path, timeout_s: float = 15.0) -> bool:
    """Stop the daemon of ``state_dir``; False when none was running."""
    state = Path(state_dir).resolve() / STATE_FILE
    if not state.exists():
        return False
    pid = int(json.loads(state.read_text()).get("pid", 0))
    if not _alive(pid):
        state.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    state.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - the daemon's entry point
    args = sys.argv[1:] if argv is None else argv
    data = json.loads(args[0])
    data["profile"] = Profile(data["profile"])
    serve(ReferenceRadiusSettings(**data))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
