"""The capability statement: validation with file, field and line; applicability; reachability."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.conformance.capability import (
    AuthMethod,
    HttpAdapter,
    PythonAdapter,
    RadiusAdapter,
    ReferenceAdapter,
    check_reachable,
    load_capability,
    parse_capability,
    status_server_packet,
)
from harness.conformance.rules import RULES
from harness.errors import CapabilityError, NacUnreachable
from harness.model import IdentitySource, Profile

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
name: Test NAC
adapter:
  type: reference
profiles: [cr-cisco, graph]
identity_sources: [certificate]
polling_interval_s: 300
cache_ttl_s: 60
"""


def error_of(text: str, source: str = "nac.yaml") -> CapabilityError:
    with pytest.raises(CapabilityError) as info:
        parse_capability(text, source=source)
    return info.value


def test_reference_statement_loads_with_defaults() -> None:
    cap = parse_capability(BASE, source="nac.yaml")
    assert isinstance(cap.adapter, ReferenceAdapter)
    assert cap.profiles == [Profile.CR_CISCO, Profile.GRAPH]
    assert cap.identity_sources == [IdentitySource.CERTIFICATE]
    assert cap.decision_budget_ms == 300
    assert cap.fail_open is False
    assert cap.auth_method is AuthMethod.SECRET
    assert cap.source == "nac.yaml"


def test_adapter_shorthand_and_every_adapter_kind() -> None:
    cap = parse_capability(BASE.replace("adapter:\n  type: reference", "adapter: reference"))
    assert isinstance(cap.adapter, ReferenceAdapter)
    py = parse_capability(
        BASE.replace(
            "  type: reference",
            "  type: python\n  target: harness.nac.reference:ReferenceNac\n  kwargs: {mode: strict}",
        )
    )
    assert isinstance(py.adapter, PythonAdapter) and py.adapter.kwargs == {"mode": "strict"}
    radius = parse_capability(
        BASE.replace("  type: reference", "  type: radius\n  host: 127.0.0.1\n  secret: s3")
    )
    assert isinstance(radius.adapter, RadiusAdapter)
    assert (radius.adapter.auth_port, radius.adapter.acct_port, radius.adapter.coa_port) == (1812, 1813, 3799)
    http = parse_capability(
        BASE.replace("  type: reference", "  type: http\n  url: http://127.0.0.1:8080/decide")
    )
    assert isinstance(http.adapter, HttpAdapter)


def test_missing_field_names_file_field_and_line() -> None:
    err = error_of(BASE.replace("cache_ttl_s: 60\n", ""))
    assert (err.file, err.field, err.line) == ("nac.yaml", "cache_ttl_s", 1)
    assert "required field is missing" in str(err)
    nested = error_of(BASE.replace("  type: reference", "  type: radius\n  host: 127.0.0.1"))
    assert (nested.field, nested.line) == ("adapter.secret", 3)


def test_wrong_type_points_at_the_value_line() -> None:
    err = error_of(BASE.replace("polling_interval_s: 300", "polling_interval_s: often"))
    assert (err.field, err.line) == ("polling_interval_s", 6)
    assert str(err).startswith("nac.yaml:6: polling_interval_s: ")
    assert "'often'" in str(err)
    item = error_of(BASE.replace("[cr-cisco, graph]", "[cr-cisco, grahp]"))
    assert (item.field, item.line) == ("profiles.1", 4)
    assert "'grahp'" in str(item)


def test_unknown_adapter_is_named_with_the_known_ones() -> None:
    err = error_of(BASE.replace("type: reference", "type: ise"))
    assert (err.field, err.line) == ("adapter.type", 3)
    assert "unknown adapter type 'ise'" in str(err)
    assert "reference, mutant, python, radius, http" in str(err)
    short = error_of(BASE.replace("adapter:\n  type: reference", "adapter: clearpass"))
    assert (short.field, short.line) == ("adapter", 2)


def test_unknown_field_points_at_the_key() -> None:
    err = error_of(BASE + "poling_interval: 5\n")
    assert (err.field, err.line) == ("poling_interval", 8)
    assert "unknown field" in str(err)


def test_every_problem_is_listed() -> None:
    err = error_of(
        BASE.replace("polling_interval_s: 300", "polling_interval_s: -1").replace("[certificate]", "[sms]")
    )
    text = str(err)
    assert text.startswith("nac.yaml:5: identity_sources.0:")
    assert "also nac.yaml:6: polling_interval_s:" in text


