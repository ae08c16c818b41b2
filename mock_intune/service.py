"""The mock Intune's operations: what every API surface, the admin API and the simulation call.

Pure of Flask and HTTP: it combines the store, the compliance rules and the clock. Surfaces render
its answers in their own wire shapes; the load simulation may call it directly (the fast path).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import compliance
from .clock import Clock, ScaledClock, SystemClock
from .config import MockConfig
from .errors import NotFound, RequestError
from .model import AppRegistration, CallRecord, ComplianceState, Device, TenantSettings, normalize_mac
from .store import Store
from .tokens import TokenAuthority


@dataclass(frozen=True)
class DeviceStatus:
    """What Intune shares about one device at one instant (the decision-relevant fields)."""

    intune_id: str
    managed: bool
    compliant: bool
    state: ComplianceState
    mac: str
    azure_ad_device_id: str
    last_sync_at: datetime | None


@dataclass(frozen=True)
class SharedState:
    """What every NAC-facing request reads besides its own device: a worker's cached copy.

    Taken at store revision ``revision`` (:meth:`Store.shared_revision`); :meth:`MockIntune.shared_state`
    re-reads it whenever that counter has moved, so a change by any worker is seen by the next request.
    """

    revision: int
    tenants: frozenset[str]
    settings: dict[str, TenantSettings]
    faults: dict[str, dict[str, Any]]
    service_base_url: str | None
    service_prefix: str
    """The shard prefix NAC-facing requests must carry (see :meth:`MockIntune.service_prefix`)."""


class MockIntune:
    """One mock Intune service: tenants, apps, devices, rules, limits and the call log."""

    def __init__(
        self, config: MockConfig | None = None, *, store: Store | None = None, clock: Clock | None = None
    ):
        self.config = config or MockConfig()
        self.store = store or Store(self.config.database)
        if clock is None:
            if self.config.time_scale != 1.0:
                origin = self.store.setdefault_meta("clock_origin", SystemClock().now().isoformat())
                wall = float(
                    self.store.setdefault_meta(
                        "clock_origin_wall", str(datetime.fromisoformat(origin).timestamp())
                    )
                )
                clock = ScaledClock(self.config.time_scale, datetime.fromisoformat(origin), wall)
            else:
                clock = SystemClock()
        self.clock = clock
        self.tokens = TokenAuthority(self.store, self.clock, self.config.token_lifetime_s)
        self._shared: SharedState | None = None
        self._bootstrap()

    def _bootstrap(self) -> None:
        cfg = self.config
        if cfg.tenant_id not in self.store.tenants():
            self.store.put_tenant(cfg.tenant_id, TenantSettings())
        try:
            self.store.get_app(cfg.client_id)
        except NotFound:
            self.store.put_app(
                AppRegistration(
                    client_id=cfg.client_id,
                    tenant_id=cfg.tenant_id,
                    client_secret=cfg.client_secret,
                    certificate_pem=cfg.client_certificate_pem,
                    permissions=cfg.permissions,
                )
            )

    @property
    def tenant_id(self) -> str:
        return self.config.tenant_id

    def now(self) -> datetime:
        return self.clock.now()

    def shared_state(self) -> SharedState:
        """Tenants, their settings, faults and the service base, as of now (one store read when
        nothing changed since this worker last looked; a full re-read when anything did)."""
        revision = self.store.shared_revision()
        cached = self._shared
        if cached is not None and cached.revision == revision:
            return cached
        from .service_base import prefix_of

        store = self.store
        tenants = store.tenants()
        base = store.get_meta("service_base_url")
        fresh = SharedState(
            revision=revision,
            tenants=frozenset(tenants),
            settings={t: store.tenant_settings(t) for t in tenants},
            faults=store.faults(),
            service_base_url=base,
            service_prefix=prefix_of(base),
        )
        self._shared = fresh
        return fresh

    # -- tenants, apps ---------------------------------------------------------------------
    def settings(self, tenant_id: str | None = None) -> TenantSettings:
        return self.store.tenant_settings(tenant_id or self.tenant_id)

    def update_settings(self, settings: TenantSettings, tenant_id: str | None = None) -> None:
        self.store.put_tenant(tenant_id or self.tenant_id, settings)

    def register_app(self, app: AppRegistration) -> None:
        if app.tenant_id not in self.store.tenants():
            self.store.put_tenant(app.tenant_id, TenantSettings())
        self.store.put_app(app)

    def app(self, client_id: str) -> AppRegistration:
        return self.store.get_app(client_id)

    # -- devices ---------------------------------------------------------------------------
    def seed(self, devices: Iterable[Device], tenant_id: str | None = None) -> int:
        batch = list(devices)
        self.store.put_devices(tenant_id or self.tenant_id, batch)
        return len(batch)

    def device(self, intune_id: str, tenant_id: str | None = None) -> Device:
        found = self.store.get_device(tenant_id or self.tenant_id, intune_id.lower())
        if found is None:
            raise NotFound(f"device {intune_id} does not exist")
        return found

    def _save(self, device: Device, tenant_id: str | None) -> Device:
        self.store.put_device(tenant_id or self.tenant_id, device)
        return device

    def find_guid(self, guid: str, tenant_id: str | None = None) -> Device | None:
        return self.store.get_device(tenant_id or self.tenant_id, guid.lower())

    def find_mac(self, mac: str, tenant_id: str | None = None) -> Device | None:
        return self.store.find_by_mac(tenant_id or self.tenant_id, normalize_mac(mac))

    def status(
        self, device: Device, tenant_id: str | None = None, *, settings: TenantSettings | None = None
    ) -> DeviceStatus:
        """The decision-relevant view of ``device`` now (validity period and grace expiry applied).

        ``settings`` saves a read when the caller already holds the tenant's settings.
        """
        settings = settings if settings is not None else self.settings(tenant_id)
        now = self.now()
        return DeviceStatus(
            intune_id=device.intune_id,
            managed=device.managed,
            compliant=compliance.is_compliant(device, settings, now),
            state=compliance.effective_state(device, settings, now),
            mac=device.wifi_mac or device.ethernet_mac,
            azure_ad_device_id=device.azure_ad_device_id,
            last_sync_at=device.last_sync_at,
        )

    def noncompliant(self, tenant_id: str | None = None) -> list[Device]:
        """Every managed device that reads as not compliant now, in a stable order."""
        tid = tenant_id or self.tenant_id
        settings = self.settings(tid)
        now = self.now()
        return [
            d
            for d in self.store.devices(tid, managed_only=True)
            if not compliance.is_compliant(d, settings, now)
        ]

    # -- state changes (each keeps Intune's rules) ----------------------------------------
    def enroll(self, intune_id: str, tenant_id: str | None = None) -> Device:
        return self._save(compliance.enroll(self.device(intune_id, tenant_id), self.now()), tenant_id)

    def retire(self, intune_id: str, tenant_id: str | None = None) -> Device:
        return self._save(compliance.retire(self.device(intune_id, tenant_id)), tenant_id)

    def check_in(self, intune_id: str, tenant_id: str | None = None) -> Device:
        d = self.device(intune_id, tenant_id)
        return self._save(compliance.check_in(d, self.settings(tenant_id), self.now()), tenant_id)

    def evaluate(self, intune_id: str, tenant_id: str | None = None) -> Device:
        d = self.device(intune_id, tenant_id)
        return self._save(compliance.evaluate(d, self.settings(tenant_id), self.now()), tenant_id)

    def portal_visit(self, intune_id: str, tenant_id: str | None = None) -> Device:
        """The user opened the portal: Intune re-evaluates the device synchronously (RED-02)."""
        return self.evaluate(intune_id, tenant_id)

    def set_posture(self, intune_id: str, compliant: bool, tenant_id: str | None = None) -> Device:
        """Change what the device really is; Intune learns it at the next check-in or portal visit."""
        return self._save(self.device(intune_id, tenant_id).copy(posture_compliant=compliant), tenant_id)

    def set_state(self, intune_id: str, state: ComplianceState, tenant_id: str | None = None) -> Device:
        """Admin override of the evaluated state; illegal transitions raise IllegalTransition."""
        d = self.device(intune_id, tenant_id)
        return self._save(compliance.set_state(d, state, self.now()), tenant_id)

    def update_device(self, device: Device, tenant_id: str | None = None) -> Device:
        """Replace a device record, enforcing the transition rules against the stored one."""
        old = self.store.get_device(tenant_id or self.tenant_id, device.intune_id)
        if old is not None and old.compliance_state is not device.compliance_state:
            compliance.check_transition(old, device.compliance_state)
        return self._save(device, tenant_id)

    def find_attr(self, attr: str, value: str, tenant_id: str | None = None) -> Device | None:
        """The device whose ``attr`` (``udid``, ``imei``, ``meid``, ``serial_number``) equals ``value``.

        Case-insensitive; managed devices win over retired ones. A linear scan: the legacy criteria
        that need it are rare.
        """
        if attr not in ("udid", "imei", "meid", "serial_number"):
            raise ValueError(f"not a searchable device attribute: {attr}")
        wanted = value.strip().lower()
        found = [
            d
            for d in self.store.devices(tenant_id or self.tenant_id)
            if str(getattr(d, attr)).lower() == wanted
        ]
        found.sort(key=lambda d: not d.managed)
        return found[0] if found and wanted else None

    # -- where the NAC services live (ONB-01: the endpoint can move) ----------------------
    def set_service_base(self, url: str | None) -> None:
        """Move the advertised NAC/CR service base (None: back to the default).

        ``url`` is an absolute ``http(s)://host[:port][/segment]`` or just ``/segment``; the optional
        single path segment (e.g. ``/fef-02``) is the shard prefix the NAC-facing surfaces then
        require. See :mod:`mock_intune.api.discovery`.
        """
        from .service_base import validate_service_base

        if url is None:
            self.store.set_meta("service_base_url", "")
            return
        self.store.set_meta("service_base_url", validate_service_base(url))

    def service_base(self, request_host_url: str) -> str:
        """The service base URL discovery advertises now, without a trailing slash."""
        from .service_base import resolve_service_base

        origin = self.config.public_base_url or request_host_url
        return resolve_service_base(self.store.get_meta("service_base_url"), origin)

    def service_prefix(self) -> str:
        """The shard prefix (``""`` or ``/segment``) NAC-facing requests must carry now."""
        from .service_base import prefix_of

        return prefix_of(self.store.get_meta("service_base_url"))

    # -- limits ----------------------------------------------------------------------------
    def claim_broad_query(self, app: str, tenant_id: str | None = None) -> None:
        """Allow one "all noncompliant devices" query per interval; raise a 503 otherwise (RES-02)."""
        tid = tenant_id or self.tenant_id
        now = self.now()
        last = self.store.last_broad_query(tid, app)
        interval = timedelta(seconds=self.config.broad_query_interval_s)
        if last is not None and now - last < interval:
            wait = int((interval - (now - last)).total_seconds() / self.config.time_scale) + 1
            raise RequestError(
                503,
                "Broad queries for all noncompliant devices are limited to one every "
                f"{self.config.broad_query_interval_s / 3600:g} hours.",
                code="ServiceUnavailable",
                headers={"Retry-After": str(wait)},
            )
        self.store.set_broad_query(tid, app, now)

    def release_broad_query(self, app: str, at: datetime, tenant_id: str | None = None) -> None:
        """Keep the window open after the first page: later pages of the same sweep are not new sweeps."""
        self.store.set_broad_query(tenant_id or self.tenant_id, app, at)

    def check_graph_rate(self, app: str, tenant_id: str | None = None) -> None:
        """Graph throttling: above ``graph_rate_limit`` per window per app, answer 429 + Retry-After."""
        now_s = self.now().timestamp()
        window = self.config.graph_rate_window_s
        count, start = self.store.hit_window(f"graph:{tenant_id or self.tenant_id}:{app}", now_s, window)
        if count > self.config.graph_rate_limit:
            wait = max(1, int((start + window - now_s) / self.config.time_scale) + 1)
            raise RequestError(
                429,
                "Too many requests. Please retry after the time in the Retry-After header.",
                code="TooManyRequests",
                headers={"Retry-After": str(wait)},
            )

    # -- call log --------------------------------------------------------------------------
    def log(self, record: CallRecord) -> None:
        if self.config.log_calls:
            self.store.log_call(record)

    def calls(self, after: int = 0) -> list[CallRecord]:
        return self.store.calls(after=after)

    def reset(self) -> None:
        self.store.reset()
