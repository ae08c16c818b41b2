"""The reference NAC's decision service: FreeRADIUS (rlm_rest) asks it, it asks the NAC under the seam.

Endpoints:

* ``POST /freeradius/authorize``: FreeRADIUS's JSON attribute map in, reply attributes out —
  200 with ``Filter-Id`` / ``Cisco-AVPair`` (``url-redirect``, ``url-redirect-acl``) /
  ``Aruba-User-Role`` for access or a redirect, 401 with ``Reply-Message`` for a reject (rlm_rest
  turns 401 into Access-Reject). "MDM unreachable" is the restricted role ``MDM_UNREACHABLE``
  (no corporate access) with the reason in ``Reply-Message``.
* ``POST /freeradius/accounting``: Start / Stop keep the table of connected sessions, which is
  where CoA / Disconnect messages are sent when compliance changes.
* ``POST /decide``: the generic JSON decision webhook (an :class:`AccessRequest` in, an
  :class:`AccessDecision` out) — the protocol of the harness's HTTP adapter.
* ``GET /health``.

Bad requests get a 400 naming the field; they never reach the NAC.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from ..errors import HarnessFailure, InputError
from ..model import AccessDecision, AccessRequest, AccessType, CoaKind, CoaMessage, Decision
from ..nac.base import NacUnderTest
from .coa_listener import send_request
from .nas import dashed_mac, station_id
from .wallclock import WallPacedEnvironment

log = logging.getLogger(__name__)

# OpenSSL prints the SAN as "URI:a, URI:b, DNS:c"; a URI may itself hold commas (the SID tag does).
_SAN_URI = re.compile(r"URI:(.*?)(?=, (?:URI|DNS|email|IP Address|othername|DirName|Registered ID):|$)")

ROLE_NAMES: dict[Decision, str] = {
    Decision.ALLOW: "CORP",
    Decision.ENROLL_REDIRECT: "ENROLL",
    Decision.REMEDIATE_REDIRECT: "QUARANTINE",
    Decision.DENY: "DENY",
    Decision.MDM_UNREACHABLE: "MDM_UNREACHABLE",
}


@dataclass(frozen=True)
class CoaTarget:
    """Where the NAS listens for CoA / Disconnect (RFC 5176, port 3799 by convention)."""

    host: str
    port: int
    secret: bytes


@dataclass
class Session:
    session_id: str
    mac: str
    device: str


@dataclass
class SessionTable:
    """Connected sessions, from accounting and from accepted authorisations."""

    by_id: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, session: Session) -> None:
        with self.lock:
            self.by_id[session.session_id] = session

    def remove(self, session_id: str) -> None:
        with self.lock:
            self.by_id.pop(session_id, None)

    def get(self, session_id: str) -> Session | None:
        with self.lock:
            return self.by_id.get(session_id)


def _values(body: dict[str, Any], name: str) -> list[str]:
    entry = body.get(name)
    if entry is None:
        return []
    values = entry.get("value", []) if isinstance(entry, dict) else entry
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values]


def _first(body: dict[str, Any], name: str, default: str = "") -> str:
    values = _values(body, name)
    return values[0] if values else default


def request_from_freeradius(body: Any, at: float) -> AccessRequest:
    """Build an :class:`AccessRequest` from rlm_rest's JSON attribute map."""
    if not isinstance(body, dict):
        raise InputError("request body must be a JSON object of RADIUS attributes", where="body")
    mac_raw = _first(body, "Calling-Station-Id")
    if not mac_raw:
        raise InputError("missing attribute", where="Calling-Station-Id")
    mac = station_id(mac_raw)  # as the NAS sent it: normalising is the NAC's own job (ACC-06)
    port_type = _first(body, "NAS-Port-Type", "Wireless-802.11")
    access = AccessType.VPN if port_type in ("Virtual", "5") else AccessType.WIFI
    called = _first(body, "Called-Station-Id")
    ssid = called.split(":", 1)[1] if ":" in called else ""
    sans = tuple(
        uri
        for text in _values(body, "TLS-Client-Cert-X509v3-Subject-Alternative-Name")
        for uri in _SAN_URI.findall(text)
    )
    session = _first(body, "Acct-Session-Id") or f"{mac}:{_first(body, 'NAS-Identifier')}"
    return AccessRequest(
        device=_first(body, "User-Name", mac),
        session_id=session,
        access_type=access,
        mac=mac,
        nas_id=_first(body, "NAS-Identifier", _first(body, "NAS-IP-Address")),
        ssid=ssid,
        san_uris=sans,
        cert_subject_cn=_first(body, "TLS-Client-Cert-Common-Name"),
        at=at,
    )


