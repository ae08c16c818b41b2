"""Scenario files: the shipped ones load; every error names the file, the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario, parse_clock, parse_duration, shipped_scenarios
from harness.sim.timing import DistKind, Timing

GOOD = """\
name: t
seed: 3
population:
  size: 10
sites:
  - name: hq
    access_points:
      - name: ap
        count: 2
timings:
  association: {dist: lognormal, median: 1s, sigma: 0.5}
  reconnect: 5s
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scn.yaml"
    p.write_text(text)
    return p


def error(tmp_path: Path, text: str) -> ScenarioError:
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    err = info.value
    assert err.file == str(p)
    assert str(p) in str(err)
    return err


def test_shipped_scenarios_load() -> None:
    found = shipped_scenarios()
    for name in (
        "small-office",
        "campus-morning",
        "byod-onboarding",
        "intune-outage",
        "compliance-drift",
        "million-devices",
    ):
        assert name in found
        sc = load_scenario(found[name])
        assert sc.name == name
    assert load_scenario(found["small-office"]).population.size == 50
    assert load_scenario(found["campus-morning"]).population.size == 50_000
    campus = load_scenario(found["campus-morning"])
    assert (campus.arrival.start, campus.arrival.end) == (8 * 3600, 10 * 3600)
    assert load_scenario(found["million-devices"]).population.size == 1_000_000
    assert load_scenario(found["intune-outage"]).faults


def test_good_scenario_parses_durations_and_shorthands(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, GOOD))
    timings = sc.timings.build()
    assert timings[Timing.ASSOCIATION].kind is DistKind.LOGNORMAL
    assert timings[Timing.RECONNECT].kind is DistKind.FIXED and timings[Timing.RECONNECT].a == 5.0


def test_missing_field_names_file_field_and_line(tmp_path: Path) -> None:
    err = error(
        tmp_path,
        GOOD.replace("  size: 10\n", "  os_mix: {windows: 1, macos: 0, ios: 0, android: 0, linux: 0}\n"),
    )
    assert err.field == "population.size"
    assert err.line == 3  # the `population:` key that lacks it
    assert "missing" in err.message


def test_wrong_type_names_the_line_of_the_value(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("size: 10", "size: ten"))
    assert err.field == "population.size"
    assert err.line == 4
    assert "integer" in err.message


def test_unknown_field_is_an_error_at_its_own_line(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("        count: 2\n", "        count: 2\n        colour: blue\n"))
    assert err.field == "sites.0.access_points.0.colour"
    assert err.line == 10
    assert "unknown field" in err.message


def test_bad_distribution_kind(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("dist: lognormal", "dist: weibull"))
    assert err.field == "timings.association.dist"
    assert err.line == 11
    assert "lognormal" in err.message


def test_distribution_missing_a_parameter(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace(", sigma: 0.5", ""))
    assert err.field == "timings.association"
    assert err.line == 11
    assert "sigma" in err.message


def test_distribution_with_a_foreign_parameter(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("sigma: 0.5", "sigma: 0.5, mean: 3"))
    assert "mean" in err.message and err.line == 11


def test_bad_duration_and_shares(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("reconnect: 5s", "reconnect: soon"))
    assert err.field.startswith("timings.reconnect") and err.line == 12 and "duration" in err.message
    err = error(tmp_path, GOOD + "vpn_share: 1.5\n")
    assert err.field == "vpn_share" and err.line == 13
    mix = "  os_mix: {windows: 0.5, macos: 0.1, ios: 0.1, android: 0.1, linux: 0.1}\n"
    err = error(tmp_path, GOOD.replace("  size: 10\n", "  size: 10\n" + mix))
    assert err.field == "population.os_mix" and err.line == 5 and "sum to 1" in err.message


def test_not_yaml_not_a_mapping_and_no_file(tmp_path: Path) -> None:
    err = error(tmp_path, "name: [unclosed\n")
    assert "YAML" in err.message and err.line is not None
    err = error(tmp_path, "- just\n- a list\n")
    assert "mapping" in err.message
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.yaml")


def test_faults_are_validated(tmp_path: Path) -> None:
    text = GOOD + "faults:\n  - {surface: cr_cisco, kind: latency, start: '09:00'}\n"
    err = error(tmp_path, text)
    assert err.field == "faults.0" and err.line == 14 and "latency" in err.message
    err = error(tmp_path, GOOD + "faults:\n  - {surface: nowhere, kind: outage}\n")
    assert err.field == "faults.0.surface" and err.line == 14


def test_duration_and_clock_parsing() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == 0.25
    assert parse_duration(12) == 12.0
    assert parse_clock("08:30") == 8.5 * 3600
    assert parse_clock("25:00") == 25 * 3600
    for bad in ("", "5 minutes", True, -1, "1x"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_clock("08:75")
