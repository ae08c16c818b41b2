"""``nac-harness simulate``: bad input exits 2 naming the problem; a real run writes its reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main

ROOT = Path(__file__).resolve().parent.parent.parent


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
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], needle: str
) -> None:
    code, _, err = run_cli(capsys, "simulate", str(tmp_path / "s.yaml"), *flags)
    assert code == 2
    assert needle in err
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
