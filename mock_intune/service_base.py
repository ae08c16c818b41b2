"""Where the mock's NAC services live, and how an admin moves them (ONB-01).

Discovery advertises ``{base}/StatelessNACService`` (``NACAPIService``) and
``{base}/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService``
(``ComplianceRetrievalService``). ``base`` is the request's origin (or ``config.public_base_url``)
unless the admin moved it with :meth:`MockIntune.set_service_base`, to an absolute URL or to a
one-segment path prefix such as ``/fef-02``.

The move is made observable through that *shard prefix*: the NAC-facing surfaces answer under the
fixed paths (``/StatelessNACService/…``) and under ``/<shard>/StatelessNACService/…``, but only the
prefix in force is accepted; any other prefix, including no prefix after a move, gets 404. So a NAC
that keeps calling the old ``uri`` fails, and one that re-discovers follows the move.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import InputError

NAC_SERVICE_PATH = "/StatelessNACService"
CR_SERVICE_PATH = "/TrafficGateway/TrafficRoutingService/ResourceAccess/ComplianceRetrievalService"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
RESERVED_SEGMENTS = frozenset(
    s.lower()
    for s in (
        "StatelessNACService",
        "TrafficGateway",
        "ciscoise",
        "networkaccesscontrol",
        "v1.0",
        "beta",
        "admin",
        "common",
        "organizations",
        "discovery",
        "openapi.json",
    )
)


def _check_path(path: str, where: str) -> str:
    path = path.rstrip("/")
    if not path:
        return ""
    segments = path.strip("/").split("/")
    if len(segments) != 1 or not _SEGMENT.match(segments[0]):
        raise InputError(
            f"the service base path must be one segment of letters, digits, '.', '_' or '-', got {path[:80]!r}",
            where=where,
        )
    if segments[0].lower() in RESERVED_SEGMENTS:
        raise InputError(f"{segments[0]!r} is a path the mock already serves", where=where)
    return "/" + segments[0]


def validate_service_base(url: str) -> str:
    """Normalise an admin-given service base (absolute URL or ``/segment``); InputError if bad."""
    where = "service_base_url"
    if not isinstance(url, str) or not url.strip():
        raise InputError("must be an http(s) URL or a /segment path", where=where)
    url = url.strip()
    if url.startswith("/"):
        return _check_path(url, where) or "/"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"must be an http(s) URL without query or fragment, got {url[:120]!r}", where=where)
    return f"{parts.scheme}://{parts.netloc}{_check_path(parts.path, where)}"


def prefix_of(stored: str | None) -> str:
    """The shard prefix (``""`` or ``/segment``) of a stored service base."""
    if not stored:
        return ""
    path = stored if stored.startswith("/") else urlsplit(stored).path
    return path.rstrip("/")


def resolve_service_base(stored: str | None, origin: str) -> str:
    """The absolute service base: the stored URL, or ``origin`` plus the stored prefix."""
    if stored and not stored.startswith("/"):
        return stored.rstrip("/")
    return origin.rstrip("/") + prefix_of(stored)