@pytest.mark.parametrize(
    ("text", "needle"),
    [("", "the file is empty"), ("- a\n- b\n", "mapping of fields"), ("name: [x\n", "not valid YAML")],
)
def test_not_a_statement(text: str, needle: str) -> None:
    assert needle in str(error_of(text))


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CapabilityError, match="no such file") as info:
        load_capability(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")


def test_packaged_reference_statement_is_the_example() -> None:
    example = ROOT / "examples" / "reference-nac.yaml"
    packaged = ROOT / "harness" / "conformance" / "reference-nac.yaml"
    assert packaged.read_text() == example.read_text()
    cap = load_capability(example)
    assert set(cap.profiles) == set(Profile)
    assert all(cap.applicability(rule)[0] for rule in RULES.values())


def test_applicability_by_profile_and_declared_capability() -> None:
    cap = parse_capability(
        BASE.replace("[cr-cisco, graph]", "[legacy-json]").replace("[certificate]", "[mac]")
    )
    ok, why = cap.applicability(RULES["ACC-05"])
    assert not ok and "applies to profiles cr-cisco, graph" in why
    ok, why = cap.applicability(RULES["ONB-04"])
    assert not ok and "needs auth_method certificate" in why
    assert cap.applicability(RULES["ACC-06"]) == (True, "")
    assert cap.applies_to_tags(["@ACC-01", "@graph"])[0] is False
    assert cap.applies_to_tags(["ACC-01", "legacy-json"]) == (True, "")
    assert cap.applies_to_tags(["ACC-01", "vpn"])[0] is False


def test_waivers_path_is_relative_to_the_statement(tmp_path: Path) -> None:
    path = tmp_path / "nac.yaml"
    path.write_text(BASE + "waivers: waivers.yaml\n", encoding="utf-8")
    assert load_capability(path).waivers_path == tmp_path / "waivers.yaml"


# --- reachability ------------------------------------------------------------------------------------


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def radius_cap(port: int) -> str:
    return BASE.replace(
        "  type: reference", f"  type: radius\n  host: 127.0.0.1\n  auth_port: {port}\n  secret: s3"
    )


def test_radius_nothing_listening_names_the_address() -> None:
    port = _free_udp_port()
    cap = parse_capability(radius_cap(port), source="nac.yaml")
    with pytest.raises(NacUnreachable) as info:
        check_reachable(cap, timeout_s=1.0)
    assert f"127.0.0.1:{port}/udp" in str(info.value)
    assert str(info.value).startswith("nac.yaml: adapter")


def test_radius_silent_server_times_out_with_the_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        cap = parse_capability(radius_cap(port))
        with pytest.raises(NacUnreachable, match=rf"no RADIUS answer from 127\.0\.0\.1:{port}/udp"):
            check_reachable(cap, timeout_s=0.2)
        packet, _ = silent.recvfrom(4096)
    assert packet[0] == 12  # Status-Server
    assert packet[20:22] == bytes([80, 18])  # with a Message-Authenticator


def test_radius_answering_server_is_reachable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def answer() -> None:
            data, peer = server.recvfrom(4096)
            server.sendto(bytes([2, data[1], 0, 20]) + b"\x00" * 16, peer)  # Access-Accept-shaped

        t = threading.Thread(target=answer)
        t.start()
        check_reachable(parse_capability(radius_cap(port)), timeout_s=2.0)
        t.join(timeout=5)


def test_status_server_authenticator_is_an_hmac_over_the_packet() -> None:
    import hashlib
    import hmac

    packet = status_server_packet(b"secret", ident=7)
    zeroed = packet[:22] + b"\x00" * 16
    assert packet[1] == 7 and len(packet) == 38
    assert packet[22:] == hmac.new(b"secret", zeroed, hashlib.md5).digest()


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/decide"
    finally:
        server.shutdown()
        server.server_close()
        t.join(timeout=5)


def test_http_endpoint_reachable(http_server: str) -> None:
    check_reachable(
        parse_capability(BASE.replace("  type: reference", f"  type: http\n  url: {http_server}"))
    )


def test_http_endpoint_unreachable_names_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/decide"
    cap = parse_capability(
        BASE.replace("  type: reference", f"  type: http\n  url: {url}"), source="vendor.yaml"
    )
    with pytest.raises(NacUnreachable) as info:
        check_reachable(cap, timeout_s=1.0)
    assert url in str(info.value)
    assert str(info.value).startswith("vendor.yaml: adapter.url")


def test_in_process_adapters_need_no_probe() -> None:
    check_reachable(parse_capability(BASE))


def test_unknown_mutant_and_unimportable_target_name_the_line() -> None:
    err = error_of(BASE.replace("  type: reference", "  type: mutant\n  mutant: ACC-99-nothing"))
    assert (err.field, err.line) == ("adapter.mutant", 4)
    assert "unknown mutant 'ACC-99-nothing'" in str(err)
    err = error_of(BASE.replace("  type: reference", "  type: python\n  target: vendor_shim.nac:Nac"))
    assert (err.field, err.line) == ("adapter.target", 4)
    assert "cannot import 'vendor_shim.nac'" in str(err)
    err = error_of(BASE.replace("  type: reference", "  type: python\n  target: harness.model:NoSuchNac"))
    assert "has no class 'NoSuchNac'" in str(err)
