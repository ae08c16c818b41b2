"""Scale benchmark of the load simulation: devices/s and memory per device, beside a bare SimPy loop.

Run it as a script (not a test)::

    .venv/bin/python benchmarks/simulate_scale.py                 # 10k, 100k, 1M + million-devices
    .venv/bin/python benchmarks/simulate_scale.py --sizes 10000   # a quick look

For each size N it runs, each in a fresh child process (so memory is that run's alone):

* the product's world — one shard of the ``million-devices`` scenario resized to N devices, through
  ``harness.sim.world.run_shard`` (population, SimPy world, NAC, mock core: the whole thing);
* a bare, hand-written nine-step SimPy model of N devices arriving over the same window, padded to
  the same number of SimPy events per device as the world scheduled (counted in a small run).

Figures: devices per second (wall time of the whole run, set-up included), peak resident memory
above the child's baseline per device (Linux ``VmHWM`` after resetting it through ``clear_refs``),
and world/bare ratios. Then the ``million-devices`` scenario end to end with ``--workers 2``
(process pool), wall time. Results print as Markdown for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import simpy
from machine_info import cpu_model

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "million-devices.yaml"


# -- measurement inside a child -------------------------------------------------------------


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory field in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak measured is this run's."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


def _measured(fn: Any, *args: Any) -> dict[str, Any]:
    gc.collect()
    _reset_peak()
    base = _status("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    extra = fn(*args)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM")
    return {"wall_s": wall, "cpu_s": cpu, "peak_bytes": max(0, peak - base), **(extra or {})}


# -- the bare nine-step SimPy model ---------------------------------------------------------


def bare_nine_step(
    n: int, events_per_device: float, seed: int = 1, window_s: float = 7200.0
) -> dict[str, Any]:
    """A hand-written nine-step model: N devices arriving over ``window_s``, nothing else.

    Steps 1-3 (onboarding) happen once; each device then connects (4), is looked up (5), and is
    either connected (9) or redirected (6), remediates and re-verifies (7), gets its new state (8)
    and connects (9). Extra timeouts pad each device to ``events_per_device`` SimPy events.
    """
    env = simpy.Environment()
    rng = random.Random(seed)
    tta: list[float] = []
    # a process costs 2 events (initialise + its end) and each timeout 1; the base path has 2 or 5
    pad = max(0, round(events_per_device) - 2 - 2 - 1)  # minus process, base timeouts, arrival tick
    gap = window_s / max(1, n)

    def device(redirect: bool) -> Any:
        start = env.now
        yield env.timeout(0.6)  # 4 connect: association + RADIUS
        yield env.timeout(0.15)  # 5 query Intune
        if redirect:  # 6 redirect, 7 remediate + re-verify, 8 new state
            yield env.timeout(300.0)
            yield env.timeout(5.0)
            yield env.timeout(0.15)
        for _ in range(pad - (3 if redirect else 0)):
            yield env.timeout(0.01)
        tta.append(env.now - start)  # 9 connected

    def arrivals() -> Any:
        for _ in range(n):
            env.process(device(rng.random() < 0.1))
            yield env.timeout(gap)

    gc.disable()
    try:
        env.process(arrivals())
        env.run()
    finally:
        gc.enable()
    return {"events": _events_of(env), "connected": len(tta)}


def _events_of(env: simpy.Environment) -> int:
    """Events ``env`` scheduled (SimPy numbers every scheduled event from one counter)."""
    return int(repr(env._eid)[6:-1])  # type: ignore[attr-defined]  # "count(N)"


# -- the product's world --------------------------------------------------------------------


def _scenario(path: str, n: int) -> Any:
    from harness.scenario import load_scenario

    return load_scenario(path).resized(n)


def world_run(path: str, n: int, count_events: bool = False) -> dict[str, Any]:
    """One shard of the scenario at ``path`` resized to ``n`` devices, in this process."""
    from harness.load.shards import plan_shards, shared_limits
    from harness.sim.world import run_shard

    sc = _scenario(path, n)
    shard = plan_shards(n, 1, seed=sc.seed, limits=shared_limits(sc), scenario=sc, trace=False).shards[0]
    envs: list[simpy.Environment] = []
    if count_events:
        original = simpy.Environment.__init__

        def init(self: simpy.Environment, *a: Any, **k: Any) -> None:
            original(self, *a, **k)
            envs.append(self)

        simpy.Environment.__init__ = init  # type: ignore[method-assign]
    result = run_shard(shard)
    out: dict[str, Any] = {"devices_done": int(getattr(result, "devices", n))}
    if count_events:
        out["events"] = sum(_events_of(e) for e in envs)
    elif getattr(result, "events", 0):
        out["events"] = int(result.events)
    return out


def world_allow_run(path: str, n: int) -> dict[str, Any]:
    """The world alone: the same shard with a NAC that allows every request at once (no Intune lookup).

    Splits the world's cost from the reference NAC's: same population, access points, mock core,
    check-ins and agenda; only ``decide`` is trivial.
    """
    from harness.load.shards import plan_shards, shared_limits
    from harness.model import AccessDecision, Decision
    from harness.nac.base import NacUnderTest
    from harness.sim.runner import run_world

    class AllowAtOnce(NacUnderTest):
        name = "allow-at-once"

        def start(self, env: Any, coa_sink: Any) -> None:
            pass

        def decide(self, request: Any) -> AccessDecision:
            return _ALLOW

    _ALLOW = AccessDecision(Decision.ALLOW, reason="allow-at-once")
    sc = _scenario(path, n)
    shard = plan_shards(n, 1, seed=sc.seed, limits=shared_limits(sc), scenario=sc).shards[0]
    result = run_world(sc, nac_factory=lambda *_a: AllowAtOnce(), trace=False, limits=shard.limits, fast=True)
    return {"devices_done": int(result.devices)}


def _child(kind: str, n: int, epd: float, path: str, conn: Any) -> None:
    try:
        if kind.startswith("world"):
            # import before measuring: module memory and import time are not per-device costs
            import harness.load.shards
            import harness.nac.reference
            import harness.scenario
            import harness.sim.nac_setup
            import harness.sim.world  # noqa: F401
        if kind == "world":
            conn.send(_measured(world_run, path, n))
        elif kind == "world-allow":
            conn.send(_measured(world_allow_run, path, n))
        elif kind == "world-count":
            conn.send(world_run(path, n, True))
        else:
            conn.send(_measured(bare_nine_step, n, epd))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def in_child(kind: str, n: int, epd: float = 0.0, path: str = str(SCENARIO)) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(kind, n, epd, path, child))
    p.start()
    child.close()
    out: dict[str, Any] = parent.recv()
    p.join()
    if "error" in out:
        raise SystemExit(f"{kind} at {n}: {out['error']}")
    return out


class _Timed:
    """A shard's world result with the CPU seconds its worker spent (merges like the result)."""

    def __init__(self, result: Any, cpu: list[float]) -> None:
        self.result = result
        self.cpu = cpu

    def merge(self, other: _Timed) -> _Timed:
        return _Timed(self.result.merge(other.result), self.cpu + other.cpu)


