"""The clinic database behind the records service: every finished session from every
treadmill, and the patient profiles a treadmill asks for at session start.

Same session schema as a treadmill's own store (``records.store``: sessions, samples,
events), so the register, the progression, outcome and hand-over reports run on it unchanged
(they read ``sessions()``, ``samples()``, ``events()``). Two more tables: ``origins`` (which
site and treadmill sent a session, when it arrived) and ``profiles`` (a profile set for a
pseudonym; without one, the profile of the patient's latest session is the answer).

SQLite by default (a file beside the monitor), PostgreSQL when a ``postgresql://`` URL is
given (``psycopg``). ``add_session`` is idempotent — a session delivered twice is stored
once — and commits before it returns, so an acknowledgement sent after it is never a lie.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

from controller.core.pseudonym import pseudonym_problem
from controller.records import stats as _stats
from controller.records.store import EVENT_COLUMNS as STORE_EVENT_COLUMNS
from controller.records.store import (
    EXPORT_SCHEMA,
    SessionRecord,
    Store,
    StoreError,
    event_from_row,
    params_to_json,
)

EXTRA_SQLITE = """
CREATE TABLE IF NOT EXISTS origins (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    received_unix_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    pseudonym TEXT PRIMARY KEY,
    profile_json TEXT NOT NULL,
    updated_unix_s REAL NOT NULL
);
"""

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL,
    started_unix_s DOUBLE PRECISION NOT NULL,
    ended_unix_s DOUBLE PRECISION,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'incomplete')),
    plan_json TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    hr_max_bpm DOUBLE PRECISION NOT NULL,
    hr_max_source TEXT NOT NULL,
    summary_json TEXT,
    stop_reason TEXT
);
CREATE TABLE IF NOT EXISTS samples (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    t_s DOUBLE PRECISION NOT NULL,
    phase TEXT NOT NULL,
    interval INTEGER NOT NULL,
    state TEXT NOT NULL,
    hr_bpm DOUBLE PRECISION,
    hr_status TEXT,
    target_bpm DOUBLE PRECISION,
    zone_low_bpm DOUBLE PRECISION,
    zone_high_bpm DOUBLE PRECISION,
    speed_set_kmh DOUBLE PRECISION NOT NULL,
    speed_kmh DOUBLE PRECISION NOT NULL,
    incline_set_pct DOUBLE PRECISION NOT NULL,
    incline_pct DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_session ON samples(session_id, t_s);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    t_s DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS params_json TEXT;
CREATE TABLE IF NOT EXISTS origins (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    received_unix_s DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    pseudonym TEXT PRIMARY KEY,
    profile_json TEXT NOT NULL,
    updated_unix_s DOUBLE PRECISION NOT NULL
);
"""

SAMPLE_COLUMNS = ("t_s", "phase", "interval", "state", "hr_bpm", "hr_status", "target_bpm",
                  "zone_low_bpm", "zone_high_bpm", "speed_set_kmh", "speed_kmh",
                  "incline_set_pct", "incline_pct")
EVENT_COLUMNS = ("t_s", "kind", "severity", "message")


class ClinicDb(Protocol):
    def add_session(self, site: str, device: str, doc: dict[str, Any]) -> bool: ...
    def profile(self, pseudonym: str) -> dict[str, Any] | None: ...
    def set_profile(self, pseudonym: str, profile: dict[str, Any]) -> None: ...
    def sessions(self, pseudonym: str | None = None) -> list[SessionRecord]: ...
    def samples(self, session_id: str) -> list[dict[str, Any]]: ...
    def events(self, session_id: str) -> list[dict[str, Any]]: ...
    def origin(self, session_id: str) -> tuple[str, str] | None: ...
    def close(self) -> None: ...


