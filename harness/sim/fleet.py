"""The fast-path mock Intune for load runs: :class:`MockIntune` over a compact in-memory device table.

At a million devices a SQLite row and a JSON document per device (and per change) are far too slow
and too big, so :class:`FleetStore` keeps one shard's Intune records in flat arrays indexed by the
device's slot in the shard (about 40 bytes a device) and derives everything that never changes
(names, MACs, ids, models) from the :class:`~harness.population.Population` on demand. Tenants, app
registrations, tokens and the broad-query limit stay in the ordinary SQLite store underneath.

:class:`FleetIntune` *is* a :class:`MockIntune` (every state change still goes through
:mod:`mock_intune.compliance`, so Intune's rules hold), with the hot operations done on the arrays:
``check_in`` / ``evaluate`` / ``portal_visit`` / ``set_posture`` / ``enroll``, the status of a device by
its id or MAC (:meth:`FleetIntune.status_by_guid`, :meth:`FleetIntune.status_by_mac`) and the
noncompliant list. ``tests/sim/test_fleet.py`` proves they agree with the generic path.

The call log is not stored: :meth:`FleetStore.log_call` counts calls per (surface, simulated minute),
and throttled answers (429/503) separately, which is what the load report needs.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from mock_intune.config import MockConfig
from mock_intune.errors import NotFound, StateError
from mock_intune.model import (
    ComplianceState,
    Device,
    RegistrationState,
    Surface,
    TenantSettings,
    normalize_mac,
)
from mock_intune.service import DeviceStatus, MockIntune

from ..population import Population
from .fleet_store import (  # noqa: F401 - re-exported for callers of the fast path
    C_COMPLIANT,
    C_GRACE,
    C_NONCOMPLIANT,
    C_UNKNOWN,
    F_MANAGED,
    F_POLICY,
    F_POSTURE,
    NAN,
    REG_CODE,
    STATES,
    SWEEP_WINDOW_S,
    FleetStore,
    call_kind,
)

_GRANTS = tuple(state.grants_access for state in STATES)
_GRANTS_ARRAY = np.array(_GRANTS, dtype=bool)

Standing = tuple[bool, bool, int]
"""``(managed, compliant now, population index)`` of one device (the lean decision path's read)."""

BriefStatus = tuple[bool, ComplianceState, str, str]
"""``(managed, effective compliance state, Intune device id, hardware MAC)`` of one device."""


class FleetIntune(MockIntune):
    """A :class:`MockIntune` over a :class:`FleetStore`: the load simulation's Intune (fast path)."""

    store: FleetStore

    def __init__(
        self,
        population: Population,
        devices: range,
        *,
        config: MockConfig | None = None,
        clock: object,
        epoch: datetime,
        settings: TenantSettings | None = None,
    ) -> None:
        settings = settings or TenantSettings()
        store = FleetStore(population, devices, epoch, settings)
        super().__init__(config or MockConfig(), store=store, clock=clock)  # type: ignore[arg-type]
        self.update_settings(settings)
        self._env_now = getattr(clock, "env", None)
        self.epoch = epoch
        self._sweep: list[Device] | None = None
        self._sweep_at = -math.inf
        self._graph_sweep: list[Device] | None = None
        self._graph_sweep_at = -math.inf

    # -- time in simulated seconds -------------------------------------------------------------
    def _t(self) -> float:
        env = self._env_now
        if env is not None:
            return float(env.now)
        return (self.now() - self.epoch).total_seconds()

    # -- fast reads ----------------------------------------------------------------------------
    def _effective(self, j: int, now: float, settings: TenantSettings) -> int:
        """Numeric :func:`compliance.effective_state` of slot ``j`` at ``now`` (simulated seconds)."""
        st = self.store
        code = st.state[j]
        if not st.flags[j] & F_MANAGED or code == C_UNKNOWN:
            return code
        if code == C_GRACE:
            g = st.grace[j]
            if g == g and now >= g:
                return C_NONCOMPLIANT
        sync = st.last_sync[j]
        if sync == sync and now - sync > settings.validity_days * 86400.0:
            return C_NONCOMPLIANT
        return code

    def _status(self, j: int) -> DeviceStatus:
        st = self.store
        i = st.range[j]
        pop = st.population
        code = self._effective(j, self._t(), self.settings())
        state = STATES[code]
        managed = bool(st.flags[j] & F_MANAGED)
        return DeviceStatus(
            intune_id=pop.intune_id(i),
            managed=managed,
            compliant=managed and state.grants_access,
            state=state,
            mac=pop.hardware_mac(i),
            azure_ad_device_id=pop.entra_id(i),
            last_sync_at=st._dt(st.last_sync[j]),
        )

    def _brief(self, j: int) -> BriefStatus:
        st = self.store
        i = st.range[j]
        pop = st.population
        return (
            bool(st.flags[j] & F_MANAGED),
            STATES[self._effective(j, self._t(), self.settings())],
            pop.intune_id(i),
            pop.hardware_mac(i),
        )

    def brief_by_guid(self, guid: str) -> BriefStatus | None:
        """The part of :meth:`status_by_guid` a NAC's answer is built from (the fast path's lookup):
        ``(managed, effective state, Intune id, MAC)``, without the Entra id and sync time it never reads."""
        j = self.store.slot_of_guid(guid)
        return None if j is None else self._brief(j)

    def brief_by_mac(self, mac: str) -> BriefStatus | None:
        """As :meth:`brief_by_guid`, by hardware MAC (any notation)."""
        j = self.store.slot_of_mac(normalize_mac(mac))
        return None if j is None else self._brief(j)

    def standing_by_guid(self, guid: str) -> Standing | None:
        """``(managed, compliant now, population index)`` of the device with this Intune id: the
        brief the NAC's lean decision path reads (no strings built), or None."""
        return self._standing(self.store.slot_of_guid(guid))

    def standing_by_mac(self, mac: str) -> Standing | None:
        """As :meth:`standing_by_guid`, by hardware MAC (12 hex digits, or any notation)."""
        return self._standing(self.store.slot_of_mac(mac if len(mac) == 12 else normalize_mac(mac)))

    def _standing(self, j: int | None) -> Standing | None:
        if j is None:
            return None
        st = self.store
        return (
            bool(st.flags[j] & F_MANAGED),
            _GRANTS[self._effective(j, self._t(), self.settings())],
            st.range[j],
        )

    def intune_id_of(self, index: int) -> str:
        """The Intune device id of population device ``index``."""
        return self.store.population.intune_id(index)

    def mac_of(self, index: int) -> str:
        """The hardware MAC (12 hex digits) Intune records for population device ``index``."""
        return self.store.population.hardware_mac(index)

    def count_lookup(self, surface: Surface) -> None:
        """Log one answered single-device lookup on ``surface`` now (the fast path's cheap
        :meth:`log`: the fleet only counts calls, so no :class:`CallRecord` is built)."""
        if self.config.log_calls:
            self.store.count_call_in(surface.value, int(self._t() // 60), 200)

    def status_by_guid(self, guid: str) -> DeviceStatus | None:
        """What Intune shares about the device with this Intune id now, or None if it has no such device."""
        j = self.store.slot_of_guid(guid)
        return None if j is None else self._status(j)

    def status_by_mac(self, mac: str) -> DeviceStatus | None:
        """As :meth:`status_by_guid`, by hardware MAC (any notation)."""
        j = self.store.slot_of_mac(normalize_mac(mac))
        return None if j is None else self._status(j)

    def find_guid(self, guid: str, tenant_id: str | None = None) -> Device | None:
        j = self.store.slot_of_guid(guid)
        return None if j is None else self.store.materialise(j, full=False)

    def find_mac(self, mac: str, tenant_id: str | None = None) -> Device | None:
        j = self.store.slot_of_mac(normalize_mac(mac))
        return None if j is None else self.store.materialise(j, full=False)

    def claim_broad_query(self, app: str, tenant_id: str | None = None) -> None:
        """As the mock's; a successful claim starts a new sweep, so the noncompliant list is taken afresh."""
        super().claim_broad_query(app, tenant_id)
        self._sweep = None
        self._sweep_at = self._t()

    def noncompliant(self, tenant_id: str | None = None) -> list[Device]:
        """Every managed device that reads as not compliant, sorted by Intune id.

        One sweep pages through this list many times (``query_max_size`` at a time), so the list is
        taken once per sweep — at the claim of the broad query that starts it — and reused for its
        later pages, as a server-side paged result would be.
        """
        now = self._t()
        in_sweep = now - self._sweep_at < SWEEP_WINDOW_S
        if in_sweep and self._sweep is not None:
            return self._sweep
        st = self.store
        out = [st.materialise(j, full=False) for j in self.noncompliant_slots(now, self.settings(tenant_id))]
        out.sort(key=lambda d: d.intune_id)
        self._sweep = out if in_sweep else None
        return out

    def noncompliant_slots(self, now: float, settings: TenantSettings) -> list[int]:
        """The slots of managed devices whose effective state does not grant access at ``now``.

        :meth:`_effective` over the whole table at once (numpy views of its arrays): the state code,
        Noncompliant where the grace period has ended or the last check-in is older than the
        validity period — for managed devices whose state is not Unknown.
        """
        st = self.store
        if not len(st.range):
            return []
        flags = np.frombuffer(st.flags, dtype=np.uint8)
        code = np.frombuffer(st.state, dtype=np.uint8)
        managed = (flags & F_MANAGED) != 0
        with np.errstate(invalid="ignore"):  # NaN times compare False, as in _effective
            lapsed = ((code == C_GRACE) & (now >= np.frombuffer(st.grace, dtype=np.float64))) | (
                now - np.frombuffer(st.last_sync, dtype=np.float64) > settings.validity_days * 86400.0
            )
        effective = np.where(managed & (code != C_UNKNOWN) & lapsed, C_NONCOMPLIANT, code)
        return [int(j) for j in np.flatnonzero(managed & ~_GRANTS_ARRAY[effective])]

    def graph_noncompliant(self, *, fresh: bool) -> list[Device]:
        """Managed devices whose Graph ``complianceState`` reads ``noncompliant`` now, sorted by Intune id.

        What Graph's ``managedDevices?$filter=complianceState eq 'noncompliant'`` pages through (the
        in-grace devices are not in it). ``fresh`` starts a new sweep; the later pages of a sweep reuse
        its list (for at most ``SWEEP_WINDOW_S``), as the server-side paging of one query would.
        """
        now = self._t()
        if not fresh and self._graph_sweep is not None and now - self._graph_sweep_at < SWEEP_WINDOW_S:
            return self._graph_sweep
        settings = self.settings()
        st = self.store
        eff = self._effective
        slots = [
            j
            for j in range(len(st.range))
            if st.flags[j] & F_MANAGED and eff(j, now, settings) == C_NONCOMPLIANT
        ]
        out = [st.materialise(j, full=False) for j in slots]
        out.sort(key=lambda d: d.intune_id)
        self._graph_sweep, self._graph_sweep_at = out, now
        return out

    # -- fast state changes (the same rules as mock_intune.compliance, on the arrays) ---------
    def _slot(self, intune_id: str) -> int:
        j = self.store.slot_of_guid(intune_id)
        if j is None:
            raise NotFound(f"device {intune_id} does not exist")
        return j

    def evaluate_slot(self, j: int) -> int:
        """:func:`compliance.evaluate` on slot ``j`` at now; returns the new state code."""
        st = self.store
        f = st.flags[j]
        if not f & F_MANAGED:
            guid = st.population.intune_id(st.range[j])
            raise StateError(f"device {guid} is not enrolled; it cannot be evaluated")
        settings = self.settings()
        now = self._t()
        grace = st.grace[j]
        if not f & F_POLICY:
            code = C_COMPLIANT if settings.no_policy_mark.value == "compliant" else C_NONCOMPLIANT
            grace = NAN
        elif f & F_POSTURE:
            code, grace = C_COMPLIANT, NAN
        elif settings.grace_period_hours > 0:
            if grace != grace:
                grace = now + settings.grace_period_hours * 3600.0
            code = C_GRACE if now < grace else C_NONCOMPLIANT
        else:
            code, grace = C_NONCOMPLIANT, NAN
        # check_transition: an evaluated state is never Unknown, and the device is managed here
        st.state[j] = code
        st.grace[j] = grace
        st.evaluated[j] = now
        st.last_sync[j] = now
        return code

    def check_in_slot(self, j: int) -> int:
        return self.evaluate_slot(j)

    def enroll_slot(self, j: int) -> None:
        st = self.store
        now = self._t()
        st.flags[j] |= F_MANAGED
        st.reg[j] = REG_CODE[RegistrationState.REGISTERED]
        st.enrolled_at[j] = now
        st.last_sync[j] = now
        st.evaluated[j] = NAN
        st.state[j] = C_UNKNOWN
        st.grace[j] = NAN

    def set_posture_slot(self, j: int, compliant: bool) -> None:
        st = self.store
        if compliant:
            st.flags[j] |= F_POSTURE
        else:
            st.flags[j] &= ~F_POSTURE & 0xFF

    def check_in(self, intune_id: str, tenant_id: str | None = None) -> Device:
        j = self._slot(intune_id)
        self.evaluate_slot(j)
        return self.store.materialise(j)

    def evaluate(self, intune_id: str, tenant_id: str | None = None) -> Device:
        return self.check_in(intune_id, tenant_id)

    def enroll(self, intune_id: str, tenant_id: str | None = None) -> Device:
        j = self._slot(intune_id)
        self.enroll_slot(j)
        return self.store.materialise(j)

    def set_posture(self, intune_id: str, compliant: bool, tenant_id: str | None = None) -> Device:
        j = self._slot(intune_id)
        self.set_posture_slot(j, compliant)
        return self.store.materialise(j)
