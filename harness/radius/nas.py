"""The harness as a NAS (a Wi-Fi access point or VPN gateway) speaking RADIUS to a real NAC.

It sends Access-Requests for MAB (MAC authentication bypass) and PAP, with the attributes real
access points send: NAS-Port-Type Wireless-802.11 (Wi-Fi) or Virtual (VPN), Called-Station-Id
``AP-MAC:SSID``, Calling-Station-Id, Message-Authenticator, and accounting start / stop. EAP-TLS is
driven through ``eapol_test`` (:mod:`harness.radius.eap_tls`). Replies are checked (Response
Authenticator, Message-Authenticator) and interpreted by :mod:`harness.radius.replies`.

:class:`AsyncNas` keeps many requests in flight over one UDP socket for load runs.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from enum import StrEnum

from pyrad import packet as rp

from ..errors import InputError
from ..model import AccessDecision, AccessRequest, AccessType
from .dictionary import radius_dictionary
from .replies import RoleMap, interpret


class AuthMethod(StrEnum):
    MAB = "mab"
    PAP = "pap"
    EAP_TLS = "eap-tls"


def station_id(mac: str) -> str:
    """Calling-Station-Id as the device presents its MAC (any common format), checked to be a MAC.

    Access points differ in how they format it; normalising is the NAC's job (ACC-06), so the
    harness does not do it for the NAC.
    """
    dashed_mac(mac)
    return mac.strip()


def dashed_mac(mac: str) -> str:
    """``AABBCCDDEEFF`` → ``AA-BB-CC-DD-EE-FF`` (the IETF Calling-Station-Id format)."""
    raw = mac.replace(":", "").replace("-", "").replace(".", "").upper()
    if len(raw) != 12:
        raise InputError(f"not a MAC address: {mac!r}", where="Calling-Station-Id")
    return "-".join(raw[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True)
class NasConfig:
    """Where the NAC listens and how this NAS presents itself."""

    host: str = "127.0.0.1"
    auth_port: int = 1812
    acct_port: int = 1813
    secret: bytes = b"testing123"
    nas_identifier: str = "harness-ap"
    nas_ip: str = "127.0.0.1"
    timeout_s: float = 3.0
    retries: int = 2
    roles: RoleMap = RoleMap()
    require_message_authenticator: bool = False
    """Refuse replies without Message-Authenticator (BlastRADIUS hardening; FreeRADIUS < 3.2.5 omits it)."""


def build_access_request(
    cfg: NasConfig, request: AccessRequest, method: AuthMethod = AuthMethod.MAB, password: str | None = None
) -> rp.AuthPacket:
    """An Access-Request for ``request`` as an access point would send it."""
    pkt = rp.AuthPacket(code=rp.AccessRequest, secret=cfg.secret, dict=radius_dictionary())
    mac = station_id(request.mac)
    if method is AuthMethod.MAB:
        user = dashed_mac(mac).replace("-", "").lower()
        pkt["User-Name"] = user
        pkt["User-Password"] = pkt.PwCrypt(user)
        pkt["Service-Type"] = "Call-Check"
    elif method is AuthMethod.PAP:
        pkt["User-Name"] = request.device
        pkt["User-Password"] = pkt.PwCrypt(password or "")
        pkt["Service-Type"] = "Framed-User"
    else:
        raise InputError("EAP-TLS goes through eapol_test (harness.radius.eap_tls)", where="method")
    wifi = request.access_type is AccessType.WIFI
    pkt["NAS-Port-Type"] = "Wireless-802.11" if wifi else "Virtual"
    pkt["Calling-Station-Id"] = mac
    pkt["Called-Station-Id"] = f"02-00-00-00-00-01:{request.ssid}" if wifi else request.nas_id
    pkt["NAS-Identifier"] = request.nas_id or cfg.nas_identifier
    pkt["NAS-IP-Address"] = cfg.nas_ip
    pkt["Acct-Session-Id"] = request.session_id
    pkt.add_message_authenticator()
    return pkt


def decode_reply(request: rp.AuthPacket, data: bytes, require_ma: bool = False) -> rp.AuthPacket | None:
    """The verified reply to ``request``, or None when ``data`` is not a valid reply to it.

    A Message-Authenticator in the reply is always verified; ``require_ma`` also refuses replies
    without one.
    """
    try:
        reply = request.CreateReply(packet=data)
    except rp.PacketError:
        return None
    return reply if request.VerifyReply(reply, data, enforce_ma=require_ma) else None


def reply_attributes(reply: rp.Packet) -> dict[str, list[object]]:
    return {str(k): list(reply[k]) for k in reply.keys() if isinstance(k, str)}  # noqa: SIM118


class Nas:
    """A blocking NAS: one request at a time (conformance runs, examples)."""

    def __init__(self, cfg: NasConfig) -> None:
        self.cfg = cfg

    def authenticate(
        self, request: AccessRequest, method: AuthMethod = AuthMethod.MAB, password: str | None = None
    ) -> AccessDecision:
        pkt = build_access_request(self.cfg, request, method, password)
        raw = pkt.RequestPacket()
        started = time.perf_counter()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.cfg.timeout_s)
            for _attempt in range(self.cfg.retries + 1):
                sock.sendto(raw, (self.cfg.host, self.cfg.auth_port))
                try:
                    while True:
                        data, _ = sock.recvfrom(8192)
                        reply = decode_reply(pkt, data, self.cfg.require_message_authenticator)
                        if reply is not None:
                            return interpret(
                                reply.code,
                                reply_attributes(reply),
                                self.cfg.roles,
                                time.perf_counter() - started,
                            )
                except TimeoutError:
                    continue
        from ..errors import NacUnreachable

        raise NacUnreachable(
            f"no RADIUS answer from {self.cfg.host}:{self.cfg.auth_port} after {self.cfg.retries + 1} tries"
        )

    def accounting(self, request: AccessRequest, status: str) -> bool:
        """Send Accounting-Request Start / Stop; True when the NAC acknowledged it."""
        pkt = rp.AcctPacket(secret=self.cfg.secret, dict=radius_dictionary())
        pkt["Acct-Status-Type"] = status
        pkt["Acct-Session-Id"] = request.session_id
        pkt["Calling-Station-Id"] = dashed_mac(request.mac)
        pkt["NAS-Identifier"] = request.nas_id or self.cfg.nas_identifier
        pkt["NAS-IP-Address"] = self.cfg.nas_ip
        pkt["NAS-Port-Type"] = "Wireless-802.11" if request.access_type is AccessType.WIFI else "Virtual"
        raw = pkt.RequestPacket()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.cfg.timeout_s)
            sock.sendto(raw, (self.cfg.host, self.cfg.acct_port))
            try:
                data, _ = sock.recvfrom(8192)
            except TimeoutError:
                return False
        try:
            reply = pkt.CreateReply(packet=data)
        except rp.PacketError:
            return False
        return bool(pkt.VerifyReply(reply, data)) and reply.code == rp.AccountingResponse


class _Window(asyncio.DatagramProtocol):
    """Keeps up to ``in_flight`` requests outstanding on one socket; no task per request.

    Packet ids are handed out from a free list; a late reply to a reused id fails the Response
    Authenticator check of the new request and is ignored.
    """

    def __init__(self, nas: AsyncNas, packets: list[rp.AuthPacket], rate: float | None) -> None:
        self.cfg = nas.cfg
        self.in_flight = nas.in_flight
        self.packets = packets
        self.rate = rate
        self.results: list[AccessDecision | None] = [None] * len(packets)
        self.pending: dict[int, tuple[int, bytes, float, int, asyncio.TimerHandle]] = {}
        self.free = list(range(255, -1, -1))
        self.next_index = 0
        self.completed = 0
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.transport: asyncio.DatagramTransport | None = None
        self.started = self.loop.time()
        self._wake: asyncio.TimerHandle | None = None
        if not packets:
            self.done.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport in practice
        self.started = self.loop.time()
        self.fill()

    def fill(self) -> None:
        self._wake = None
        while self.next_index < len(self.packets) and len(self.pending) < self.in_flight and self.free:
            if self.rate is not None:
                due = self.started + self.next_index / self.rate
                if due > self.loop.time():
                    self._wake = self.loop.call_at(due, self.fill)
                    return
            index = self.next_index
            self.next_index += 1
            pid = self.free.pop()
            pkt = self.packets[index]
            pkt.id = pid
            self._send(pid, index, pkt.RequestPacket(), 0)

    def _send(self, pid: int, index: int, raw: bytes, attempt: int) -> None:
        assert self.transport is not None
        timer = self.loop.call_later(self.cfg.timeout_s, self._timeout, pid)
        self.pending[pid] = (index, raw, time.perf_counter(), attempt, timer)
        self.transport.sendto(raw)

    def _finish(self, pid: int, index: int, result: AccessDecision | None) -> None:
        del self.pending[pid]
        self.free.append(pid)
        self.results[index] = result
        self.completed += 1
        if self.completed == len(self.packets):
            if not self.done.done():
                self.done.set_result(None)
        elif self._wake is None:
            self.fill()

    def _timeout(self, pid: int) -> None:
        entry = self.pending.get(pid)
        if entry is None:
            return
        index, raw, _, attempt, _ = entry
        if attempt < self.cfg.retries:
            self._send(pid, index, raw, attempt + 1)
        else:
            self._finish(pid, index, None)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 20:
            return
        entry = self.pending.get(data[1])
        if entry is None:
            return
        index, _, sent_at, _, timer = entry
        reply = decode_reply(self.packets[index], data, self.cfg.require_message_authenticator)
        if reply is None:
            return
        timer.cancel()
        latency = time.perf_counter() - sent_at
        self._finish(data[1], index, interpret(reply.code, reply_attributes(reply), self.cfg.roles, latency))

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable: let timeouts decide
        return None


class AsyncNas:
    """Many Access-Requests in flight over one socket (packet ids 0–255 bound the window)."""

    def __init__(self, cfg: NasConfig, in_flight: int = 32) -> None:
        if not 1 <= in_flight <= 255:
            raise InputError("in_flight must be 1..255 (one RADIUS id space per socket)", where="in_flight")
        self.cfg = cfg
        self.in_flight = in_flight
        self.last_duration_s = 0.0
        """Wall time from the first send to the last answer of the latest :meth:`run`."""

    async def run(
        self, requests: list[AccessRequest], method: AuthMethod = AuthMethod.MAB, *, rate: float | None = None
    ) -> list[AccessDecision | None]:
        """Authenticate every request; None where no valid answer came within the timeouts.

        ``rate`` (requests per second) paces the starts; None sends as fast as the window allows.
        Packets are built before the first send, so ``last_duration_s`` measures the exchange only.
        """
        if rate is not None and rate <= 0:
            raise InputError("rate must be > 0 requests per second", where="rate")
        packets = [build_access_request(self.cfg, r, method) for r in requests]
        loop = asyncio.get_running_loop()
        transport, window = await loop.create_datagram_endpoint(
            lambda: _Window(self, packets, rate), remote_addr=(self.cfg.host, self.cfg.auth_port)
        )
        try:
            await window.done
        finally:
            transport.close()
        self.last_duration_s = loop.time() - window.started
        return window.results
