"""Fault injection per NAC-facing surface: latency, error status and rate, timeouts, outage windows.

A :class:`FaultSpec` is set at runtime for one :class:`~mock_intune.model.Surface` (the admin API
calls :func:`set_fault`) and kept in the store, so every server worker applies the same faults.
:func:`apply_fault` runs before each NAC-facing view, in this order:

1. **outage** — inside one of the spec's ``[start, end]`` windows on the *mock's* clock the request
   fails with ``outage_status`` (503 by default);
2. **latency** — a draw from the latency distribution. In served mode (``config.sleep_latency``) the
   worker sleeps it; in virtual-time mode it is only reported: added to the call log's latency and
   sent in the ``X-Mock-Latency-Ms`` response header for a SimPy client to model (see
   :mod:`mock_intune.virtual_transport`);
3. **timeout** — with probability ``timeout_rate`` the request hangs: served mode sleeps
   ``timeout_s`` (at most :data:`SLEEP_CAP_S`, as a served worker is killed at 60 s) then answers
   504; virtual mode answers 504 at once with ``X-Mock-Timeout: 1`` (and the hang time in
   ``X-Mock-Latency-Ms``), which the virtual transport turns into ``httpx.ReadTimeout``;
4. **error** — with probability ``error_rate`` the request fails with ``error_status``.

Injected errors render in the surface's own error shape. A 429 or 503 carries ``Retry-After:
retry_after_s`` unless ``retry_after`` is false (Graph's Intune endpoints sometimes omit it; RES-03).

Randomness is reproducible: each surface draws from its own ``random.Random(seed)``, created when
the spec is set (and re-created whenever it is set again), so the same spec and the same request
sequence give the same faults. With several server workers each worker has its own stream.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask import Response, after_this_request, g

from .errors import InputError, RequestError
from .model import Surface
from .service import MockIntune

LATENCY_HEADER = "X-Mock-Latency-Ms"
TIMEOUT_HEADER = "X-Mock-Timeout"
ERROR_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_SEED = 20260105
SLEEP_CAP_S = 50.0
"""Longest a served worker sleeps for one fault: below gunicorn's 60 s worker timeout, which would
otherwise kill the worker (virtual mode reports the full drawn value)."""
_SPEC_FIELDS = frozenset(
    {
        "latency",
        "error_status",
        "error_rate",
        "timeout_rate",
        "timeout_s",
        "outages",
        "outage_status",
        "retry_after",
        "retry_after_s",
        "seed",
    }
)


class LatencyKind(StrEnum):
    """The latency distributions a fault may draw from."""

    NONE = "none"
    FIXED = "fixed"
    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"


_LATENCY_PARAMS: dict[LatencyKind, tuple[str, ...]] = {
    LatencyKind.NONE: (),
    LatencyKind.FIXED: ("ms",),
    LatencyKind.UNIFORM: ("low_ms", "high_ms"),
    LatencyKind.EXPONENTIAL: ("mean_ms",),
    LatencyKind.LOGNORMAL: ("median_ms", "sigma"),
}


def _number(
    data: dict[str, Any], key: str, where: str, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    raw = data[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise InputError(f"must be a number, got {raw!r}", where=f"{where}.{key}")
    value = float(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum:g}..{maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise InputError(f"must be {bound}, got {raw!r}", where=f"{where}.{key}")
    return value


@dataclass(frozen=True)
class Latency:
    """A latency distribution in milliseconds (``kind`` plus its parameters)."""

    kind: LatencyKind = LatencyKind.NONE
    params: dict[str, float] = field(default_factory=dict)

    def draw(self, rng: random.Random) -> float:
        p = self.params
        if self.kind is LatencyKind.FIXED:
            return p["ms"]
        if self.kind is LatencyKind.UNIFORM:
            return rng.uniform(p["low_ms"], p["high_ms"])
        if self.kind is LatencyKind.EXPONENTIAL:
            return rng.expovariate(1.0 / p["mean_ms"]) if p["mean_ms"] > 0 else 0.0
        if self.kind is LatencyKind.LOGNORMAL:
            return rng.lognormvariate(math.log(p["median_ms"]), p["sigma"]) if p["median_ms"] > 0 else 0.0
        return 0.0

    def to_json(self) -> dict[str, Any]:
        return {"dist": self.kind.value, **self.params}

    @classmethod
    def from_json(cls, data: Any, where: str = "latency") -> Latency:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InputError(
                f"must be an object like {{'dist': 'fixed', 'ms': 120}}, got {data!r}", where=where
            )
        try:
            kind = LatencyKind(str(data.get("dist", "")))
        except ValueError:
            raise InputError(
                f"unknown distribution {data.get('dist')!r}; use one of {', '.join(k.value for k in LatencyKind)}",
                where=f"{where}.dist",
            ) from None
        wanted = _LATENCY_PARAMS[kind]
        unknown = set(data) - {"dist", *wanted}
        if unknown:
            raise InputError(f"unknown field(s) {sorted(unknown)} for {kind.value}", where=where)
        params: dict[str, float] = {}
        for key in wanted:
            if key not in data:
                raise InputError(f"missing for a {kind.value} latency", where=f"{where}.{key}")
            params[key] = _number(data, key, where, maximum=10.0 if key == "sigma" else 3_600_000.0)
        if kind is LatencyKind.UNIFORM and params["low_ms"] > params["high_ms"]:
            raise InputError("low_ms must be <= high_ms", where=f"{where}.low_ms")
        return cls(kind, params)


@dataclass(frozen=True)
class Outage:
    """A window ``[start, end)`` on the mock's clock during which the surface is down."""

    start: datetime
    end: datetime

    def covers(self, now: datetime) -> bool:
        return self.start <= now < self.end


