"""The fast path: the Intune client interface answered by the mock's core, no HTTP.

Load simulations cannot afford HTTP per lookup, so this client calls :class:`mock_intune.MockIntune`
directly and charges a *modelled* latency per call. It answers exactly what the profile's wire
surface would say (empty ``deviceList`` for unenrolled devices on Cisco, ``isManaged=false`` on
JSON, no record on Graph; the broad-query limit and Graph throttling still apply), so the NAC
decides the same either way — ``tests/nac/test_fast_path_equivalence.py`` proves it.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

from mock_intune import compliance, faults
from mock_intune.errors import RequestError
from mock_intune.model import (
    GRAPH_DEVICE_PERMISSIONS,
    CallRecord,
    ComplianceState,
    Permission,
    Surface,
)
from mock_intune.service import DeviceStatus, MockIntune

from ..model import Profile
from .identity import DeviceIdentity, IdentityKind
from .intune_answers import (
    DeviceAnswer,
    IntegrationError,
    IntuneUnavailable,
    ListedDevice,
    NoncompliantPage,
    Throttled,
)
from .intune_client import DEFAULT_PORTAL_URL

SURFACES: dict[Profile, Surface] = {
    Profile.CR_CISCO: Surface.CR_CISCO,
    Profile.LEGACY_CISCO: Surface.LEGACY_CISCO,
    Profile.LEGACY_JSON: Surface.LEGACY_JSON,
    Profile.GRAPH: Surface.GRAPH,
}


class LatencyModel(Protocol):
    """Modelled Intune answer time, in seconds, for one call."""

    def sample(self) -> float: ...


class FixedLatency:
    """Every call takes ``seconds``."""

    def __init__(self, seconds: float = 0.05) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self.seconds = seconds

    def sample(self) -> float:
        return self.seconds


class LogNormalLatency:
    """Seeded log-normal latency around ``median_s`` (a long right tail, like a real service)."""

    def __init__(self, median_s: float = 0.08, sigma: float = 0.5, seed: int = 0) -> None:
        if median_s <= 0 or sigma < 0:
            raise ValueError("median_s must be > 0 and sigma >= 0")
        self._mu = math.log(median_s)
        self._sigma = sigma
        self._rng = random.Random(seed)

    def sample(self) -> float:
        return self._rng.lognormvariate(self._mu, self._sigma)


class CoreIntuneClient:
    """:class:`~harness.nac.intune_client.IntuneClient` over the mock core (fast path)."""

    def __init__(
        self,
        service: MockIntune,
        profile: Profile,
        *,
        client_id: str | None = None,
        latency: LatencyModel | None = None,
        portal_url: str = DEFAULT_PORTAL_URL,
        log_calls: bool = True,
        timeout_s: float = 2.0,
    ) -> None:
        self.service = service
        self.profile = profile
        self.client_id = client_id or service.config.client_id
        self.latency = latency or FixedLatency()
        self.portal_url = portal_url
        self.log_calls = log_calls
        self.timeout_s = timeout_s
        self._granted_until: float | None = None
        self.latency_s = 0.0
        self.calls = 0
        self._count_lookup = getattr(service, "count_lookup", None)
        """The service's cheap call counter for lookups (the load fleet's), else None: full records."""

    def reset_latency(self) -> None:
        self.latency_s = 0.0

    def _faults(self, path: str, broad: bool = False) -> float:
        """The mock's injected faults for this surface, as the HTTP path would feel them.

        Returns the injected latency (seconds); raises for an outage, a timeout or an injected error.
        """
        drawn = faults.draw(self.service, SURFACES[self.profile])
        if drawn is None:
            return 0.0
        spec, d = drawn
        if d.timeout:
            self.latency_s += min(self.timeout_s, spec.timeout_s)
            self._charge(path, "", 504, {"fault": "timeout"}, spent=0.0)
            raise IntuneUnavailable(f"timed out after {min(self.timeout_s, spec.timeout_s):g} s (injected)")
        if d.outage or d.error:
            status = spec.outage_status if d.outage else spec.error_status
            retry = float(spec.retry_after_s) if spec.retry_after and status in (429, 503) else None
            self._charge(path, "", status, {"fault": "outage" if d.outage else "error"})
            cls = Throttled if status == 429 or (status == 503 and broad) else IntuneUnavailable
            raise cls(
                f"{status} (injected {'outage' if d.outage else 'error'})", status=status, retry_after=retry
            )
        return d.latency_ms / 1000.0

    def _charge(
        self, path: str, query: str, status: int, detail: dict[str, object], *, spent: float | None = None
    ) -> None:
        spent = self.latency.sample() if spent is None else spent
        self.latency_s += spent
        self.calls += 1
        if self.log_calls and self.service.config.log_calls:
            self.service.log(
                CallRecord(
                    at=self.service.now(),
                    app=self.client_id,
                    surface=SURFACES[self.profile],
                    method="GET",
                    path=path,
                    query=query,
                    status=status,
                    latency_ms=spent * 1000.0,
                    detail={**detail, "fast_path": True},
                )
            )

    def _permission_check(self) -> None:
        """403 unless the app holds the profile's permission (ONB-05).

        Like the roles inside an access token, the answer is kept for a token lifetime (mock time).
        """
        now = self.service.now().timestamp()
        if self._granted_until is not None and now < self._granted_until:
            return
        app = self.service.app(self.client_id)
        if self.profile is Profile.GRAPH:
            if not app.has(*GRAPH_DEVICE_PERMISSIONS):
                raise IntegrationError(
                    "403 Forbidden: app lacks DeviceManagementManagedDevices.Read.All", status=403
                )
        elif not app.has(Permission.GET_DEVICE_COMPLIANCE):
            raise IntegrationError("403 Forbidden: app lacks get_device_compliance", status=403)
        self._granted_until = now + self.service.config.token_lifetime_s

    def prepare(self) -> None:
        self._permission_check()

    def redirect_url(self) -> str:
        if self.profile in (Profile.CR_CISCO, Profile.LEGACY_CISCO):
            return self.service.config.redirect_url
        return self.portal_url

    def _throttle_graph(self) -> None:
        if self.profile is Profile.GRAPH:
            try:
                self.service.check_graph_rate(self.client_id)
            except RequestError as exc:
                self._charge("/graph", "", exc.status, {"throttled": True})
                raise Throttled(str(exc), status=exc.status, retry_after=_retry(exc)) from exc

    def lookup(self, identity: DeviceIdentity) -> DeviceAnswer:
        self.latency_s += self._faults("/devices")  # the mock applies faults before auth
        self._permission_check()
        self._throttle_graph()
        if identity.kind is IdentityKind.GUID and self.profile in (Profile.LEGACY_CISCO, Profile.LEGACY_JSON):
            raise IntegrationError(f"the {self.profile.value} API queries by MAC only")
        answer = self._answer_for(identity)
        if self._count_lookup is not None and self.log_calls:
            self.count_answered_lookup()
            return answer
        self._charge(
            "/devices",
            f"querycriteria={identity.kind.value}&value={identity.value}",
            200,
            {
                "criteria": identity.kind.value,
                "value": identity.value,
                "results": int(answer.managed),
                "compliant": answer.compliant,
            },
        )
        return answer

    def count_answered_lookup(self) -> float:
        """An answered single-device lookup, counted by the service's cheap counter: draws its
        modelled latency (added to ``latency_s``) and returns it."""
        spent = self.latency.sample()
        self.latency_s += spent
        self.calls += 1
        self._count_lookup(SURFACES[self.profile])  # type: ignore[misc]  # callers check it is there
        return spent

    def _status(self, identity: DeviceIdentity) -> DeviceStatus | None:
        """The device's decision-relevant status, through the service's fast reads when it has them
        (``status_by_guid`` / ``status_by_mac``, as the load simulation's fleet store does)."""
        guid = identity.kind is IdentityKind.GUID
        fast = getattr(self.service, "status_by_guid" if guid else "status_by_mac", None)
        if fast is not None:
            found: DeviceStatus | None = fast(identity.value)
            return found
        device = self.service.find_guid(identity.value) if guid else self.service.find_mac(identity.value)
        if device is None or not device.managed:
            return None
        return self.service.status(device)

    def _answer_for(self, identity: DeviceIdentity) -> DeviceAnswer:
        """The profile's answer about ``identity``: through the service's brief reads when it has them
        (``brief_by_guid`` / ``brief_by_mac``: the load fleet), else through :meth:`_status`."""
        brief = getattr(
            self.service, "brief_by_guid" if identity.kind is IdentityKind.GUID else "brief_by_mac", None
        )
        if brief is None:
            return self._answer(self._status(identity))
        found: tuple[bool, ComplianceState, str, str] | None = brief(identity.value)
        if found is None or not found[0]:
            return DeviceAnswer.not_enrolled()
        _, state, intune_id, mac = found
        return self._enrolled_answer(state, state.grants_access, intune_id, mac)

    def _answer(self, status: DeviceStatus | None) -> DeviceAnswer:
        """What the profile's wire answer says about a device with ``status`` (None: unknown to Intune)."""
        if status is None or not status.managed:
            return DeviceAnswer.not_enrolled()
        return self._enrolled_answer(status.state, status.compliant, status.intune_id, status.mac)

    def _enrolled_answer(
        self, state: ComplianceState, compliant: bool, intune_id: str, mac: str
    ) -> DeviceAnswer:
        """The profile's answer about an enrolled device (Graph also says its state; Cisco CR its id)."""
        if self.profile is Profile.GRAPH:
            return DeviceAnswer(
                managed=True,
                compliant=state.grants_access,
                state=state.value,
                intune_id=intune_id,
                mac=mac or None,
            )
        guid = intune_id if self.profile is Profile.CR_CISCO else None
        return DeviceAnswer(managed=True, compliant=compliant, intune_id=guid, mac=mac or None)

    def noncompliant_page(self, cursor: str | None) -> NoncompliantPage:
        self.latency_s += self._faults("/devices", broad=True)
        self._permission_check()
        if self.profile is Profile.LEGACY_JSON:
            raise IntegrationError("the legacy JSON NAC API has no noncompliant-list query", status=400)
        if self.profile is Profile.GRAPH:
            self._throttle_graph()
        elif cursor is None:
            try:
                self.service.claim_broad_query(self.client_id)
            except RequestError as exc:
                self._charge("/devices", "querycriteria=compliance&value=false", exc.status, {})
                raise Throttled(str(exc), status=exc.status, retry_after=_retry(exc)) from exc
        try:
            offset = int(cursor or 0)
        except ValueError as exc:
            raise IntuneUnavailable(f"bad paging cursor {cursor!r}") from exc
        fleet_graph = getattr(self.service, "graph_noncompliant", None)  # the load fleet's fast list
        if self.profile is Profile.GRAPH and fleet_graph is not None:
            devices = fleet_graph(fresh=cursor is None)
        elif self.profile is Profile.GRAPH:
            settings, now = self.service.settings(), self.service.now()
            devices = [
                d
                for d in self.service.store.devices(self.service.tenant_id, managed_only=True)
                if compliance.effective_state(d, settings, now) is ComplianceState.NONCOMPLIANT
            ]
        else:
            devices = self.service.noncompliant()
        size = self.service.config.query_max_size
        chunk = devices[offset : offset + size]
        nxt = str(offset + size) if offset + size < len(devices) else None
        listed = tuple(
            ListedDevice(
                intune_id=d.intune_id if self.profile is not Profile.LEGACY_CISCO else None,
                mac=(d.wifi_mac or d.ethernet_mac or None),
            )
            for d in chunk
        )
        self._charge(
            "/devices",
            f"querycriteria=compliance&value=false&paging={offset}",
            200,
            {"criteria": "compliance", "results": len(chunk), "broad": True},
        )
        return NoncompliantPage(listed, nxt)


def _retry(exc: RequestError) -> float | None:
    raw = exc.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
