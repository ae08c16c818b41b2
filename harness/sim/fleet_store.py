"""The compact device table under the fast-path Intune: one shard's records in flat arrays.

See :mod:`harness.sim.fleet`. Slot ``j`` holds population device ``range[j]``; per device it keeps
flags (managed, posture, policy), the compliance and registration state codes and four times
(simulated seconds, NaN for none): about 40 bytes. Everything immutable comes from the population.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from mock_intune.errors import StateError
from mock_intune.model import CallRecord, ComplianceState, Device, RegistrationState, TenantSettings
from mock_intune.store import Store

from ..population import InitialState, Population, to_mock_device
from ..population_arrays import initial_records

NAN = math.nan
STATES = tuple(ComplianceState)
STATE_CODE = {s: i for i, s in enumerate(STATES)}
REGS = tuple(RegistrationState)
REG_CODE = {s: i for i, s in enumerate(REGS)}
C_UNKNOWN = STATE_CODE[ComplianceState.UNKNOWN]
C_COMPLIANT = STATE_CODE[ComplianceState.COMPLIANT]
C_NONCOMPLIANT = STATE_CODE[ComplianceState.NONCOMPLIANT]
C_GRACE = STATE_CODE[ComplianceState.IN_GRACE_PERIOD]
_INITIAL_CODE = {
    InitialState.COMPLIANT: C_COMPLIANT,
    InitialState.STALE: C_COMPLIANT,
    InitialState.NONCOMPLIANT: C_NONCOMPLIANT,
    InitialState.IN_GRACE: C_GRACE,
    InitialState.UNKNOWN: C_UNKNOWN,
}
"""Compliance state code of an enrolled device's initial state (no policy: the tenant's mark)."""

SWEEP_WINDOW_S = 3600.0
"""A broad-query sweep's pages reuse the list taken at its claim for at most this long."""

F_MANAGED = 1
F_POSTURE = 2
F_POLICY = 4


def call_kind(record: CallRecord) -> str:
    """How the load report groups a call: its surface, and whether it was a broad list query."""
    broad = record.detail.get("broad") or "compliance" in record.query
    return f"{record.surface.value} list" if broad else record.surface.value


