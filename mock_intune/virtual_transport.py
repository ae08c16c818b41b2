"""An httpx transport that lets a NAC client in SimPy virtual time feel the mock's injected faults.

In virtual-time mode (``MockConfig(sleep_latency=False)``) the mock does not sleep: it reports an
injected latency in ``X-Mock-Latency-Ms`` and an injected timeout as a 504 with
``X-Mock-Timeout: 1`` (see :mod:`mock_intune.faults`). :class:`VirtualTimeTransport` wraps
``httpx.WSGITransport(app=...)`` (or any transport) and

* raises ``httpx.ReadTimeout`` for an injected timeout, as a real client would see it;
* records how long the last call "took" in virtual time: ``last_injected_s`` (the injected latency,
  or the hang time of a timeout), so the SimPy process can ``yield env.timeout(...)`` for it;
* keeps running totals (``calls``, ``timeouts``, ``total_injected_s``) for reports.

A client with its own timeout shorter than the hang should wait ``min(own_timeout,
last_injected_s)`` of virtual time after a ``ReadTimeout``.
"""

from __future__ import annotations

from typing import Any

import httpx

from .faults import LATENCY_HEADER, TIMEOUT_HEADER


class VirtualTimeTransport(httpx.BaseTransport):
    """httpx transport to an in-process mock that turns injected faults into client-side effects."""

    def __init__(self, app: Any = None, *, transport: httpx.BaseTransport | None = None) -> None:
        if (app is None) == (transport is None):
            raise ValueError("give exactly one of app (a WSGI app) or transport")
        self._inner: httpx.BaseTransport = (
            transport if transport is not None else httpx.WSGITransport(app=app)
        )
        self.last_injected_s = 0.0
        self.last_timed_out = False
        self.calls = 0
        self.timeouts = 0
        self.total_injected_s = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self.calls += 1
        raw = response.headers.get(LATENCY_HEADER)
        try:
            injected = float(raw) / 1000.0 if raw else 0.0
        except ValueError:
            injected = 0.0
        self.last_injected_s = injected
        self.total_injected_s += injected
        self.last_timed_out = response.headers.get(TIMEOUT_HEADER) == "1"
        if self.last_timed_out:
            self.timeouts += 1
            response.close()
            raise httpx.ReadTimeout(f"the mock injected a timeout ({injected:g} s)", request=request)
        return response

    def close(self) -> None:
        self._inner.close()
