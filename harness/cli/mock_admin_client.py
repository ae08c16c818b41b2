"""The mock's admin API as a client for the CLI: connection settings and one-line errors.

:func:`client_for` resolves ``--url`` / ``--admin-token`` / ``--ca-file`` from flags, then
``MOCK_INTUNE_URL`` / ``MOCK_INTUNE_ADMIN_TOKEN`` / ``MOCK_INTUNE_CA_FILE``, then the state directory
of ``nac-harness mock serve``. :class:`AdminClient` turns every transport or HTTP failure into an
:class:`InputError` or :class:`HarnessFailure` that names what went wrong.
"""

from __future__ import annotations

import argparse
import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mock_intune.config import DEFAULT_ADMIN_TOKEN
from mock_intune.errors import HarnessFailure, InputError

DEFAULT_URL = "https://127.0.0.1:8443"
DEFAULT_STATE_DIR = ".state/mock-intune"


def make_transport() -> httpx.BaseTransport | None:
    """The httpx transport the admin client uses (None: the network). Tests swap in a WSGI transport."""
    return None


class AdminClient:
    """A small client of the mock's admin API that turns every failure into a one-line error."""

    def __init__(self, url: str, token: str, ca_file: str | None, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        try:
            parts = urlsplit(self.url)
            ok = parts.scheme in ("https", "http") and bool(parts.hostname) and " " not in self.url
            _ = parts.port  # raises ValueError for a port that is not 0..65535
        except ValueError:
            ok = False
        if not ok:
            raise InputError(f"want an http(s)://host[:port] URL, got {url!r}", where="--url")
        verify: Any = True
        if ca_file:
            if not Path(ca_file).is_file():
                raise InputError(f"no such file: {ca_file}", where="--ca-file")
            try:
                verify = ssl.create_default_context(cafile=ca_file)
            except (ssl.SSLError, OSError) as exc:
                raise InputError(f"not a usable PEM CA file ({exc})", where="--ca-file") from None
        transport = make_transport()
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=timeout,
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            reason = str(exc) or type(exc).__name__
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                raise HarnessFailure(
                    f"TLS verification of {self.url} failed; pass the mock's CA with --ca-file"
                ) from None
            raise HarnessFailure(f"cannot reach the mock at {self.url}: {reason}") from None
        except httpx.HTTPError as exc:
            raise HarnessFailure(f"request to {self.url}{path} failed: {exc or type(exc).__name__}") from None
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:200] or resp.reason_phrase
            if resp.status_code == 401:
                raise InputError(f"the mock refused the admin token: {message}", where="--admin-token")
            raise InputError(f"{resp.status_code} {message}", where=f"{method} {path}")
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise HarnessFailure(f"{self.url}{path} did not answer JSON (is --url a mock Intune?)") from None


def client_for(args: argparse.Namespace) -> AdminClient:
    """An admin client from flags, then ``MOCK_INTUNE_*`` variables, then the state directory."""
    state_dir = Path(args.state_dir or os.environ.get("MOCK_INTUNE_STATE_DIR") or DEFAULT_STATE_DIR)
    url = args.url or os.environ.get("MOCK_INTUNE_URL") or DEFAULT_URL
    token = args.admin_token or os.environ.get("MOCK_INTUNE_ADMIN_TOKEN") or DEFAULT_ADMIN_TOKEN
    ca_file = args.ca_file or os.environ.get("MOCK_INTUNE_CA_FILE")
    if not ca_file and (state_dir / "ca.pem").is_file():
        ca_file = str(state_dir / "ca.pem")
    return AdminClient(url, token, ca_file)