class FleetStore(Store):
    """A :class:`Store` whose devices live in compact arrays for one shard of a population.

    Slot ``j`` holds population device ``first + j * step`` (a shard's strided range).
    """

    def __init__(
        self,
        population: Population,
        devices: range,
        epoch: datetime,
        settings: TenantSettings,
    ) -> None:
        super().__init__(None)
        self.population = population
        self.range = devices
        self.epoch = epoch
        self._settings_cache: dict[str, TenantSettings] = {}
        self.call_counts: dict[tuple[str, int], int] = {}
        self.throttled_counts: dict[tuple[str, int], int] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self._faults: dict[str, dict[str, Any]] | None = None
        self._fill(settings)

    # -- slots -------------------------------------------------------------------------------
    def _fill(self, settings: TenantSettings) -> None:
        """Every slot's initial record, derived for the whole shard at once (numpy)."""
        codes, enrolled, sync, grace = initial_records(self.population, self.range, settings.validity_days)
        mark = C_COMPLIANT if settings.no_policy_mark.value == "compliant" else C_NONCOMPLIANT
        flags, states, regs = [0] * len(InitialState), [0] * len(InitialState), [0] * len(InitialState)
        for init in InitialState:
            if init is InitialState.UNENROLLED:
                flags[init] = F_POSTURE | F_POLICY
                states[init] = C_UNKNOWN
                regs[init] = REG_CODE[RegistrationState.NOT_REGISTERED]
                continue
            posture = init not in (InitialState.NONCOMPLIANT, InitialState.IN_GRACE)
            policy = init is not InitialState.NO_POLICY
            flags[init] = F_MANAGED | (F_POSTURE if posture else 0) | (F_POLICY if policy else 0)
            states[init] = _INITIAL_CODE.get(init, mark)
            regs[init] = REG_CODE[RegistrationState.REGISTERED]
        state = np.array(states, dtype=np.uint8)[codes]
        self.flags = bytearray(np.array(flags, dtype=np.uint8)[codes].tobytes())
        self.state = bytearray(state.tobytes())
        self.reg = bytearray(np.array(regs, dtype=np.uint8)[codes].tobytes())
        self.enrolled_at = array("d", enrolled.tobytes())
        self.last_sync = array("d", sync.tobytes())
        self.evaluated = array("d", np.where(state == C_UNKNOWN, np.nan, sync).tobytes())
        self.grace = array("d", grace.tobytes())

    def slot_of(self, index: int) -> int | None:
        """The slot of population device ``index`` in this shard, or None if another shard has it."""
        r = self.range
        off = index - r.start
        if off < 0 or off % r.step:
            return None
        j = off // r.step
        return j if j < len(r) else None

    def slot_of_guid(self, guid: str) -> int | None:
        i = self.population.index_of_intune_id(guid)
        return None if i is None else self.slot_of(i)

    def slot_of_mac(self, mac: str) -> int | None:
        i = self.population.index_of_mac(mac)
        return None if i is None else self.slot_of(i)

    def _dt(self, offset: float) -> datetime | None:
        return None if offset != offset else self.epoch + timedelta(seconds=offset)

    def _off(self, when: datetime | None) -> float:
        return NAN if when is None else (when - self.epoch).total_seconds()

    def materialise(self, j: int, *, full: bool = True) -> Device:
        """The :class:`Device` record of slot ``j``.

        ``full=False`` leaves out what the NAC-facing answers never read (names, user, serial,
        model): the fast path's lookups and noncompliant lists use it.
        """
        i = self.range[j]
        pop = self.population
        f = self.flags[j]
        dt = self._dt
        state: dict[str, Any] = {
            "managed": bool(f & F_MANAGED),
            "posture_compliant": bool(f & F_POSTURE),
            "has_policy": bool(f & F_POLICY),
            "compliance_state": STATES[self.state[j]],
            "registration_state": REGS[self.reg[j]],
            "enrolled_at": dt(self.enrolled_at[j]),
            "last_sync_at": dt(self.last_sync[j]),
            "evaluated_at": dt(self.evaluated[j]),
            "grace_expires_at": dt(self.grace[j]),
        }
        if not full:
            return Device(
                intune_id=pop.intune_id(i),
                azure_ad_device_id=pop.entra_id(i),
                wifi_mac=pop.hardware_mac(i),
                operating_system=pop.os_of(i),
                **state,
            )
        base = to_mock_device(pop[i], pop, self.epoch, TenantSettings())
        return base.copy(**state)

    def write(self, j: int, d: Device) -> None:
        self.flags[j] = (
            (F_MANAGED if d.managed else 0)
            | (F_POSTURE if d.posture_compliant else 0)
            | (F_POLICY if d.has_policy else 0)
        )
        self.state[j] = STATE_CODE[d.compliance_state]
        self.reg[j] = REG_CODE[d.registration_state]
        self.enrolled_at[j] = self._off(d.enrolled_at)
        self.last_sync[j] = self._off(d.last_sync_at)
        self.evaluated[j] = self._off(d.evaluated_at)
        self.grace[j] = self._off(d.grace_expires_at)

    # -- Store's device API ------------------------------------------------------------------
    def put_device(self, tenant_id: str, device: Device) -> None:
        self.put_devices(tenant_id, [device])

    def put_devices(self, tenant_id: str, devices: Iterable[Device]) -> None:
        for d in devices:
            j = self.slot_of_guid(d.intune_id)
            if j is None:
                raise StateError(
                    f"device {d.intune_id} is not one of this shard's population; the fleet store holds "
                    "only population devices"
                )
            self.write(j, d)

    def get_device(self, tenant_id: str, intune_id: str) -> Device | None:
        j = self.slot_of_guid(intune_id)
        return None if j is None else self.materialise(j)

    def find_by_mac(self, tenant_id: str, mac: str) -> Device | None:
        j = self.slot_of_mac(mac)
        return None if j is None else self.materialise(j)

    def find_by_azure_id(self, tenant_id: str, azure_id: str) -> Device | None:
        pop = self.population
        wanted = azure_id.lower()
        for j, i in enumerate(self.range):
            if pop.entra_id(i) == wanted:
                return self.materialise(j)
        return None

    def devices(self, tenant_id: str, *, managed_only: bool = False) -> list[Device]:
        slots = [j for j in range(len(self.range)) if not managed_only or self.flags[j] & F_MANAGED]
        out = [self.materialise(j) for j in slots]
        out.sort(key=lambda d: d.intune_id)
        return out

    def delete_device(self, tenant_id: str, intune_id: str) -> bool:
        raise StateError("the fleet store cannot delete population devices")

    def count_devices(self, tenant_id: str) -> int:
        return len(self.range)

    def put_fault(self, surface: str, data: dict[str, Any] | None) -> None:
        super().put_fault(surface, data)
        self._faults = None

    def faults(self) -> dict[str, dict[str, Any]]:
        if self._faults is None:
            self._faults = super().faults()
        return self._faults

    def tenant_settings(self, tenant_id: str) -> TenantSettings:
        cached = self._settings_cache.get(tenant_id)
        if cached is None:
            cached = self._settings_cache[tenant_id] = super().tenant_settings(tenant_id)
        return cached

    def put_tenant(self, tenant_id: str, settings: TenantSettings) -> None:
        super().put_tenant(tenant_id, settings)
        self._settings_cache.pop(tenant_id, None)

    # -- call log: counted, not stored -------------------------------------------------------
    def log_call(self, record: CallRecord) -> int:
        self.count_call(call_kind(record), record.at, record.status)
        return 0

    def count_call(self, kind: str, at: datetime, status: int) -> None:
        """Count one call of ``kind`` (see :func:`call_kind`) answered ``status`` at ``at``."""
        self.count_call_in(kind, int((at - self.epoch).total_seconds() // 60), status)

    def count_call_in(self, kind: str, minute: int, status: int) -> None:
        """Count one call of ``kind`` answered ``status`` in simulated ``minute``."""
        key = (kind, minute)
        self.call_counts[key] = self.call_counts.get(key, 0) + 1
        if status in (429, 503):
            self.throttled_counts[key] = self.throttled_counts.get(key, 0) + 1

    def hit_window(self, key: str, now_s: float, window_s: float) -> tuple[int, float]:
        start, count = self._windows.get(key, (now_s, 0))
        if now_s - start >= window_s:
            start, count = now_s, 0
        count += 1
        self._windows[key] = (start, count)
        return count, start
