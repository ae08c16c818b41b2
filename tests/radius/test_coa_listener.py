"""The CoA / Disconnect listener (RFC 5176) against good, malformed and hostile datagrams."""

from __future__ import annotations

import os
import struct

import pytest
from pyrad import packet as rp

from harness.model import CoaKind, CoaMessage
from harness.radius.coa_listener import CoaListener, Outcome, send_request
from harness.radius.dictionary import radius_dictionary

SECRET = b"coa-secret"
SESSIONS = {"AABBCCDDEEFF": "sess-1"}


def lookup(acct: str | None, mac: str | None, user: str | None) -> str | None:
    if acct == "sess-1":
        return "sess-1"
    return SESSIONS.get((mac or "").replace(":", "").replace("-", "").upper())


@pytest.fixture
def received() -> list[CoaMessage]:
    return []


@pytest.fixture
def listener(received: list[CoaMessage]) -> CoaListener:
    return CoaListener(secret=SECRET, lookup=lookup, on_message=received.append, clock=lambda: 42.0)


def request(kind: int = rp.DisconnectRequest, secret: bytes = SECRET, **attrs: object) -> bytes:
    pkt = rp.CoAPacket(code=kind, secret=secret, dict=radius_dictionary())
    for name, value in attrs.items():
        pkt[name.replace("_", "-")] = value
    return bytes(pkt.RequestPacket())


def decode_reply(raw: bytes) -> rp.CoAPacket:
    return rp.CoAPacket(secret=SECRET, dict=radius_dictionary(), packet=raw)


def test_a_valid_disconnect_is_acknowledged_and_reaches_the_oracles(listener, received):
    reply = listener.handle_datagram(request(Calling_Station_Id="AA-BB-CC-DD-EE-FF"), "peer")
    assert reply is not None and reply[0] == rp.DisconnectACK
    assert received == [
        CoaMessage(kind=CoaKind.DISCONNECT, session_id="sess-1", mac="AA-BB-CC-DD-EE-FF", at=42.0)
    ]


def test_a_coa_with_a_role_change_carries_the_new_role(listener, received):
    reply = listener.handle_datagram(
        request(rp.CoARequest, Acct_Session_Id="sess-1", Cisco_AVPair="url-redirect-acl=QUARANTINE"), "peer"
    )
    assert reply is not None and reply[0] == rp.CoAACK
    assert received[0].kind is CoaKind.COA and "QUARANTINE" in received[0].reason


def test_wrong_secret_is_dropped_silently_and_logged(listener, received):
    assert listener.handle_datagram(request(secret=b"other", Calling_Station_Id="AABBCCDDEEFF"), "p") is None
    assert received == []
    assert listener.entries[-1].outcome is Outcome.DROPPED
    assert "Authenticator" in listener.entries[-1].reason


def test_a_tampered_packet_fails_the_authenticator(listener):
    raw = bytearray(request(Calling_Station_Id="AABBCCDDEEFF"))
    raw[-1] ^= 0x01
    assert listener.handle_datagram(bytes(raw), "p") is None
    assert listener.entries[-1].outcome is Outcome.DROPPED


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x28\x01",
        b"\x28\x01\x00\x30" + b"\x00" * 16,  # declares 48 octets, carries 20
        b"\x28\x01\x00\x18" + b"\x00" * 16 + b"\x1f\x01\x00\x00",  # attribute length 1
        os.urandom(200),
    ],
    ids=["empty", "header-only", "length-beyond-data", "attribute-too-short", "random"],
)
def test_truncated_or_corrupt_datagrams_are_dropped(listener, data):
    assert listener.handle_datagram(data, "p") is None
    assert listener.entries[-1].outcome is Outcome.DROPPED


def test_an_unexpected_code_is_dropped(listener):
    raw = bytearray(request(Calling_Station_Id="AABBCCDDEEFF"))
    raw[0] = rp.AccessAccept
    assert listener.handle_datagram(bytes(raw), "p") is None
    assert "unexpected packet code" in listener.entries[-1].reason


def test_unknown_attributes_are_naked_with_unsupported_attribute(listener, received):
    pkt = rp.CoAPacket(code=rp.CoARequest, secret=SECRET, dict=radius_dictionary())
    pkt["Calling-Station-Id"] = "AABBCCDDEEFF"
    pkt[250] = [b"\x01\x02"]  # not in the dictionary
    reply = listener.handle_datagram(bytes(pkt.RequestPacket()), "p")
    assert reply is not None
    decoded = decode_reply(reply)
    assert decoded.code == rp.CoANAK and decoded["Error-Cause"] == ["Unsupported-Attribute"]
    assert received == []


def test_no_session_attribute_is_naked_with_missing_attribute(listener):
    reply = listener.handle_datagram(request(NAS_Identifier="ap-1"), "p")
    assert reply is not None
    assert decode_reply(reply)["Error-Cause"] == ["Missing-Attribute"]


def test_an_unknown_session_is_naked_with_session_context_not_found(listener):
    reply = listener.handle_datagram(request(Calling_Station_Id="001122334455"), "p")
    decoded = decode_reply(reply or b"")
    assert decoded.code == rp.DisconnectNAK and decoded["Error-Cause"] == ["Session-Context-Not-Found"]


def test_over_a_real_socket_hostile_traffic_does_not_stop_the_listener(received):
    with CoaListener(secret=SECRET, lookup=lookup, on_message=received.append) as listener:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x2b\x00\x00\x05junk", listener.address)
            s.sendto(struct.pack("!BBH", 43, 9, 20) + b"\x00" * 16, listener.address)
        reply = send_request(listener.address, SECRET, CoaKind.DISCONNECT, Calling_Station_Id="AABBCCDDEEFF")
        assert reply is not None and reply.code == rp.DisconnectACK
        assert [m.session_id for m in received] == ["sess-1"]
        outcomes = [e.outcome for e in listener.entries]
        assert outcomes.count(Outcome.DROPPED) == 2 and outcomes[-1] is Outcome.ACK
