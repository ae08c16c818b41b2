"""Seeded device populations, computed on demand from ``(seed, index)``.

A :class:`Population` stores no per-device data: ``population[i]`` derives device ``i`` (OS,
manufacturer, model, OS version, MACs, user, ownership, initial Intune state, certificate SAN URIs,
Intune and Entra device ids) from a counter-based hash of the seed and the index, so a million-device
population costs a few kilobytes and devices can be generated lazily as they arrive. Same seed,
same population. Users come from Faker, but only once: pools of first and last names are generated
per population and indexed by hash (Faker per device per field is far too slow at scale).

Ids are invertible: :meth:`Population.index_of_intune_id` and :meth:`Population.index_of_mac` find a
device's index from its Intune device id or hardware MAC without any lookup table (the low bits of
both are a keyed permutation of the index), which is what the compact fast-path Intune uses.

:func:`to_mock_device` turns a profile into a :class:`mock_intune.model.Device` for seeding the mock.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from mock_intune.model import (
    ComplianceState,
    Device,
    OperatingSystem,
    OwnerType,
    RegistrationState,
    TenantSettings,
)

from .device_catalog import CATALOG, OS_ORDER, Model
from .oui import OUIS
from .scenario import PopulationSpec
from .sim.timing import hash64, hash64k, hash_key

# salts: one per independent family of draws
_S_KIND, _S_STATE, _S_CERT, _S_MAC, _S_USER, _S_ID, _S_ENTRA, _S_TIMES, _S_SERIAL = range(11, 20)
_M32 = (1 << 32) - 1
_M24 = (1 << 24) - 1
_MEMO = 4096
"""Recently derived ids and MACs kept per population (a device asks for them several times in a row)."""


class InitialState(IntEnum):
    """Where a device starts, as Intune knows it before the run."""

    UNENROLLED = 0
    COMPLIANT = 1
    NONCOMPLIANT = 2
    IN_GRACE = 3
    UNKNOWN = 4
    """Newly enrolled, never evaluated."""
    STALE = 5
    """Compliant when last evaluated, but no check-in within the validity period."""
    NO_POLICY = 6


class SanForm(IntEnum):
    NONE = 0
    INTUNE_DEVICE_ID = 1
    MEM_GUID = 2


_STATE_ORDER = (
    InitialState.COMPLIANT,
    InitialState.NONCOMPLIANT,
    InitialState.IN_GRACE,
    InitialState.UNKNOWN,
    InitialState.STALE,
    InitialState.NO_POLICY,
)


def _cumulative(shares: list[float]) -> list[int]:
    """Cumulative 16-bit thresholds for picking by a 16-bit draw with ``bisect_right``."""
    out, acc = [], 0.0
    for s in shares:
        acc += s
        out.append(min(65536, round(acc * 65536)))
    out[-1] = 65536
    return out


def _u16(h: int, k: int) -> int:
    return (h >> (16 * k)) & 0xFFFF


def _threshold(share: float) -> int:
    return round(share * 65536)


def _inverse_odd(a: int, bits: int) -> int:
    return pow(a, -1, 1 << bits)


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """One device of a population (everything the harness knows about it, derived from the seed)."""

    index: int
    intune_id: str
    entra_id: str
    os: OperatingSystem
    manufacturer: str
    model: str
    os_version: str
    device_name: str
    serial_number: str
    wifi_mac: str
    """The hardware MAC (what Intune records), 12 upper-case hex digits."""
    randomized_mac: str | None
    """The locally administered MAC the device shows on Wi-Fi, or None when it uses its own."""
    owner: OwnerType
    user_principal_name: str
    initial: InitialState
    declines_enrollment: bool
    unfixable: bool
    san_form: SanForm
    sid: str | None
    """The strong-mapping SID put in the certificate's SAN beside the device id, if any."""

    @property
    def enrolled(self) -> bool:
        return self.initial is not InitialState.UNENROLLED

    @property
    def session_mac(self) -> str:
        """The MAC the access point sees (Calling-Station-Id)."""
        return self.randomized_mac or self.wifi_mac

    @property
    def has_certificate(self) -> bool:
        return self.san_form is not SanForm.NONE

    @property
    def san_uris(self) -> tuple[str, ...]:
        """SAN URI values of the device certificate (empty: no certificate)."""
        from .pki import san_uris

        return san_uris(self.intune_id, self.san_form, self.sid)


