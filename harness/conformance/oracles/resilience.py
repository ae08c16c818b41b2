"""Oracles of the resilience rules (RES-01 … RES-05)."""

from __future__ import annotations

import json
import re
from typing import Any

from ...model import Decision
from ..evidence import (
    Evidence,
    Kind,
)
from ..rules import Verdict
from .base import (
    BACKOFF_GROWTH,
    BROAD_INTERVAL_S,
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


@oracle("RES-01")
def fail_closed(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    fail_open = bool(_cap(ev, "fail_open", False))
    records = [
        r
        for r in _ds(ev.decisions, device)
        if any(x.fault or (x.status or 0) >= 500 or x.error for x in ev.exchanges_of(r))
    ]
    if (
        err := _need("RES-01", records, "decision while Intune failed") or _crashes("RES-01", records)
    ) is not None:
        return err
    for r in records:
        if r.granted:
            if fail_open:
                return OracleVerdict(
                    "RES-01",
                    Verdict.WARNING,
                    f"{_fmt(r)} while Intune was failing: a declared deviation (fail_open: true)",
                )
            return _fail(
                "RES-01",
                f"{_fmt(r)} while Intune was unreachable / failing: the NAC failed open without declaring it "
                "(fail_open: false)",
            )
        if r.decision is not None and r.decision.decision is not Decision.MDM_UNREACHABLE:
            return _fail(
                "RES-01", f"{_fmt(r)}: an Intune failure must surface as 'MDM unreachable', distinctly"
            )
    return _pass("RES-01", f"{len(records)} decision(s) during the failure: MDM unreachable, nothing granted")


@oracle("RES-02")
def broad_query_limit(ev: Evidence, **_: Any) -> OracleVerdict:
    broad = [
        x
        for x in ev.exchanges
        if x.kind in (Kind.BROAD_QUERY, Kind.GRAPH_LIST) and x.query.get("paging", "0") in ("0", "")
    ]
    starts = [x for x in broad if "$skiptoken" not in x.query]
    ok = [x for x in starts if x.ok]
    for a in ok:
        again = [b for b in starts if b.seq > a.seq and b.at - a.at < BROAD_INTERVAL_S]
        if again:
            b = again[0]
            return _fail(
                "RES-02",
                f"the NAC ran the 'all noncompliant devices' query at t={a.at:g}s and again at t={b.at:g}s, "
                f"{b.at - a.at:g} s apart (at most once per 4 hours; {len(starts)} broad queries in "
                f"{ev.now / 3600:g} h)",
            )
    for x in starts:
        if x.status == 503:
            ra = x.header("Retry-After")
            wait = float(ra) if ra and ra.replace(".", "", 1).isdigit() else 60.0
            nxt = [y for y in starts if y.seq > x.seq]
            if nxt and nxt[0].at - x.at < wait:
                return _fail(
                    "RES-02",
                    f"after a 503 at t={x.at:g}s (Retry-After {wait:g} s) the NAC asked again at t={nxt[0].at:g}s: "
                    f"a retry storm, not a back-off ({sum(1 for y in starts if y.status == 503)} × 503)",
                )
    return _pass("RES-02", f"{len(ok)} broad query(ies), at least 4 h apart; 503s answered with back-off")


@oracle("RES-03")
def retry_after(ev: Evidence, **_: Any) -> OracleVerdict:
    graph = [x for x in ev.exchanges if x.kind in (Kind.GRAPH_DEVICE, Kind.GRAPH_LIST)]
    throttled = [x for x in graph if x.status == 429]
    if not throttled:
        return OracleVerdict("RES-03", Verdict.HARNESS_ERROR, "Graph never answered 429")
    prev_gap = 0.0
    for x in throttled:
        ra = x.header("Retry-After")
        nxt = next((y for y in graph if y.seq > x.seq), None)
        if nxt is None:
            continue
        gap = nxt.at - x.at
        if ra is not None:
            if gap < float(ra):
                return _fail(
                    "RES-03",
                    f"Graph answered 429 with Retry-After: {ra} at t={x.at:g}s and the NAC asked again after "
                    f"{gap:g} s at t={nxt.at:g}s",
                )
        else:
            # exponential: each wait at least 1.5 × the one before (attempts arrive on whole seconds)
            if gap <= 0 or (prev_gap > 0 and gap < BACKOFF_GROWTH * prev_gap):
                return _fail(
                    "RES-03",
                    f"after a 429 without Retry-After at t={x.at:g}s the NAC retried after {gap:g} s "
                    f"(previous wait {prev_gap:g} s): no exponential back-off",
                )
            prev_gap = gap
    for r in ev.decisions:
        if r.crashed:
            return _fail("RES-03", f"the NAC crashed on a 429: {r.crashed}")
    return _pass("RES-03", f"{len(throttled)} × 429: the NAC waited at least Retry-After (or backed off)")


@oracle("RES-04")
def paging(ev: Evidence, **_: Any) -> OracleVerdict:

    pages = [x for x in ev.exchanges if x.kind in (Kind.BROAD_QUERY, Kind.GRAPH_LIST) and x.ok]
    if not pages:
        return OracleVerdict("RES-04", Verdict.HARNESS_ERROR, "the NAC never listed the noncompliant devices")
    for x in pages:
        nxt_cursor = None
        if x.kind == Kind.BROAD_QUERY:
            m = re.search(r"<paging_info>\s*([^<\s]+)\s*</paging_info>", x.body)
            if m and m.group(1) not in ("0", ""):
                nxt_cursor = m.group(1)
            followed = nxt_cursor is None or any(
                y.seq > x.seq and y.query.get("paging") == nxt_cursor for y in pages
            )
        else:
            try:
                link = json.loads(x.body).get("@odata.nextLink") if x.body.lstrip().startswith("{") else None
            except ValueError:
                link = None
            nxt_cursor = link
            followed = link is None or any(y.seq > x.seq and y.url == link for y in ev.exchanges)
        if not followed:
            return _fail(
                "RES-04",
                f"the noncompliant list answered at t={x.at:g}s had more pages (next: {str(nxt_cursor)[:80]}) and "
                "the NAC did not follow them",
            )
    listed = ev.marks_of("turned noncompliant")
    missed = []
    for mark in listed:
        sessions = {
            r.request.session_id
            for r in ev.decisions
            if r.device == mark.device and r.granted and r.at <= mark.at
        }
        if sessions and not any(c.message.session_id in sessions for c in ev.coas):
            missed.append(mark.device)
    if missed:
        return _fail(
            "RES-04",
            f"{len(missed)} of {len(listed)} noncompliant connected devices got no CoA (e.g. {missed[0]}): "
            "the NAC missed devices beyond the first page",
        )
    return _pass(
        "RES-04", f"{len(pages)} page(s) followed; {len(listed)} noncompliant device(s), none missed"
    )


@oracle("RES-05")
def malformed_answers(
    ev: Evidence, device: str | None = None, strict: bool = True, **_: Any
) -> OracleVerdict:
    records = [
        r
        for r in _ds(ev.decisions, device)
        if any(x.fault.startswith("malformed") for x in ev.exchanges_of(r))
    ]
    if not records:
        records = _ds(ev.decisions, device)
    if (err := _need("RES-05", records, "malformed answer")) is not None:
        return err
    if (err := _crashes("RES-05", records)) is not None:
        return err
    for r in records:
        if r.granted and (strict or r.truth.blocked):
            return _fail(
                "RES-05", f"{_fmt(r)} on a malformed answer from Intune: unreadable never reads as compliant"
            )
    return _pass("RES-05", f"{len(records)} malformed answer(s): no crash, nothing read as compliant")