def _check(doc: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("schema") != EXPORT_SCHEMA:
        raise StoreError(f"not a {EXPORT_SCHEMA} document")
    s = doc.get("session")
    if not isinstance(s, dict) or not isinstance(s.get("id"), str) or \
            not isinstance(doc.get("samples"), list) or not isinstance(doc.get("events"), list):
        raise StoreError("a session document needs session.id, samples and events")
    why = pseudonym_problem(s.get("pseudonym"))
    if why is not None:  # the one rule, here too: a name never enters the clinic's records
        raise StoreError(f"session.pseudonym: {why}")
    return s


def _record(s: dict[str, Any]) -> SessionRecord:
    return SessionRecord(s["id"], s["pseudonym"], s["started_unix_s"], s["ended_unix_s"],
                         s["status"], s["plan"], s["profile"], s["hr_max_bpm"],
                         s["hr_max_source"], s["summary"], s.get("stop_reason"),
                         s.get("clock_offset_s"))


def _check_pseudonym(pseudonym: object) -> None:
    why = pseudonym_problem(pseudonym)
    if why is not None:
        raise StoreError(f"pseudonym: {why}")


class SqliteClinicDb(Store):
    """The clinic database in one SQLite file: a session store with origins and profiles."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._commit()
        self.db.executescript(EXTRA_SQLITE)

    def add_session(self, site: str, device: str, doc: dict[str, Any]) -> bool:
        s = _check(doc)
        new = self.import_session(doc)
        self.db.execute("INSERT OR IGNORE INTO origins VALUES (?, ?, ?, ?)",
                        (s["id"], site, device, time.time()))
        return new

    def origin(self, session_id: str) -> tuple[str, str] | None:
        r = self.db.execute("SELECT site, device FROM origins WHERE session_id = ?",
                            (session_id,)).fetchone()
        return None if r is None else (r[0], r[1])

    def set_profile(self, pseudonym: str, profile: dict[str, Any]) -> None:
        _check_pseudonym(pseudonym)
        self._commit()
        self.db.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?, ?)",
                        (pseudonym, json.dumps(profile), time.time()))

    def profile(self, pseudonym: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT profile_json FROM profiles WHERE pseudonym = ?",
                            (pseudonym,)).fetchone()
        if r is None:
            r = self.db.execute("SELECT profile_json FROM sessions WHERE pseudonym = ? "
                                "ORDER BY started_unix_s DESC LIMIT 1", (pseudonym,)).fetchone()
        return None if r is None else json.loads(r[0])


class PgClinicDb:
    """The clinic database on PostgreSQL (``psycopg``), same tables as SQLite."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:  # an extra: only the clinic's records server needs it
            raise StoreError("a postgresql:// records database needs psycopg: "
                             "pip install 'fourbyfour[records]'") from None

        self.url = url
        self.path = url.split("@")[-1]  # for error messages: no password
        try:
            self.db = psycopg.connect(url, autocommit=True)
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to the clinic database: {e}") from None
        with self.db.transaction():
            self.db.execute(PG_SCHEMA)
            self.db.execute(_stats.PG_TABLE)  # per-session figures (records/stats.py)
            self.db.execute(_stats.PG_V8)  # complete?, speed at 90 % as two facts
            if self.db.execute("SELECT 1 FROM session_stats WHERE intervals_planned IS NULL "
                               "LIMIT 1").fetchone():  # rows kept before: brought up once
                _stats.bring_up_old_rows(self.db, "%s")

    def add_session(self, site: str, device: str, doc: dict[str, Any]) -> bool:
        import psycopg

        s = _check(doc)
        try:
            with self.db.transaction():
                cur = self.db.execute(
                    "INSERT INTO sessions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING",
                    (s["id"], s["pseudonym"], s["started_unix_s"], s["ended_unix_s"],
                     s["status"], json.dumps(s["plan"]), json.dumps(s["profile"]),
                     s["hr_max_bpm"], s["hr_max_source"],
                     json.dumps(s["summary"]) if s["summary"] is not None else None,
                     s.get("stop_reason")))
                if cur.rowcount == 0:
                    return False
                with self.db.cursor() as c:
                    c.executemany(
                        f"INSERT INTO samples VALUES (%s, {', '.join(['%s'] * 13)})",
                        [(s["id"], *(r[k] for k in SAMPLE_COLUMNS)) for r in doc["samples"]])
                    c.executemany("INSERT INTO events (session_id, t_s, kind, severity, "
                                  "message, params_json) VALUES (%s, %s, %s, %s, %s, %s)",
                                  [(s["id"], *(e[k] for k in EVENT_COLUMNS),
                                    params_to_json(e.get("params"))) for e in doc["events"]])
                self.db.execute("INSERT INTO origins VALUES (%s, %s, %s, %s) "
                                "ON CONFLICT DO NOTHING", (s["id"], site, device, time.time()))
                if s["status"] != "running":  # the figures, kept as the session arrives
                    self.put_stats(_stats.compute(
                        _record(s), doc["samples"],
                        [r["borg"] for r in doc.get("ratings", []) if isinstance(r, dict)],
                        doc["events"]))
        except (KeyError, TypeError, psycopg.DataError, psycopg.IntegrityError) as e:
            raise StoreError(f"broken session document: {type(e).__name__}: {e}") from None
        return True

    def put_stats(self, row: dict[str, Any]) -> None:
        cols = _stats.COLUMNS
        self.db.execute(f"INSERT INTO session_stats ({', '.join(cols)}) VALUES "
                        f"({', '.join(['%s'] * len(cols))}) ON CONFLICT (session_id) DO "
                        f"UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in cols[1:])}",
                        [row[c] for c in cols])

    def stats(self, pseudonym: str | None = None) -> list[dict[str, Any]]:
        q = f"SELECT {', '.join(_stats.COLUMNS)} FROM session_stats"
        args: tuple[Any, ...] = ()
        if pseudonym is not None:
            q += " WHERE pseudonym = %s"
            args = (pseudonym,)
        rows = self.db.execute(q + " ORDER BY started_unix_s", args).fetchall()
        return [dict(zip(_stats.COLUMNS, r, strict=True)) for r in rows]

    def stats_of(self, session_id: str) -> dict[str, Any]:
        r = self.db.execute(f"SELECT {', '.join(_stats.COLUMNS)} FROM session_stats WHERE "
                            "session_id = %s", (session_id,)).fetchone()
        if r is not None:
            return dict(zip(_stats.COLUMNS, r, strict=True))
        (rec,) = [x for x in self.sessions() if x.id == session_id]
        return _stats.compute(rec, self.samples(session_id), [], self.events(session_id))

    def origin(self, session_id: str) -> tuple[str, str] | None:
        r = self.db.execute("SELECT site, device FROM origins WHERE session_id = %s",
                            (session_id,)).fetchone()
        return None if r is None else (r[0], r[1])

    def set_profile(self, pseudonym: str, profile: dict[str, Any]) -> None:
        _check_pseudonym(pseudonym)
        self.db.execute("INSERT INTO profiles VALUES (%s, %s, %s) ON CONFLICT (pseudonym) "
                        "DO UPDATE SET profile_json = EXCLUDED.profile_json, "
                        "updated_unix_s = EXCLUDED.updated_unix_s",
                        (pseudonym, json.dumps(profile), time.time()))

    def profile(self, pseudonym: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT profile_json FROM profiles WHERE pseudonym = %s",
                            (pseudonym,)).fetchone()
        if r is None:
            r = self.db.execute("SELECT profile_json FROM sessions WHERE pseudonym = %s "
                                "ORDER BY started_unix_s DESC LIMIT 1",
                                (pseudonym,)).fetchone()
        return None if r is None else json.loads(r[0])

    def sessions(self, pseudonym: str | None = None) -> list[SessionRecord]:
        q = "SELECT * FROM sessions"
        args: tuple[Any, ...] = ()
        if pseudonym is not None:
            q += " WHERE pseudonym = %s"
            args = (pseudonym,)
        rows = self.db.execute(q + " ORDER BY started_unix_s", args).fetchall()
        return [SessionRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]),
                              r[7], r[8], json.loads(r[9]) if r[9] else None, r[10])
                for r in rows]

    def _rows(self, table: str, session_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT * FROM {table} WHERE session_id = %s ORDER BY t_s",
                              (session_id,))
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def samples(self, session_id: str) -> list[dict[str, Any]]:
        return self._rows("samples", session_id)

    def events(self, session_id: str) -> list[dict[str, Any]]:
        """The session's events, each with its ``params`` (empty for rows without)."""
        cur = self.db.execute(f"SELECT {STORE_EVENT_COLUMNS} FROM events WHERE "
                              "session_id = %s ORDER BY t_s", (session_id,))
        names = [d.name for d in cur.description or ()]
        return [event_from_row(names, r) for r in cur.fetchall()]

    def close(self) -> None:
        self.db.close()


def open_clinic_db(where: str) -> SqliteClinicDb | PgClinicDb:
    """A ``postgresql://`` URL: PostgreSQL; anything else: an SQLite file path."""
    if where.startswith(("postgresql://", "postgres://")):
        return PgClinicDb(where)
    Path(where).parent.mkdir(parents=True, exist_ok=True)
    return SqliteClinicDb(where)
