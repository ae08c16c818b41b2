"""EAP-TLS authentications through ``eapol_test`` (Debian package ``eapoltest``), with device certificates.

``eapol_test`` is a real supplicant: it runs the TLS handshake with the NAC's RADIUS server and
prints the RADIUS exchange, from which the final Access-Accept / Access-Reject and its attributes
are read back and interpreted like any other reply.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import HarnessFailure, NacUnreachable
from ..model import AccessDecision, AccessRequest, AccessType
from .nas import NasConfig, dashed_mac
from .replies import interpret

_MESSAGE = re.compile(r"^RADIUS message: code=(\d+) \(([^)]+)\)")
_ATTRIBUTE = re.compile(r"^\s+Attribute (\d+) \(([^)]*)\) length=\d+")
_VALUE = re.compile(r"^\s+Value: (.*)$")
_VENDORS = {9: "Cisco-AVPair", 14823: "Aruba-User-Role"}


def eapol_test_binary() -> str:
    found = shutil.which("eapol_test")
    if not found:
        raise HarnessFailure("eapol_test is not installed; install it: apt-get install eapoltest")
    return found


def parse_final_reply(output: str) -> tuple[int, dict[str, list[object]]] | None:
    """The last Access-Accept / Access-Reject that ``eapol_test`` printed, as (code, attributes)."""
    final: tuple[int, dict[str, list[object]]] | None = None
    current: dict[str, list[object]] | None = None
    attr: tuple[int, str] | None = None
    for line in output.splitlines():
        m = _MESSAGE.match(line)
        if m:
            code = int(m.group(1))
            current = {} if code in (2, 3) else None
            if current is not None:
                final = (code, current)
            attr = None
            continue
        if current is None:
            continue
        m = _ATTRIBUTE.match(line)
        if m:
            attr = (int(m.group(1)), m.group(2))
            continue
        m = _VALUE.match(line)
        if m and attr is not None:
            _add_value(current, attr, m.group(1).strip())
            attr = None
        elif not line.startswith(" "):
            current = None
    return final


def _add_value(into: dict[str, list[object]], attr: tuple[int, str], raw: str) -> None:
    number, name = attr
    if raw.startswith("'") and raw.endswith("'"):
        into.setdefault(name, []).append(raw[1:-1])
        return
    if number == 26:
        try:
            data = bytes.fromhex(raw)
        except ValueError:
            return
        vendor = int.from_bytes(data[:4], "big")
        pos = 4
        while pos + 2 <= len(data):
            vtype, vlen = data[pos], data[pos + 1]
            if vlen < 2:
                break
            value = data[pos + 2 : pos + vlen].decode("utf-8", "replace")
            if vtype == 1 and vendor in _VENDORS:
                into.setdefault(_VENDORS[vendor], []).append(value)
            pos += vlen
        return
    into.setdefault(name, []).append(raw)


class EapTlsClient:
    """Run one EAP-TLS authentication per call with a device's certificate."""

    def __init__(self, cfg: NasConfig, ca_pem: str, workdir: Path | None = None) -> None:
        self.cfg = cfg
        self.binary = eapol_test_binary()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="eapol-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.workdir / "ca.pem"
        self.ca_file.write_text(ca_pem)

    def authenticate(
        self, request: AccessRequest, cert_pem: str, key_pem: str, identity: str = ""
    ) -> AccessDecision:
        stem = self.workdir / request.session_id.replace("/", "_")
        cert, key, conf = stem.with_suffix(".pem"), stem.with_suffix(".key"), stem.with_suffix(".conf")
        cert.write_text(cert_pem)
        key.write_text(key_pem)
        key.chmod(0o600)
        conf.write_text(
            "network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n"
            f'  identity="{identity or "host/" + request.device}"\n'
            f'  ca_cert="{self.ca_file}"\n  client_cert="{cert}"\n  private_key="{key}"\n'
            "  eapol_flags=0\n}\n"
        )
        wifi = request.access_type is AccessType.WIFI
        called = f"02-00-00-00-00-01:{request.ssid}" if wifi else request.nas_id
        args = [
            self.binary, "-c", str(conf), "-a", self.cfg.host, "-p", str(self.cfg.auth_port),
            "-s", self.cfg.secret.decode(), "-t", str(max(1, int(self.cfg.timeout_s * (self.cfg.retries + 1)))),
            "-M", dashed_mac(request.mac).replace("-", ":").lower(), "-n",
            "-N", f"30:s:{called}", "-N", f"61:d:{19 if wifi else 5}",
            "-N", f"32:s:{request.nas_id or self.cfg.nas_identifier}", "-N", f"44:s:{request.session_id}",
        ]  # fmt: skip
        started = time.perf_counter()
        out = subprocess.run(args, capture_output=True, text=True, check=False)
        latency = time.perf_counter() - started
        for path in (cert, key, conf):
            path.unlink(missing_ok=True)
        final = parse_final_reply(out.stdout)
        if final is None:
            raise NacUnreachable(
                f"no RADIUS answer to EAP-TLS from {self.cfg.host}:{self.cfg.auth_port} (eapol_test exit {out.returncode})"
            )
        code, attributes = final
        return interpret(code, attributes, self.cfg.roles, latency)
