"""One oracle per rule: a function from the evidence to a verdict and a message saying what the NAC did.

Oracles decide from evidence only (the exchanges at the transport seam, the mock's call log, the
decisions the access points received, the CoAs, the simulated clock and the marks of what the bench
did). They never ask the NAC about itself. A rule that depends on the vendor's configuration
(polling interval, cache lifetime, decision budget, fail-open) reads the declared value from the
capability statement and says so in its message.

``judge(rule_id, evidence, **params)`` runs one; :data:`ORACLES` maps rule IDs to them.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model import Decision
from ..sim.clock import DEFAULT_EPOCH
from .evidence import (
    COMPLIANCE_KINDS,
    DecisionRecord,
    Evidence,
    Exchange,
    Kind,
    jwt_claims,
    jwt_header,
)
from .rules import RULES, Verdict

MANAGE_AUDIENCE = "https://api.manage.microsoft.com/"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
DEFAULT_PORTAL_URL = "https://portal.manage.microsoft.com/networkaccesscontrol/index"
SERVICE_KINDS = frozenset({Kind.DEVICE_QUERY, Kind.BROAD_QUERY, Kind.MDMINFO})
"""Exchanges with the NAC / CR service (manage audience)."""
GRAPH_KINDS = frozenset({Kind.GRAPH_DEVICE, Kind.GRAPH_LIST, Kind.DISCOVERY})
BROAD_INTERVAL_S = 4 * 3600.0
BACKOFF_GROWTH = 1.5
"""RES-03 without Retry-After: each wait must be at least this many times the previous one."""


@dataclass
class OracleVerdict:
    """An oracle's judgement of one rule on one scenario's evidence."""

    rule: str
    verdict: Verdict
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "message": self.message,
            "details": self.details,
        }


class RuleViolation(AssertionError):
    """Raised by a step when an oracle fails the NAC: the message says what the NAC did wrong."""

    def __init__(self, verdict: OracleVerdict) -> None:
        self.verdict = verdict
        super().__init__(f"{verdict.rule} FAILED: {verdict.message}")


Oracle = Callable[..., OracleVerdict]
ORACLES: dict[str, Oracle] = {}


def oracle(rule_id: str) -> Callable[[Oracle], Oracle]:
    """Register the oracle of ``rule_id`` (it must be in the catalog)."""
    if rule_id not in RULES:
        raise KeyError(f"no rule {rule_id} in the catalog")

    def deco(fn: Oracle) -> Oracle:
        ORACLES[rule_id] = fn
        return fn

    return deco


def judge(rule_id: str, evidence: Evidence, **params: Any) -> OracleVerdict:
    """Run the oracle of ``rule_id`` on ``evidence`` and keep its verdict with the evidence."""
    verdict = ORACLES[rule_id](evidence, **params)
    evidence.verdicts.append(verdict.to_json())
    return verdict


def _pass(rule: str, message: str, **details: Any) -> OracleVerdict:
    return OracleVerdict(rule, Verdict.PASSED, message, details)


def _fail(rule: str, message: str, **details: Any) -> OracleVerdict:
    return OracleVerdict(rule, Verdict.FAILED, message, details)


def _cap(ev: Evidence, name: str, default: Any) -> Any:
    return ev.capability.get(name, default) if ev.capability else default


def _ds(records: list[DecisionRecord], device: str | None) -> list[DecisionRecord]:
    return [r for r in records if device is None or r.device == device]


def _crashes(rule: str, records: list[DecisionRecord]) -> OracleVerdict | None:
    crashed = [r for r in records if r.crashed]
    if crashed:
        r = crashed[0]
        return _fail(
            rule, f"the NAC crashed deciding {r.device} at t={r.at:g}s instead of answering: {r.crashed}"
        )
    return None


def _need(rule: str, records: list[DecisionRecord], what: str) -> OracleVerdict | None:
    if not records:
        return OracleVerdict(rule, Verdict.HARNESS_ERROR, f"no access decision to judge ({what})")
    return None


def _fmt(r: DecisionRecord) -> str:
    d = r.decision
    got = r.kind + (f" with redirect {d.redirect_url}" if d and d.redirect_url else "")
    return f"{r.device} at t={r.at:g}s got {got}"


# -- onboarding ---------------------------------------------------------------------------------


def _advertised(ex: Exchange) -> list[str]:
    """Service URIs a discovery answer advertised."""
    import json

    try:
        data = json.loads(ex.body)
    except ValueError:
        return []
    entries = data.get("value", []) if isinstance(data, dict) else []
    return [e["uri"].rstrip("/") for e in entries if isinstance(e, dict) and isinstance(e.get("uri"), str)]


@oracle("ONB-01")
def discovery(ev: Evidence, **_: Any) -> OracleVerdict:
    service = [x for x in ev.exchanges if x.kind in SERVICE_KINDS]
    if not service:
        return OracleVerdict("ONB-01", Verdict.HARNESS_ERROR, "the NAC made no query to the NAC / CR service")
    first = service[0]
    found = [x for x in ev.exchanges if x.kind == Kind.DISCOVERY and x.seq < first.seq and x.ok]
    if not found:
        return _fail(
            "ONB-01",
            f"the NAC queried {first.origin}{first.path} without calling the discovery API first "
            "(servicePrincipals/appId=0000000a-…/endpoints): a hard-coded endpoint",
        )
    for x in service:
        before = [d for d in ev.exchanges if d.kind == Kind.DISCOVERY and d.seq < x.seq and d.ok]
        uris = _advertised(before[-1]) if before else []
        allowed = [u.lower() for u in uris]
        if before:
            for info in ev.exchanges:
                if info.kind == Kind.MDMINFO and info.ok and before[-1].seq < info.seq < x.seq:
                    m = re.search(r"<api_path>([^<]+)</api_path>", info.body)
                    if m and m.group(1).startswith("/"):
                        allowed.append((info.origin + m.group(1)).lower())
        if uris and not any(x.url.lower().startswith(u) for u in allowed):
            return _fail(
                "ONB-01",
                f"the NAC called {x.url.split('?')[0]} at t={x.at:g}s, which is not under the endpoint "
                f"discovery advertised ({', '.join(uris)})",
            )
    moves = ev.marks_of("endpoint moved")
    if moves:
        t = moves[-1].at
        later_disc = [d for d in ev.exchanges if d.kind == Kind.DISCOVERY and d.at >= t and d.ok]
        if not later_disc:
            return _fail("ONB-01", f"the endpoint moved at t={t:g}s and the NAC never called discovery again")
        after = [x for x in service if x.seq > later_disc[0].seq]
        if not any(x.ok for x in after):
            return _fail("ONB-01", "after re-discovery the NAC got no answer from the moved endpoint")
        late = [r for r in ev.decisions if r.at >= t and r.truth.managed and r.truth.compliant]
        if late and not late[-1].granted:
            return _fail(
                "ONB-01", f"after the move, {_fmt(late[-1])}: the NAC did not follow the new endpoint"
            )
    return _pass(
        "ONB-01", "the NAC discovered the endpoint before its first query and used the advertised uri"
    )


@oracle("ONB-02")
def app_only_token(ev: Evidence, **_: Any) -> OracleVerdict:
    tokens = ev.of_kind(Kind.TOKEN)
    for t in tokens:
        grant = t.form.get("grant_type", "")
        if grant != "client_credentials":
            return _fail(
                "ONB-02", f"token request at t={t.at:g}s used grant_type={grant!r}, not client_credentials"
            )
    checked = 0
    for x in ev.exchanges:
        if x.kind in SERVICE_KINDS:
            want = MANAGE_AUDIENCE
        elif x.kind in GRAPH_KINDS:
            want = GRAPH_AUDIENCE
        else:
            continue
        if not x.bearer:
            return _fail("ONB-02", f"{x.method} {x.path} at t={x.at:g}s carried no bearer token")
        aud = x.audience
        if aud.rstrip("/") != want.rstrip("/"):
            return _fail(
                "ONB-02",
                f"the NAC presented a token for audience {aud!r} to {x.path} (needs {want!r}): "
                + (
                    "a Graph token to the NAC/CR service"
                    if want == MANAGE_AUDIENCE
                    else "the wrong token to Graph"
                ),
            )
        if not str(jwt_claims(x.bearer).get("roles", "")):
            return _fail("ONB-02", f"the token presented at t={x.at:g}s is not an app-only token (no roles)")
        checked += 1
    if not checked:
        return OracleVerdict("ONB-02", Verdict.HARNESS_ERROR, "the NAC made no authenticated call")
    return _pass("ONB-02", f"{checked} calls carried an app-only bearer token of the right audience")


def _token_answers(ev: Evidence) -> list[tuple[Exchange, str, float]]:
    """(token exchange, audience, expiry as virtual seconds) of every token the NAC obtained."""
    import json

    out = []
    for t in ev.of_kind(Kind.TOKEN):
        if not t.ok:
            continue
        try:
            data = json.loads(t.body)
        except ValueError:
            continue
        token = str(data.get("access_token", ""))
        claims = jwt_claims(token)
        aud = str(claims.get("aud", ""))
        expires_in = float(data.get("expires_in", 3599) or 3599)
        out.append((t, aud, t.at + expires_in))
    return out


@oracle("ONB-03")
def token_reuse(ev: Evidence, **_: Any) -> OracleVerdict:
    got = _token_answers(ev)
    calls = [x for x in ev.exchanges if x.kind in SERVICE_KINDS | GRAPH_KINDS]
    by_aud: dict[str, list[tuple[Exchange, float]]] = {}
    for t, aud, exp in got:
        by_aud.setdefault(aud.rstrip("/"), []).append((t, exp))
    # 1. no token per request: a new token for an audience needs expiry near, or a 401 since the last one
    for aud, seq in by_aud.items():
        for (prev, prev_exp), (cur, _exp) in zip(seq, seq[1:], strict=False):
            near_expiry = prev_exp - cur.at <= 600
            unauthorized = any(
                x.status == 401 and prev.seq < x.seq < cur.seq and x.audience.rstrip("/") == aud
                for x in calls
            )
            if not (near_expiry or unauthorized):
                return _fail(
                    "ONB-03",
                    f"the NAC fetched a new {aud} token at t={cur.at:g}s while the one from t={prev.at:g}s "
                    f"was valid until t={prev_exp:g}s and no 401 came in between: a token per request "
                    f"({len(seq)} tokens for {len(calls)} calls)",
                )
    # 2. never present an expired token (``exp`` is Unix time on the mock's clock; env.now 0 is the epoch)
    epoch = DEFAULT_EPOCH.timestamp()
    for x in calls:
        token_exp = jwt_claims(x.bearer).get("exp") if x.bearer else None
        if isinstance(token_exp, int | float) and x.at >= float(token_exp) - epoch:
            return _fail(
                "ONB-03",
                f"the NAC presented a token that expired at t={float(token_exp) - epoch:g}s to {x.path} at "
                f"t={x.at:g}s instead of refreshing it",
            )
    # 3. after a 401: one refresh and one retry, never a loop
    for r in ev.decisions:
        xs = ev.exchanges_of(r)
        rejected = [x for x in xs if x.status == 401]
        if len(rejected) > 2:
            return _fail(
                "ONB-03",
                f"deciding {r.device} at t={r.at:g}s the NAC got {len(rejected)} × 401 and kept retrying "
                "(it must refresh the token and retry once, never loop on 401)",
            )
    background = [x for x in calls if x.decision is None and x.status == 401]
    per_instant: dict[float, int] = {}
    for x in background:
        per_instant[x.at] = per_instant.get(x.at, 0) + 1
    if per_instant and max(per_instant.values()) > 2:
        worst = max(per_instant, key=lambda k: per_instant[k])
        return _fail(
            "ONB-03", f"at t={worst:g}s the NAC looped on 401 ({per_instant[worst]} rejected calls in a row)"
        )
    if any(x.status == 401 for x in calls):
        refreshed = [
            x for x in calls if x.status == 401 and any(t.seq > x.seq and t.at == x.at for t, _a, _e in got)
        ]
        if not refreshed and got:
            first = next(x for x in calls if x.status == 401)
            return _fail("ONB-03", f"after a 401 at t={first.at:g}s the NAC did not get a new token")
    n = sum(len(v) for v in by_aud.values())
    return _pass(
        "ONB-03", f"{n} token(s) served {len(calls)} calls; refreshed only near expiry or after a 401"
    )


@oracle("ONB-04")
def certificate_auth(
    ev: Evidence, *, thumbprint: str = "", probes: list[dict[str, Any]] | None = None, **_: Any
) -> OracleVerdict:
    tokens = ev.of_kind(Kind.TOKEN)
    if not tokens:
        return OracleVerdict("ONB-04", Verdict.HARNESS_ERROR, "the NAC requested no token")
    seen_jti: set[str] = set()
    for t in tokens:
        if "client_secret" in t.form:
            return _fail(
                "ONB-04", f"the NAC sent a client secret at t={t.at:g}s although it declares certificate auth"
            )
        assertion = t.form.get("client_assertion", "")
        if (
            t.form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            or not assertion
        ):
            return _fail("ONB-04", f"the token request at t={t.at:g}s carried no signed client assertion")
        head, claims = jwt_header(assertion), jwt_claims(assertion)
        if head.get("alg") != "RS256":
            return _fail("ONB-04", f"the client assertion is signed {head.get('alg')!r}, not RS256")
        if thumbprint and head.get("x5t") != thumbprint:
            return _fail(
                "ONB-04",
                f"the client assertion's x5t {head.get('x5t')!r} is not the registered certificate's",
            )
        endpoint = t.url.split("?")[0]
        if str(claims.get("aud", "")).rstrip("/") != endpoint.rstrip("/") and "/oauth2/" not in str(
            claims.get("aud", "")
        ):
            return _fail(
                "ONB-04",
                f"the client assertion is addressed to {claims.get('aud')!r}, not the token endpoint",
            )
        life = float(claims.get("exp", 0)) - float(claims.get("iat", claims.get("nbf", 0)))
        if life <= 0 or life > 600:
            return _fail(
                "ONB-04",
                f"the client assertion lives {life:g} s (a short exp, at most 10 minutes, is required)",
            )
        jti = str(claims.get("jti", ""))
        if not jti or jti in seen_jti:
            return _fail("ONB-04", f"the client assertion at t={t.at:g}s reuses jti {jti!r} (a replay)")
        seen_jti.add(jti)
    if not any(t.ok for t in tokens):
        return _fail("ONB-04", f"the mock rejected every client assertion: {tokens[-1].body[:200]}")
    for probe in probes or []:
        if probe.get("status", 0) < 400:
            return _fail(
                "ONB-04", f"the mock accepted a {probe.get('what')} assertion (status {probe.get('status')})"
            )
    return _pass(
        "ONB-04",
        f"{len(tokens)} token request(s) with a fresh RS256 assertion; the mock refused "
        f"{len(probes or [])} bad assertion(s)",
    )


@oracle("ONB-05")
def missing_permission(ev: Evidence, device: str | None = None, **_: Any) -> OracleVerdict:
    records = _ds(ev.decisions, device)
    if (err := _need("ONB-05", records, "missing permission") or _crashes("ONB-05", records)) is not None:
        return err
    denied = [x for x in ev.exchanges if x.status == 403]
    if not denied:
        return OracleVerdict("ONB-05", Verdict.HARNESS_ERROR, "the mock never answered 403: nothing to judge")
    for r in records:
        if r.granted:
            return _fail(
                "ONB-05",
                f"{_fmt(r)} although Intune answered 403 (missing permission): granted on no evidence",
            )
        if (
            r.decision is not None
            and r.decision.decision is not Decision.MDM_UNREACHABLE
            and r.decision.decision is not Decision.DENY
        ):
            return _fail(
                "ONB-05",
                f"{_fmt(r)}: a missing permission is an integration error, not an answer about the device",
            )
    return _pass("ONB-05", f"{len(records)} decision(s) reported the integration error and granted nothing")


# -- access decisions ---------------------------------------------------------------------------


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


# -- redirection ----------------------------------------------------------------------------------


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


# -- state rules ----------------------------------------------------------------------------------


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


# -- resilience -----------------------------------------------------------------------------------


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
    import json
    import re

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
