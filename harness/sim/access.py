"""Access points and VPN gateways: where devices associate, and what honours the NAC's CoA.

Each :class:`AccessPoint` (a Wi-Fi AP with its SSIDs, or a VPN gateway) has its own
:class:`AuthSlots` for concurrent 802.1X/association exchanges (``auth_concurrency``) — one queue per AP,
never one for the whole fleet — and a client count against ``capacity`` (associated clients).
:class:`AccessNetwork` expands a scenario's sites into APs, picks a device's AP deterministically
from ``(seed, device)``, and routes CoA / Disconnect messages from the NAC to the world.

Session ids the APs hand to the NAC are ``"{ap}/{device index}/{session number}"``, so a CoA finds its
device without any table (:func:`parse_session_id`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Callable

import simpy

from ..model import AccessType, CoaMessage
from ..scenario import Scenario
from .timing import hash64k, hash_key

_S_SITE = 41


class AuthSlots:
    """An AP's concurrent 802.1X / association exchanges: a counting semaphore in SimPy time.

    What a ``simpy.Resource`` of ``capacity`` does for the walk, without an event when a slot is
    free (the common case): :meth:`acquire` returns None when the caller holds a slot at once, else
    an event to ``yield`` that fires when a slot passes to it (first come, first served);
    :meth:`release` hands the slot to the next waiter or frees it.
    """

    __slots__ = ("capacity", "env", "in_use", "waiting")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"auth concurrency must be >= 1, got {capacity}")
        self.env = env
        self.capacity = capacity
        self.in_use = 0
        self.waiting: deque[simpy.Event] = deque()

    def acquire(self) -> simpy.Event | None:
        if self.in_use < self.capacity and not self.waiting:
            self.in_use += 1
            return None
        event = self.env.event()
        self.waiting.append(event)
        return event

    def try_acquire(self) -> bool:
        """Take a free slot now (True), or take nothing (False: :meth:`acquire` would have to wait)."""
        if self.in_use < self.capacity and not self.waiting:
            self.in_use += 1
            return True
        return False

    def release(self) -> None:
        if self.waiting:
            self.waiting.popleft().succeed()  # the slot passes on: in_use stays
        else:
            self.in_use -= 1


class AccessPoint:
    """One Wi-Fi access point or VPN gateway."""

    __slots__ = ("access_type", "auth", "capacity", "clients", "coa_received", "name", "site", "ssids")

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        site: str,
        access_type: AccessType,
        *,
        ssids: tuple[str, ...] = (),
        capacity: int,
        auth_concurrency: int,
    ) -> None:
        self.name = name
        self.site = site
        self.access_type = access_type
        self.ssids = ssids
        self.capacity = capacity
        self.clients = 0
        self.auth = AuthSlots(env, auth_concurrency)
        self.coa_received = 0

    @property
    def full(self) -> bool:
        return self.clients >= self.capacity

    def __repr__(self) -> str:
        return f"AccessPoint({self.name!r}, {self.access_type.value}, {self.clients}/{self.capacity})"


def session_id(ap: AccessPoint, device: int, number: int) -> str:
    return f"{ap.name}/{device}/{number}"


def parse_session_id(text: str) -> tuple[str, int, int] | None:
    """``(ap name, device index, session number)`` of a session id, or None if it is not ours."""
    ap, _, rest = text.rpartition("/")
    ap, _, dev = ap.rpartition("/")
    try:
        return ap, int(dev), int(rest)
    except ValueError:
        return None


class AccessNetwork:
    """Every AP and VPN gateway of a scenario, and the routing of CoA messages to the world."""

    def __init__(self, env: simpy.Environment, scenario: Scenario) -> None:
        self.env = env
        self.seed = scenario.seed
        self._site_key = hash_key(scenario.seed, _S_SITE)
        self.vpn_share = scenario.vpn_share
        self.aps: list[AccessPoint] = []
        self.wifi_by_site: list[list[int]] = []
        self.vpn_by_site: list[list[int]] = []
        weights = []
        for site in scenario.sites:
            wifi: list[int] = []
            vpn: list[int] = []
            for spec in site.access_points:
                for k in range(spec.count):
                    name = (
                        f"{site.name}-{spec.name}-{k + 1}" if spec.count > 1 else f"{site.name}-{spec.name}"
                    )
                    wifi.append(len(self.aps))
                    self.aps.append(
                        AccessPoint(
                            env,
                            name,
                            site.name,
                            AccessType.WIFI,
                            ssids=tuple(spec.ssids),
                            capacity=spec.capacity,
                            auth_concurrency=spec.auth_concurrency,
                        )
                    )
            for g in site.vpn_gateways:
                for k in range(g.count):
                    name = f"{site.name}-{g.name}-{k + 1}" if g.count > 1 else f"{site.name}-{g.name}"
                    vpn.append(len(self.aps))
                    self.aps.append(
                        AccessPoint(
                            env,
                            name,
                            site.name,
                            AccessType.VPN,
                            capacity=g.capacity,
                            auth_concurrency=g.auth_concurrency,
                        )
                    )
            self.wifi_by_site.append(wifi)
            self.vpn_by_site.append(vpn)
            weights.append(site.weight)
        total = sum(weights)
        acc, self._site_cum = 0.0, []
        for w in weights:
            acc += w / total
            self._site_cum.append(acc)
        self._site_cum[-1] = 1.0
        self.by_name = {ap.name: n for n, ap in enumerate(self.aps)}
        self.on_coa: Callable[[CoaMessage, AccessPoint, int, int], None] | None = None
        self.coa_unknown = 0

    def home(self, device: int) -> int:
        """The AP (index into ``aps``) device ``device`` first tries: its site, its access type."""
        h = hash64k(self._site_key, device)
        u_site = ((h & 0xFFFFFF) + 0.5) / (1 << 24)
        u_vpn = (((h >> 24) & 0xFFFFFF) + 0.5) / (1 << 24)
        site = min(bisect_right(self._site_cum, u_site), len(self._site_cum) - 1)
        wanted, other = (
            (self.vpn_by_site, self.wifi_by_site)
            if u_vpn < self.vpn_share
            else (self.wifi_by_site, self.vpn_by_site)
        )
        choices = wanted[site] or self._first_nonempty(wanted) or other[site] or self._first_nonempty(other)
        return choices[(h >> 48) % len(choices)]

    @staticmethod
    def _first_nonempty(groups: list[list[int]]) -> list[int]:
        for g in groups:
            if g:
                return g
        return []

    def alternative(self, ap_index: int, device: int, tries: int) -> int:
        """Another AP of the same site and kind (round robin from the device's own), for a full AP."""
        ap = self.aps[ap_index]
        site = next(
            n for n, g in enumerate(self.wifi_by_site) if ap_index in g or ap_index in self.vpn_by_site[n]
        )
        group = self.wifi_by_site[site] if ap.access_type is AccessType.WIFI else self.vpn_by_site[site]
        return group[(group.index(ap_index) + tries) % len(group)]

    def coa(self, message: CoaMessage) -> None:
        """The NAC's CoA / Disconnect (RFC 5176) arrives at the AP that holds the session."""
        parsed = parse_session_id(message.session_id)
        if parsed is None or parsed[0] not in self.by_name:
            self.coa_unknown += 1
            return
        name, device, number = parsed
        ap = self.aps[self.by_name[name]]
        ap.coa_received += 1
        if self.on_coa is not None:
            self.on_coa(message, ap, device, number)
