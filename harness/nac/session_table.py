"""The reference NAC's table of allowed sessions (STA-03), kept compact for million-device runs.

A NAC must remember every connected, allowed session so it can send a CoA when the device turns
noncompliant. At load-test scale that is one entry per connected device, so an entry is one Python
``int`` (no object, no strings besides the session-id key, nothing for the garbage collector to
walk): the MAC's 48 bits, the Intune device id's 128 bits, the decision and how the identity relates
to them, packed. An entry that does not fit that shape (a MAC that does not normalise, an identity
that is neither the session's MAC nor its Intune id, a non-canonical id) is kept as a
:class:`Session` object instead, so nothing is ever lost or altered by packing.

Readers get :class:`Session` objects, decoded on demand (sweeps are rare; decisions are not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..model import Decision
from .identity import DeviceIdentity, IdentityKind

_CANONICAL_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CANONICAL_MAC = re.compile(r"[0-9A-F]{12}")
_DECISIONS = tuple(Decision)
_DECISION_CODE = {d: n for n, d in enumerate(_DECISIONS)}
_GRANTS = tuple(d.grants_access for d in _DECISIONS)

# packed layout, low bits first: decision (4) | identity kind (2) | has guid (1) | pad (1) | mac (48) | guid
_ID_NONE, _ID_GUID, _ID_MAC = 0, 1, 2
_HAS_GUID = 1 << 6
_MAC_SHIFT = 8
_GUID_SHIFT = 56
_MAC_MASK = (1 << 48) - 1


@dataclass(slots=True)
class Session:
    """An allowed session the NAC knows of (from its own decisions), for CoA (STA-03)."""

    session_id: str
    mac: str
    intune_id: str | None
    decision: Decision
    identity: DeviceIdentity | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The decision-cache keys this session's device may be cached under."""
        keys = [f"macaddress={self.mac}"]
        if self.intune_id:
            keys.append(f"guid={self.intune_id}")
        return tuple(keys)


Entry = int | Session
"""What the table stores per session id: a packed int, or the session itself when it does not pack."""


def pack(mac: str, intune_id: str | None, decision: Decision, identity: DeviceIdentity | None) -> int | None:
    """The packed form of a session, or None when it cannot be packed losslessly."""
    if len(mac) != 12 or _CANONICAL_MAC.fullmatch(mac) is None:
        return None
    value = (int(mac, 16) << _MAC_SHIFT) | _DECISION_CODE[decision]
    if intune_id is not None:
        if _CANONICAL_GUID.fullmatch(intune_id) is None:
            return None
        value |= _HAS_GUID | (int(intune_id.replace("-", ""), 16) << _GUID_SHIFT)
    if identity is None:
        return value
    if identity.kind is IdentityKind.GUID and identity.value == intune_id:
        return value | (_ID_GUID << 4)
    if identity.kind is IdentityKind.MAC and identity.value == mac:
        return value | (_ID_MAC << 4)
    return None


def unpack(session_id: str, value: int) -> Session:
    """The :class:`Session` a packed int stands for."""
    mac = f"{(value >> _MAC_SHIFT) & _MAC_MASK:012X}"
    intune_id: str | None = None
    if value & _HAS_GUID:
        h = f"{value >> _GUID_SHIFT:032x}"
        intune_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    kind = (value >> 4) & 3
    identity: DeviceIdentity | None = None
    if kind == _ID_GUID and intune_id is not None:
        identity = DeviceIdentity(IdentityKind.GUID, intune_id)
    elif kind == _ID_MAC:
        identity = DeviceIdentity(IdentityKind.MAC, mac)
    return Session(session_id, mac, intune_id, _DECISIONS[value & 15], identity)


