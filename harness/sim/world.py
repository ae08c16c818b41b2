"""The SimPy world: a scenario's devices, access points, Intune and the NAC under test, in one env.

Public API (see ``docs/simulation.md``):

* :func:`run_world` (in :mod:`harness.sim.runner`, re-exported here) — build and run one shard of a scenario in virtual time, return a
  :class:`~harness.sim.result.WorldResult`; ``shard_index`` / ``shard_count`` pick devices
  ``index % count == shard_index`` and divide Intune's shared rate limits by the shard count;
* :func:`run_shard` — the same for a :class:`harness.load.shards.Shard` (the load runner's entry point);
* :class:`World` — the parts wired in a given ``env`` (a ``simpy.Environment``, or a
  ``simpy.rt.RealtimeEnvironment`` for wire NACs), for tests and custom runs.

Intune is a :class:`mock_intune.MockIntune` reading the SimPy clock (``SimClock``): the SQLite-backed
service itself (``fast=False``, small runs: the real call log, every surface) or
:class:`~harness.sim.fleet.FleetIntune`, the same service over a compact device table (``fast=True``,
load runs). Either way every state change goes through the mock's core, so Intune's rules hold.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import simpy

from mock_intune.config import MockConfig
from mock_intune.errors import NotFound
from mock_intune.service import MockIntune

from ..model import AccessDecision, AccessRequest, CoaKind, CoaMessage, Step
from ..nac.base import NacUnderTest
from ..nac.lean_path import LeanAnswer, lean_decider
from ..pki import san_uris
from ..population import Population, SanForm
from ..scenario import Scenario
from .access import AccessNetwork, AccessPoint
from .arrivals import arrival_time
from .checkins import Agenda, Chore, next_checkin_s
from .devices import (
    DECISION_CODE,
    DECISIONS,
    F_CERT,
    F_CHECKINS,
    F_DRIFTED,
    F_ENROLLED_HERE,
    F_RANDOM_MAC,
    F_TTA,
    NO_DECISION,
    DeviceState,
    DeviceTable,
    LeftReason,
    reauthenticate,
    start_walk,
)
from .faults import fault_schedule
from .intune_ops import IntuneOps
from .result import WorldResult
from .timing import Timing, Timings, hash_key, unit, unit_k
from .trace import NAC_DEVICE, Trace

_S_DRIFT, _S_FIX, _S_FIRST_SYNC = 51, 52, 53


def device_key(index: int) -> str:
    """The harness's stable key of population device ``index`` (AccessRequest.device, traces)."""
    return f"dev-{index:07d}"


