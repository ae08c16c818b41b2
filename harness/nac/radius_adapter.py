"""The RADIUS adapter: an external NAC under test, reached over real RADIUS with a CoA listener.

The harness plays the access points: EAP-TLS (``eapol_test``, a device certificate minted by the
harness CA with the device's SAN URIs) when the request carries a certificate and the NAC expects
EAP-TLS, MAB otherwise; accounting Start after an accepted authorisation and Stop when the session
ends. CoA / Disconnect requests from the NAC arrive on the harness's RFC 5176 listener and are fed
into the SimPy world as :class:`CoaMessage` events at the environment's current time.

Run it under ``simpy.rt.RealtimeEnvironment`` (the NAC lives in wall-clock time).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from typing import Any

import simpy

from ..model import AccessDecision, AccessRequest, CoaMessage, Decision
from ..radius.coa_listener import CoaListener
from ..radius.eap_tls import EapTlsClient
from ..radius.nas import Nas, NasConfig
from ..radius.replies import RoleMap
from .base import CoaSink, NacUnderTest, register_adapter


@register_adapter("radius")
class RadiusNac(NacUnderTest):
    """Drive an external NAC over RADIUS (MAB or EAP-TLS), listening for its CoA."""

    name = "radius"

    def __init__(
        self,
        *,
        host: str,
        secret: str,
        auth_port: int = 1812,
        acct_port: int = 1813,
        coa_port: int = 3799,
        eap_method: str = "eap-tls",
        ca: Any = None,
        timeout_s: float = 3.0,
        roles: RoleMap | None = None,
        coa_poll_s: float = 0.05,
        direct_coa: bool = False,
    ) -> None:
        self.cfg = NasConfig(
            host=host,
            auth_port=auth_port,
            acct_port=acct_port,
            secret=secret.encode(),
            timeout_s=timeout_s,
            roles=roles or RoleMap(),
        )
        self.nas = Nas(self.cfg)
        self.eap_method = str(eap_method)
        self.ca = ca
        self._eap: EapTlsClient | None = None
        self._certs: dict[tuple[str, ...], tuple[str, str]] = {}
        self._sessions: dict[str, AccessRequest] = {}
        self._lock = threading.Lock()
        self._inbox: queue.Queue[CoaMessage] = queue.Queue()
        self.coa_poll_s = coa_poll_s
        self.direct_coa = direct_coa
        """Deliver CoA straight from the listener thread (a virtual-time run, where the NAC's
        sender blocks until it is acknowledged) instead of through a polling SimPy process."""
        self.listener = CoaListener(
            secret=self.cfg.secret, lookup=self._lookup, on_message=self._on_listener_message, port=coa_port
        )
        self.env: simpy.Environment | None = None
        self._coa_sink: CoaSink | None = None

    # -- NacUnderTest ---------------------------------------------------------------------
    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        self.env = env
        self._coa_sink = coa_sink
        self.listener.start()
        if not self.direct_coa:
            env.process(self._deliver(env, coa_sink))

    def decide(self, request: AccessRequest) -> AccessDecision:
        if request.san_uris and self.eap_method == "eap-tls" and self.ca is not None:
            cert_pem, key_pem = self._device_cert(request)
            decision = self._eap_client().authenticate(request, cert_pem, key_pem)
        else:
            decision = self.nas.authenticate(request)
        if decision.decision is not Decision.DENY:
            with self._lock:
                self._sessions[request.session_id] = request
            self.nas.accounting(request, "Start")
        return decision

    def session_ended(self, session_id: str) -> None:
        with self._lock:
            request = self._sessions.pop(session_id, None)
        if request is not None:
            self.nas.accounting(request, "Stop")

    def stop(self) -> None:
        self.listener.stop()

    # -- internals -------------------------------------------------------------------------
    @property
    def coa_address(self) -> tuple[str, int]:
        return self.listener.address

    def _lookup(self, acct: str | None, mac: str | None, user: str | None) -> str | None:
        with self._lock:
            if acct and acct in self._sessions:
                return acct
            wanted = (mac or "").replace("-", "").replace(":", "").upper()
            for sid, req in self._sessions.items():
                if wanted and req.mac.replace("-", "").replace(":", "").upper() == wanted:
                    return sid
        return None

    def _on_listener_message(self, msg: CoaMessage) -> None:
        if self.direct_coa and self._coa_sink is not None and self.env is not None:
            self._coa_sink(self._stamped(msg, float(self.env.now)))
        else:
            self._inbox.put(msg)

    @staticmethod
    def _stamped(msg: CoaMessage, at: float) -> CoaMessage:
        return CoaMessage(kind=msg.kind, session_id=msg.session_id, mac=msg.mac, at=at, reason=msg.reason)

    def _deliver(self, env: simpy.Environment, coa_sink: CoaSink) -> Generator[simpy.Event, Any, None]:
        """Move CoA messages from the listener thread into the SimPy world, stamped with env.now."""
        while True:
            while not self._inbox.empty():
                coa_sink(self._stamped(self._inbox.get_nowait(), float(env.now)))
            yield env.timeout(self.coa_poll_s)

    def _eap_client(self) -> EapTlsClient:
        if self._eap is None:
            self._eap = EapTlsClient(self.cfg, self.ca.cert_pem)
        return self._eap

    def _device_cert(self, request: AccessRequest) -> tuple[str, str]:
        key = request.san_uris
        if key not in self._certs:
            issued = self.ca.issue(
                request.cert_subject_cn or request.device, san_uris=request.san_uris, client=True
            )
            self._certs[key] = (issued.cert_pem, issued.key_pem)
        return self._certs[key]