class SessionTable:
    """``session id -> entry`` for allowed sessions; a dict-like view that hands out :class:`Session`."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def put(
        self,
        session_id: str,
        mac: str,
        intune_id: str | None,
        decision: Decision,
        identity: DeviceIdentity | None = None,
    ) -> None:
        """Remember (or replace) the session ``session_id``."""
        packed = pack(mac, intune_id, decision, identity)
        self._entries[session_id] = (
            Session(session_id, mac, intune_id, decision, identity) if packed is None else packed
        )

    def put_canonical(
        self, session_id: str, mac: int, intune_id: str | None, decision: Decision, by_guid: bool
    ) -> None:
        """:meth:`put` for a MAC given as its 48-bit number and a canonical ``intune_id`` (a
        lower-case hyphenated id), whose identity is the Intune id (``by_guid``) or the MAC: packed
        without validating again (the lean decision path's sessions)."""
        value = (mac << _MAC_SHIFT) | _DECISION_CODE[decision]
        if intune_id is not None:
            value |= _HAS_GUID | (int(intune_id.replace("-", ""), 16) << _GUID_SHIFT)
        self._entries[session_id] = value | ((_ID_GUID if by_guid else _ID_MAC) << 4)

    def update(self, session: Session) -> None:
        """Write back a change to ``session`` (a CoA's new decision), if the table still holds it.

        Decoded sessions are copies; this is what mutating the stored object used to be.
        """
        if session.session_id in self._entries:
            self.put(session.session_id, session.mac, session.intune_id, session.decision, session.identity)

    @staticmethod
    def decode(session_id: str, entry: Entry) -> Session:
        """The :class:`Session` an entry of :meth:`entries` stands for."""
        return entry if isinstance(entry, Session) else unpack(session_id, entry)

    def get(self, session_id: str) -> Session | None:
        """The session, decoded (a fresh object for a packed entry), or None."""
        entry = self._entries.get(session_id)
        if entry is None or isinstance(entry, Session):
            return entry
        return unpack(session_id, entry)

    def entry(self, session_id: str) -> Entry | None:
        """The stored entry itself: compare with ``is`` to tell whether a session was replaced."""
        return self._entries.get(session_id)

    def pop(self, session_id: str, default: None = None) -> Session | None:
        """Forget ``session_id``; the session it held, or None."""
        entry = self._entries.pop(session_id, default)
        if entry is None or isinstance(entry, Session):
            return entry
        return unpack(session_id, entry)

    def discard(self, session_id: str) -> None:
        """Forget ``session_id`` if present (no decoding)."""
        self._entries.pop(session_id, None)

    def entries(self) -> list[tuple[str, Entry]]:
        """A snapshot of ``(session id, entry)`` pairs."""
        return list(self._entries.items())

    def values(self) -> Iterator[Session]:
        """Every session, decoded (iterates a snapshot: safe while the table changes)."""
        for session_id, entry in self.entries():
            yield self.decode(session_id, entry)

    def allowed_matching(self, guids: set[str], macs: set[str]) -> list[Session]:
        """The sessions (in table order) whose decision grants access and whose Intune id is in
        ``guids`` or MAC in ``macs``: what a sweep CoAs. Packed entries are compared as ints, so only
        the matches are decoded (a sweep over a million sessions stays cheap)."""
        guid_ints = {int(g.replace("-", ""), 16) for g in guids if _CANONICAL_GUID.fullmatch(g)}
        mac_ints = {int(m, 16) for m in macs if _CANONICAL_MAC.fullmatch(m)}
        found: list[Session] = []
        for session_id, entry in self._entries.items():
            if isinstance(entry, Session):
                if entry.decision.grants_access and (
                    (entry.intune_id and entry.intune_id in guids) or entry.mac in macs
                ):
                    found.append(entry)
                continue
            if not _GRANTS[entry & 15]:
                continue
            if ((entry >> _MAC_SHIFT) & _MAC_MASK) in mac_ints or (
                entry & _HAS_GUID and (entry >> _GUID_SHIFT) in guid_ints
            ):
                found.append(unpack(session_id, entry))
        return found

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, session_id: str) -> Session:
        found = self.get(session_id)
        if found is None:
            raise KeyError(session_id)
        return found
