"""Configure, start and stop FreeRADIUS 3.2 (Debian's packages) as the reference RADIUS NAC.

FreeRADIUS terminates RADIUS (MAB, EAP-TLS with the harness's CA, accounting) and asks the
reference NAC's decision service over HTTP (``rlm_rest``) for every authorisation; the decision
service asks the mock Intune over HTTPS and sends CoA to the NAS when compliance changes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
from pyrad import packet as rp

from ..errors import HarnessFailure
from .dictionary import radius_dictionary

FREERADIUS_PACKAGES = "freeradius freeradius-rest freeradius-utils"


def freeradius_binary() -> str:
    """Path of the ``freeradius`` daemon, or a HarnessFailure saying which packages to install."""
    for name in ("freeradius", "radiusd"):
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if found:
            if not Path("/usr/lib/freeradius/rlm_rest.so").exists():
                raise HarnessFailure(
                    f"FreeRADIUS has no rest module; install it: apt-get install {FREERADIUS_PACKAGES}"
                )
            return found
    raise HarnessFailure(f"FreeRADIUS is not installed; install it: apt-get install {FREERADIUS_PACKAGES}")


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that is free right now (FreeRADIUS cannot be told to pick one itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class FreeRadiusConfig:
    """What the generated configuration needs.

    ``decision_url`` None configures a baseline that accepts every MAB / PAP request itself
    (benchmarks measure the RADIUS driver against it).
    """

    decision_url: str | None
    ca_pem: str
    server_cert_pem: str
    server_key_pem: str
    secret: str = "testing123"
    auth_port: int = 0
    acct_port: int = 0
    threads: int = 4
    decision_timeout_s: float = 5.0


@dataclass
class FreeRadius:
    """One running FreeRADIUS instance with its own configuration and state directory."""

    base_dir: Path
    config: FreeRadiusConfig
    process: subprocess.Popen[bytes] | None = None
    log_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.conf_dir = self.base_dir / "raddb"
        self.state_dir = self.base_dir / "state"
        self.log_file = self.state_dir / "log" / "radius.log"

    def write_config(self) -> Path:
        cfg = self.config
        if not cfg.auth_port:
            cfg.auth_port = free_udp_port()
        if not cfg.acct_port:
            cfg.acct_port = free_udp_port()
        for d in (
            self.conf_dir / "certs",
            self.state_dir / "log",
            self.state_dir / "run",
            self.state_dir / "radacct",
        ):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        certs = self.conf_dir / "certs"
        (certs / "ca.pem").write_text(cfg.ca_pem)
        (certs / "server.pem").write_text(cfg.server_cert_pem)
        key = certs / "server.key"
        key.write_text(cfg.server_key_pem)
        key.chmod(0o600)
        templates = resources.files("harness.radius").joinpath("freeradius_conf")
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
        text = env.from_string(templates.joinpath("radiusd.conf.j2").read_text()).render(
            conf_dir=self.conf_dir,
            state_dir=self.state_dir,
            secret=cfg.secret,
            decision_url=cfg.decision_url.rstrip("/") if cfg.decision_url else "",
            auth_port=cfg.auth_port,
            acct_port=cfg.acct_port,
            threads=cfg.threads,
            decision_timeout_s=cfg.decision_timeout_s,
        )
        (self.conf_dir / "radiusd.conf").write_text(text)
        (self.conf_dir / "dictionary").write_text(templates.joinpath("dictionary").read_text())
        return self.conf_dir

    def check(self) -> None:
        """``freeradius -C``: refuse a configuration FreeRADIUS would not start with."""
        binary = freeradius_binary()
        out = subprocess.run(
            [binary, "-C", "-d", str(self.conf_dir), "-l", "stdout"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            tail = "\n".join((out.stdout + out.stderr).splitlines()[-15:])
            raise HarnessFailure(f"FreeRADIUS rejected its generated configuration:\n{tail}")

    def start(self, *, debug: bool = False, ready_timeout_s: float = 20.0) -> FreeRadius:
        binary = freeradius_binary()
        self.write_config()
        self.check()
        args = [binary, "-f", "-d", str(self.conf_dir)]
        if debug:
            args += ["-X", "-l", str(self.log_file)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                raise HarnessFailure(
                    f"FreeRADIUS exited on start (code {self.process.returncode}): {err}{self.log_tail()}"
                )
            if self.status_server(timeout_s=0.3):
                return self
        self.stop()
        raise HarnessFailure(
            f"FreeRADIUS did not answer Status-Server within {ready_timeout_s:g} s{self.log_tail()}"
        )

    def status_server(self, timeout_s: float = 1.0) -> bool:
        """True when the instance answers a Status-Server on its auth port."""
        pkt = rp.AuthPacket(
            code=rp.StatusServer, secret=self.config.secret.encode(), dict=radius_dictionary()
        )
        pkt.add_message_authenticator()
        raw = pkt.RequestPacket()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout_s)
            s.sendto(raw, ("127.0.0.1", self.config.auth_port))
            try:
                data, _ = s.recvfrom(4096)
            except (TimeoutError, ConnectionRefusedError):
                return False
        return len(data) >= 20 and data[0] == rp.AccessAccept

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return ""
        return "\nlog tail:\n" + "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> FreeRadius:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
