"""Oracles of the access-decision rules (ACC-01 … ACC-07)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from ...model import Decision
from ..evidence import (
    COMPLIANCE_KINDS,
    DecisionRecord,
    Evidence,
    Exchange,
    Kind,
)
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


def _expect(
    rule: str,
    ev: Evidence,
    device: str | None,
    want: set[Decision],
    when: Callable[[DecisionRecord], bool],
    why: str,
) -> OracleVerdict:
    records = [r for r in _ds(ev.decisions, device) if when(r)]
    if (err := _need(rule, records, why) or _crashes(rule, records)) is not None:
        return err
    for r in records:
        got = r.decision.decision if r.decision is not None else None
        if got not in want:
            return _fail(rule, f"{_fmt(r)}; {why} must get {' or '.join(sorted(w.value for w in want))}")
    return _pass(
        rule, f"{len(records)} decision(s) for {why}: {', '.join(sorted({r.kind for r in records}))}"
    )


@oracle("ACC-01")
def compliant_allow(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    v = _expect(
        "ACC-01",
        ev,
        device,
        {Decision.ALLOW},
        lambda r: r.truth.managed and r.truth.compliant,
        "an enrolled compliant device",
    )
    if v.verdict is Verdict.PASSED:
        for r in _ds(ev.decisions, device):
            if r.decision is not None and r.granted and r.decision.redirect_url:
                return _fail("ACC-01", f"{_fmt(r)}: full access comes without a redirect")
    return v


@oracle("ACC-02")
def not_enrolled(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    return _expect(
        "ACC-02",
        ev,
        device,
        {Decision.ENROLL_REDIRECT},
        lambda r: not r.truth.managed,
        "a device not enrolled in Intune",
    )


@oracle("ACC-03")
def noncompliant(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    return _expect(
        "ACC-03",
        ev,
        device,
        {Decision.REMEDIATE_REDIRECT},
        lambda r: r.truth.managed and not r.truth.compliant and r.truth.state != "unknown",
        "an enrolled noncompliant device",
    )


@oracle("ACC-04")
def unknown_not_compliant(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    records = [r for r in _ds(ev.decisions, device) if r.truth.state == "unknown"]
    if (err := _need("ACC-04", records, "Unknown device") or _crashes("ACC-04", records)) is not None:
        return err
    for r in records:
        if r.granted:
            return _fail(
                "ACC-04", f"{_fmt(r)} while Intune had never evaluated it (Unknown): Unknown is not compliant"
            )
    return _pass("ACC-04", f"{len(records)} decision(s) for a never-evaluated device granted nothing")


def _query_value(x: Exchange) -> tuple[str, str]:
    """(criteria, value) of a device query, Cisco / JSON / Graph alike."""
    if x.kind == Kind.DEVICE_QUERY:
        return x.query.get("querycriteria", "").lower(), x.query.get("value", "")
    if x.kind == Kind.GRAPH_DEVICE:
        flt = x.query.get("$filter", "")
        if flt:
            field_, _, rest = flt.partition(" eq ")
            return field_.strip(), rest.strip().strip("'")
        return "id", x.path.rstrip("/").rsplit("/", 1)[-1]
    return "", ""


@oracle("ACC-05")
def identity_from_certificate(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    records = [r for r in _ds(ev.decisions, device) if r.request.san_uris]
    if (
        err := _need("ACC-05", records, "device with a certificate") or _crashes("ACC-05", records)
    ) is not None:
        return err
    for r in records:
        queries = [x for x in ev.exchanges_of(r) if x.kind in (Kind.DEVICE_QUERY, Kind.GRAPH_DEVICE)]
        for x in queries:
            criteria, value = _query_value(x)
            if value.lower() == r.truth.azure_ad_device_id.lower():
                return _fail(
                    "ACC-05",
                    f"the NAC queried {r.device} by {value} ({criteria}), its Entra (Azure AD) device ID, "
                    f"not its Intune device ID {r.truth.intune_id} from the SAN URI",
                )
            if criteria not in ("guid", "id") or value.lower() != r.truth.intune_id.lower():
                return _fail(
                    "ACC-05",
                    f"with SAN URIs {list(r.request.san_uris)} the NAC queried {r.device} by {criteria}={value!r}, "
                    f"not by the Intune device ID {r.truth.intune_id}",
                )
        if not queries and r.decision is not None and r.decision.attributes.get("cached") is not True:
            continue
        if r.truth.managed and r.truth.compliant and not r.granted:
            return _fail("ACC-05", f"{_fmt(r)} although its certificate names a compliant Intune device")
    return _pass(
        "ACC-05", f"{len(records)} certificate decision(s) queried by the Intune device ID from the SAN URI"
    )


@oracle("ACC-06")
def mac_identity(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    from mock_intune.model import is_locally_administered

    records = [r for r in _ds(ev.decisions, device) if not r.request.san_uris]
    if (
        err := _need("ACC-06", records, "device without a certificate") or _crashes("ACC-06", records)
    ) is not None:
        return err
    for r in records:
        try:
            randomised = is_locally_administered(r.request.mac)
        except ValueError:
            randomised = False
        if randomised and r.granted:
            return _fail(
                "ACC-06",
                f"{_fmt(r)} on a randomised (locally administered) MAC {r.request.mac} without a certificate: "
                "never allow on a private MAC",
            )
        for x in ev.exchanges_of(r):
            criteria, value = _query_value(x)
            normalised = len(value) == 12 and all(c in "0123456789ABCDEF" for c in value)
            if x.kind == Kind.DEVICE_QUERY and criteria == "macaddress" and not normalised:
                return _fail(
                    "ACC-06",
                    f"the NAC queried MAC {value!r} for {r.device} (AP reported {r.request.mac!r}); "
                    "it must be normalised to 12 upper-case hex digits",
                )
        if not randomised and r.truth.managed and r.truth.compliant and not r.granted:
            return _fail("ACC-06", f"{_fmt(r)} although its MAC belongs to a compliant device")
    return _pass("ACC-06", f"{len(records)} MAC decision(s): normalised queries, no private MAC allowed")


@oracle("ACC-07")
def decision_latency(ev: Evidence, **_: Any) -> OracleVerdict:
    budget = float(_cap(ev, "decision_budget_ms", 300))
    records = [r for r in ev.decisions if r.decision is not None]
    if (err := _need("ACC-07", records, "latency") or _crashes("ACC-07", ev.decisions)) is not None:
        return err
    overheads = []
    totals = []
    for r in records:
        xs = ev.exchanges_of(r)
        observed = r.wall_ms + sum(x.modelled_ms for x in xs)
        reported = (r.decision.latency_s * 1000) if r.decision is not None else 0.0
        total = max(observed, reported)
        answer = max((x.modelled_ms for x in xs if x.kind in COMPLIANCE_KINDS), default=0.0)
        overheads.append(total - answer)
        totals.append(total)
    dist = {
        "n": len(totals),
        "p50_ms": round(statistics.median(totals), 1),
        "p95_ms": round(sorted(totals)[max(0, int(len(totals) * 0.95) - 1)], 1),
        "max_ms": round(max(totals), 1),
        "max_overhead_ms": round(max(overheads), 1),
    }
    worst = max(range(len(records)), key=lambda i: overheads[i])
    text = f"decision times p50 {dist['p50_ms']} ms, p95 {dist['p95_ms']} ms, max {dist['max_ms']} ms"
    if overheads[worst] > budget:
        r = records[worst]
        return _fail(
            "ACC-07",
            f"deciding {r.device} at t={r.at:g}s took {overheads[worst]:.0f} ms beyond Intune's answer, over the "
            f"declared budget of {budget:g} ms (decision_budget_ms); {text}",
            **dist,
        )
    return _pass(
        "ACC-07", f"within the declared budget of {budget:g} ms beyond Intune's answer; {text}", **dist
    )
