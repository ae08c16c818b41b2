"""Oracles of the onboarding rules (ONB-01 … ONB-05): discovery, tokens, assertions, permissions."""

from __future__ import annotations

import json
import re
from typing import Any

from ...model import Decision
from ...sim.clock import DEFAULT_EPOCH
from ..evidence import (
    Evidence,
    Exchange,
    Kind,
    jwt_claims,
    jwt_header,
)
from ..rules import Verdict
from .base import (
    GRAPH_AUDIENCE,
    GRAPH_KINDS,
    MANAGE_AUDIENCE,
    SERVICE_KINDS,
    OracleVerdict,
    _crashes,
    _ds,
    _fail,
    _fmt,
    _need,
    _pass,
    oracle,
)


def _advertised(ex: Exchange) -> list[str]:
    """Service URIs a discovery answer advertised."""

    try:
        data = json.loads(ex.body)
    except ValueError:
        return []
    entries = data.get("value", []) if isinstance(data, dict) else []
    return [e["uri"].rstrip("/") for e in entries if isinstance(e, dict) and isinstance(e.get("uri"), str)]


def _stale(ev: Evidence, x: Exchange) -> bool:
    """A 404 at a service base an earlier scenario advertised (an external NAC's cached endpoint)."""
    if x.status != 404:
        return False
    earlier = [b for m in ev.marks_of("scenario endpoint") for b in m.data.get("earlier", [])]
    return any(x.path.startswith(f"{b}/") for b in earlier)


@oracle("ONB-01")
def discovery(ev: Evidence, **_: Any) -> OracleVerdict:
    service = [x for x in ev.exchanges if x.kind in SERVICE_KINDS and not _stale(ev, x)]
    stale = [x for x in ev.exchanges if x.kind in SERVICE_KINDS and _stale(ev, x)]
    if stale and not service:
        return _fail(
            "ONB-01",
            f"the NAC kept calling {stale[0].path.split('/')[1]}, the endpoint an earlier scenario "
            f"advertised ({len(stale)} × 404), and never discovered the endpoint again",
        )
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
    epoch = ev.epoch if ev.epoch is not None else DEFAULT_EPOCH.timestamp()
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
            x
            for x in calls
            if x.status == 401
            and any(
                t.seq > x.seq and (t.at == x.at or (x.decision is not None and t.decision == x.decision))
                for t, _a, _e in got
            )
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
