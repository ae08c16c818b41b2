"""What an Intune client hands the NAC: device answers, noncompliant-list pages, and its errors.

Both clients (HTTP in :mod:`harness.nac.intune_client`, fast path in :mod:`harness.nac.core_client`)
speak these types, so the NAC's decision logic cannot tell them apart.

Error tree (all under :class:`~harness.errors.NacHarnessError`)::

    IntuneError                 Intune did not give a usable answer
    ├── IntuneUnavailable       unreachable, timed out, 5xx (RES-01); carries ``retry_after``
    │   ├── Throttled           429, or 503 on a broad query (RES-02, RES-03)
    │   └── EndpointGone        404 / 421 / connection refused at the discovered base (ONB-01)
    ├── IntegrationError        403, 401 after one refresh, token refused, discovery incomplete (ONB-05)
    └── MalformedAnswer         an answer that cannot be read (RES-05)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import NacHarnessError


class IntuneError(NacHarnessError):
    """Intune did not give the NAC a usable answer."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class IntuneUnavailable(IntuneError):
    """Intune is unreachable, timed out or answered 5xx: the NAC fails closed (RES-01)."""


class Throttled(IntuneUnavailable):
    """Intune asked the NAC to slow down (429, or 503 on a broad query); wait ``retry_after``."""


class EndpointGone(IntuneUnavailable):
    """The discovered service base no longer answers (404 / 421 / refused): re-discover (ONB-01)."""


class IntegrationError(IntuneError):
    """The integration is misconfigured: missing permission, rejected credentials (ONB-05)."""


class MalformedAnswer(IntuneError):
    """An answer the NAC cannot read; it never reads as compliant (RES-05)."""


@dataclass(frozen=True, slots=True)
class DeviceAnswer:
    """Intune's answer about one device, in the NAC's terms.

    ``managed`` is Cisco ``register_status`` / JSON ``isManaged`` / a Graph record that is
    registered; ``compliant`` is Cisco ``Compliance/status`` / JSON ``complianceState`` / Graph
    ``complianceState`` in (compliant, inGracePeriod). ``state`` is Graph's enum value where the
    profile reports one (``""`` otherwise).
    """

    managed: bool
    compliant: bool
    state: str = ""
    intune_id: str | None = None
    mac: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def not_enrolled(cls) -> DeviceAnswer:
        """Empty ``deviceList`` / ``isManaged=false`` / no Graph record."""
        return cls(managed=False, compliant=False)


@dataclass(frozen=True, slots=True)
class ListedDevice:
    """One entry of the "all noncompliant devices" list: whichever identifiers the profile gives."""

    intune_id: str | None = None
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class NoncompliantPage:
    """One page of the broad noncompliant query; ``next_cursor`` is None on the last page (RES-04)."""

    devices: tuple[ListedDevice, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class MdmInfo:
    """The Cisco ``mdminfo`` answer: where the device API lives and where to send users (RED-01)."""

    api_version: int
    api_path: str
    redirect_url: str
    query_max_size: int = 5000
