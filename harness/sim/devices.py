"""Simulated devices: their compact state and their walk through steps 4–9 of the nine-step flow.

A device's walk (:func:`walk`) is a SimPy process that exists only while the device is doing
something (connecting, enrolling, remediating, reconnecting); once connected it ends, and the
device's later life (check-ins, drift, departure) is chores on the world's agenda. Per-device state
lives in :class:`DeviceTable`, flat arrays indexed by the device's slot in the shard (a few bytes per
device), never in an object per device.

The walk, per attempt:

4. **connect** — wait for the AP's authentication resource, associate (``association`` timing);
   an AP at capacity sends the device to another AP of its site after ``reconnect``;
5. **query** — the NAC's ``decide`` (a RADIUS Access-Request); the device waits ``radius_rtt`` plus
   the decision's ``latency_s``;
6. **redirect** — enroll: the user enrolls (``enrollment``), Intune evaluates the device for the
   first time after ``first_evaluation``; remediate: the user fixes the device (``remediation``)
   and opens the portal (``portal_visit``), which re-evaluates it;
7. **reverify** — the device reconnects after ``reconnect`` (back to 4);
8. **new state** — on a later attempt, the NAC's answer reflects the new Intune state;
9. **connected** — access granted.

A device denied (or told "MDM unreachable") retries with exponential back-off; after
``max_attempts`` it gives up. Giving up (also: declining enrollment, never remediating, finding no AP
with room) is recorded as step 9 with outcome ``no_access`` and the reason as the detail.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator
from enum import IntEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from ..model import Decision, Step
from .access import session_id
from .timing import Timing

if TYPE_CHECKING:
    from .world import World


class DeviceState(IntEnum):
    """Where a device is, for the devices-by-state-over-time series."""

    ABSENT = 0
    """Not arrived yet, or gone."""
    CONNECTING = 1
    REDIRECTED = 2
    """In the redirect / quarantine role, enrolling or remediating."""
    RETRYING = 3
    """Denied or Intune unreachable; waiting to try again."""
    CONNECTED = 4
    QUARANTINED = 5
    """Connected, then moved to quarantine by a CoA, remediating."""
    NO_ACCESS = 6
    """Gave up without access."""
    DEPARTED = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class LeftReason(IntEnum):
    """Why a device ended without access."""

    NONE = 0
    DECLINED_ENROLLMENT = 1
    UNFIXABLE = 2
    MAX_ATTEMPTS = 3
    NO_CAPACITY = 4
    RUN_ENDED = 5

    @property
    def label(self) -> str:
        return self.name.lower()


DECISIONS = tuple(Decision)
DECISION_CODE = {d: n for n, d in enumerate(DECISIONS)}
NO_DECISION = 255

# flags
F_RANDOM_MAC = 1
"""The device currently shows its randomised MAC."""
F_CERT = 2
"""The device holds an Intune-issued certificate."""
F_DRIFTED = 4
F_TTA = 8
"""Time to access already recorded."""
F_ENROLLED_HERE = 16
F_SEEN = 32
"""First connect time recorded."""
F_CHECKINS = 64
"""A chain of Intune check-ins is on the agenda."""


class DeviceTable:
    """Per-device state of one shard, in arrays indexed by slot."""

    __slots__ = ("ap", "final", "first_connect", "flags", "left", "session", "state")

    def __init__(self, n: int) -> None:
        self.state = bytearray(n)
        self.final = bytearray(b"\xff" * n)
        self.flags = bytearray(n)
        self.left = bytearray(n)
        self.session = array("H", bytes(2 * n))
        self.ap = array("i", bytes(4 * n))
        self.first_connect = array("d", bytes(8 * n))


Decided = tuple[Any, str, Decision, str, "str | None"]
"""``(ap, session id, decision, reason, redirect URL)`` of an attempt whose answer has arrived."""


def _associated(world: World, j: int, i: int, ap: Any) -> None:
    """Step 4 done: a new session at ``ap`` (first connect time noted)."""
    t = world.table
    t.session[j] = (t.session[j] + 1) & 0xFFFF
    if not t.flags[j] & F_SEEN:
        t.flags[j] |= F_SEEN
        t.first_connect[j] = world.env.now
    world.trace.record(i, Step.CONNECT, world.env.now, "associated", ap.name)


def _answered(
    world: World, j: int, i: int, ap: Any, d: Decision, reason: str, redirected_before: bool
) -> bool:
    """The NAC's answer has reached the device (steps 5 / 8); True when it is connected (step 9)."""
    env = world.env
    rec = world.trace.record
    world.table.final[j] = DECISION_CODE[d]
    rec(i, Step.QUERY_INTUNE, env.now, d.value, reason)
    if d is not Decision.ALLOW:
        return False
    if redirected_before:
        rec(i, Step.NEW_STATE, env.now, "compliant", reason)
    world.connected(j)
    rec(i, Step.CONNECTED, env.now, "connected", ap.name)
    return True


