"""The reference NAC's compact session table: packing never loses or alters a session."""

from __future__ import annotations

from harness.model import Decision
from harness.nac.identity import DeviceIdentity, IdentityKind
from harness.nac.session_table import Session, SessionTable, pack

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
MAC = "0050569A0001"


def test_a_certificate_session_packs_into_one_int_and_decodes_the_same() -> None:
    table = SessionTable()
    identity = DeviceIdentity(IdentityKind.GUID, GUID)
    table.put("ap-1/7/1", MAC, GUID, Decision.ALLOW, identity)
    assert isinstance(table.entry("ap-1/7/1"), int)
    assert table.get("ap-1/7/1") == Session("ap-1/7/1", MAC, GUID, Decision.ALLOW, identity)


def test_mac_identity_and_no_identity_pack_too() -> None:
    table = SessionTable()
    table.put("s1", MAC, None, Decision.ALLOW, DeviceIdentity(IdentityKind.MAC, MAC))
    table.put("s2", "02AABBCCDDEE", None, Decision.ALLOW, None)
    table.put("s3", MAC, GUID, Decision.ALLOW, DeviceIdentity(IdentityKind.MAC, MAC))
    assert all(isinstance(table.entry(s), int) for s in ("s1", "s2", "s3"))
    assert table["s1"] == Session("s1", MAC, None, Decision.ALLOW, DeviceIdentity(IdentityKind.MAC, MAC))
    assert table["s2"] == Session("s2", "02AABBCCDDEE", None, Decision.ALLOW, None)
    assert table["s3"].intune_id == GUID and table["s3"].identity == DeviceIdentity(IdentityKind.MAC, MAC)


def test_what_does_not_pack_is_kept_as_a_session_object() -> None:
    odd = [
        ("raw", "not-a-mac", None, None),  # a MAC that did not normalise
        ("upper", MAC, GUID.upper(), None),  # a non-canonical Intune id
        ("other", MAC, None, DeviceIdentity(IdentityKind.MAC, "0050569A0002")),  # identity is not the MAC
    ]
    table = SessionTable()
    for sid, mac, guid, identity in odd:
        assert pack(mac, guid, Decision.ALLOW, identity) is None
        table.put(sid, mac, guid, Decision.ALLOW, identity)
        assert table.get(sid) == Session(sid, mac, guid, Decision.ALLOW, identity)
        assert isinstance(table.entry(sid), Session)


def test_update_writes_back_a_coa_only_while_the_session_is_held() -> None:
    table = SessionTable()
    table.put("s", MAC, GUID, Decision.ALLOW, None)
    session = table["s"]
    session.decision = Decision.REMEDIATE_REDIRECT
    assert table["s"].decision is Decision.ALLOW  # decoded sessions are copies
    table.update(session)
    assert table["s"].decision is Decision.REMEDIATE_REDIRECT
    table.discard("s")
    table.update(session)
    assert "s" not in table and len(table) == 0 and table.pop("s") is None


def test_values_is_a_snapshot() -> None:
    table = SessionTable()
    for n in range(5):
        table.put(f"s{n}", f"0050569A000{n}", None, Decision.ALLOW, None)
    seen = []
    for session in table.values():
        table.discard(session.session_id)
        seen.append(session.mac)
    assert seen == [f"0050569A000{n}" for n in range(5)] and len(table) == 0


def test_allowed_matching_is_the_plain_filter_in_table_order() -> None:
    table = SessionTable()
    sessions = [
        Session("a", MAC, GUID, Decision.ALLOW, DeviceIdentity(IdentityKind.GUID, GUID)),
        Session("b", "0050569A0002", None, Decision.ALLOW, None),
        Session("c", "0050569A0003", None, Decision.REMEDIATE_REDIRECT, None),  # not allowed
        Session("d", "raw mac", None, Decision.ALLOW, None),  # kept as an object
        Session("e", "0050569A0005", GUID.replace("0f8f", "1f8f"), Decision.ALLOW, None),
    ]
    for s in sessions:
        table.put(s.session_id, s.mac, s.intune_id, s.decision, s.identity)
    guids = {GUID, GUID.upper(), "junk"}
    macs = {"0050569A0002", "0050569A0003", "raw mac", "0050569a0005"}
    plain = [
        s
        for s in sessions
        if s.decision.grants_access and ((s.intune_id and s.intune_id in guids) or s.mac in macs)
    ]
    assert table.allowed_matching(guids, macs) == plain
    assert [s.session_id for s in plain] == ["a", "b", "d"]
