"""``nac-harness simulate``: bad input exits 2 naming the problem; a real run writes its reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main

ROOT = Path(__file__).resolve().parent.parent.parent
SMALL_OFFICE = ROOT / "scenarios" / "small-office.yaml"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--workers", "0"], "--workers: must be >= 1, got 0"),
        (["--workers", "two"], "--workers: not a whole number: 'two'"),
        (["--seed", "x"], "--seed: invalid int value: 'x'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--cluster", "foo"], "--cluster: not a scheduler address: 'foo'"),
        (["--cluster", "tcp://127.0.0.1:x"], "--cluster: not a scheduler address"),
        (["--cluster", "ucx://127.0.0.1:1"], "--cluster: not a tcp:// or tls:// scheduler address"),
        (["--cluster", " "], "--cluster: empty cluster address"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], needle: str
) -> None:
    code, _, err = run_cli(capsys, "simulate", str(tmp_path / "s.yaml"), *flags)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_unreachable_cluster_exits_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    code, _, err = run_cli(
        capsys, "simulate", str(SMALL_OFFICE), "--cluster", address, "--out", str(tmp_path)
    )
    assert code == 2
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert "Traceback" not in err


def test_missing_scenario_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    code, _, err = run_cli(capsys, "simulate", str(missing))
    assert code == 2
    assert str(missing) in err and "no such scenario file" in err
    assert "Traceback" not in err


def test_invalid_scenario_names_file_field_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\n"
        "population:\n"
        "  size: 10\n"
        "  os_mix: {windows: 2.0}\n"
        "sites:\n"
        "  - name: hq\n"
        "    access_points: [{name: ap}]\n",
        encoding="utf-8",
    )
    code, _, err = run_cli(capsys, "simulate", str(bad), "--out", str(tmp_path / "r"))
    assert code == 2
    assert f"{bad}:4" in err
    assert "population.os_mix" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_bad_run_name_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(
        capsys,
        "simulate",
        str(ROOT / "scenarios" / "small-office.yaml"),
        "--run-name",
        "../escape",
        "--out",
        str(tmp_path),
    )
    assert code == 2
    assert "--run-name" in err and "../escape" in err


def test_small_office_end_to_end_is_deterministic_and_names_every_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from html.parser import HTMLParser

    code, out, err = run_cli(capsys, "simulate", str(SMALL_OFFICE), "--out", str(tmp_path), "--run-name", "a")
    assert code == 0, err
    for row in (
        "devices",
        "access granted",
        "redirected",
        "denied",
        "time to access p50 / p95 / p99",
        "remediations",
        "Intune calls",
        "throttled calls",
        "CoAs",
        "devices left without earned access",
    ):
        assert row in out
    code, _, err = run_cli(capsys, "simulate", str(SMALL_OFFICE), "--out", str(tmp_path), "--run-name", "b")
    assert code == 0, err
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "results.json").read_bytes() == (b / "results.json").read_bytes()
    doc = json.loads((a / "results.json").read_text(encoding="ascii"))
    assert doc["devices"] == 50 and sum(doc["access"].values()) == 50
    assert doc["decisions"]["redirected"] > 0 and doc["remediations"] > 0  # the office has work to do
    assert (a / "trace.csv.gz").read_bytes() == (b / "trace.csv.gz").read_bytes()
    code, _, err = run_cli(
        capsys, "simulate", str(SMALL_OFFICE), "--out", str(tmp_path), "--run-name", "c", "--seed", "43"
    )
    assert code == 0, err
    assert (a / "results.json").read_bytes() != (tmp_path / "c" / "results.json").read_bytes()

    class Paths(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.devices: dict[str, list[int]] = {}
            self.figures: list[str] = []
            self._cur: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            d = dict(attrs)
            if tag == "figure":
                self.figures.append(d.get("id") or "")
            if tag == "tr" and d.get("class") == "device-path":
                self._cur = d.get("data-device") or ""
                self.devices[self._cur] = []
            if tag == "li" and self._cur and d.get("data-step"):
                self.devices[self._cur].append(int(d["data-step"] or 0))

        def handle_endtag(self, tag: str) -> None:
            if tag == "tr":
                self._cur = None

    p = Paths()
    p.feed((a / "report.html").read_text(encoding="utf-8"))
    assert len(p.figures) == 4
    devices = {d for d in p.devices if d.startswith("dev-")}
    assert len(devices) == 50
    assert p.devices["nac"][:3] == [1, 2, 3]  # the NAC's onboarding: steps 1-3
    connected = [d for d in devices if p.devices[d][-1] == 9]
    assert connected and all(p.devices[d][0] == 4 for d in devices)
    assert any({6, 7} <= set(p.devices[d]) for d in devices)  # someone was redirected and re-verified


def test_cluster_flag_runs_the_shards_on_dask_with_the_same_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from distributed import LocalCluster

    code, _, err = run_cli(
        capsys, "simulate", str(SMALL_OFFICE), "--out", str(tmp_path), "--run-name", "pool", "--workers", "2"
    )
    assert code == 0, err
    with LocalCluster(
        n_workers=2,
        processes=False,
        threads_per_worker=1,
        dashboard_address=None,
        host="127.0.0.1",
        protocol="tcp",
    ) as cluster:
        code, out, err = run_cli(
            capsys,
            "simulate",
            str(SMALL_OFFICE),
            "--out",
            str(tmp_path),
            "--run-name",
            "dask",
            "--workers",
            "2",
            "--cluster",
            cluster.scheduler_address,
        )
    assert code == 0, err
    assert "dask" in out
    pool, dask = tmp_path / "pool" / "results.json", tmp_path / "dask" / "results.json"
    assert pool.read_bytes() == dask.read_bytes()
    html = (tmp_path / "dask" / "report.html").read_text(encoding="utf-8")
    assert "graph_requests" in html and cluster.scheduler_address in html
