"""Load over RADIUS: a scenario's devices against the FreeRADIUS reference NAC, judged by true state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError, NacUnreachable
from harness.model import Decision
from harness.radius.freeradius import free_udp_port
from harness.radius.load import expected_decisions
from harness.radius.reference_nac import ReferenceRadiusNac, ReferenceRadiusSettings
from harness.radius.simulate import RadiusLoadOptions, run_radius_load, write_result
from harness.scenario import parse_scenario
from mock_intune.model import ComplianceState, Device

pytestmark = [pytest.mark.radius, pytest.mark.served]

SMALL_OFFICE = Path(__file__).resolve().parents[2] / "scenarios" / "small-office.yaml"


def scenario_for(options: dict) -> object:
    data = yaml.safe_load(SMALL_OFFICE.read_text())
    data["name"] = "radius-load"
    data["population"]["size"] = 300
    data["nac"] = {"adapter": "radius", "options": options}
    return parse_scenario(yaml.safe_dump(data), "radius-load.yaml")


@pytest.fixture(scope="module")
def reference(served_mock, tmp_path_factory) -> Iterator[dict]:
    settings = ReferenceRadiusSettings(
        mock_url=served_mock.base_url, mock_ca_file=served_mock.ca_file, tenant_id=served_mock.tenant_id,
        client_id=served_mock.client_id, client_secret=served_mock.client_secret,
        state_dir=str(tmp_path_factory.mktemp("ref-load")), coa_port=free_udp_port(), cache_ttl_s=0.0,
        polling_interval_s=0.0,
    )  # fmt: skip
    with ReferenceRadiusNac(settings) as running:
        yield running.info()


def test_every_device_gets_the_decision_its_true_state_calls_for(served_mock, reference, tmp_path):
    scenario = scenario_for(
        {"host": "127.0.0.1", "auth_port": reference["auth_port"], "secret": reference["secret"],
         "in_flight": 16, "rate": 400, "mock_url": served_mock.base_url, "mock_ca_file": served_mock.ca_file,
         "admin_token": served_mock.admin_token}
    )  # fmt: skip
    result = run_radius_load(scenario)  # type: ignore[arg-type]
    assert result.sent == result.answered == 300
    assert result.accuracy == 1.0, result.wrong[:5]
    assert result.decisions["allow"] > 100 and result.decisions["enroll_redirect"] > 0
    assert result.duration_s >= 299 / 400  # paced at the configured rate
    assert 0 < result.percentile_ms(0.5) <= result.percentile_ms(0.99)
    written = write_result(result, scenario, tmp_path)  # type: ignore[arg-type]
    assert '"accuracy": 1.0' in written.read_text()


def test_a_radius_server_that_never_answers_is_reported(served_mock, tmp_path):
    scenario = scenario_for(
        {"auth_port": free_udp_port(), "devices": 3, "mock_url": served_mock.base_url, "timeout": 0.2,
         "retries": 0, "mock_ca_file": served_mock.ca_file, "admin_token": served_mock.admin_token}
    )  # fmt: skip
    with pytest.raises(NacUnreachable, match="no RADIUS answer"):
        run_radius_load(scenario)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "field"),
    [({"in_flight": 999, "mock_url": "https://x"}, "in_flight"), ({}, "mock_url"),
     ({"mock_url": "https://x", "speed": 3}, "speed"), ({"mock_url": "https://x", "rate": "fast"}, "rate"),
     ({"mock_url": "https://x", "retries": -1}, "retries")],
)  # fmt: skip
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError, match=field):
        RadiusLoadOptions.from_scenario(scenario_for(options))  # type: ignore[arg-type]


def test_expected_decisions_follow_the_rules():
    def dev(state: ComplianceState, managed: bool = True) -> Device:
        return Device(intune_id="i", azure_ad_device_id="e", managed=managed, compliance_state=state)

    assert expected_decisions(dev(ComplianceState.COMPLIANT), "001122334455") == {Decision.ALLOW}
    assert expected_decisions(dev(ComplianceState.NONCOMPLIANT), "001122334455") == {
        Decision.REMEDIATE_REDIRECT
    }
    assert Decision.ALLOW not in expected_decisions(dev(ComplianceState.UNKNOWN), "001122334455")
    assert expected_decisions(None, "001122334455") == {Decision.ENROLL_REDIRECT}
    assert Decision.ALLOW not in expected_decisions(
        dev(ComplianceState.COMPLIANT), "02AABBCCDDEE"
    )  # randomised


def test_simulate_cli_runs_a_radius_scenario(served_mock, reference, tmp_path, capsys):
    from harness.cli.main import main

    data = yaml.safe_load(SMALL_OFFICE.read_text())
    data["name"] = "radius-cli"
    data["nac"] = {
        "adapter": "radius",
        "options": {"auth_port": reference["auth_port"], "secret": reference["secret"], "mock_url": served_mock.base_url,
                    "mock_ca_file": served_mock.ca_file, "admin_token": served_mock.admin_token},
    }  # fmt: skip
    path = tmp_path / "radius-cli.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["simulate", str(path), "--out", str(tmp_path / "reports"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "authentications/s" in out and "100.00%" in out
    assert (tmp_path / "reports" / "radius-cli" / "radius-load.json").exists()
    assert main(["simulate", str(path), "--out", str(tmp_path / "r2"), "--workers", "2"]) == 2