def reply_for(decision: AccessDecision) -> tuple[dict[str, Any], int]:
    """rlm_rest reply attributes and HTTP status for a decision (401 makes FreeRADIUS reject)."""
    role = ROLE_NAMES[decision.decision]
    if decision.decision is Decision.ALLOW:
        return {"reply:Filter-Id": role, "reply:Aruba-User-Role": role}, 200
    if decision.decision.is_redirect:
        avpairs = [f"url-redirect-acl={role}"]
        if decision.redirect_url:
            avpairs.insert(0, f"url-redirect={decision.redirect_url}")
        return {"reply:Cisco-AVPair": avpairs, "reply:Filter-Id": role, "reply:Aruba-User-Role": role}, 200
    message = (f"{role}: {decision.reason}" if decision.reason else role)[:250]
    if decision.decision is Decision.MDM_UNREACHABLE:
        # Fail closed but say why: a restricted role (no corporate access), as ISE policies on
        # MDMServerReachable do; an Access-Reject after EAP would lose the reason.
        return {"reply:Filter-Id": role, "reply:Aruba-User-Role": role, "reply:Reply-Message": message}, 200
    return {"reply:Reply-Message": message}, 401


def decision_to_json(decision: AccessDecision) -> dict[str, Any]:
    out = asdict(decision)
    out["decision"] = decision.decision.value
    return out


def decision_from_json(data: Any) -> AccessDecision:
    if not isinstance(data, dict) or "decision" not in data:
        raise InputError("not a decision object (want at least 'decision')", where="body")
    try:
        return AccessDecision(
            decision=Decision(data["decision"]),
            redirect_url=data.get("redirect_url"),
            reason=str(data.get("reason", "")),
            latency_s=float(data.get("latency_s", 0.0)),
            intune_id=data.get("intune_id"),
            role=str(data.get("role", "")),
            attributes=dict(data.get("attributes") or {}),
        )
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc), where="decision") from exc


def request_to_json(req: AccessRequest) -> dict[str, Any]:
    out = asdict(req)
    out["access_type"] = req.access_type.value
    out["san_uris"] = list(req.san_uris)
    return out


def request_from_json(data: Any) -> AccessRequest:
    if not isinstance(data, dict):
        raise InputError("request body must be a JSON object", where="body")
    try:
        return AccessRequest(
            device=str(data["device"]),
            session_id=str(data["session_id"]),
            access_type=AccessType(data.get("access_type", "wifi")),
            mac=str(data["mac"]),
            nas_id=str(data.get("nas_id", "")),
            ssid=str(data.get("ssid", "")),
            san_uris=tuple(str(u) for u in data.get("san_uris", ())),
            cert_subject_cn=str(data.get("cert_subject_cn", "")),
            at=float(data.get("at", 0.0)),
        )
    except KeyError as exc:
        raise InputError("missing field", where=str(exc.args[0])) from exc
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc), where="request") from exc