def _when(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise InputError(f"must be an ISO-8601 date-time string, got {raw!r}", where=where)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO-8601 date-time: {raw[:64]!r}", where=where) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class FaultSpec:
    """The faults injected into one surface; validated by :meth:`from_json`."""

    latency: Latency = field(default_factory=Latency)
    error_status: int = 503
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    outages: tuple[Outage, ...] = ()
    outage_status: int = 503
    retry_after: bool = True
    """Send ``Retry-After`` on injected 429/503 answers (false: Graph's header-less 429)."""
    retry_after_s: int = 1
    seed: int = DEFAULT_SEED

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": self.latency.to_json(),
            "error_status": self.error_status,
            "error_rate": self.error_rate,
            "timeout_rate": self.timeout_rate,
            "timeout_s": self.timeout_s,
            "outages": [{"start": o.start.isoformat(), "end": o.end.isoformat()} for o in self.outages],
            "outage_status": self.outage_status,
            "retry_after": self.retry_after,
            "retry_after_s": self.retry_after_s,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Any) -> FaultSpec:
        """Validate a JSON fault spec; raises :class:`InputError` naming the bad field."""
        if not isinstance(data, dict):
            raise InputError(f"a fault spec must be a JSON object, got {type(data).__name__}", where="fault")
        unknown = set(data) - _SPEC_FIELDS
        if unknown:
            raise InputError(
                f"unknown field(s) {sorted(unknown)}; known: {', '.join(sorted(_SPEC_FIELDS))}", where="fault"
            )
        values: dict[str, Any] = {"latency": Latency.from_json(data.get("latency"))}
        for key in ("error_status", "outage_status"):
            if key in data:
                status = data[key]
                if isinstance(status, bool) or not isinstance(status, int) or status not in ERROR_STATUSES:
                    raise InputError(
                        f"must be one of {sorted(ERROR_STATUSES)}, got {status!r}", where=f"fault.{key}"
                    )
                values[key] = status
        for key in ("error_rate", "timeout_rate"):
            if key in data:
                values[key] = _number(data, key, "fault", maximum=1.0)
        if "timeout_s" in data:
            values["timeout_s"] = _number(data, "timeout_s", "fault", maximum=600.0)
        if "retry_after_s" in data:
            values["retry_after_s"] = int(_number(data, "retry_after_s", "fault", maximum=86_400.0))
        if "retry_after" in data:
            if not isinstance(data["retry_after"], bool):
                raise InputError(
                    f"must be true or false, got {data['retry_after']!r}", where="fault.retry_after"
                )
            values["retry_after"] = data["retry_after"]
        if "seed" in data:
            seed = data["seed"]
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise InputError(f"must be an integer, got {seed!r}", where="fault.seed")
            values["seed"] = seed
        outages = data.get("outages", [])
        if not isinstance(outages, list):
            raise InputError("must be a list of {start, end} objects", where="fault.outages")
        parsed = []
        for i, window in enumerate(outages):
            where = f"fault.outages[{i}]"
            if not isinstance(window, dict) or set(window) != {"start", "end"}:
                raise InputError("must be an object with exactly 'start' and 'end'", where=where)
            start, end = _when(window["start"], f"{where}.start"), _when(window["end"], f"{where}.end")
            if end <= start:
                raise InputError("end must be after start", where=f"{where}.end")
            parsed.append(Outage(start, end))
        values["outages"] = tuple(parsed)
        return cls(**values)


# -- runtime state: one seeded stream per (service, surface), re-created when the spec changes ----
_STREAMS: weakref.WeakKeyDictionary[MockIntune, dict[str, tuple[str, random.Random]]] = (
    weakref.WeakKeyDictionary()
)
_STREAMS_LOCK = threading.Lock()


def _surface(raw: Surface | str) -> Surface:
    try:
        surface = Surface(raw)
    except ValueError:
        raise InputError(
            f"unknown surface {raw!r}; use one of {', '.join(s.value for s in Surface if s is not Surface.ADMIN)}",
            where="surface",
        ) from None
    if surface is Surface.ADMIN:
        raise InputError("faults cannot be injected into the admin API", where="surface")
    return surface


def set_fault(service: MockIntune, surface: Surface | str, spec: dict[str, Any] | None) -> FaultSpec | None:
    """Set (or with ``None`` clear) the faults of ``surface``; returns the validated spec."""
    target = _surface(surface)
    if spec is None:
        service.store.put_fault(target.value, None)
        return None
    parsed = FaultSpec.from_json(spec)
    service.store.put_fault(target.value, {"spec": parsed.to_json(), "rev": uuid.uuid4().hex})
    return parsed


