"""The external bench mode without a NAC: the served mock, its server-side tap and faults, the clock,
and the capability fields that configure it (the end-to-end proof is tests/radius/test_certify_external.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.conformance.bench import Bench
from harness.conformance.capability import parse_capability
from harness.conformance.evidence import Kind
from harness.conformance.external import EXTERNAL_LIMIT, ExternalClock
from harness.conformance.malformed import Malformation
from harness.errors import CapabilityError, HarnessFailure
from mock_intune.model import INTUNE_APP_ID

pytestmark = pytest.mark.served

BASE = """name: x
adapter: {type: http, url: 'http://127.0.0.1:9/decide'}
profiles: [cr-cisco]
identity_sources: [certificate, mac]
polling_interval_s: 14400
cache_ttl_s: 60
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    capability = {
        "adapter": {"type": "http", "url": "http://127.0.0.1:9/decide"},
        "mock": {"host": "127.0.0.1", "port": free_port(), "state_dir": str(tmp_path / "mock")},
        "speedup": 100.0,
        "max_wait_s": 2.0,
    }
    b = Bench(capability, "cr-cisco", seed=1)
    try:
        yield b
    finally:
        b.close()
        assert b.front is not None
        b.front.stop()


def client(bench: Bench) -> httpx.Client:
    assert bench.front is not None
    return httpx.Client(
        base_url=bench.front.base_url, verify=str(bench.front.files.ca_file), timeout=5, trust_env=False
    )


def discovery(c: httpx.Client) -> httpx.Response:
    return c.get(f"/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints")


def test_the_mock_is_served_over_https_and_every_request_is_evidence(bench: Bench) -> None:
    with client(bench) as c:
        r = discovery(c)
    assert r.status_code == 401  # no token: the served mock is the real one
    (ex,) = bench.evidence.exchanges
    assert ex.kind == Kind.DISCOVERY and ex.status == 401 and ex.url.startswith(bench.front.base_url)  # type: ignore[union-attr]
    assert 0 < ex.at - bench.evidence.marks[0].at < 100  # stamped on the sped-up clock


def test_each_scenario_has_its_own_service_base(bench: Bench) -> None:
    (mark,) = bench.evidence.marks_of("scenario endpoint")
    assert mark.data["base"].startswith("/fef-")
    assert bench.service.service_prefix() == mark.data["base"]


def test_unreachable_closes_the_connection_without_an_answer(bench: Bench) -> None:
    bench.inject("unreachable")
    with client(bench) as c, pytest.raises(httpx.RemoteProtocolError):
        discovery(c)
    (ex,) = bench.evidence.exchanges
    assert (ex.fault, ex.error, ex.status) == ("unreachable", "ConnectError", None)


def test_401_and_malformed_answers_are_injected_at_the_server(bench: Bench) -> None:
    bench.inject("401")
    with client(bench) as c:
        assert discovery(c).status_code == 401
    assert bench.evidence.exchanges[-1].fault == "unauthorized"
    bench.clear_faults()
    bench.inject_malformed(Malformation.NOT_THE_FORMAT)
    assert bench.tap_fault_for(Kind.DEVICE_QUERY) is not None


def test_a_wait_beyond_max_wait_s_is_not_judged(bench: Bench) -> None:
    bench.advance(50)  # 0.5 s of wall time at speed-up 100
    assert bench.env.now >= 50
    with pytest.raises(pytest.skip.Exception, match=EXTERNAL_LIMIT):
        bench.advance(3600)  # 36 s of wall time > max_wait_s 2


def test_the_clock_runs_at_the_speed_up() -> None:
    clock = ExternalClock(1000.0)
    first = clock.seconds()
    assert clock.now().timestamp() - clock.origin.timestamp() >= first
    with pytest.raises(HarnessFailure, match="finite number > 0"):
        ExternalClock(float("inf"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("speedup: -2", "speedup: input should be greater than 0"),
        ("speedup: .nan", "speedup: input should be a finite number"),
        ("max_wait_s: 0", "max_wait_s: input should be greater than 0"),
        ("mock: {port: 70000}", "mock.port: input should be less than or equal to 65535"),
        ("mock: {hots: x}", "mock.hots"),
    ],
)
def test_bad_external_fields_name_file_field_and_line(extra: str, message: str) -> None:
    with pytest.raises(CapabilityError, match="nac.yaml:7: " + message.replace(".", r"\.")):
        parse_capability(BASE + extra, source="nac.yaml")


def test_external_fields_are_refused_for_in_process_nacs() -> None:
    text = BASE.replace("{type: http, url: 'http://127.0.0.1:9/decide'}", "reference") + "speedup: 10"
    with pytest.raises(CapabilityError, match="speedup: applies to external NACs only"):
        parse_capability(text, source="nac.yaml")


def test_coa_needs_a_fixed_listener_port() -> None:
    text = BASE.replace(
        "{type: http, url: 'http://127.0.0.1:9/decide'}", "{type: radius, host: h, secret: s, coa_port: 0}"
    )
    with pytest.raises(CapabilityError, match="nac.yaml:2: adapter.coa_port: must be a fixed port"):
        parse_capability(text + "coa_support: true", source="nac.yaml")


def test_defaults_are_real_time_on_the_usual_mock_port() -> None:
    cap = parse_capability(BASE, source="nac.yaml")
    assert (cap.speedup, cap.max_wait_s, cap.mock.port, cap.external) == (1.0, 30.0, 8443, True)


def test_the_http_webhook_cannot_promise_coa() -> None:
    with pytest.raises(CapabilityError, match="nac.yaml:7: coa_support: the http adapter's decision webhook"):
        parse_capability(BASE + "coa_support: true", source="nac.yaml")


def test_the_external_example_is_a_valid_statement() -> None:
    from harness.conformance.capability import load_capability

    cap = load_capability(Path(__file__).resolve().parents[2] / "examples" / "external-radius-nac.yaml")
    assert cap.external and cap.adapter_type == "radius" and cap.speedup == 1000
    assert cap.resolve(cap.mock.state_dir).name == "mock-intune"
