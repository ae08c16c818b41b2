"""The call log of a file-backed mock: one file per worker process, read back as one ordered log."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from mock_intune.model import CallRecord, Surface
from mock_intune.store import Store

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def record(n: int, app: str) -> CallRecord:
    return CallRecord(at=AT, app=app, surface=Surface.CR_CISCO, method="GET", path="/p", query=f"n={n}",
                      status=200, latency_ms=1.0, detail={"n": n})  # fmt: skip


def _worker(path: str, app: str, count: int) -> None:
    store = Store(path)
    for n in range(count):
        store.log_call(record(n, app))
    store.close()


def test_two_worker_processes_log_into_one_ordered_log(tmp_path):
    path = str(tmp_path / "mock.sqlite3")
    Store(path).close()
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_worker, args=(path, app, 150)) for app in ("w1", "w2")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    store = Store(path)
    calls = store.calls()
    assert len(calls) == 300
    seqs = [c.seq for c in calls]
    assert seqs == sorted(seqs) and len(set(seqs)) == 300
    for app in ("w1", "w2"):  # each worker's own calls keep their order
        assert [c.detail["n"] for c in calls if c.app == app] == list(range(150))
    assert len(list(tmp_path.glob("mock.sqlite3.calls-*.sqlite3"))) == 2
    middle = seqs[149]
    assert [c.seq for c in store.calls(after=middle)] == seqs[150:]
    assert len(store.calls(limit=10)) == 10
    assert len(store.calls(surface=Surface.GRAPH)) == 0


def test_two_stores_of_one_process_never_share_a_sequence_number(tmp_path):
    path = str(tmp_path / "mock.sqlite3")
    a, b = Store(path), Store(path)
    seqs = [s.log_call(record(n, "x")) for n in range(200) for s in (a, b)]
    assert len(set(seqs)) == 400 and len(a.calls()) == 400


def test_clearing_and_reset_empty_every_process_file(tmp_path):
    path = str(tmp_path / "mock.sqlite3")
    ctx = multiprocessing.get_context("fork")
    Store(path).close()
    p = ctx.Process(target=_worker, args=(path, "w", 5))
    p.start()
    p.join(30)
    store = Store(path)
    store.log_call(record(0, "me"))
    assert len(store.calls()) == 6
    store.clear_calls()
    assert store.calls() == []
    store.log_call(record(1, "me"))
    store.reset()
    assert store.calls() == []
