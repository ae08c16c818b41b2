"""The evidence a conformance scenario leaves behind, which the oracles judge.

Everything here is observed by the bench, never reported by the NAC about itself:

* :class:`Exchange` — one HTTP exchange between the NAC and the mock, captured at the transport
  seam (request, status, headers, an excerpt of the body, the virtual time and the modelled latency);
* :class:`DecisionRecord` — one access request an access point sent and the answer it received,
  with what the mock knew about the device at that instant (:class:`Truth`);
* :class:`CoaRecord` — a Change-of-Authorization / Disconnect an access point received;
* :class:`Mark` — something the bench did to the world (a device turned noncompliant, a fault
  began, the endpoint moved), so oracles can relate the NAC's behaviour to it;
* the mock's own call log (:class:`mock_intune.model.CallRecord`), pulled when asked.

:meth:`Evidence.to_json` renders it all for the certification report (tokens and secrets redacted).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..model import AccessDecision, AccessRequest, CoaMessage

BODY_EXCERPT = 4000
"""How much of a response body an exchange keeps (the oracles read shapes, not megabytes)."""

_BROAD_CRITERIA = "compliance"
REPORT_LIMIT = 500
"""Most entries of each evidence list a report gets (``totals`` says how many there were)."""
TIMELINE_LIMIT = 50
"""Most per-device timelines a report gets."""


class Kind:
    """What an exchange was for, from its path (string constants: they are report labels)."""

    TOKEN = "token"
    DISCOVERY = "discovery"
    MDMINFO = "mdminfo"
    DEVICE_QUERY = "device_query"
    BROAD_QUERY = "broad_query"
    GRAPH_DEVICE = "graph_device"
    GRAPH_LIST = "graph_list"
    PORTAL = "portal"
    OTHER = "other"


def classify(path: str, query: dict[str, str]) -> str:
    """The :class:`Kind` of a request path (+ query) to the mock."""
    p = path.lower()
    if "/oauth2/" in p:
        return Kind.TOKEN
    if "serviceprincipal" in p or "serviceendpoints" in p:
        return Kind.DISCOVERY
    if "mdminfo" in p:
        return Kind.MDMINFO
    if "/managEddevices".lower() in p:
        if re.search(r"/manageddevices/[0-9a-f-]{36}", p) or "id eq" in query.get("$filter", "").lower():
            return Kind.GRAPH_DEVICE
        flt = query.get("$filter", "").lower()
        if "compliancestate" in flt or not flt:
            return Kind.GRAPH_LIST
        return Kind.GRAPH_DEVICE
    if "networkaccesscontrol" in p:
        return Kind.PORTAL
    if p.rstrip("/").endswith("/devices") or "/devices/" in p:
        if query.get("querycriteria", "").lower() == _BROAD_CRITERIA:
            return Kind.BROAD_QUERY
        return Kind.DEVICE_QUERY
    return Kind.OTHER


COMPLIANCE_KINDS = frozenset({Kind.DEVICE_QUERY, Kind.BROAD_QUERY, Kind.GRAPH_DEVICE, Kind.GRAPH_LIST})
"""Exchanges that ask Intune about devices (the ones faults and audiences matter for)."""


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verification (the mock verifies; oracles only look)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        data = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def jwt_header(token: str) -> dict[str, Any]:
    """The header of a JWT, read without verification."""
    try:
        head = token.split(".")[0]
        head += "=" * (-len(head) % 4)
        data = json.loads(base64.urlsafe_b64decode(head))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Exchange:
    """One HTTP exchange between the NAC under test and the mock, seen at the transport."""

    seq: int
    at: float
    method: str
    url: str
    kind: str
    query: dict[str, str]
    bearer: str = ""
    form: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str = ""
    """The transport error the NAC saw (``ConnectError``, ``ReadTimeout``) instead of an answer."""
    fault: str = ""
    """The fault the bench injected into this exchange, if any."""
    modelled_ms: float = 0.0
    """Latency the mock reported for this exchange in virtual time (``X-Mock-Latency-Ms``)."""
    wall_ms: float = 0.0
    decision: int | None = None
    """The :attr:`DecisionRecord.seq` this exchange happened inside (None: background work)."""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def audience(self) -> str:
        """The ``aud`` of the bearer token presented ('' without one)."""
        return str(jwt_claims(self.bearer).get("aud", "")) if self.bearer else ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        for k, v in self.response_headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def to_json(self) -> dict[str, Any]:
        form = {
            k: ("<redacted>" if k in ("client_secret", "client_assertion") else v)
            for k, v in self.form.items()
        }
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "url": self.url,
            "kind": self.kind,
            "audience": self.audience,
            "form": form,
            "status": self.status,
            "error": self.error,
            "fault": self.fault,
            "modelled_ms": round(self.modelled_ms, 3),
            "decision": self.decision,
            "body": self.body[:1000],
        }


@dataclass(frozen=True)
class Truth:
    """What the mock knew about a device at one instant (not what the NAC said)."""

    known: bool
    managed: bool = False
    compliant: bool = False
    state: str = ""
    """Graph ``complianceState`` after the validity period and grace expiry apply ('' if unknown)."""
    intune_id: str = ""
    azure_ad_device_id: str = ""

    @property
    def blocked(self) -> bool:
        """Intune says the device must not get corporate access."""
        return not (self.managed and self.compliant)

    def to_json(self) -> dict[str, Any]:
        return {
            "known": self.known,
            "managed": self.managed,
            "compliant": self.compliant,
            "state": self.state,
        }


@dataclass
class DecisionRecord:
    """One access request at an access point and the answer it got (or the NAC's crash)."""

    seq: int
    at: float
    device: str
    ap: str
    request: AccessRequest
    truth: Truth
    decision: AccessDecision | None = None
    crashed: str = ""
    """The exception the NAC raised instead of deciding ('' if it decided)."""
    wall_ms: float = 0.0
    """Time the NAC spent deciding outside the transport (its own processing, thread CPU time)."""
    exchanges: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.decision.decision.value if self.decision is not None else "crash"

    @property
    def granted(self) -> bool:
        return self.decision is not None and self.decision.decision.grants_access

    def to_json(self) -> dict[str, Any]:
        d = self.decision
        return {
            "seq": self.seq,
            "at": self.at,
            "device": self.device,
            "ap": self.ap,
            "session": self.request.session_id,
            "mac": self.request.mac,
            "san_uris": list(self.request.san_uris),
            "decision": self.kind,
            "redirect_url": d.redirect_url if d else None,
            "reason": d.reason if d else self.crashed,
            "truth": self.truth.to_json(),
            "exchanges": self.exchanges,
        }


@dataclass(frozen=True)
class CoaRecord:
    """A CoA / Disconnect an access point received from the NAC."""

    at: float
    ap: str
    device: str
    message: CoaMessage

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "ap": self.ap,
            "device": self.device,
            "kind": self.message.kind.value,
            "session": self.message.session_id,
            "reason": self.message.reason,
        }


