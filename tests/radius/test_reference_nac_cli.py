"""``nac-harness reference-nac start|status|stop`` against the served mock."""

from __future__ import annotations

import json
import re

import pytest

from harness.cli.main import main
from harness.model import AccessRequest, AccessType, Decision
from harness.radius.nas import Nas, NasConfig

pytestmark = [pytest.mark.radius, pytest.mark.served]


def test_start_answers_radius_then_stop_ends_it(served_mock, tmp_path, capsys):
    state = str(tmp_path / "ref")
    args = ["reference-nac", "start", "--mock-url", served_mock.base_url, "--mock-ca-file", served_mock.ca_file,
            "--tenant-id", served_mock.tenant_id, "--client-id", served_mock.client_id,
            "--client-secret", served_mock.client_secret or "", "--state-dir", state, "--coa-port", "0"]  # fmt: skip
    try:
        assert main(args) == 0
        out = capsys.readouterr().out
        auth_port = int(re.search(r"auth port\s+(\d+)", out).group(1))  # type: ignore[union-attr]
        assert main(["reference-nac", "status", "--state-dir", state]) == 0
        assert json.loads(capsys.readouterr().out)["auth_port"] == auth_port
        request = AccessRequest("d", "cli-1", AccessType.WIFI, "AD00000000F1", "ap-1", "corp")
        decision = Nas(NasConfig(auth_port=auth_port)).authenticate(request)
        assert decision.decision is Decision.ENROLL_REDIRECT  # an unknown MAC: enroll
    finally:
        assert main(["reference-nac", "stop", "--state-dir", state]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["reference-nac", "status", "--state-dir", state]) == 1


def test_missing_mock_ca_is_a_clear_error(tmp_path, capsys):
    code = main(
        ["reference-nac", "start", "--mock-url", "https://127.0.0.1:1", "--mock-state-dir", str(tmp_path)]
    )
    assert code == 2
    assert "--mock-ca-file" in capsys.readouterr().err


def test_a_bad_port_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reference-nac", "start", "--mock-url", "https://x", "--auth-port", "70000"])
    assert exc.value.code == 2
    assert "port must be 0..65535" in capsys.readouterr().err
