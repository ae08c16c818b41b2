"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_intune.serve import ServedMock


@pytest.fixture(scope="session")
def served_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    """The mock served by gunicorn over HTTPS on 127.0.0.1, port 0, with its generated CA (one per session).

    ``served_mock.info`` holds base_url, ca_file, tenant_id, client_id, client_secret,
    client_cert_file / client_key_file, admin_token. Clients must trust ``ca_file``: set
    SSL_CERT_FILE / REQUESTS_CA_BUNDLE with monkeypatch or pass ``verify=served_mock.ca_file``.
    """
    with ServedMock(tmp_path_factory.mktemp("served-mock"), workers=2) as served:
        yield served