def timed_run_shard(shard: Any) -> _Timed:
    """``harness.sim.world.run_shard`` plus the worker's CPU time for it."""
    from harness.sim.world import run_shard

    start = time.process_time()
    result = run_shard(shard)
    return _Timed(result, [time.process_time() - start])


def million_with_workers(workers: int, path: str) -> dict[str, Any]:
    """``million-devices`` end to end on a ``workers``-process pool (what ``simulate --workers`` runs)."""
    from harness.load.executors import ExecutorChoice
    from harness.load.run import run_simulation
    from harness.load.shards import shared_limits
    from harness.scenario import load_scenario

    sc = load_scenario(path)
    start = time.perf_counter()
    out = run_simulation(
        timed_run_shard,
        population=sc.population.size,
        seed=sc.seed,
        choice=ExecutorChoice("processes", workers),
        limits=shared_limits(sc),
        scenario=sc,
        trace=False,
    )
    return {
        "wall_s": time.perf_counter() - start,
        "devices": sc.population.size,
        "shards": out.plan.count,
        "shard_cpu_s": out.result.cpu,
    }


# -- driver ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = cpu_model()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{nproc} cores (nproc), {cpu}, Python {platform.python_version()}, SimPy {simpy.__version__}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated device counts")
    ap.add_argument("--workers", type=int, default=2, help="workers for the full-scenario run (0: skip)")
    ap.add_argument("--count-at", type=int, default=10000, help="size of the event-counting world run")
    ap.add_argument("--scenario", default=str(SCENARIO), help="the scenario (default million-devices)")
    ap.add_argument(
        "--no-allow-nac", dest="allow_nac", action="store_false", help="skip the world-alone column"
    )
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    counted = in_child("world-count", args.count_at, path=args.scenario)
    epd = counted["events"] / args.count_at
    print(f"# simulate_scale — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}", flush=True)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"scenario {Path(args.scenario).name}; the world schedules {epd:.2f} SimPy events per device "
        f"(counted at {args.count_at:,} devices); the bare loop is padded to the same\n"
    )
    print(
        "| devices | world dev/s wall | world dev/s CPU | bare dev/s wall | bare dev/s CPU "
        "| world/bare (CPU) | world B/device | bare B/device | world, allow-at-once NAC: dev/s CPU, B/device |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for n in sizes:
        w = in_child("world", n, path=args.scenario)
        b = in_child("bare", n, epd)
        a = in_child("world-allow", n, path=args.scenario) if args.allow_nac else None
        wc, bc = n / w["cpu_s"], n / b["cpu_s"]
        allow = f"{n / a['cpu_s']:,.0f}, {a['peak_bytes'] / n:,.0f}" if a else "–"
        print(
            f"| {n:,} | {n / w['wall_s']:,.0f} ({w['wall_s']:.1f} s) | {wc:,.0f} "
            f"| {n / b['wall_s']:,.0f} ({b['wall_s']:.1f} s) | {bc:,.0f} | {wc / bc:.2f} "
            f"| {w['peak_bytes'] / n:,.0f} | {b['peak_bytes'] / n:,.0f} | {allow} |",
            flush=True,
        )
    if args.workers:
        m = million_with_workers(args.workers, args.scenario)
        print(
            f"\n{Path(args.scenario).stem} ({m['devices']:,} devices, {m['shards']} shards on a "
            f"{args.workers}-process pool): {m['wall_s']:.1f} s wall, {m['devices'] / m['wall_s']:,.0f} devices/s; "
            f"CPU per shard {', '.join(f'{c:.1f} s' for c in m['shard_cpu_s'])}"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
