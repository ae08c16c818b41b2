"""SQLite persistence for the mock: one file (WAL) shared by every server worker, or shared memory.

The store knows rows, not rules: the compliance rules live in :mod:`mock_intune.compliance` and the
operations that combine them in :mod:`mock_intune.service`.
"""

from __future__ import annotations

import glob
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from .errors import NotFound
from .model import (
    AppRegistration,
    CallRecord,
    ComplianceState,
    Device,
    OperatingSystem,
    OwnerType,
    Permission,
    RegistrationState,
    Surface,
    TenantSettings,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (tenant_id TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (client_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    intune_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    azure_ad_device_id TEXT NOT NULL,
    wifi_mac TEXT NOT NULL DEFAULT '',
    ethernet_mac TEXT NOT NULL DEFAULT '',
    compliance_state TEXT NOT NULL,
    managed INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_wifi ON devices (tenant_id, wifi_mac);
CREATE INDEX IF NOT EXISTS devices_eth ON devices (tenant_id, ethernet_mac);
CREATE INDEX IF NOT EXISTS devices_aad ON devices (tenant_id, azure_ad_device_id);
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, app TEXT NOT NULL, surface TEXT NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, query TEXT NOT NULL, status INTEGER NOT NULL, latency_ms REAL NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (surface TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS broad_queries (tenant_id TEXT NOT NULL, app TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, app));
CREATE TABLE IF NOT EXISTS rate_windows (key TEXT PRIMARY KEY, window_start REAL NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shared_rev (id INTEGER PRIMARY KEY CHECK (id = 0), n INTEGER NOT NULL);
INSERT OR IGNORE INTO shared_rev (id, n) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS shared_rev_tenants_insert AFTER INSERT ON tenants
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_tenants_update AFTER UPDATE ON tenants
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_tenants_delete AFTER DELETE ON tenants
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_faults_insert AFTER INSERT ON faults
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_faults_update AFTER UPDATE ON faults
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_faults_delete AFTER DELETE ON faults
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_meta_insert AFTER INSERT ON meta WHEN NEW.key = 'service_base_url'
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_meta_update AFTER UPDATE ON meta WHEN NEW.key = 'service_base_url'
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS shared_rev_meta_delete AFTER DELETE ON meta WHEN OLD.key = 'service_base_url'
    BEGIN UPDATE shared_rev SET n = n + 1 WHERE id = 0; END;
"""
"""``shared_rev`` counts changes to what every request reads (tenants and their settings, faults, the
advertised service base): triggers bump it on any write to those rows, from any connection or
process, so a worker may cache them and re-read only when the counter moved (see
:meth:`Store.shared_revision`)."""

_DETAIL_JSON = json.JSONEncoder(default=str)
"""``json.dumps(detail, default=str)`` without building an encoder per call-log row."""

_DT_FIELDS = ("enrolled_at", "last_sync_at", "evaluated_at", "grace_expires_at")


def device_to_json(device: Device) -> dict[str, Any]:
    """A device as a JSON-ready dict (the admin API and the store share this shape)."""
    out: dict[str, Any] = {}
    for name, value in vars(device).items():
        if isinstance(value, datetime):
            out[name] = value.isoformat()
        elif hasattr(value, "value"):
            out[name] = value.value
        else:
            out[name] = value
    return out


def device_from_json(data: dict[str, Any]) -> Device:
    """Inverse of :func:`device_to_json`; raises KeyError/ValueError on bad data (callers wrap)."""
    values = dict(data)
    for name in _DT_FIELDS:
        raw = values.get(name)
        values[name] = datetime.fromisoformat(raw) if raw else None
    values["compliance_state"] = ComplianceState(values.get("compliance_state", "unknown"))
    values["registration_state"] = RegistrationState(values.get("registration_state", "registered"))
    values["owner_type"] = OwnerType(values.get("owner_type", "company"))
    values["operating_system"] = OperatingSystem(values.get("operating_system", "Windows"))
    return Device(**values)


CALL_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL, app TEXT NOT NULL, surface TEXT NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, query TEXT NOT NULL, status INTEGER NOT NULL, latency_ms REAL NOT NULL,
    detail TEXT NOT NULL
);
"""


def _call_log_file(path: str) -> sqlite3.Connection:
    """One process's call-log file (WAL: the admin API reads it while the worker appends)."""
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(CALL_LOG_SCHEMA)
    return conn


class Store:
    """SQLite-backed state of one mock Intune (all its tenants).

    ``path`` is a file (WAL mode: several processes share it) or ``None`` for a private
    shared-cache in-memory database that lives as long as this object.
    """

    def __init__(self, path: str | None = None) -> None:
        if path is None:
            self._uri = f"file:mock-intune-{uuid.uuid4().hex}?mode=memory&cache=shared"
        else:
            self._uri = f"file:{path}"
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()
        self._log_conn: sqlite3.Connection | None = None
        self._log_pid = 0
        self._last_seq = 0
        self._parsed: dict[str, Device] = {}
        # Keep one connection open so a memory database survives between requests.
        self._keeper = self._connect()
        with self._lock:
            if path is not None:
                self._keeper.execute("PRAGMA journal_mode=WAL")
            self._keeper.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._uri, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
        # No fsync (WAL checkpoints included): the state survives a process restart, which is what a
        # mock needs, and a checkpoint's fsync no longer stalls the request that triggers it.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: read-modify-write sequences are atomic across workers."""
        conn = self.db
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._log_conn is not None:
            self._log_conn.close()
            self._log_conn = None
        self._keeper.close()

    # -- meta -------------------------------------------------------------------------------
    def shared_revision(self) -> int:
        """The change counter of tenants, settings, faults and the service base (one cheap read).

        Bumped by triggers on every write to those rows, whoever writes them: a cache of them taken
        at revision ``n`` is current as long as this still returns ``n``.
        """
        row = self.db.execute("SELECT n FROM shared_rev WHERE id = 0").fetchone()
        return int(row[0]) if row else -1

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def setdefault_meta(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return what is stored (race-free across workers)."""
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
        stored = self.get_meta(key)
        assert stored is not None
        return stored

    # -- tenants and apps --------------------------------------------------------------------
    def put_tenant(self, tenant_id: str, settings: TenantSettings) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO tenants (tenant_id, settings) VALUES (?, ?)",
            (tenant_id, json.dumps(settings.to_json())),
        )

    def tenant_settings(self, tenant_id: str) -> TenantSettings:
        row = self.db.execute("SELECT settings FROM tenants WHERE tenant_id=?", (tenant_id,)).fetchone()
        if row is None:
            raise NotFound(f"tenant {tenant_id} does not exist")
        return TenantSettings.from_json(json.loads(row[0]))

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT tenant_id FROM tenants ORDER BY tenant_id")]

    def put_app(self, app: AppRegistration) -> None:
        data = {
            "display_name": app.display_name,
            "client_secret": app.client_secret,
            "certificate_pem": app.certificate_pem,
            "permissions": sorted(p.value for p in app.permissions),
        }
        self.db.execute(
            "INSERT OR REPLACE INTO apps (client_id, tenant_id, data) VALUES (?, ?, ?)",
            (app.client_id, app.tenant_id, json.dumps(data)),
        )

    def get_app(self, client_id: str) -> AppRegistration:
        row = self.db.execute("SELECT tenant_id, data FROM apps WHERE client_id=?", (client_id,)).fetchone()
        if row is None:
            raise NotFound(f"application {client_id} is not registered")
        data = json.loads(row[1])
        return AppRegistration(
            client_id=client_id,
            tenant_id=row[0],
            display_name=data["display_name"],
            client_secret=data["client_secret"],
            certificate_pem=data["certificate_pem"],
            permissions=frozenset(Permission(p) for p in data["permissions"]),
        )

    def apps(self) -> list[AppRegistration]:
        return [self.get_app(r[0]) for r in self.db.execute("SELECT client_id FROM apps ORDER BY client_id")]

    # -- devices -----------------------------------------------------------------------------
    PARSED_CACHE_SIZE = 4096
    """Single-device reads remembered per store, by the stored JSON text (so any change to the row,
    by any worker, is a different key): a NAC asks about the same devices again and again."""

    def _device(self, raw: str) -> Device:
        """The device stored as ``raw``: parsed once, then a fresh shallow copy for each caller (its
        fields are immutable values, so callers may change or replace theirs freely)."""
        parsed = self._parsed.get(raw)
        if parsed is None:
            parsed = device_from_json(json.loads(raw))
            if len(self._parsed) >= self.PARSED_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[raw] = parsed
        fresh = object.__new__(Device)
        fresh.__dict__.update(parsed.__dict__)
        return fresh

    def put_device(self, tenant_id: str, device: Device) -> None:
        self.put_devices(tenant_id, [device])

    def put_devices(self, tenant_id: str, devices: Iterable[Device]) -> None:
        rows = [
            (
                d.intune_id,
                tenant_id,
                d.azure_ad_device_id,
                d.wifi_mac,
                d.ethernet_mac,
                d.compliance_state.value,
                int(d.managed),
                json.dumps(device_to_json(d)),
            )
            for d in devices
        ]
        with self._lock:
            self.db.executemany(
                "INSERT OR REPLACE INTO devices (intune_id, tenant_id, azure_ad_device_id, wifi_mac,"
                " ethernet_mac, compliance_state, managed, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def get_device(self, tenant_id: str, intune_id: str) -> Device | None:
        row = self.db.execute(
            "SELECT data FROM devices WHERE tenant_id=? AND intune_id=?", (tenant_id, intune_id)
        ).fetchone()
        return self._device(row[0]) if row else None

    def find_by_mac(self, tenant_id: str, mac: str) -> Device | None:
        """The device whose Wi-Fi or Ethernet MAC is ``mac`` (already normalised)."""
        row = self.db.execute(
            "SELECT data FROM devices WHERE tenant_id=? AND (wifi_mac=? OR ethernet_mac=?)"
            " ORDER BY managed DESC LIMIT 1",
            (tenant_id, mac, mac),
        ).fetchone()
        return self._device(row[0]) if row else None

    def find_by_azure_id(self, tenant_id: str, azure_id: str) -> Device | None:
        row = self.db.execute(
            "SELECT data FROM devices WHERE tenant_id=? AND azure_ad_device_id=?", (tenant_id, azure_id)
        ).fetchone()
        return self._device(row[0]) if row else None

    INDEXED_COLUMNS = frozenset({"azure_ad_device_id", "wifi_mac", "ethernet_mac"})

    def devices_where(
        self, tenant_id: str, column: str, value: str, *, managed_only: bool = False
    ) -> list[Device]:
        """Every device whose indexed ``column`` equals ``value`` (already normalised), by id.

        Several records can share an Entra device id or a MAC (a re-enrolled device keeps its
        retired record), so lookups that must not miss one use this rather than ``find_by_*``.
        """
        if column not in self.INDEXED_COLUMNS:
            raise ValueError(f"not an indexed device column: {column}")
        sql = f"SELECT data FROM devices WHERE tenant_id=? AND {column}=?"  # noqa: S608 - fixed names
        if managed_only:
            sql += " AND managed=1"
        sql += " ORDER BY intune_id"
        return [device_from_json(json.loads(r[0])) for r in self.db.execute(sql, (tenant_id, value))]

    def devices(self, tenant_id: str, *, managed_only: bool = False) -> list[Device]:
        sql = "SELECT data FROM devices WHERE tenant_id=?"
        if managed_only:
            sql += " AND managed=1"
        sql += " ORDER BY intune_id"
        return [device_from_json(json.loads(r[0])) for r in self.db.execute(sql, (tenant_id,))]

    def delete_device(self, tenant_id: str, intune_id: str) -> bool:
        cur = self.db.execute("DELETE FROM devices WHERE tenant_id=? AND intune_id=?", (tenant_id, intune_id))
        return cur.rowcount > 0

    def count_devices(self, tenant_id: str) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM devices WHERE tenant_id=?", (tenant_id,)).fetchone()[0]
        )

    # -- call log ----------------------------------------------------------------------------
    def log_call(self, record: CallRecord) -> int:
        # One writer per process at a time: threads queue on a Python lock (woken at once), and a
        # lock held by another worker process is retried every 0.1-2 ms rather than through SQLite's
        # busy handler, whose 1-100 ms back-off sleeps made the latency tail (p99 of this call 2.5 ms
        # -> 0.25 ms with two processes of four threads).
        row = (
            record.at.isoformat(),
            record.app,
            record.surface.value,
            record.method,
            record.path,
            record.query,
            record.status,
            record.latency_ms,
            _DETAIL_JSON.encode(record.detail),
        )
        with self._lock:
            conn = self._log_db
            if self.path is not None:
                # A file-backed store (several server workers): each process appends to its own
                # call-log file, so workers never wait on each other's write lock; sequence numbers
                # are microseconds since the epoch with the process in the last three digits, so
                # they are unique and ordered across the files.
                pid = os.getpid()
                seq = max(time.time_ns() // 1000 * 1000 + pid % 1000, self._last_seq + 1000)
                while True:
                    try:
                        conn.execute(
                            "INSERT INTO calls (seq, at, app, surface, method, path, query, status,"
                            " latency_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (seq, *row),
                        )
                    except sqlite3.IntegrityError:  # another Store of this process took it
                        seq += 1000
                        continue
                    self._last_seq = seq
                    return seq
            delay, deadline = 0.0001, time.monotonic() + 30
            while True:
                try:
                    cur = conn.execute(
                        "INSERT INTO calls (at, app, surface, method, path, query, status, latency_ms, detail)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    return int(cur.lastrowid or 0)
                except sqlite3.OperationalError as exc:
                    # Another worker process holds the write lock: retry at a fine grain.
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.002)

    @property
    def _log_db(self) -> sqlite3.Connection:
        """This process's call-log writer connection.

        In memory: the shared database (fails fast on a busy lock, the caller retries). On a file:
        this process's own call-log file beside it (reopened after a fork).
        """
        pid = os.getpid()
        if self._log_conn is not None and self._log_pid != pid:
            self._log_conn = None  # a forked child must not share its parent's connection
        if self._log_conn is None:
            if self.path is None:
                self._log_conn = self._connect()
                self._log_conn.execute("PRAGMA busy_timeout=0")
            else:
                self._log_conn = _call_log_file(f"{self.path}.calls-{pid}.sqlite3")
            self._log_pid = pid
        return self._log_conn

    def _call_log_files(self) -> list[sqlite3.Connection]:
        """Connections to every process's call-log file of a file-backed store (readers)."""
        if self.path is None:
            return []
        return [_call_log_file(f) for f in sorted(glob.glob(glob.escape(self.path) + ".calls-*.sqlite3"))]

    def calls(
        self, *, after: int = 0, surface: Surface | None = None, limit: int = 10_000
    ) -> list[CallRecord]:
        sql = "SELECT seq, at, app, surface, method, path, query, status, latency_ms, detail FROM calls WHERE seq>?"
        args: list[Any] = [after]
        if surface is not None:
            sql += " AND surface=?"
            args.append(surface.value)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        rows = list(self.db.execute(sql, args))
        for conn in self._call_log_files():
            try:
                rows.extend(conn.execute(sql, args))
            finally:
                conn.close()
        rows.sort(key=lambda r: r[0])
        return [
            CallRecord(
                seq=r[0],
                at=datetime.fromisoformat(r[1]),
                app=r[2],
                surface=Surface(r[3]),
                method=r[4],
                path=r[5],
                query=r[6],
                status=r[7],
                latency_ms=r[8],
                detail=json.loads(r[9]),
            )
            for r in rows[:limit]
        ]

    def clear_calls(self) -> None:
        self.db.execute("DELETE FROM calls")
        self._clear_call_log_files()

    def _clear_call_log_files(self) -> None:
        for conn in self._call_log_files():
            try:
                conn.execute("DELETE FROM calls")
            finally:
                conn.close()

    # -- replay protection, faults, throttling ---------------------------------------------
    def claim_jti(self, jti: str, expires: datetime, now: datetime) -> bool:
        """Record an assertion id; False when it was already used (a replay)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM jtis WHERE expires < ?", (now.isoformat(),))
            cur = conn.execute(
                "INSERT OR IGNORE INTO jtis (jti, expires) VALUES (?, ?)", (jti, expires.isoformat())
            )
            return cur.rowcount == 1

    def put_fault(self, surface: str, data: dict[str, Any] | None) -> None:
        if data is None:
            self.db.execute("DELETE FROM faults WHERE surface=?", (surface,))
        else:
            self.db.execute(
                "INSERT OR REPLACE INTO faults (surface, data) VALUES (?, ?)", (surface, json.dumps(data))
            )

    def faults(self) -> dict[str, dict[str, Any]]:
        return {r[0]: json.loads(r[1]) for r in self.db.execute("SELECT surface, data FROM faults")}

    def last_broad_query(self, tenant_id: str, app: str) -> datetime | None:
        row = self.db.execute(
            "SELECT at FROM broad_queries WHERE tenant_id=? AND app=?", (tenant_id, app)
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def set_broad_query(self, tenant_id: str, app: str, at: datetime) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO broad_queries (tenant_id, app, at) VALUES (?, ?, ?)",
            (tenant_id, app, at.isoformat()),
        )

    def hit_window(self, key: str, now_s: float, window_s: float) -> tuple[int, float]:
        """Count one request in the fixed window for ``key``; return (count, window start)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT window_start, count FROM rate_windows WHERE key=?", (key,)).fetchone()
            if row is None or now_s - row[0] >= window_s:
                start, count = now_s, 1
            else:
                start, count = row[0], row[1] + 1
            conn.execute(
                "INSERT OR REPLACE INTO rate_windows (key, window_start, count) VALUES (?, ?, ?)",
                (key, start, count),
            )
            return count, start

    def reset(self) -> None:
        """Forget devices, calls, faults, throttling and replay state (tenants, apps and keys stay)."""
        with self.transaction() as conn:
            for table in ("devices", "calls", "jtis", "faults", "broad_queries", "rate_windows"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self._clear_call_log_files()
