"""The transport seam of the bench: every exchange between the NAC and the mock is recorded here,
and the faults the mock cannot fake by itself (connection refused, 401, malformed bodies) are injected."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from .evidence import (
    Exchange,
    classify,
    query_of,
)
from .malformed import Malformation, malform

if TYPE_CHECKING:
    from .bench import Bench


@dataclass
class TapFault:
    """A fault the bench injects at the transport seam (what the mock cannot fake by itself)."""

    kind: str
    """``unreachable`` (connection refused) or ``malformed``."""
    kinds: frozenset[str]
    """Exchange kinds it applies to."""
    malformation: Malformation | None = None
    until: float | None = None

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


class TapTransport(httpx.BaseTransport):
    """The transport seam: records every exchange and injects the bench's own faults."""

    def __init__(self, inner: httpx.BaseTransport, bench: Bench) -> None:
        self.inner = inner
        self.bench = bench
        self.cpu_s = 0.0
        """CPU time spent inside the mock (subtracted from the NAC's own processing time)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        bench = self.bench
        started = time.thread_time()
        try:
            return self._handle(request, bench)
        finally:
            self.cpu_s += time.thread_time() - started

    def _handle(self, request: httpx.Request, bench: Bench) -> httpx.Response:
        url = str(request.url)
        query = query_of(url)
        kind = classify(request.url.path, query)
        auth = request.headers.get("Authorization", "")
        form: dict[str, str] = {}
        if request.method == "POST":
            body = request.read()
            form = dict(query_of("?" + body.decode("latin-1")))
        ex = Exchange(
            seq=len(bench.evidence.exchanges) + 1,
            at=float(bench.env.now),
            method=request.method,
            url=url,
            kind=kind,
            query=query,
            bearer=auth[7:] if auth.lower().startswith("bearer ") else "",
            form=form,
            decision=bench.current_decision,
        )
        bench.evidence.exchanges.append(ex)
        if bench.current_decision is not None:
            bench.evidence.decisions[bench.current_decision - 1].exchanges.append(ex.seq)
        fault = bench.tap_fault_for(kind)
        if fault is not None and fault.kind == "unauthorized":
            ex.fault = "unauthorized"
            ex.status = 401
            body = b'{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}'
            ex.body = body.decode()
            return httpx.Response(
                401, headers={"Content-Type": "application/json"}, content=body, request=request
            )
        if fault is not None and fault.kind == "unreachable":
            ex.fault = "unreachable"
            ex.error = "ConnectError"
            raise httpx.ConnectError(
                "connection refused (the bench made Intune unreachable)", request=request
            )
        t0 = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException as exc:
            ex.error = type(exc).__name__
            ex.fault = "timeout"
            ex.modelled_ms = self._injected_ms()
            raise
        finally:
            ex.wall_ms = (time.perf_counter() - t0) * 1000
        content = response.read()
        ex.status = response.status_code
        ex.response_headers = dict(response.headers)
        ex.modelled_ms = self._injected_ms()
        if fault is not None and fault.kind == "malformed" and fault.malformation is not None and ex.ok:
            content = malform(fault.malformation, content, response.headers.get("content-type", ""))
            ex.fault = f"malformed: {fault.malformation.value}"
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            response = httpx.Response(response.status_code, headers=headers, content=content, request=request)
        ex.body = content[:4000].decode("utf-8", "replace")
        return response

    def _injected_ms(self) -> float:
        inner = self.inner
        return float(getattr(inner, "last_injected_s", 0.0)) * 1000.0

    def close(self) -> None:
        self.inner.close()