class Population:
    """``size`` devices derived from ``(seed, index)``; ``population[i]`` builds device ``i``."""

    def __init__(self, spec: PopulationSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.size = spec.size
        mix = spec.os_mix
        self._os_cum = _cumulative([getattr(mix, o.name.lower()) for o in OS_ORDER])
        self._owner_personal = _threshold(spec.ownership.personal)
        self._enrolled = _threshold(spec.enrollment.enrolled)
        c = spec.compliance
        self._state_cum = _cumulative(
            [c.compliant, c.noncompliant, c.in_grace, c.unknown, c.stale, c.no_policy]
        )
        self._rand_mac = _threshold(spec.randomized_mac_share)
        self._cert = _threshold(spec.certificate_share)
        self._mem_guid = _threshold(spec.san_forms.mem_guid)
        self._sid = _threshold(spec.sid_tag_share)
        self._declines = _threshold(spec.declines_enrollment_share)
        self._unfixable = _threshold(spec.unfixable_share)
        self.users = max(1, round(spec.size * spec.users_per_device))
        # keyed permutations of the index (odd multipliers, xor keys) for invertible ids
        k = [hash64(seed, j, 99) for j in range(6)]
        self._id_k1, self._id_k2, self._id_a = k[0] & _M32, k[1] & _M32, (k[2] & _M32) | 1
        self._id_ainv = _inverse_odd(self._id_a, 32)
        self._mac_k1, self._mac_k2, self._mac_a = k[3] & _M24, k[4] & _M24, (k[5] & _M24) | 1
        self._mac_ainv = _inverse_odd(self._mac_a, 24)
        d = hash64(seed, 0, 98)
        self.domain_sid = f"S-1-5-21-{d & _M32}-{(d >> 32) & _M32}-{hash64(seed, 1, 98) & _M32}"
        self._salt_keys = {salt: hash_key(seed, salt) for salt in range(_S_KIND, _S_SERIAL + 1)}
        keys = self._salt_keys
        self._k_kind, self._k_state, self._k_cert = keys[_S_KIND], keys[_S_STATE], keys[_S_CERT]
        self._k_mac, self._k_entra, self._k_times = keys[_S_MAC], keys[_S_ENTRA], keys[_S_TIMES]
        self._ids: dict[int, str] = {}
        self._macs: dict[int, str] = {}
        self._entra: dict[int, str] = {}
        self._firsts: list[str] | None = None
        self._lasts: list[str] | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(self.size))

    # -- cheap per-field derivations (used by the fast path) --------------------------------
    def os_of(self, i: int) -> OperatingSystem:
        return OS_ORDER[bisect_right(self._os_cum, _u16(hash64k(self._k_kind, i), 0))]

    def initial_state(self, i: int) -> InitialState:
        h = hash64k(self._k_state, i)
        if _u16(h, 0) >= self._enrolled:
            return InitialState.UNENROLLED
        return _STATE_ORDER[bisect_right(self._state_cum, _u16(h, 1))]

    def behaviour(self, i: int) -> tuple[bool, bool]:
        """(declines enrollment, never remediates) for device ``i``."""
        h = hash64k(self._k_state, i)
        return _u16(h, 2) < self._declines, _u16(h, 3) < self._unfixable

    def cert_form(self, i: int) -> tuple[SanForm, bool]:
        """(SAN form, SID tag present) of device ``i``'s certificate once it is enrolled."""
        h = hash64k(self._k_cert, i)
        if _u16(h, 0) >= self._cert:
            return SanForm.NONE, False
        form = SanForm.MEM_GUID if _u16(h, 1) < self._mem_guid else SanForm.INTUNE_DEVICE_ID
        return form, _u16(h, 2) < self._sid

    def intune_id(self, i: int) -> str:
        cached = self._ids.get(i)
        if cached is None:
            if len(self._ids) >= _MEMO:
                self._ids.clear()
            cached = self._ids[i] = self._guid(i, _S_ID, self._perm32(i))
        return cached

    def entra_id(self, i: int) -> str:
        cached = self._entra.get(i)
        if cached is None:
            if len(self._entra) >= _MEMO:
                self._entra.clear()
            cached = self._entra[i] = self._guid(i, _S_ENTRA, (hash64k(self._k_entra, i, 1) & _M32))
        return cached

    def _guid(self, i: int, salt: int, low32: int) -> str:
        key = self._salt_keys[salt]
        h = hash64k(key, i)
        a = h >> 32
        b = (h >> 16) & 0xFFFF
        c = 0x4000 | (h & 0x0FFF)
        d = 0x8000 | ((h >> 12) & 0x3FFF)
        e = ((hash64k(key, i, 2) & 0xFFFF) << 32) | low32
        return f"{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}"

    def _perm32(self, i: int) -> int:
        return (((i ^ self._id_k1) * self._id_a) & _M32) ^ self._id_k2

    def index_of_intune_id(self, guid: str) -> int | None:
        """The index of the device with this Intune id, or None (no table: the id encodes it)."""
        g = guid.strip().strip("{}").lower()
        if len(g) != 36:
            return None
        try:
            low = int(g[-8:], 16)
        except ValueError:
            return None
        i = (((low ^ self._id_k2) * self._id_ainv) & _M32) ^ self._id_k1
        if i < self.size and self.intune_id(i) == g:
            return i
        return None

    def hardware_mac(self, i: int) -> str:
        """Device ``i``'s Wi-Fi MAC as Intune records it: a real OUI of its radio's vendor."""
        cached = self._macs.get(i)
        if cached is None:
            if len(self._macs) >= _MEMO:
                self._macs.clear()
            cached = self._macs[i] = self._hardware_mac(i)
        return cached

    def _hardware_mac(self, i: int) -> str:
        return f"{self.hardware_mac_int(i):012X}"

    def hardware_mac_int(self, i: int) -> int:
        """:meth:`hardware_mac` as a 48-bit number (OUI in the high 24 bits), not memoised."""
        hk = hash64k(self._k_kind, i)
        models = CATALOG[OS_ORDER[bisect_right(self._os_cum, _u16(hk, 0))]]
        model = models[_u16(hk, 1) % len(models)]
        ouis = OUIS[model.radio_vendor]
        oui = ouis[hash64k(self._k_mac, i) % len(ouis)]
        return (oui << 24) | ((((i ^ self._mac_k1) * self._mac_a) & _M24) ^ self._mac_k2)

    def index_of_mac(self, mac: str) -> int | None:
        """The index of the device whose hardware MAC is ``mac`` (12 hex digits), or None."""
        m = mac.upper()
        try:
            nic = int(m[6:], 16)
        except ValueError:
            return None
        i = (((nic ^ self._mac_k2) * self._mac_ainv) & _M24) ^ self._mac_k1
        if i < self.size and self.hardware_mac(i) == m:
            return i
        return None

    def randomized_mac(self, i: int) -> str | None:
        h = hash64k(self._k_mac, i, 1)
        if _u16(h, 0) >= self._rand_mac:
            return None
        first = ((h >> 16) & 0xFC) | 0x02  # locally administered, unicast
        return f"{first:02X}{(h >> 24) & 0xFFFFFFFFFF:010X}"

    def _model(self, i: int, os: OperatingSystem) -> Model:
        models = CATALOG[os]
        return models[_u16(hash64k(self._k_kind, i), 1) % len(models)]

    # -- users --------------------------------------------------------------------------------
    def _pools(self) -> tuple[list[str], list[str]]:
        if self._firsts is None or self._lasts is None:
            from faker import Faker

            fake = Faker("en_US")
            fake.seed_instance(self.seed)
            n = max(8, min(500, self.users))
            clean = re.compile(r"[^A-Za-z]")
            self._firsts = [clean.sub("", fake.first_name()) or "Alex" for _ in range(n)]
            self._lasts = [clean.sub("", fake.last_name()) or "Smith" for _ in range(n)]
        return self._firsts, self._lasts

    def user(self, u: int) -> tuple[str, str, str]:
        """User ``u``'s (first name, last name, user principal name); UPNs are unique per user."""
        firsts, lasts = self._pools()
        n = len(firsts)
        first, last = firsts[u % n], lasts[(u // n) % n]
        serial = u // (n * n)
        upn = f"{first.lower()}.{last.lower()}{serial or ''}@{self.spec.domain}"
        return first, last, upn

    # -- whole profiles -----------------------------------------------------------------------
    def __getitem__(self, i: int) -> DeviceProfile:
        if not 0 <= i < self.size:
            raise IndexError(f"device index {i} outside population of {self.size}")
        seed = self.seed
        hk = hash64(seed, i, _S_KIND)
        os = OS_ORDER[bisect_right(self._os_cum, _u16(hk, 0))]
        model = self._model(i, os)
        version = model.os_versions[_u16(hk, 2) % len(model.os_versions)]
        owner = OwnerType.PERSONAL if _u16(hk, 3) < self._owner_personal else OwnerType.COMPANY
        hu = hash64(seed, i, _S_USER)
        first, last, upn = self.user(hu % self.users)
        serial = f"{hash64(seed, i, _S_SERIAL):016X}"[:10]
        initial = self.initial_state(i)
        declines, unfixable = self.behaviour(i)
        form, sid_tag = self.cert_form(i)
        if os is OperatingSystem.WINDOWS:
            name = f"{'LT' if owner is OwnerType.COMPANY else 'DESKTOP'}-{serial[:7]}"
        elif os is OperatingSystem.LINUX:
            name = f"{last.lower()}-{serial[:4].lower()}"
        elif os is OperatingSystem.ANDROID:
            name = f"{first}'s {model.model}"
        else:
            kind = model.model.split(" (")[0].split(" ")[0]
            name = f"{first}'s {kind}"
        return DeviceProfile(
            index=i,
            intune_id=self.intune_id(i),
            entra_id=self.entra_id(i),
            os=os,
            manufacturer=model.manufacturer,
            model=model.model,
            os_version=version,
            device_name=name,
            serial_number=serial,
            wifi_mac=self.hardware_mac(i),
            randomized_mac=self.randomized_mac(i),
            owner=owner,
            user_principal_name=upn,
            initial=initial,
            declines_enrollment=declines,
            unfixable=unfixable,
            san_form=form,
            sid=f"{self.domain_sid}-{10000 + i}" if sid_tag and form is not SanForm.NONE else None,
        )

    # -- times of the initial Intune record (seconds relative to the simulation epoch) --------
    def initial_times(
        self, i: int, initial: InitialState, validity_days: int
    ) -> tuple[float | None, float | None, float | None]:
        """(enrolled_at, last_sync_at, grace_expires_at) of device ``i``'s record, relative to t=0."""
        if initial is InitialState.UNENROLLED:
            return None, None, None
        h = hash64k(self._k_times, i)
        enrolled = -86400.0 * (30 + _u16(h, 0) % 700)
        sync = -(_u16(h, 1) / 65536.0) * 16 * 3600
        grace = None
        if initial is InitialState.UNKNOWN:
            enrolled = sync = -60.0 - (_u16(h, 2) % 600)
        elif initial is InitialState.STALE:
            sync = -86400.0 * (validity_days + 1 + _u16(h, 2) % 30)
        elif initial is InitialState.IN_GRACE:
            grace = 8 * 3600 + (_u16(h, 3) / 65536.0) * 8 * 3600
        return enrolled, sync, grace


_STATE_OF = {
    InitialState.COMPLIANT: ComplianceState.COMPLIANT,
    InitialState.NONCOMPLIANT: ComplianceState.NONCOMPLIANT,
    InitialState.IN_GRACE: ComplianceState.IN_GRACE_PERIOD,
    InitialState.UNKNOWN: ComplianceState.UNKNOWN,
    InitialState.STALE: ComplianceState.COMPLIANT,
}


def to_mock_device(
    profile: DeviceProfile, population: Population, epoch: datetime, settings: TenantSettings
) -> Device:
    """The :class:`mock_intune.model.Device` that seeds the mock for ``profile`` (times from ``epoch``)."""
    initial = profile.initial
    enrolled, sync, grace = population.initial_times(profile.index, initial, settings.validity_days)

    def at(offset: float | None) -> datetime | None:
        return None if offset is None else epoch + timedelta(seconds=offset)

    managed = initial is not InitialState.UNENROLLED
    if initial is InitialState.NO_POLICY:
        state = (
            ComplianceState.COMPLIANT
            if settings.no_policy_mark.value == "compliant"
            else ComplianceState.NONCOMPLIANT
        )
    else:
        state = _STATE_OF.get(initial, ComplianceState.UNKNOWN)
    evaluated = None if state is ComplianceState.UNKNOWN else at(sync)
    return Device(
        intune_id=profile.intune_id,
        azure_ad_device_id=profile.entra_id,
        device_name=profile.device_name,
        wifi_mac=profile.wifi_mac,
        serial_number=profile.serial_number,
        operating_system=profile.os,
        os_version=profile.os_version,
        model=profile.model,
        manufacturer=profile.manufacturer,
        owner_type=profile.owner,
        user_principal_name=profile.user_principal_name,
        managed=managed,
        registration_state=RegistrationState.REGISTERED if managed else RegistrationState.NOT_REGISTERED,
        enrolled_at=at(enrolled),
        last_sync_at=at(sync),
        evaluated_at=evaluated,
        compliance_state=state,
        grace_expires_at=at(grace),
        has_policy=initial is not InitialState.NO_POLICY,
        posture_compliant=initial not in (InitialState.NONCOMPLIANT, InitialState.IN_GRACE),
    )
