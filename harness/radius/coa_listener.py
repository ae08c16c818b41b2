"""The NAS side of RFC 5176: receive CoA-Request / Disconnect-Request, validate, answer ACK or NAK.

Packets that fail validation never reach the oracles and never crash the listener:

* truncated or corrupt packets, unknown codes, a wrong secret / bad Request Authenticator or a bad
  Message-Authenticator are **dropped** (RFC 5176 §3: silently discarded) and logged;
* a valid request with attributes the NAS does not support is **NAKed** with Error-Cause 401;
* one that names no session is NAKed with 402 (Missing-Attribute), an unknown session with 503
  (Session-Context-Not-Found).

Accepted requests become :class:`harness.model.CoaMessage` events for the oracles.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pyrad import packet as rp

from ..model import CoaKind, CoaMessage
from .dictionary import radius_dictionary

log = logging.getLogger(__name__)

# RFC 5176 Error-Cause values the listener sends.
UNSUPPORTED_ATTRIBUTE = 401
MISSING_ATTRIBUTE = 402
SESSION_CONTEXT_NOT_FOUND = 503

# Attributes a NAS accepts in a CoA / Disconnect request (RFC 5176 §3 and vendor role attributes).
_SUPPORTED = {
    "User-Name", "NAS-IP-Address", "NAS-Identifier", "Calling-Station-Id", "Called-Station-Id",
    "Acct-Session-Id", "Framed-IP-Address", "Filter-Id", "Session-Timeout", "Reply-Message",
    "State", "Class", "Event-Timestamp", "Message-Authenticator", "Proxy-State", "Service-Type",
    "NAS-Port", "NAS-Port-Id", "Cisco-AVPair", "Aruba-User-Role", "Termination-Action", "Idle-Timeout",
}  # fmt: skip


class Outcome(StrEnum):
    ACK = "ack"
    NAK = "nak"
    DROPPED = "dropped"


@dataclass(frozen=True)
class ListenerEntry:
    """One datagram the listener handled: what it was and what was done with it."""

    at: float
    peer: str
    outcome: Outcome
    reason: str
    code: int | None = None
    error_cause: int | None = None


SessionLookup = Callable[[str | None, str | None, str | None], str | None]
"""(Acct-Session-Id, Calling-Station-Id, User-Name) → the session id the NAS holds, or None."""


@dataclass
class CoaListener:
    """A CoA / Disconnect listener on a UDP socket (loopback, port 0 by default)."""

    secret: bytes
    lookup: SessionLookup
    on_message: Callable[[CoaMessage], None]
    clock: Callable[[], float] = time.monotonic
    host: str = "127.0.0.1"
    port: int = 0
    entries: list[ListenerEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: socketserver.UDPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the pure part: one datagram in, maybe one datagram out --------------------------
    def handle_datagram(self, data: bytes, peer: str = "") -> bytes | None:
        """Validate one datagram and return the reply to send (None: drop)."""
        try:
            return self._handle(data, peer)
        except Exception as exc:  # noqa: BLE001 - hostile input must never kill the listener
            return self._drop(peer, f"undecodable packet: {exc}", None)

    def _handle(self, data: bytes, peer: str) -> bytes | None:
        if len(data) < 20:
            return self._drop(peer, f"truncated packet ({len(data)} octets)", None)
        code = data[0]
        if code not in (rp.CoARequest, rp.DisconnectRequest):
            return self._drop(peer, f"unexpected packet code {code}", code)
        try:
            pkt = rp.CoAPacket(secret=self.secret, dict=radius_dictionary(), packet=data)
        except rp.PacketError as exc:
            return self._drop(peer, f"malformed packet: {exc}", code)
        if not pkt.VerifyCoARequest():
            return self._drop(peer, "bad Request Authenticator (wrong secret?)", code)
        if pkt.message_authenticator and not pkt.verify_message_authenticator():
            return self._drop(peer, "bad Message-Authenticator", code)
        kind = CoaKind.DISCONNECT if code == rp.DisconnectRequest else CoaKind.COA
        names = pkt.keys()  # noqa: SIM118 - pyrad's keys() decodes attribute names
        unknown = [k for k in names if not isinstance(k, str) or k not in _SUPPORTED]
        if unknown:
            return self._nak(pkt, peer, UNSUPPORTED_ATTRIBUTE, f"unsupported attributes {unknown}")
        acct = _first(pkt, "Acct-Session-Id")
        mac = _first(pkt, "Calling-Station-Id")
        user = _first(pkt, "User-Name")
        if not (acct or mac or user):
            return self._nak(pkt, peer, MISSING_ATTRIBUTE, "no session identification attribute")
        session = self.lookup(acct, mac, user)
        if session is None:
            return self._nak(pkt, peer, SESSION_CONTEXT_NOT_FOUND, f"no session for {acct or mac or user}")
        reason = "; ".join(
            str(v) for key in ("Cisco-AVPair", "Filter-Id", "Aruba-User-Role") for v in pkt.get(key, [])
        )
        self.on_message(
            CoaMessage(kind=kind, session_id=session, mac=mac or "", at=self.clock(), reason=reason)
        )
        reply = pkt.CreateReply()
        self._record(peer, Outcome.ACK, f"{kind.value} for session {session}", code)
        return bytes(reply.ReplyPacket())

    def _nak(self, pkt: rp.CoAPacket, peer: str, cause: int, reason: str) -> bytes:
        reply = pkt.CreateReply()
        reply.code = rp.DisconnectNAK if pkt.code == rp.DisconnectRequest else rp.CoANAK
        reply["Error-Cause"] = cause
        self._record(peer, Outcome.NAK, reason, pkt.code, cause)
        return bytes(reply.ReplyPacket())

    def _drop(self, peer: str, reason: str, code: int | None) -> bytes | None:
        """Log a discarded datagram; the reply is always None (nothing is sent)."""
        self._record(peer, Outcome.DROPPED, reason, code)
        return None

    def _record(
        self, peer: str, outcome: Outcome, reason: str, code: int | None, cause: int | None = None
    ) -> None:
        entry = ListenerEntry(
            at=self.clock(), peer=peer, outcome=outcome, reason=reason, code=code, error_cause=cause
        )
        with self._lock:
            self.entries.append(entry)
        level = logging.INFO if outcome is Outcome.ACK else logging.WARNING
        log.log(level, "CoA listener: %s from %s: %s", outcome.value, peer or "?", reason)

    # -- the socket ------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("listener is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> CoaListener:
        listener = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = listener.handle_datagram(data, f"{self.client_address[0]}:{self.client_address[1]}")
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        self._server = socketserver.UDPServer((self.host, self.port), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="coa-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> CoaListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _first(pkt: rp.Packet, name: str) -> str | None:
    values = pkt.get(name) or []
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def send_request(
    address: tuple[str, int],
    secret: bytes,
    kind: CoaKind,
    attributes: dict[str, object] | None = None,
    *,
    timeout: float = 2.0,
    **more: object,
) -> rp.CoAPacket | None:
    """Send one CoA / Disconnect request (the NAC side; used by the FreeRADIUS reference NAC and tests).

    Returns the decoded reply, or None when nothing came back within ``timeout``.
    """
    code = rp.DisconnectRequest if kind is CoaKind.DISCONNECT else rp.CoARequest
    pkt = rp.CoAPacket(code=code, secret=secret, dict=radius_dictionary())
    for name, value in {**(attributes or {}), **more}.items():
        pkt[name.replace("_", "-")] = value
    raw = pkt.RequestPacket()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(raw, address)
        try:
            data, _ = sock.recvfrom(4096)
        except TimeoutError:
            return None
    reply = pkt.CreateReply(packet=data)
    if not pkt.VerifyReply(reply, data):
        return None
    return reply
