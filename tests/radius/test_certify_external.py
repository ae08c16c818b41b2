"""Certify an EXTERNAL NAC: the FreeRADIUS reference NAC as a separate daemon, playing the vendor.

The daemon is started with ``nac-harness reference-nac start`` and configured like a vendor would
configure its NAC: with the address of the bench's served mock Intune (``mock: {host, port}`` in
the capability statement), the mock's CA, and the declared speed-up. ``nac-harness certify`` then
drives it over real RADIUS (``adapter: radius``) or its JSON decision webhook (``adapter: http``):
every Intune call crosses HTTPS to the served mock and is captured server-side, CoA comes back
over UDP. Rules whose scenarios need longer waits than the speed-up allows are reported SKIPPED
with the reason, never passed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.conformance.certify import certify
from harness.conformance.external import EXTERNAL_LIMIT
from harness.conformance.rules import Verdict
from harness.radius.freeradius import free_udp_port
from mock_intune.config import MockConfig
from mock_intune.serve_state import prepare_state

pytestmark = [pytest.mark.radius, pytest.mark.served]

SPEEDUP = 1000.0
"""The NAC's and the mock's clocks run this much faster than the wall (4 h of polling ≈ 14 s)."""
POLLING_S = 14400.0
CACHE_TTL_S = 600.0


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


@dataclass
class Daemon:
    """A reference NAC daemon and what its capability statement needs."""

    state_dir: Path
    mock_dir: Path
    mock_port: int
    coa_port: int
    info: dict[str, object]

    def statement(self, path: Path, adapter: str, **more: object) -> Path:
        fields: dict[str, object] = {
            "name": "reference NAC daemon (external)",
            "vendor": "intune-nac-harness",
            "adapter": adapter,
            "profiles": "[cr-cisco]",
            "identity_sources": "[certificate, mac]",
            "access_types": "[wifi, vpn]",
            "coa_support": "true",
            "polling_interval_s": POLLING_S,
            "cache_ttl_s": CACHE_TTL_S,
            "decision_budget_ms": 1000,
            "speedup": SPEEDUP,
            "max_wait_s": 20,
            "mock": f"{{host: 127.0.0.1, port: {self.mock_port}, state_dir: {self.mock_dir}}}",
        }
        fields.update(more)
        path.write_text("".join(f"{k}: {v}\n" for k, v in fields.items()))
        return path

    def radius_adapter(self, secret: str | None = None) -> str:
        i = self.info
        return (
            f"{{type: radius, host: 127.0.0.1, auth_port: {i['auth_port']}, acct_port: {i['acct_port']}, "
            f"coa_port: {self.coa_port}, secret: {secret or i['secret']}, eap_method: eap-tls, "
            f"device_ca_dir: {i['device_ca_dir']}}}"
        )


def start_daemon(root: Path, *extra: str) -> Daemon:
    """Prepare the mock's state (its CA), then start the daemon against the mock's future address."""
    mock_dir = root / "mock-intune"
    _, files, _ = prepare_state(mock_dir, MockConfig())
    mock_port, coa_port = free_tcp_port(), free_udp_port()
    state_dir = root / "reference-nac"
    out = cli(
        "reference-nac", "start",
        "--mock-url", f"https://127.0.0.1:{mock_port}",
        "--mock-state-dir", str(mock_dir),
        "--coa-port", str(coa_port),
        "--time-scale", str(SPEEDUP),
        "--polling-interval", str(POLLING_S),
        "--cache-ttl", str(CACHE_TTL_S),
        "--state-dir", str(state_dir),
        *extra,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    info = json.loads((state_dir / "reference-nac.json").read_text())
    assert files.ca_file.exists()
    return Daemon(state_dir, mock_dir, mock_port, coa_port, info)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    running = start_daemon(tmp_path_factory.mktemp("external"))
    try:
        yield running
    finally:
        assert cli("reference-nac", "stop", "--state-dir", str(running.state_dir)).returncode == 0


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite process trusts nothing from the machine: the NAC trusts the mock's CA itself.
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def verdicts(run) -> dict[str, Verdict]:  # type: ignore[no-untyped-def]
    return {r.rule.id: r.verdict for r in run.certification.rules}


def test_the_reference_nac_daemon_is_certified_over_radius_as_an_external_nac(daemon, tmp_path):
    cap = daemon.statement(tmp_path / "nac.yaml", daemon.radius_adapter())
    run = certify(cap, out=tmp_path, run_name="external")
    got = verdicts(run)
    summary = run.certification.summary
    assert not [r for r, v in got.items() if v in (Verdict.FAILED, Verdict.HARNESS_ERROR)], (
        summary,
        [(r.rule.id, r.reason) for r in run.certification.rules if r.verdict is not Verdict.PASSED],
    )
    assert run.exit_code == 0, summary
    passed = {r for r, v in got.items() if v is Verdict.PASSED}
    # certificates over EAP-TLS, MAB, CoA over UDP, fail-closed under an outage, token etiquette
    assert {"ACC-01", "ACC-05", "STA-03", "RES-01", "ONB-02"} <= passed, summary
    assert len(passed) >= 15, summary
    for rule in run.certification.rules:
        if rule.verdict is Verdict.SKIPPED and rule.rule.id not in ():
            assert rule.reason, rule.rule.id  # never silent: each skip says why
    # the exchanges the oracles judged were captured at the served mock, at its real address
    result = json.loads((run.out_dir / "result.json").read_text())
    urls = {
        x["url"].split("/")[2]
        for f in result["plan"]["features"]
        for s in f["scenarios"]
        for x in (s.get("evidence") or {}).get("exchanges", [])
    }
    assert urls == {f"127.0.0.1:{daemon.mock_port}"}


def test_rules_beyond_the_speed_up_are_skipped_with_the_reason(daemon, tmp_path):
    # STA-01 lets 20 hours pass: 72 s of wall time at speed-up 1000, beyond max_wait_s 20
    cap = daemon.statement(tmp_path / "nac.yaml", daemon.radius_adapter())
    run = certify(cap, out=tmp_path, run_name="limits", rules=["STA-01"])
    (rule,) = run.certification.rules
    assert rule.verdict is Verdict.SKIPPED, rule.reason
    assert EXTERNAL_LIMIT in rule.reason and "max_wait_s 20" in rule.reason
    assert run.exit_code == 0


def test_the_decision_webhook_of_the_daemon_is_certified_over_http(daemon, tmp_path):
    url = f"{daemon.info['decision_url']}/decide"
    cap = daemon.statement(tmp_path / "nac.yaml", f"{{type: http, url: '{url}'}}", coa_support="false")
    run = certify(cap, out=tmp_path, run_name="http", rules=["ACC-01", "ACC-02", "ACC-04", "RES-01"])
    got = verdicts(run)
    assert got == dict.fromkeys(("ACC-01", "ACC-02", "ACC-04", "RES-01"), Verdict.PASSED), (
        run.certification.summary
    )


def test_a_daemon_misconfigured_to_fail_open_fails_res_01(tmp_path):
    misconfigured = start_daemon(tmp_path, "--mutant", "RES-01-fail-open")
    try:
        cap = misconfigured.statement(tmp_path / "nac.yaml", misconfigured.radius_adapter())
        run = certify(cap, out=tmp_path, run_name="fail-open", rules=["RES-01", "ACC-01"])
    finally:
        cli("reference-nac", "stop", "--state-dir", str(misconfigured.state_dir))
    assert verdicts(run) == {"RES-01": Verdict.FAILED, "ACC-01": Verdict.PASSED}, run.certification.summary
    assert run.exit_code == 1


@pytest.mark.parametrize(
    "mutant",
    [
        "ONB-01-never-rediscovers",  # keeps an earlier scenario's endpoint (per-scenario service base)
        "ONB-03-loops-on-401",  # 401 injected at the served mock
        "RED-02-stale-noncompliant-cache",  # a cache observed on sped-up wall time
        "RES-05-malformed-as-compliant",  # malformed bodies rewritten at the served mock
    ],
)
def test_a_faulty_daemon_fails_its_rule_over_the_wire(tmp_path, mutant):
    faulty = start_daemon(tmp_path, "--mutant", mutant)
    try:
        cap = faulty.statement(tmp_path / "nac.yaml", faulty.radius_adapter())
        run = certify(cap, out=tmp_path, run_name="mutant", rules=[mutant[:6]])
    finally:
        cli("reference-nac", "stop", "--state-dir", str(faulty.state_dir))
    assert verdicts(run) == {mutant[:6]: Verdict.FAILED}, run.certification.summary


# -- bad input: exit 2, a clear message, no traceback ----------------------------------------------


def test_wrong_secret_is_a_clear_error(daemon, tmp_path):
    cap = daemon.statement(tmp_path / "nac.yaml", daemon.radius_adapter(secret="not-the-secret"))
    out = cli("certify", str(cap), "--out", str(tmp_path))
    assert out.returncode == 2
    assert "shared secret is wrong" in out.stderr and "Traceback" not in out.stderr


def test_unreachable_nac_is_a_clear_error(daemon, tmp_path):
    port = free_udp_port()
    adapter = f"{{type: radius, host: 127.0.0.1, auth_port: {port}, coa_port: 3799, secret: s}}"
    out = cli("certify", str(daemon.statement(tmp_path / "nac.yaml", adapter)), "--out", str(tmp_path))
    assert out.returncode == 2
    assert f"127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "greater than 0"), ("fast", "valid number"), (".inf", "finite number")],
)
def test_a_bad_speedup_names_file_field_and_line(daemon, tmp_path, value, message):
    cap = daemon.statement(tmp_path / "nac.yaml", daemon.radius_adapter(), speedup=value)
    out = cli("certify", str(cap), "--out", str(tmp_path))
    assert out.returncode == 2
    assert "nac.yaml:11: speedup: " in out.stderr and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_busy_mock_port_is_a_clear_error(daemon, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cap = daemon.statement(tmp_path / "nac.yaml", daemon.radius_adapter())
        cap.write_text(cap.read_text().replace(f"port: {daemon.mock_port}", f"port: {port}"))
        out = cli("certify", str(cap), "--out", str(tmp_path))
    assert out.returncode == 2
    assert "mock.port" in out.stderr and f"127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


def test_a_busy_coa_port_is_a_clear_error(daemon, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        adapter = daemon.radius_adapter().replace(f"coa_port: {daemon.coa_port}", f"coa_port: {port}")
        out = cli("certify", str(daemon.statement(tmp_path / "nac.yaml", adapter)), "--out", str(tmp_path))
    assert out.returncode == 2
    assert "adapter.coa_port" in out.stderr and f"127.0.0.1:{port}/udp" in out.stderr
    assert "Traceback" not in out.stderr