class DecisionService:
    """A NAC under the seam, exposed to FreeRADIUS and the HTTP adapter.

    Wall-paced (``paced=True``, a deployment): the service owns a SimPy environment advanced to the
    scaled wall time and starts the NAC in it; CoA goes out on a background thread. Virtual
    (``paced=False``, the conformance bench): whoever owns the NAC's environment starts it and
    drives time; the caller blocks while a request is decided, and CoA is sent synchronously so it
    reaches the access point at the NAC's ``env.now``.
    """

    def __init__(
        self,
        nac: NacUnderTest | None,
        *,
        factor: float = 1.0,
        coa: CoaTarget | None = None,
        paced: bool = True,
        clock: Any = None,
    ) -> None:
        self.nac = nac
        self.coa = coa
        self.sessions = SessionTable()
        self.paced: WallPacedEnvironment | None = WallPacedEnvironment(factor) if paced else None
        self.clock = clock
        self.coa_log: list[tuple[CoaMessage, str]] = []
        if self.paced is not None:
            paced_env = self.paced
            if nac is not None:
                paced_env.call(lambda: nac.start(paced_env.env, self.send_coa))
            paced_env.start()

    def attach(self, nac: NacUnderTest, coa: CoaTarget | None) -> None:
        """Serve another NAC (virtual mode: one bench after another behind one FreeRADIUS)."""
        self.nac = nac
        self.coa = coa
        self.sessions = SessionTable()

    def now(self) -> float:
        if self.paced is not None:
            return self.paced.virtual_now()
        return float(self.clock()) if self.clock is not None else 0.0

    def decide(self, req: AccessRequest) -> AccessDecision:
        if self.nac is None:
            raise HarnessFailure("the decision service has no NAC attached")
        if self.paced is not None:
            # Bring the NAC's clock up to now, then decide without holding the environment's
            # lock: deciding waits on Intune over the network and must not serialise requests.
            self.paced.advance()
        decision = self.nac.decide(req)
        if decision.decision is not Decision.DENY:
            self.sessions.add(Session(req.session_id, req.mac, req.device))
        return decision

    def send_coa(self, message: CoaMessage) -> None:
        """The NAC's CoA sink: send RFC 5176 CoA / Disconnect to the NAS holding the session."""
        if self.coa is None:
            self.coa_log.append((message, "no CoA target configured"))
            return
        session = self.sessions.get(message.session_id)
        attrs: dict[str, object] = {"Acct_Session_Id": message.session_id}
        mac = message.mac or (session.mac if session else "")
        if mac:
            attrs["Calling_Station_Id"] = dashed_mac(mac)
        if message.kind is CoaKind.COA:
            attrs["Cisco_AVPair"] = (
                f"url-redirect-acl={ROLE_NAMES.get(message.decision or Decision.REMEDIATE_REDIRECT)}"
            )

        def send() -> None:
            assert self.coa is not None
            reply = send_request((self.coa.host, self.coa.port), self.coa.secret, message.kind, attrs)
            outcome = "no answer" if reply is None else f"code {reply.code}"
            self.coa_log.append((message, outcome))
            log.info("CoA %s for %s: %s", message.kind.value, message.session_id, outcome)

        if self.paced is None:
            send()
        else:
            # Never block a wall-paced NAC's SimPy process on the network.
            threading.Thread(target=send, daemon=True).start()

    def stop(self) -> None:
        if self.paced is not None:
            self.paced.stop()
        if self.nac is not None:
            self.nac.stop()

    def app(self) -> Flask:
        app = Flask("reference_nac_decisions")

        @app.errorhandler(InputError)
        def _bad(exc: InputError) -> tuple[Response, int]:
            return jsonify({"error": str(exc)}), 400

        @app.errorhandler(400)
        def _bad_json(exc: Exception) -> tuple[Response, int]:
            return jsonify({"error": "request body is not valid JSON"}), 400

        @app.get("/health")
        def health() -> Response:
            name = self.nac.name if self.nac is not None else None
            return jsonify({"status": "ok", "nac": name, "sessions": len(self.sessions.by_id)})

        @app.post("/freeradius/authorize")
        def authorize() -> tuple[Response, int]:
            req = request_from_freeradius(request.get_json(force=True), self.now())
            body, status = reply_for(self.decide(req))
            return jsonify(body), status

        @app.post("/freeradius/accounting")
        def accounting() -> tuple[str, int]:
            body = request.get_json(force=True)
            if not isinstance(body, dict):
                raise InputError("request body must be a JSON object of RADIUS attributes", where="body")
            status = _first(body, "Acct-Status-Type")
            session_id = _first(body, "Acct-Session-Id")
            if not session_id:
                raise InputError("missing attribute", where="Acct-Session-Id")
            if status == "Stop":
                self.sessions.remove(session_id)
                if self.nac is not None:
                    self.nac.session_ended(session_id)
            elif status == "Start":
                mac = station_id(_first(body, "Calling-Station-Id", "00-00-00-00-00-00"))
                self.sessions.add(Session(session_id, mac, _first(body, "User-Name", mac)))
            return "", 204

        @app.post("/decide")
        def decide() -> Response:
            return jsonify(decision_to_json(self.decide(request_from_json(request.get_json(force=True)))))

        return app
