"""The reference NAC deployed behind FreeRADIUS, as a NAC under test of the conformance bench.

Name it in a capability statement with the ``python`` adapter::

    adapter:
      type: python
      target: harness.radius.bench_nac:FreeRadiusReferenceNac
      kwargs: {eap_method: eap-tls}          # add  mutant: <name>  for a misconfigured deployment

Every access request of a scenario then crosses real RADIUS: the bench's access point sends
EAP-TLS (``eapol_test`` with a device certificate holding the scenario's SAN URIs) or MAB to
FreeRADIUS 3.2, which asks the decision service over HTTP (rlm_rest), where the reference NAC —
or one of its mutants — asks the bench's in-process mock Intune through the bench's tapped
transport. CoA / Disconnect from the NAC's poll goes over UDP to the access point's RFC 5176
listener. One FreeRADIUS and one decision service serve every bench of the process, one at a time.
"""

from __future__ import annotations

import atexit
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
import simpy
from werkzeug.serving import BaseWSGIServer, make_server

from mock_intune.pki import CertificateAuthority

from ..errors import HarnessFailure
from ..model import AccessDecision, AccessRequest
from ..nac.base import CoaSink, NacUnderTest
from ..nac.radius_adapter import RadiusNac
from .decision_service import CoaTarget, DecisionService
from .freeradius import FreeRadius, FreeRadiusConfig
from .reference_nac import _QuietHandler

SECRET = "testing123"


class _Deployment:
    """FreeRADIUS + the decision service (virtual mode), shared by the benches of one process."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="freeradius-bench-"))
        self.ca = CertificateAuthority.create("Harness Device CA")
        self.env: simpy.Environment | None = None
        self.service = DecisionService(None, paced=False, clock=self._now)
        self.http: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.service.app(), threaded=True, request_handler=_QuietHandler
        )
        threading.Thread(target=self.http.serve_forever, name="bench-decisions", daemon=True).start()
        server = self.ca.issue("reference-nac.radius", san_dns=("localhost",), server=True)
        self.freeradius = FreeRadius(
            self.workdir,
            FreeRadiusConfig(
                decision_url=f"http://127.0.0.1:{self.http.server_port}",
                ca_pem=self.ca.cert_pem,
                server_cert_pem=server.cert_pem,
                server_key_pem=server.key_pem,
                secret=SECRET,
            ),
        )
        try:
            self.freeradius.start()
        except HarnessFailure:
            self.http.shutdown()
            raise

    def _now(self) -> float:
        return float(self.env.now) if self.env is not None else 0.0

    def stop(self) -> None:
        self.freeradius.stop()
        self.http.shutdown()
        self.http.server_close()


_deployment: _Deployment | None = None
_lock = threading.Lock()


def deployment() -> _Deployment:
    """The process's FreeRADIUS reference deployment, started on first use."""
    global _deployment
    with _lock:
        if _deployment is None:
            _deployment = _Deployment()
            atexit.register(_deployment.stop)
        return _deployment


class FreeRadiusReferenceNac(NacUnderTest):
    """The reference NAC (or a mutant) behind FreeRADIUS, reached by the bench over real RADIUS."""

    name = "freeradius-reference"

    def __init__(self, *, mutant: str | None = None, eap_method: str = "eap-tls", **overrides: Any) -> None:
        self.mutant = mutant
        self.eap_method = eap_method
        self.overrides = overrides
        self.inner: NacUnderTest | None = None
        self.radius: RadiusNac | None = None

    def attach_bench(self, *, transport: httpx.BaseTransport, settings: dict[str, Any]) -> None:
        """Build the NAC behind FreeRADIUS on the bench's transport and settings (the bench calls this)."""
        from ..nac.reference import ReferenceNac

        cls: type[Any] = ReferenceNac
        if self.mutant:
            from ..nac.mutants import mutant_class

            cls = mutant_class(self.mutant)
        self.inner = cls(transport=transport, **{**settings, **self.overrides})

    def start(self, env: simpy.Environment, coa_sink: CoaSink) -> None:
        if self.inner is None:
            raise HarnessFailure("FreeRadiusReferenceNac needs the bench: attach_bench() was not called")
        dep = deployment()
        self.radius = RadiusNac(
            host="127.0.0.1",
            secret=SECRET,
            auth_port=dep.freeradius.config.auth_port,
            acct_port=dep.freeradius.config.acct_port,
            coa_port=0,
            eap_method=self.eap_method,
            ca=dep.ca,
            direct_coa=True,
        )
        self.radius.start(env, coa_sink)
        dep.env = env
        dep.service.attach(self.inner, CoaTarget("127.0.0.1", self.radius.coa_address[1], SECRET.encode()))
        self.inner.start(env, dep.service.send_coa)

    def decide(self, request: AccessRequest) -> AccessDecision:
        if self.radius is None:
            raise HarnessFailure("FreeRadiusReferenceNac was not started")
        return self.radius.decide(request)

    def session_ended(self, session_id: str) -> None:
        if self.radius is not None:
            self.radius.session_ended(session_id)

    def stop(self) -> None:
        if self.radius is not None:
            self.radius.stop()
        if self.inner is not None:
            self.inner.stop()