def start_walk(world: World, j: int) -> None:
    """Device ``j`` arrives: its first attempt, as a SimPy process only when it needs one.

    Most devices associate at once and are allowed on their first request; for them the attempt
    is two timeouts whose callbacks do what :func:`walk` does (the same step functions), with no
    process or generator. A device that must wait for an authentication slot, finds its AP full or
    is not allowed continues in :func:`walk`.
    """
    t = world.table
    ap = world.network.aps[t.ap[j]]
    if ap.full or not ap.auth.try_acquire():  # (a scenario allows at least one attempt)
        world.env.process(walk(world, j))
        return
    world.set_state(j, DeviceState.CONNECTING)
    ap.clients += 1  # the association holds a client slot from here on
    i = world.range[j]
    done = world.env.timeout(world.timings.draw(Timing.ASSOCIATION, i, 0))
    done.callbacks.append(partial(_first_associated, world, j, i, ap))  # type: ignore[union-attr]


def _first_associated(world: World, j: int, i: int, ap: Any, _event: Any) -> None:
    ap.auth.release()
    _associated(world, j, i, ap)
    sid = session_id(ap, i, world.table.session[j])
    d, reason, latency, redirect_url = world.decide_at(j, ap, sid)
    answer = world.env.timeout(world.timings.draw(Timing.RADIUS_RTT, i, 0) + max(0.0, latency))
    answer.callbacks.append(  # type: ignore[union-attr]
        partial(_first_answer, world, j, i, (ap, sid, d, reason, redirect_url))
    )


def _first_answer(world: World, j: int, i: int, decided: Decided, _event: Any) -> None:
    ap, _, d, reason, _ = decided
    if not _answered(world, j, i, ap, d, reason, False):
        world.env.process(walk(world, j, decided=decided))


def walk(
    world: World,
    j: int,
    *,
    resumed: bool = False,
    reassociate: bool = True,
    decided: Decided | None = None,
) -> Generator[Any, Any, None]:
    """Device ``j``'s walk from connect (step 4) to connected (step 9), or to giving up.

    ``decided``: the first attempt already happened (:func:`start_walk`) and was not allowed; the
    walk goes on from its answer.
    """
    env = world.env
    t = world.table
    i = world.range[j]
    rec = world.trace.record
    draw = world.timings.draw
    net = world.network
    attempt = 0
    ap_tries = 0
    redirected_before = resumed
    while True:
        if decided is not None:
            ap, sid, d, reason, redirect_url = decided
            decided = None
        else:
            if attempt >= world.scenario.max_attempts:
                world.give_up(j, LeftReason.MAX_ATTEMPTS)
                return
            ap_index = t.ap[j]
            ap = net.aps[ap_index]
            # -- step 4: connect ----------------------------------------------------------
            if reassociate:
                world.set_state(j, DeviceState.CONNECTING)
                full = False
                auth = ap.auth
                turn = auth.acquire()
                if turn is not None:
                    yield turn
                try:
                    if ap.full:
                        full = True
                    else:
                        ap.clients += 1  # the association holds a client slot from here on
                        yield env.timeout(draw(Timing.ASSOCIATION, i, attempt))
                finally:
                    auth.release()
                if full:
                    rec(i, Step.CONNECT, env.now, "ap_full", ap.name)
                    world.counters["ap_full"] = world.counters.get("ap_full", 0) + 1
                    ap_tries += 1
                    if ap_tries > max(3, world.scenario.max_attempts):
                        world.give_up(j, LeftReason.NO_CAPACITY)
                        return
                    t.ap[j] = net.alternative(ap_index, i, ap_tries)
                    yield env.timeout(draw(Timing.RECONNECT, i, 100 + ap_tries))
                    continue
                _associated(world, j, i, ap)
            reassociate = True
            # -- step 5: the NAC asks Intune --------------------------------------------------
            sid = session_id(ap, i, t.session[j])
            d, reason, latency, redirect_url = world.decide_at(j, ap, sid)
            yield env.timeout(draw(Timing.RADIUS_RTT, i, attempt) + max(0.0, latency))
            if _answered(world, j, i, ap, d, reason, redirected_before):
                return
        if d.is_redirect:
            world.set_state(j, DeviceState.REDIRECTED if not resumed else DeviceState.QUARANTINED)
            redirected_before = True
            if d is Decision.ENROLL_REDIRECT:
                rec(i, Step.REDIRECT, env.now, "enroll", redirect_url or "")
                outcome = yield from world.enroll_flow(j, attempt)
            else:
                rec(i, Step.REDIRECT, env.now, "remediate", redirect_url or "")
                outcome = yield from world.remediate_flow(j, attempt)
            if outcome is not None:
                world.leave(j, ap, sid)
                world.give_up(j, outcome)
                return
            world.leave(j, ap, sid)
            yield env.timeout(draw(Timing.RECONNECT, i, attempt))
            rec(i, Step.REVERIFY, env.now, "reconnect", "")
        else:
            # denied or Intune unreachable: back off and try again
            world.set_state(j, DeviceState.RETRYING)
            world.leave(j, ap, sid)
            yield env.timeout(draw(Timing.RECONNECT, i, attempt) * (2**attempt))
            rec(i, Step.REVERIFY, env.now, "retry", d.value)
        attempt += 1


def reauthenticate(world: World, j: int, *, reassociate: bool) -> Generator[Any, Any, None]:
    """After a CoA (re-authenticate in place) or a Disconnect (associate again): walk again."""
    env = world.env
    if reassociate:
        yield env.timeout(world.timings.draw(Timing.RECONNECT, world.range[j], 200 + world.table.session[j]))
    yield from walk(world, j, resumed=True, reassociate=reassociate)