class World:
    """One shard of a scenario in ``env``: devices walk the nine steps against ``nac`` and ``intune``."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        population: Population,
        intune: MockIntune,
        nac: NacUnderTest,
        *,
        devices: range | None = None,
        trace: bool = True,
        trace_every: int = 1,
        record_onboarding: bool = True,
        progress: Callable[[int], None] | None = None,
        lean: bool = True,
    ) -> None:
        self.env = env
        self.scenario = scenario
        self.population = population
        self.intune = intune
        self.nac = nac
        self.lean = lean_decider(nac) if lean else None
        """The reference NAC's lean decision path (:mod:`harness.nac.lean_path`) when it qualifies."""
        self.range = devices if devices is not None else range(population.size)
        self.slots = len(self.range)
        self.table = DeviceTable(self.slots)
        self.ops = IntuneOps(intune, population, self.range)
        self.timings = Timings(scenario.seed, scenario.timings.build())
        self.network = AccessNetwork(env, scenario)
        self.network.on_coa = self._on_coa
        self.agenda = Agenda(env, self._chore)
        self.trace = Trace(enabled=trace, every=trace_every)
        self.record_onboarding = record_onboarding
        self.checkins = scenario.intune.checkins
        self.progress = progress
        self.state_counts = [0] * len(DeviceState)
        self.state_counts[DeviceState.ABSENT] = self.slots
        self.result = WorldResult(scenario=scenario.name, seed=scenario.seed, shards=1, devices=self.slots)
        self.counters = self.result.counters
        self._decisions = [0] * len(DECISIONS)
        self.arrived = 0
        self._progress_every = max(1, self.slots // 50)
        self._started = False
        self._first_sync_key = hash_key(scenario.seed, _S_FIRST_SYNC)
        self._drift_key = hash_key(scenario.seed, _S_DRIFT)

    # -- set-up ------------------------------------------------------------------------------
    def start(self) -> None:
        """Onboard the NAC (steps 1–3) and start arrivals, the agenda and the state sampler."""
        if self._started:
            return
        self._started = True
        env = self.env
        if self.record_onboarding:
            self._record_onboarding()
        if self.scenario.faults:
            env.process(
                fault_schedule(
                    env, self.intune, list(self.scenario.faults), self.scenario.epoch, self.scenario.seed
                )
            )
        self.nac.start(env, self.network.coa)
        env.process(self._arrivals())
        env.process(self._sampler())

    def _record_onboarding(self) -> None:
        svc, sc, now = self.intune, self.scenario, self.env.now
        rec = self.trace.record
        try:
            app = svc.app(svc.config.client_id)
            perms = ",".join(sorted(p.value for p in app.permissions))
            rec(NAC_DEVICE, Step.REGISTER_APP, now, "registered", f"{app.client_id} [{perms}]")
        except NotFound as exc:  # the trace records that the NAC's app is not registered
            rec(NAC_DEVICE, Step.REGISTER_APP, now, "missing", str(exc))
        rec(
            NAC_DEVICE,
            Step.CONFIGURE_DISCOVERY,
            now,
            "configured",
            f"{sc.nac.adapter} {sc.nac.profile.value}",
        )
        share = sc.population.certificate_share
        rec(
            NAC_DEVICE,
            Step.CERTIFICATE_AUTH,
            now,
            "eap-tls" if share > 0 else "mab",
            f"identity {sc.nac.identity.value}; {share:.0%} of enrolled devices hold Intune certificates",
        )

    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        """Start the arrivals when the run starts: a chain of timeouts whose callbacks let each device
        arrive in turn (what a generator waiting on each arrival did, without resuming one)."""
        self._arrival_step(0)
        return
        yield  # a process (so the chain starts at the run's first step), that needs no event of its own

    def _arrival_step(self, j: int) -> None:
        """Devices from slot ``j`` on arrive now, until the next one is due later (then wait for it)."""
        env = self.env
        sc = self.scenario
        arrival, seed, n, duration, r = sc.arrival, sc.seed, self.population.size, sc.duration, self.range
        while j < self.slots:
            i = r[j]
            at = arrival_time(arrival, seed, i, n)
            if at >= duration:
                return
            if at > env.now:
                due = env.timeout(at - env.now)
                due.callbacks.append(partial(self._arrival_due, j, i))  # type: ignore[union-attr]
                return
            self._arrived(j, i)
            j += 1

    def _arrival_due(self, j: int, i: int, _event: simpy.Event) -> None:
        self._arrived(j, i)
        self._arrival_step(j + 1)

    def _arrived(self, j: int, i: int) -> None:
        self._arrive(j, i)
        self.arrived += 1
        if self.progress is not None and self.arrived % self._progress_every == 0:
            self.progress(self.arrived)

    def _arrive(self, j: int, i: int) -> None:
        t = self.table
        pop = self.population
        self.counters["arrived"] = self.counters.get("arrived", 0) + 1
        t.ap[j] = self.network.home(i)
        flags = 0
        if pop.randomized_mac(i) is not None:
            flags |= F_RANDOM_MAC
        managed = self.ops.managed(j)
        if managed and pop.cert_form(i)[0] is not SanForm.NONE:
            flags |= F_CERT
        t.flags[j] = flags
        if self.checkins and managed:
            self._start_checkins(j, self.env.now + unit_k(self._first_sync_key, i) * 900.0)
        start_walk(self, j)

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        env, states = self.env, self.result.states
        labels = [s.label for s in DeviceState]
        while True:
            minute = int(env.now // 60)
            for s, count in enumerate(self.state_counts):
                if count and s != DeviceState.ABSENT:
                    key = (minute, labels[s])
                    states[key] = states.get(key, 0) + count
            yield env.timeout(60.0)

    # -- what the walk calls -------------------------------------------------------------------
    def set_state(self, j: int, state: DeviceState) -> None:
        t = self.table
        self.state_counts[t.state[j]] -= 1
        self.state_counts[state] += 1
        t.state[j] = state

    def access_request(self, j: int, ap: AccessPoint, session_id: str) -> AccessRequest:
        """The RADIUS Access-Request of device ``j`` at ``ap`` (what the NAC sees)."""
        i = self.range[j]
        pop = self.population
        f = self.table.flags[j]
        m = (pop.randomized_mac(i) if f & F_RANDOM_MAC else None) or pop.hardware_mac(i)
        if f & F_CERT:
            form, sid_tag = pop.cert_form(i)
            cn = pop.intune_id(i)
            sans = san_uris(cn, form, f"{pop.domain_sid}-{10000 + i}" if sid_tag else None)
        else:
            sans, cn = (), ""
        return AccessRequest(
            device=device_key(i),
            session_id=session_id,
            access_type=ap.access_type,
            mac=f"{m[0:2]}-{m[2:4]}-{m[4:6]}-{m[6:8]}-{m[8:10]}-{m[10:12]}",
            nas_id=ap.name,
            ssid=ap.ssids[0] if ap.ssids else "",
            san_uris=sans,
            cert_subject_cn=cn,
            at=float(self.env.now),
        )

    def decide_at(self, j: int, ap: AccessPoint, session_id: str) -> LeanAnswer:
        """Step 5 for device ``j`` at ``ap``: (decision, reason, latency, redirect URL).

        Through the NAC's lean path when it has one and the request is on its common path, else
        the Access-Request the NAC sees on the wire (:meth:`access_request`) and its ``decide``.
        """
        lean = self.lean
        if lean is not None:
            i = self.range[j]
            pop = self.population
            f = self.table.flags[j]
            shown = pop.randomized_mac(i) if f & F_RANDOM_MAC else None
            mac = int(shown, 16) if shown else pop.hardware_mac_int(i)
            answer = lean.decide(session_id, mac, pop.intune_id(i) if f & F_CERT else None)
            if answer is not None:
                self._decisions[DECISION_CODE[answer[0]]] += 1
                return answer
        decision = self.decide(self.access_request(j, ap, session_id))
        return decision.decision, decision.reason, decision.latency_s, decision.redirect_url

    def decide(self, request: AccessRequest) -> AccessDecision:
        decision = self.nac.decide(request)
        self._decisions[DECISION_CODE[decision.decision]] += 1
        return decision

    def connected(self, j: int) -> None:
        t, env = self.table, self.env
        i = self.range[j]
        self.set_state(j, DeviceState.CONNECTED)
        if not t.flags[j] & F_TTA:
            t.flags[j] |= F_TTA
            self.result.time_to_access.append(env.now - t.first_connect[j])
            self.counters["connected"] = self.counters.get("connected", 0) + 1
            drift = self.scenario.drift.share
            if drift > 0 and unit_k(self._drift_key, i) < drift:
                self.agenda.schedule(env.now + self.timings.draw(Timing.DRIFT, i), j, Chore.DRIFT)
            if self.scenario.timings.session is not None:
                self.agenda.schedule(env.now + self.timings.draw(Timing.SESSION, i), j, Chore.DEPART)

    def leave(self, j: int, ap: AccessPoint, session_id: str) -> None:
        """Device ``j`` drops its association at ``ap`` (to reconnect, give up or go home)."""
        ap.clients -= 1
        self.nac.session_ended(session_id)

    def give_up(self, j: int, reason: LeftReason) -> None:
        """Device ``j`` stops trying: recorded as step 9 with outcome ``no_access`` and why."""
        self.trace.record(self.range[j], Step.CONNECTED, self.env.now, "no_access", reason.label)
        self.set_state(j, DeviceState.NO_ACCESS)
        self.table.left[j] = reason
        key = reason.label
        self.result.left[key] = self.result.left.get(key, 0) + 1

    def enroll_flow(self, j: int, attempt: int) -> Generator[simpy.Event, Any, LeftReason | None]:
        """Step 6 (enroll) → 7: the user enrolls; Intune evaluates the device for the first time."""
        env, t, i = self.env, self.table, self.range[j]
        draw = self.timings.draw
        declines, _ = self.population.behaviour(i)
        if self.ops.managed(j):
            # Enrolled, yet told to enroll: the NAC could not tell who it is (no certificate and a
            # randomised MAC). The user turns the private address off for this network.
            yield env.timeout(draw(Timing.REMEDIATION, i, attempt))
            if t.flags[j] & F_RANDOM_MAC:
                t.flags[j] &= ~F_RANDOM_MAC & 0xFF
                self.trace.record(i, Step.REVERIFY, env.now, "private_mac_off", "")
            return None
        if declines:
            return LeftReason.DECLINED_ENROLLMENT
        yield env.timeout(draw(Timing.ENROLLMENT, i, attempt))
        self.ops.enroll(j)
        self.counters["enrollments"] = self.counters.get("enrollments", 0) + 1
        t.flags[j] |= F_ENROLLED_HERE
        if self.population.cert_form(i)[0] is not SanForm.NONE:
            t.flags[j] |= F_CERT
        self.trace.record(i, Step.REVERIFY, env.now, "enrolled", "")
        yield env.timeout(draw(Timing.FIRST_EVALUATION, i, attempt))
        self._check_in(j)
        return None

    def remediate_flow(self, j: int, attempt: int) -> Generator[simpy.Event, Any, LeftReason | None]:
        """Step 6 (remediate) → 7: the user fixes the device and opens the portal (re-evaluation)."""
        env, t, i = self.env, self.table, self.range[j]
        draw = self.timings.draw
        _, unfixable = self.population.behaviour(i)
        if t.flags[j] & F_DRIFTED and unit(self.scenario.seed, i, _S_FIX) >= self.scenario.drift.fix_share:
            unfixable = True
        if unfixable:
            return LeftReason.UNFIXABLE
        yield env.timeout(draw(Timing.REMEDIATION, i, attempt))
        if self.ops.managed(j):
            self.ops.set_posture(j, True)
            yield env.timeout(draw(Timing.PORTAL_VISIT, i, attempt))
            self.ops.portal_visit(j)
            self.result.remediations += 1
            self.trace.record(i, Step.REVERIFY, env.now, "portal_visit", "")
        return None

    # -- check-ins, drift, departure -----------------------------------------------------------
    def _start_checkins(self, j: int, at: float) -> None:
        t = self.table
        if not t.flags[j] & F_CHECKINS:
            t.flags[j] |= F_CHECKINS
            self.agenda.schedule(at, j, Chore.CHECKIN)

    def _check_in(self, j: int) -> None:
        self.ops.check_in(j)
        self.counters["checkins"] = self.counters.get("checkins", 0) + 1
        t = self.table
        if t.flags[j] & F_CHECKINS or not self.checkins:
            return
        t.flags[j] |= F_CHECKINS
        self.agenda.schedule(next_checkin_s(self.ops.enrolled_at(j), self.env.now), j, Chore.CHECKIN)

    def _chore(self, j: int, chore: Chore) -> None:
        t, env = self.table, self.env
        state = t.state[j]
        present = state not in (DeviceState.ABSENT, DeviceState.DEPARTED, DeviceState.NO_ACCESS)
        if chore is Chore.CHECKIN:
            if not present or not self.ops.managed(j):
                t.flags[j] &= ~F_CHECKINS & 0xFF
                return
            self.ops.check_in(j)
            self.counters["checkins"] = self.counters.get("checkins", 0) + 1
            self.agenda.schedule(next_checkin_s(self.ops.enrolled_at(j), env.now), j, Chore.CHECKIN)
        elif chore is Chore.DRIFT:
            if state == DeviceState.CONNECTED and self.ops.managed(j):
                self.ops.set_posture(j, False)
                t.flags[j] |= F_DRIFTED
                self.counters["drifts"] = self.counters.get("drifts", 0) + 1
                self.trace.record(
                    self.range[j], Step.NEW_STATE, env.now, "drift", "posture no longer compliant"
                )
        elif chore is Chore.DEPART and state == DeviceState.CONNECTED:
            ap = self.network.aps[t.ap[j]]
            self.leave(j, ap, f"{ap.name}/{self.range[j]}/{t.session[j]}")
            self.set_state(j, DeviceState.DEPARTED)

    # -- CoA -------------------------------------------------------------------------------------
    def _slot(self, index: int) -> int | None:
        r = self.range
        off = index - r.start
        if off < 0 or off % r.step or off // r.step >= len(r):
            return None
        return off // r.step

    def _on_coa(self, message: CoaMessage, ap: AccessPoint, index: int, number: int) -> None:
        env, t = self.env, self.table
        minute = int(env.now // 60)
        key = (message.kind.value, minute)
        self.result.coas[key] = self.result.coas.get(key, 0) + 1
        j = self._slot(index)
        if j is None or t.session[j] != number or t.state[j] != DeviceState.CONNECTED:
            self.counters["coa_stale"] = self.counters.get("coa_stale", 0) + 1
            return
        self.trace.record(index, Step.NEW_STATE, env.now, f"coa_{message.kind.value}", message.reason)
        reassociate = message.kind is CoaKind.DISCONNECT
        if reassociate:
            self.leave(j, ap, message.session_id)
        self.set_state(j, DeviceState.QUARANTINED)
        env.process(reauthenticate(self, j, reassociate=reassociate))

    # -- the end --------------------------------------------------------------------------------
    def finish(self) -> WorldResult:
        """Close the books: final decisions, devices left without access, Intune call counts."""
        r, t = self.result, self.table
        for n, d in enumerate(DECISIONS):
            if self._decisions[n]:
                r.decisions[d.value] = self._decisions[n]
        outcomes: dict[str, int] = {}
        for j in range(self.slots):
            state = t.state[j]
            if state == DeviceState.ABSENT:
                continue
            code = t.final[j]
            label = "no_decision" if code == NO_DECISION else DECISIONS[code].value
            outcomes[label] = outcomes.get(label, 0) + 1
            if state in (DeviceState.CONNECTED, DeviceState.DEPARTED):
                continue
            if state != DeviceState.NO_ACCESS:
                r.left[LeftReason.RUN_ENDED.label] = r.left.get(LeftReason.RUN_ENDED.label, 0) + 1
            if self.ops.earned_access(j):
                r.without_access.append(device_key(self.range[j]))
        r.outcomes = dict(sorted(outcomes.items()))
        r.events = self.trace.count
        calls, throttled = self.ops.call_counts()
        r.intune_calls, r.throttled = calls, throttled
        if self.trace.enabled:
            r.traces = list(self.trace.events(lambda i: "nac" if i == NAC_DEVICE else device_key(i)))
        r.counters = dict(sorted(r.counters.items()))
        return r


def run_world(scenario: Scenario, **kwargs: Any) -> WorldResult:
    """Simulate one shard of ``scenario``: see :func:`harness.sim.runner.run_world`."""
    from .runner import run_world as _run_world

    return _run_world(scenario, **kwargs)


def run_shard(shard: Any) -> WorldResult:
    """The load runner's entry point: see :func:`harness.sim.runner.run_shard`."""
    from .runner import run_shard as _run_shard

    return _run_shard(shard)


def build_intune(*args: Any, **kwargs: Any) -> MockIntune:
    """The shard's mock Intune: see :func:`harness.sim.runner.build_intune`."""
    from .runner import build_intune as _build_intune

    return _build_intune(*args, **kwargs)


def mock_config(*args: Any, **kwargs: Any) -> MockConfig:
    """The shard's mock configuration: see :func:`harness.sim.runner.mock_config`."""
    from .runner import mock_config as _mock_config

    return _mock_config(*args, **kwargs)
