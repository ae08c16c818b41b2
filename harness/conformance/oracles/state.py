"""Oracles of the state rules (STA-01 … STA-06)."""

from __future__ import annotations

from typing import Any

from ..evidence import Evidence
from ..rules import Verdict
from .base import (
    OracleVerdict,
    _cap,
    _crashes,
    _ds,
    _fail,
    _fmt,
    _need,
    _pass,
    oracle,
)


@oracle("STA-01")
def no_return_to_unknown(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    accepted = [m for m in ev.marks_of("return to Unknown accepted") if device is None or m.device == device]
    if accepted:
        return OracleVerdict(
            "STA-01",
            Verdict.HARNESS_ERROR,
            f"the mock let {accepted[0].device} return to Unknown (a mock defect)",
        )
    records = _ds(ev.decisions, device)
    if (err := _need("STA-01", records, "synced device") or _crashes("STA-01", records)) is not None:
        return err
    for r in records:
        if r.truth.state == "unknown":
            return OracleVerdict(
                "STA-01", Verdict.HARNESS_ERROR, f"the mock reported {r.device} Unknown after evaluation"
            )
        if r.truth.compliant and not r.granted:
            return _fail(
                "STA-01",
                f"{_fmt(r)} although it syncs with Intune and is Compliant: the NAC treated an evaluated device as "
                "Unknown / not synced",
            )
    refused = len(ev.marks_of("return to Unknown refused"))
    return _pass(
        "STA-01", f"the mock refused {refused} return(s) to Unknown; the NAC kept the evaluated state"
    )


@oracle("STA-02")
def unknown_only_new(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    records = _ds(ev.decisions, device)
    if (err := _need("STA-02", records, "newly enrolled device") or _crashes("STA-02", records)) is not None:
        return err
    evaluated_at: dict[str, float] = {}
    for m in ev.marks:
        if (
            m.what in ("checked in", "enrolled and evaluated", "turned compliant", "turned noncompliant")
            and m.device
        ):
            evaluated_at.setdefault(m.device, m.at)
    for r in records:
        t = evaluated_at.get(r.device)
        if t is not None and r.at >= t and r.truth.state == "unknown":
            return OracleVerdict(
                "STA-02", Verdict.HARNESS_ERROR, f"the mock reported {r.device} Unknown after evaluation"
            )
        if t is not None and r.at >= t and r.truth.compliant and not r.granted:
            return _fail(
                "STA-02",
                f"{_fmt(r)} after Intune evaluated it Compliant at t={t:g}s: the NAC still treats it as a new, "
                "Unknown device",
            )
    return _pass("STA-02", "Unknown only before the first evaluation; access followed the evaluation")


@oracle("STA-03")
def change_while_connected(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    interval = float(_cap(ev, "polling_interval_s", 14400))
    coa = bool(_cap(ev, "coa_support", True))
    changes = [m for m in ev.marks_of("turned noncompliant") if device is None or m.device == device]
    if not changes:
        return OracleVerdict("STA-03", Verdict.HARNESS_ERROR, "no device turned noncompliant while connected")
    for m in changes:
        sessions = {
            r.request.session_id for r in ev.decisions if r.device == m.device and r.at <= m.at and r.granted
        }
        if not sessions:
            return OracleVerdict(
                "STA-03", Verdict.HARNESS_ERROR, f"{m.device} was not connected when it changed"
            )
        acted = [c for c in ev.coas if c.message.session_id in sessions and c.at >= m.at]
        if coa:
            if not acted:
                return _fail(
                    "STA-03",
                    f"{m.device} turned noncompliant at t={m.at:g}s while connected and the NAC sent no CoA / "
                    f"Disconnect (declared polling interval {interval:g} s, until t={ev.now:g}s)",
                )
            late = acted[0].at - m.at
            if late > interval:
                return _fail(
                    "STA-03",
                    f"the NAC sent its CoA for {m.device} {late:g} s after it turned noncompliant, later than its "
                    f"declared polling interval of {interval:g} s (polling_interval_s)",
                )
    for m in [m for m in ev.marks_of("turned compliant") if device is None or m.device == device]:
        nxt = [r for r in ev.decisions if r.device == m.device and r.at >= m.at]
        if nxt and not nxt[0].granted:
            return _fail("STA-03", f"{_fmt(nxt[0])} on its next attempt after it turned compliant again")
    return _pass(
        "STA-03",
        f"access removed within the declared polling interval of {interval:g} s; restored on the next attempt",
    )


def _state_rule(rule: str, ev: Evidence, device: str | None, what: str) -> OracleVerdict:
    records = _ds(ev.decisions, device)
    if (err := _need(rule, records, what) or _crashes(rule, records)) is not None:
        return err
    for r in records:
        if r.truth.managed and not r.truth.compliant and r.granted:
            return _fail(
                rule, f"{_fmt(r)} while Intune reports it {r.truth.state or 'not compliant'} ({what})"
            )
        if r.truth.managed and r.truth.compliant and not r.granted:
            return _fail(rule, f"{_fmt(r)} while Intune reports it {r.truth.state} ({what})")
    return _pass(rule, f"{len(records)} decision(s) agreed with Intune ({what})")


@oracle("STA-04")
def validity_period(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    return _state_rule("STA-04", ev, device, "a device past the validity period is noncompliant")


@oracle("STA-05")
def no_policy(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    return _state_rule("STA-05", ev, device, "the tenant's 'no compliance policy assigned' setting")


@oracle("STA-06")
def grace_period(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    v = _state_rule("STA-06", ev, device, "inGracePeriod keeps access until the grace period ends")
    if v.verdict is Verdict.PASSED and not any(
        r.truth.state == "inGracePeriod" for r in _ds(ev.decisions, device)
    ):
        return OracleVerdict(
            "STA-06", Verdict.HARNESS_ERROR, "no decision was made while the device was in grace"
        )
    return v
