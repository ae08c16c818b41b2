"""The HTTP adapter: a NAC (or a vendor's shim in front of one) answering a JSON decision webhook.

Protocol: ``POST {url}`` with an :class:`AccessRequest` as JSON; the answer is an
:class:`AccessDecision` as JSON (``decision`` is one of the :class:`Decision` values). The
harness's own decision service (``harness.radius.decision_service``) speaks it at ``/decide``.
"""

from __future__ import annotations

import time

import httpx
import simpy

from ..errors import NacUnreachable
from ..model import AccessDecision, AccessRequest
from ..radius.decision_service import decision_from_json, request_to_json
from .base import CoaSink, NacUnderTest, register_adapter


@register_adapter("http")
class HttpNac(NacUnderTest):
    """Ask a JSON decision endpoint for every access request."""

    name = "http"

    def __init__(
        self, *, url: str, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url
        self.client = httpx.Client(timeout=timeout_s, transport=transport)

    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        """Nothing runs in the background: the webhook protocol has no CoA channel."""

    def decide(self, request: AccessRequest) -> AccessDecision:
        started = time.perf_counter()
        try:
            response = self.client.post(self.url, json=request_to_json(request))
        except httpx.HTTPError as exc:
            raise NacUnreachable(f"decision endpoint {self.url} did not answer: {exc}") from exc
        if response.status_code != 200:
            raise NacUnreachable(
                f"decision endpoint {self.url} answered {response.status_code}: {response.text[:200]}"
            )
        decision = decision_from_json(response.json())
        if not decision.latency_s:
            decision = AccessDecision(
                decision.decision, decision.redirect_url, decision.reason, time.perf_counter() - started,
                decision.intune_id, decision.role, decision.attributes,
            )  # fmt: skip
        return decision

    def stop(self) -> None:
        self.client.close()