def get_faults(service: MockIntune) -> dict[str, dict[str, Any]]:
    """The faults in force, by surface value, as validated JSON specs."""
    return {surface: stored["spec"] for surface, stored in service.store.faults().items()}


def fault_for(service: MockIntune, surface: Surface) -> FaultSpec | None:
    """The spec in force for ``surface``, or None."""
    stored = service.store.faults().get(surface.value)
    return FaultSpec.from_json(stored["spec"]) if stored else None


def _rng(service: MockIntune, surface: Surface, rev: str, seed: int) -> random.Random:
    with _STREAMS_LOCK:
        streams = _STREAMS.setdefault(service, {})
        current = streams.get(surface.value)
        if current is None or current[0] != rev:
            current = (rev, random.Random(seed))  # noqa: S311 - reproducible fault draws, not crypto
            streams[surface.value] = current
        return current[1]


@dataclass(frozen=True)
class FaultDraw:
    """What :func:`draw` decided for one request (pure of Flask, so tests and the sim can use it)."""

    latency_ms: float = 0.0
    outage: bool = False
    timeout: bool = False
    error: bool = False


def draw(
    service: MockIntune, surface: Surface, *, faults: dict[str, dict[str, Any]] | None = None
) -> tuple[FaultSpec, FaultDraw] | None:
    """Decide the faults for one request to ``surface`` (None when no faults are set).

    ``faults`` is the store's fault table when the caller already holds a current copy of it
    (:meth:`MockIntune.shared_state`); otherwise it is read here.
    """
    stored = (service.store.faults() if faults is None else faults).get(surface.value)
    if not stored:
        return None
    spec = FaultSpec.from_json(stored["spec"])
    rng = _rng(service, surface, str(stored.get("rev", "")), spec.seed)
    now = service.now()
    if any(o.covers(now) for o in spec.outages):
        return spec, FaultDraw(outage=True)
    latency = spec.latency.draw(rng)
    # Always draw both so the stream advances the same way whatever the rates are.
    timeout_roll, error_roll = rng.random(), rng.random()
    timeout = timeout_roll < spec.timeout_rate
    error = not timeout and error_roll < spec.error_rate
    return spec, FaultDraw(latency_ms=latency, timeout=timeout, error=error)


_MESSAGES = {
    408: "The request timed out.",
    429: "Too many requests.",
    500: "An internal server error occurred.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable.",
    504: "The gateway timed out.",
}


def _error(surface: Surface, status: int, spec: FaultSpec, why: str, headers: dict[str, str]) -> Response:
    from .api import errors as error_shapes

    if status in (429, 503) and spec.retry_after:
        headers = {**headers, "Retry-After": str(spec.retry_after_s)}
    exc = RequestError(
        status,
        f"{_MESSAGES.get(status, 'Injected fault.')} ({why})",
        code=f"Injected{status}",
        headers=headers,
    )
    return error_shapes.render(surface, exc)


def apply_fault(
    service: MockIntune, surface: Surface, *, faults: dict[str, dict[str, Any]] | None = None
) -> Response | None:
    """Return a response that replaces the view (an injected error), or None to proceed.

    ``faults``: as for :func:`draw`.
    """
    decided = draw(service, surface, faults=faults)
    if decided is None:
        return None
    spec, d = decided
    detail = g.call_detail
    virtual = not service.config.sleep_latency
    headers: dict[str, str] = {}
    if d.outage:
        detail["fault"] = "outage"
        return _error(surface, spec.outage_status, spec, "injected outage window", headers)
    if d.timeout:
        detail["fault"] = "timeout"
        if virtual:
            detail["_injected_ms"] = spec.timeout_s * 1000.0
            headers = {TIMEOUT_HEADER: "1", LATENCY_HEADER: f"{spec.timeout_s * 1000.0:.3f}"}
        else:
            time.sleep(min(spec.timeout_s, SLEEP_CAP_S))
        return _error(surface, 504, spec, "injected timeout", headers)
    if d.latency_ms > 0:
        detail["injected_latency_ms"] = round(d.latency_ms, 3)
        if virtual:
            detail["_injected_ms"] = d.latency_ms
            headers[LATENCY_HEADER] = f"{d.latency_ms:.3f}"
        else:
            time.sleep(min(d.latency_ms / 1000.0, SLEEP_CAP_S))
    if d.error:
        detail["fault"] = f"error {spec.error_status}"
        return _error(surface, spec.error_status, spec, "injected error", headers)
    if headers:

        @after_this_request
        def _latency_header(response: Response) -> Response:
            response.headers.update(headers)
            return response

    return None


def retry_after_wanted(service: MockIntune, surface: Surface) -> bool:
    """False when the surface's fault spec asks to drop ``Retry-After`` (for Graph's own 429s)."""
    spec = fault_for(service, surface)
    return spec is None or spec.retry_after
