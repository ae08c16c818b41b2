"""``nac-harness certify`` and ``nac-harness demo``: exit codes, errors naming file/field/line or the
address tried, and the demo's end-to-end run on embedded defaults."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from harness.cli.main import main

ROOT = Path(__file__).resolve().parent.parent.parent

GOOD = """\
name: Vendor NAC 9.1
adapter:
  type: reference
profiles: [cr-cisco, graph]
identity_sources: [certificate, mac]
access_types: [wifi, vpn]
polling_interval_s: 14400
cache_ttl_s: 60
"""


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "nac.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("cache_ttl_s: 60\n", ""), "nac.yaml:1: cache_ttl_s: required field is missing"),
        (
            ("polling_interval_s: 14400", "polling_interval_s: hourly"),
            "nac.yaml:7: polling_interval_s: input should be",
        ),
        (("  type: reference", "  type: aruba"), "nac.yaml:3: adapter.type: unknown adapter type 'aruba'"),
        (("[cr-cisco, graph]", "[cr-cisco, intune]"), "nac.yaml:4: profiles.1: input should be"),
        (("cache_ttl_s: 60\n", "cache_ttl_s: 60\ncoa: yes\n"), "nac.yaml:9: coa: unknown field"),
    ],
)
def test_a_bad_statement_exits_2_naming_file_field_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    path = write(tmp_path, GOOD.replace(*edit))
    code, out, err = run_cli(capsys, "certify", str(path), "--out", str(tmp_path / "r"))
    assert code == 2
    assert f"{tmp_path}/{needle}" in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "r").exists(), "no report folder for a run that never started"


def test_a_missing_statement_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "certify", str(tmp_path / "none.yaml"))
    assert code == 2 and f"{tmp_path / 'none.yaml'}: no such file" in err


def test_an_unreachable_http_nac_exits_2_naming_the_address(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/decide"
    path = write(tmp_path, GOOD.replace("  type: reference", f"  type: http\n  url: {url}"))
    code, _, err = run_cli(capsys, "certify", str(path), "--out", str(tmp_path / "r"))
    assert code == 2
    assert "harness error" in err and url in err and "adapter.url" in err


def test_an_unreachable_radius_nac_exits_2_naming_the_address(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    port = closed_port(socket.SOCK_DGRAM)
    radius = f"  type: radius\n  host: 127.0.0.1\n  auth_port: {port}\n  secret: testing123"
    path = write(tmp_path, GOOD.replace("  type: reference", radius))
    code, _, err = run_cli(capsys, "certify", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and f"127.0.0.1:{port}/udp" in err


def test_a_bad_waivers_file_exits_2_with_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    waivers = write(
        tmp_path, "waivers:\n  - rule: ACC-03\n    reason: ok\n  - rule: XYZ-1\n    reason: typo\n", "w.yaml"
    )
    code, _, err = run_cli(capsys, "certify", str(path), "--waivers", str(waivers))
    assert code == 2 and f"{waivers}:4: waivers.1.rule: unknown rule 'XYZ-1'" in err


@pytest.mark.parametrize(
    ("flags", "needle"),
    [(["--run-name", "../x"], "--run-name"), (["--rule", "ACC-42"], "unknown rule(s) ACC-42")],
)
def test_bad_flags_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], needle: str
) -> None:
    code, _, err = run_cli(
        capsys, "certify", str(write(tmp_path, GOOD)), "--out", str(tmp_path / "r"), *flags
    )
    assert code == 2 and needle in err


def test_a_failing_rule_exits_1_and_writes_the_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mutant = GOOD.replace("  type: reference", "  type: mutant\n  mutant: ACC-02-unenrolled-allowed")
    path = write(tmp_path, mutant)
    code, out, _ = run_cli(
        capsys, "certify", str(path), "--out", str(tmp_path / "r"), "--run-name", "m", "--rule", "ACC-02"
    )
    assert code == 1
    assert "NOT CERTIFIED (only ACC-02): Vendor NAC 9.1" in out and "FAILED" in out
    assert "[cr-cisco]" in out or "[graph]" in out, "the failing run's profile is shown, not eaten as markup"
    result = json.loads((tmp_path / "r" / "m" / "result.json").read_text())
    assert result["plan"]["exit_code"] == 1
    assert [r["verdict"] for r in result["plan"]["rules"]] == ["FAILED"]


def test_a_passing_subset_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    code, out, _ = run_cli(
        capsys, "certify", str(path), "--out", str(tmp_path / "r"), "--run-name", "ok", "--rule", "RED-01"
    )
    assert code == 0
    assert "CERTIFIED (only RED-01): Vendor NAC 9.1" in out
    assert f"reports in {tmp_path / 'r' / 'ok'}/" in " ".join(out.split())


def test_demo_certifies_the_reference_nac_and_simulates_the_small_office(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # embedded defaults: nothing in the working folder
    code, out, _ = run_cli(capsys, "demo", "--out", str(tmp_path / "reports"))
    assert code == 0, out[-3000:]
    cert = json.loads((tmp_path / "reports" / "demo-certify" / "result.json").read_text())
    assert cert["plan"]["verdict"] == "PASSED"
    assert cert["plan"]["counts"]["rules"]["PASSED"] == 26
    sim = tmp_path / "reports" / "demo-small-office"
    assert {"results.json", "report.html"} <= {p.name for p in sim.iterdir()}
    flat = " ".join(out.split())
    assert "certification report:" in flat and "simulation report:" in flat


def test_demo_finds_its_statement_in_the_package_and_names_what_is_missing() -> None:
    from harness.cli.demo_cmd import find_file
    from harness.errors import HarnessFailure

    found = find_file("reference-nac.yaml", ["no-such-folder"], ("harness.conformance", "reference-nac.yaml"))
    assert found.read_text() == (ROOT / "examples" / "reference-nac.yaml").read_text()
    with pytest.raises(HarnessFailure, match="the demo's nothing.yaml is missing"):
        find_file("nothing.yaml", ["examples"], ("harness.conformance", "nothing.yaml"))
