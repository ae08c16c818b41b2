"""Oracles of the redirection rules (RED-01 … RED-03)."""

from __future__ import annotations

from typing import Any

from ...model import Decision
from ..evidence import Evidence
from ..rules import Verdict
from .base import (
    DEFAULT_PORTAL_URL,
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


@oracle("RED-01")
def portal_url(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    advertised = [m.data["redirect_url"] for m in ev.marks_of("portal advertised")]
    cisco = ev.profile in ("cr-cisco", "legacy-cisco")
    want = advertised[-1] if advertised and cisco else DEFAULT_PORTAL_URL
    records = [r for r in _ds(ev.decisions, device) if r.truth.blocked]
    if (err := _need("RED-01", records, "blocked device") or _crashes("RED-01", records)) is not None:
        return err
    for r in records:
        d = r.decision
        if d is None or d.decision is Decision.MDM_UNREACHABLE:
            continue
        if d.decision.grants_access:
            continue
        if not d.redirect_url:
            return _fail("RED-01", f"{_fmt(r)}: a blocked device is left without a redirect to the portal")
        if d.redirect_url != want:
            return _fail("RED-01", f"{_fmt(r)}, not the portal the mock advertises ({want})")
    return _pass("RED-01", f"{len(records)} blocked decision(s) redirected to {want}")


@oracle("RED-02")
def reverify(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    visits = [m for m in ev.marks_of("portal visit") if device is None or m.device == device]
    if not visits:
        return OracleVerdict("RED-02", Verdict.HARNESS_ERROR, "no portal visit in the scenario")
    for v in visits:
        nxt = [r for r in ev.decisions if r.device == v.device and r.at >= v.at]
        if (
            err := _need("RED-02", nxt, "attempt after the portal visit") or _crashes("RED-02", nxt)
        ) is not None:
            return err
        r = nxt[0]
        asked = ev.exchanges_of(r)
        if r.truth.compliant and not r.granted:
            return _fail(
                "RED-02",
                f"{_fmt(r)} right after the portal re-evaluated it compliant at t={v.at:g}s"
                + ("" if asked else ": a cached 'noncompliant' served past the re-verification"),
            )
        if not r.truth.compliant and r.granted:
            return _fail("RED-02", f"{_fmt(r)} although the portal re-evaluated it noncompliant")
    return _pass("RED-02", f"{len(visits)} portal visit(s): the next attempt got a fresh answer")


@oracle("RED-03")
def enrollment_completes(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    ttl = float(_cap(ev, "cache_ttl_s", 60))
    done = [m for m in ev.marks_of("enrolled and evaluated") if device is None or m.device == device]
    if not done:
        return OracleVerdict(
            "RED-03", Verdict.HARNESS_ERROR, "no device completed enrollment in the scenario"
        )
    for m in done:
        after = [r for r in ev.decisions if r.device == m.device and r.at >= m.at]
        if (
            err := _need("RED-03", after, "attempt after enrollment") or _crashes("RED-03", after)
        ) is not None:
            return err
        for r in after:
            if r.at - m.at > ttl and not r.granted and r.truth.compliant:
                return _fail(
                    "RED-03",
                    f"{_fmt(r)}, {r.at - m.at:g} s after it enrolled and was evaluated compliant: beyond the "
                    f"declared cache lifetime of {ttl:g} s (cache_ttl_s)",
                )
        if not after[-1].granted:
            return _fail("RED-03", f"{_fmt(after[-1])}: an enrolled, compliant device never got access")
    return _pass("RED-03", f"access within the declared cache lifetime of {ttl:g} s after enrollment")