@dataclass(frozen=True)
class Mark:
    """Something the bench did to the world at ``at`` (for oracles and the per-device timeline)."""

    at: float
    what: str
    device: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "what": self.what, "device": self.device, "data": self.data}


@dataclass
class Evidence:
    """Everything one scenario run left behind, in order."""

    profile: str
    capability: dict[str, Any] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    coas: list[CoaRecord] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    mock_calls: list[dict[str, Any]] = field(default_factory=list)
    now: float = 0.0
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """The oracle verdicts given on this evidence (filled by the steps, for reports)."""
    epoch: float | None = None
    """Unix time of t=0 on the mock's clock (None: the simulation's default epoch)."""

    # -- queries the oracles share -------------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[Exchange]:
        return [x for x in self.exchanges if x.kind in kinds]

    def decisions_for(self, device: str | None = None) -> list[DecisionRecord]:
        return [d for d in self.decisions if device is None or d.device == device]

    def exchanges_of(self, record: DecisionRecord) -> list[Exchange]:
        wanted = set(record.exchanges)
        return [x for x in self.exchanges if x.seq in wanted]

    def marks_of(self, what: str, device: str | None = None) -> list[Mark]:
        return [m for m in self.marks if m.what == what and (device is None or m.device == device)]

    def coas_for(self, device: str) -> list[CoaRecord]:
        return [c for c in self.coas if c.device == device]

    def devices(self) -> list[str]:
        seen: dict[str, None] = {}
        for d in self.decisions:
            seen.setdefault(d.device)
        for m in self.marks:
            if m.device:
                seen.setdefault(m.device)
        return list(seen)

    def timeline(self, device: str) -> list[dict[str, Any]]:
        """The device's story in time order: marks, decisions, CoAs (for the report)."""
        rows: list[tuple[float, int, dict[str, Any]]] = [
            (m.at, 0, {"at": m.at, "event": m.what, **m.data}) for m in self.marks if m.device == device
        ]
        rows += [
            (d.at, 1, {"at": d.at, "event": f"decision {d.kind}", "truth": d.truth.to_json()})
            for d in self.decisions
            if d.device == device
        ]
        rows += [
            (c.at, 2, {"at": c.at, "event": f"{c.message.kind.value} received"})
            for c in self.coas
            if c.device == device
        ]
        return [r for _, _, r in sorted(rows, key=lambda t: (t[0], t[1]))]

    def iter_json(self) -> Iterator[tuple[str, Any]]:
        """The evidence as JSON-able items; very large runs keep the first :data:`REPORT_LIMIT` of each list."""
        yield "profile", self.profile
        yield "now", self.now
        yield (
            "totals",
            {
                "exchanges": len(self.exchanges),
                "decisions": len(self.decisions),
                "coas": len(self.coas),
                "devices": len(self.devices()),
                "mock_calls": len(self.mock_calls),
            },
        )
        yield "exchanges", [x.to_json() for x in self.exchanges[:REPORT_LIMIT]]
        yield "decisions", [d.to_json() for d in self.decisions[:REPORT_LIMIT]]
        yield "coas", [c.to_json() for c in self.coas[:REPORT_LIMIT]]
        yield "marks", [m.to_json() for m in self.marks[:REPORT_LIMIT]]
        yield "mock_calls", self.mock_calls[:REPORT_LIMIT]
        yield "timelines", {dev: self.timeline(dev) for dev in self.devices()[:TIMELINE_LIMIT]}
        yield "verdicts", self.verdicts

    def to_json(self) -> dict[str, Any]:
        return dict(self.iter_json())


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (last value wins), keys as sent."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
