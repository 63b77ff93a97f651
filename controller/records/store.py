"""The session store: one SQLite file in WAL mode, written as the session runs.

Why SQLite in WAL mode: a killed process or a power cut must lose at most the last few
seconds and never corrupt what was written. Rows are committed at least every
``COMMIT_EVERY_S`` seconds (synchronous=NORMAL is durable against process crashes; against a
power cut it keeps the database consistent and loses at most the last commits). A session
still marked ``running`` when the *service* starts again (``Store(path, recover=True)``) is
marked ``incomplete``; nothing else does that, because a report or a listing opened while the
service runs must not call its live session abandoned (readers open read-only:
``Store(path, readonly=True)``). The schema is versioned; ``MIGRATIONS`` lists every step,
applied in order, never edited after release.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.i18n import _
from controller.core.refusals import Refusal
from controller.errors import FourByFourError
from controller.protocol import Event, PatientProfile, Setpoint
from controller.records import stats as _stats

COMMIT_EVERY_S = 2.0

MIGRATIONS: list[str] = [
    # 1: sessions, per-second samples, events
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        pseudonym TEXT NOT NULL,
        started_unix_s REAL NOT NULL,
        ended_unix_s REAL,
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped',
                                                'incomplete')),
        plan_json TEXT NOT NULL,
        profile_json TEXT NOT NULL,
        hr_max_bpm REAL NOT NULL,
        hr_max_source TEXT NOT NULL,
        summary_json TEXT
    );
    CREATE TABLE samples (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        t_s REAL NOT NULL,
        phase TEXT NOT NULL,
        interval INTEGER NOT NULL,
        state TEXT NOT NULL,
        hr_bpm REAL,
        hr_status TEXT,
        target_bpm REAL,
        zone_low_bpm REAL,
        zone_high_bpm REAL,
        speed_set_kmh REAL NOT NULL,
        speed_kmh REAL NOT NULL,
        incline_set_pct REAL NOT NULL,
        incline_pct REAL NOT NULL
    );
    CREATE INDEX samples_by_session ON samples(session_id, t_s);
    CREATE TABLE events (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        t_s REAL NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL
    );
    """,
    # 2: the Borg rating (6–20) staff ask at the end of each interval; staff notes
    """
    CREATE TABLE ratings (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        interval INTEGER NOT NULL,
        borg INTEGER NOT NULL CHECK (borg BETWEEN 6 AND 20),
        rated_unix_s REAL NOT NULL,
        PRIMARY KEY (session_id, interval)
    );
    CREATE TABLE notes (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        written_unix_s REAL NOT NULL,
        text TEXT NOT NULL
    );
    """,
    # 3: why a stopped session stopped ("staff", "e-stop", "key", "shutdown", …)
    "ALTER TABLE sessions ADD COLUMN stop_reason TEXT;",
    # 4: which ended sessions the clinic's records service has acknowledged
    """
    CREATE TABLE central_acks (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id),
        acked_unix_s REAL NOT NULL
    );
    """,
    # 5: the patient register (pseudonymous profiles kept over time), HRmax decisions, and
    # each session's monotonic→wall-clock offset (absolute time of every sample)
    """
    CREATE TABLE patients (
        pseudonym TEXT PRIMARY KEY,
        created_unix_s REAL NOT NULL,
        updated_unix_s REAL NOT NULL,
        profile_json TEXT NOT NULL
    );
    CREATE TABLE hrmax_decisions (
        pseudonym TEXT NOT NULL REFERENCES patients(pseudonym),
        decided_unix_s REAL NOT NULL,
        session_id TEXT,
        hr_max_bpm REAL,
        source TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('accepted', 'edited', 'rejected')),
        detail_json TEXT NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN clock_offset_s REAL;
    """,
    # 6: per-session figures kept at write time (records/stats.py): reports read one row
    # per session, not its trace; filled for older sessions right after this step
    _stats.SQLITE_TABLE,
    # 7: each event's parameters (``Event.params`` as JSON; NULL in rows from before): a
    # report says the event from its code and these in its own language, never by matching
    # the English message
    "ALTER TABLE events ADD COLUMN params_json TEXT;",
    # 8: whether a session is complete (its intervals ran: a session skipped through ends
    # "finished" but is not), and the speed at 90 % HRmax as two facts, the belt's and the
    # learned response's (records/stats.py); older rows brought up right after this step
    _stats.SQLITE_V8,
]

EVENT_COLUMNS = "session_id, t_s, kind, severity, message, params_json"
SAMPLE_COLUMNS = ("t_s", "phase", "interval", "state", "hr_bpm", "hr_status", "target_bpm",
                  "zone_low_bpm", "zone_high_bpm", "speed_set_kmh", "speed_kmh",
                  "incline_set_pct", "incline_pct")
"""The ``samples`` table's columns after ``session_id``, in its order (``record_rows``)."""


def params_to_json(params: Any) -> str | None:
    return json.dumps(params, default=str) if params else None


def event_from_row(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """An event row as a dict with ``params`` (a dict; empty for rows from before schema
    7) in place of the stored ``params_json``."""
    e = dict(zip(names, row, strict=True))
    raw = e.pop("params_json", None)
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        params = {}
    e["params"] = params if isinstance(params, dict) else {}
    return e

BORG_MIN, BORG_MAX = 6, 20
NOTE_MAX_CHARS = 2000
EXPORT_SCHEMA = "fourbyfour.session-export/1"
BUSY_TIMEOUT_S = 5.0
"""How long a writer other than the service (import, the register command) waits for the
service's batch to commit before it gives up with a clear error."""


class StoreError(FourByFourError, RuntimeError):
    """A store file that cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class SessionRecord:
    id: str
    pseudonym: str
    started_unix_s: float
    ended_unix_s: float | None
    status: str
    plan: dict[str, Any]
    profile: dict[str, Any]
    hr_max_bpm: float
    hr_max_source: str
    summary: dict[str, Any] | None
    stop_reason: str | None = None
    """Why a stopped session stopped: staff, e-stop, key, shutdown, heart rate lost, …"""
    clock_offset_s: float | None = None
    """Wall-clock (Unix) time = ``t_s`` of a sample + this; None in files written before
    schema 4 (then ``started_unix_s`` stands for the first sample)."""

    @property
    def plan_name(self) -> str:
        return str(self.plan.get("name", ""))


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a session store: safe beside the service's writer (WAL: it
    sees every committed row and never takes the writer's lock), and it never marks a running
    session incomplete as opening a ``Store`` would. StoreError if there is no such file."""
    p = Path(path)
    if not p.exists():
        raise StoreError(_("{path}: no such session store").format(path=p))
    db = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True, isolation_level=None,
                         timeout=BUSY_TIMEOUT_S)
    try:
        have = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        db.close()
        raise StoreError(f"{p}: not a fourbyfour session store ({e})") from None
    if have == 0:
        db.close()
        raise StoreError(f"{p}: not a fourbyfour session store (no schema)")
    if have > len(MIGRATIONS):
        db.close()
        raise StoreError(f"{p}: written by a newer version (schema {have}, this software "
                         f"knows {len(MIGRATIONS)})")
    if have < len(MIGRATIONS):  # an older file: bring its schema up once (adds tables
        db.close()              # and figures; no session's status or data changes)
        Store(p).close()
        return connect_readonly(p)
    return db


def read_export(path: str | Path, session_id: str) -> dict[str, Any]:
    """``Store.export_session`` through a read-only connection of its own (``connect_readonly``),
    e.g. from another thread while the service writes."""
    db = connect_readonly(path)
    try:
        return _export(db, Path(path), session_id)
    finally:
        db.close()


def _rows(db: sqlite3.Connection, table: str, session_id: str) -> list[dict[str, Any]]:
    cur = db.execute(f"SELECT * FROM {table} WHERE session_id = ? ORDER BY t_s", (session_id,))
    names = [d[0] for d in cur.description]
    rows = [event_from_row(names, r) if table == "events" else dict(zip(names, r, strict=True))
            for r in cur.fetchall()]
    for r in rows:
        del r["session_id"]
    return rows


def _export(db: sqlite3.Connection, path: Path, session_id: str) -> dict[str, Any]:
    r = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if r is None:
        raise StoreError(_("{path}: no session {id}").format(path=path, id=session_id))
    rec = SessionRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7],
                        r[8], json.loads(r[9]) if r[9] else None, r[10], r[11])
    return {"schema": EXPORT_SCHEMA, "session": rec.__dict__,
            "samples": _rows(db, "samples", session_id),
            "events": _rows(db, "events", session_id)}


class Store:
    def __init__(self, path: str | Path, *, clock=time.time,  # type: ignore[no-untyped-def]
                 readonly: bool = False, recover: bool = False) -> None:
        """Open (creating and migrating) the store at ``path``. ``recover``: the service's
        start — a session left ``running`` by a crash is marked ``incomplete`` (only the
        service may say that: nobody else knows no session runs). ``readonly``: only read
        what a writer elsewhere committed (``connect_readonly``) — every report and listing,
        which must never write to the live store."""
        self.path = Path(path)
        self.clock = clock
        self.ends_at_last_instant = False
        """The demo's service (simulated time up to 30× the wall): a session starts at the
        wall clock's instant (staff pressed Start), its samples and events follow at the
        simulated pace, past the wall clock, and it ends at the last of them, so they lie
        inside its start..end (``end_session``; docs/demo.md)."""
        self._last_commit = 0.0
        self._offset_known: set[str] = set()
        if readonly:
            self.db = connect_readonly(self.path)
            return
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None,
                                      timeout=BUSY_TIMEOUT_S)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreError(_("{path}: busy (the service is writing); try again in a "
                                   "moment").format(path=self.path)) from None
            raise StoreError(f"{self.path}: not a fourbyfour session store ({e})") from None
        if recover:
            self._begin()
            left = [r[0] for r in self.db.execute(
                "SELECT id FROM sessions WHERE status = 'running'")]
            self.db.execute(
                "UPDATE sessions SET status = 'incomplete' WHERE status = 'running'")
            for sid in left:
                self.refresh_stats(sid)
            self._commit()

    def _migrate(self) -> None:
        have = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if have == 0 and tables:
            raise StoreError(f"{self.path}: a SQLite file with foreign tables "
                             f"({', '.join(sorted(tables))}), not a session store")
        if have > len(MIGRATIONS):
            raise StoreError(f"{self.path}: written by a newer version (schema {have}, this "
                             f"software knows {len(MIGRATIONS)})")
        for version in range(have, len(MIGRATIONS)):
            self.db.executescript("BEGIN;" + MIGRATIONS[version]
                                  + f";PRAGMA user_version = {version + 1}; COMMIT;")
        if 0 < have < 6:  # sessions recorded before the figures were kept
            self.db.execute("BEGIN")
            for (sid,) in self.db.execute(
                    "SELECT id FROM sessions WHERE status != 'running'").fetchall():
                self.refresh_stats(sid)
            self.db.execute("COMMIT")
        elif 6 <= have < 8:  # figures kept before schema 8: complete? speed at 90 % split
            self.db.execute("BEGIN")
            _stats.bring_up_old_rows(self.db)
            self.db.execute("COMMIT")
        tables = {r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"sessions", "samples", "events", "ratings", "notes", "central_acks",
                   "patients", "hrmax_decisions", "session_stats"} - tables
        if missing:  # a schema number written by another build of this software
            raise StoreError(f"{self.path}: schema {len(MIGRATIONS)} without the table(s) "
                             f"{', '.join(sorted(missing))}: written by another build")

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def _commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")
        self._last_commit = time.monotonic()

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= COMMIT_EVERY_S:
            self._commit()

    # -- writing ----------------------------------------------------------------------------

    def begin_session(self, session_id: str, profile: PatientProfile,
                      plan: dict[str, Any], strap: dict[str, Any] | None = None) -> None:
        """``strap``: the strap the patient wore (``{"kind": "ant", "device_number": …}``),
        kept with the profile so the next session offers it first (``last_strap``)."""
        prof = {k: (str(v) if k == "hr_max_source" else
                    v.to_doc() if hasattr(v, "to_doc") else v)  # a carried response (issue 26)
                for k, v in profile.__dict__.items()}
        if strap is not None:
            prof["strap"] = dict(strap)
        self._commit()
        self._begin()
        self.db.execute(
            "INSERT INTO sessions (id, pseudonym, started_unix_s, status, plan_json, "
            "profile_json, hr_max_bpm, hr_max_source) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (session_id, profile.pseudonym, self.clock(), json.dumps(plan), json.dumps(prof),
             profile.hr_max, str(profile.hr_max_source)))
        self._commit()

    def record(self, session_id: str, sp: Setpoint, speed_kmh: float,
               incline_pct: float) -> None:
        self._begin()
        if session_id not in self._offset_known:
            self._offset_known.add(session_id)
            self.db.execute("UPDATE sessions SET clock_offset_s = ? WHERE id = ? AND "
                            "clock_offset_s IS NULL", (self.clock() - sp.now_s, session_id))
        self.db.execute(
            "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, sp.now_s, sp.phase, sp.interval, sp.state, sp.hr_bpm, sp.hr_status,
             sp.target_bpm, sp.zone_low_bpm, sp.zone_high_bpm, sp.speed_kmh, speed_kmh,
             sp.incline_pct, incline_pct))
        for e in sp.events:
            self._event(session_id, e)
        self._maybe_commit()

    def record_many(self, session_id: str,
                    ticks: list[tuple[Setpoint, float, float]]) -> None:
        """``record`` for many ticks at once (the simulated history's sessions, issue 23): the
        same rows in the same order, the samples in one ``executemany``. The clock offset is
        taken at the first tick of a session not yet seen, so a caller in simulated time
        records that tick with ``record``."""
        self.record_rows(session_id, [
            (sp.now_s, sp.phase, sp.interval, sp.state, sp.hr_bpm, sp.hr_status,
             sp.target_bpm, sp.zone_low_bpm, sp.zone_high_bpm, sp.speed_kmh, speed_kmh,
             sp.incline_pct, incline_pct) for sp, speed_kmh, incline_pct in ticks],
            [e for sp, _speed, _incline in ticks for e in sp.events])

    def record_rows(self, session_id: str, rows: list[tuple[Any, ...]],
                    events: list[Event]) -> None:
        """``record_many`` from the samples' columns after ``session_id`` (``SAMPLE_COLUMNS``)
        and the ticks' events in order: what a simulated session hands to a recorder in
        another process (issue 23: the demo's history records beside its simulation), no
        ``Setpoint`` to carry across."""
        if not rows:
            return
        self._begin()
        if session_id not in self._offset_known:
            self._offset_known.add(session_id)
            self.db.execute("UPDATE sessions SET clock_offset_s = ? WHERE id = ? AND "
                            "clock_offset_s IS NULL", (self.clock() - rows[0][0], session_id))
        self.db.executemany(
            "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, *row) for row in rows])
        for e in events:
            self._event(session_id, e)
        self._maybe_commit()

    def note(self, session_id: str, e: Event) -> None:
        """An event from outside the session's tick (a Borg rating, staff's HRmax decision),
        committed at once."""
        self._begin()
        self._event(session_id, e)
        self._commit()

    def _event(self, session_id: str, e: Event) -> None:
        self.db.execute(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                        (session_id, e.now_s, e.kind, e.severity, e.message,
                         params_to_json(e.params)))

    def end_session(self, session_id: str, status: str,
                    summary: dict[str, Any] | None, stop_reason: str | None = None,
                    samples: list[dict[str, Any]] | None = None) -> None:
        """``samples``: the session's samples as this store holds them (``samples``' rows,
        every one recorded), when the recorder kept them: its figures are computed from
        those instead of reading the whole trace back (issue 23)."""
        if status not in ("finished", "stopped", "incomplete"):
            raise ValueError(f"unknown final status {status!r}")
        self._begin()
        self.db.execute(
            "UPDATE sessions SET status = ?, ended_unix_s = ?, summary_json = ?, "
            "stop_reason = ? WHERE id = ?",
            (status, self.clock(), json.dumps(summary) if summary is not None else None,
             stop_reason, session_id))
        if self.ends_at_last_instant:
            self.db.execute("UPDATE sessions SET ended_unix_s = ? WHERE id = ?",
                            (self.span(session_id)[1], session_id))
        self.refresh_stats(session_id, samples)
        self._commit()

    def span(self, session_id: str) -> tuple[float, float]:
        """(start, end) of a session on the wall clock: its start, and the latest of its
        end, its last sample and its last event (a running session: what it has so far)."""
        row = self.db.execute(
            "SELECT s.started_unix_s, s.ended_unix_s, s.clock_offset_s, "
            "(SELECT MAX(t_s) FROM samples WHERE session_id = s.id), "
            "(SELECT MAX(t_s) FROM events WHERE session_id = s.id) "
            "FROM sessions s WHERE s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise StoreError(_("no session {id} in {path}").format(id=session_id,
                                                                   path=self.path))
        start, ended, offset, last_sample, last_event = row
        ends = [start] + ([ended] if ended is not None else [])
        if offset is not None:
            ends += [offset + t for t in (last_sample, last_event) if t is not None]
        return start, max(ends)

    def date_back(self, session_id: str, not_after_unix_s: float,
                  gap_s: float = 60.0) -> float:
        """Date an instant simulation's session (``demo --fast``, ``--plan pulstest``: it
        has no wall-clock length, its samples would lie after the time the demo ran; the
        demo on the emulated firmware keeps its start instead, ``ends_at_last_instant``)
        so that it ends by
        ``not_after_unix_s`` and overlaps no other session of the store (it is moved to
        end ``gap_s`` before the one it would overlap). Every date of the session moves by
        the same shift, returned (seconds, ≤ 0): start, end, the samples' clock offset, its
        Borg ratings, notes and HRmax decisions. Only for those: a clinic's are dated by
        the wall clock as they run."""
        start, end = self.span(session_id)
        # every session of the store, whoever's (issue 23: two demos for two patients on
        # one store ran 16:00–16:40 both): a store is one treadmill's, one session at a time
        others = [self.span(r.id) for r in self.sessions() if r.id != session_id]
        new_end = min(end, not_after_unix_s)
        while True:
            new_start = new_end - (end - start)
            hit = [o for o in others if o[0] < new_end + gap_s and o[1] > new_start - gap_s]
            if not hit:
                break
            new_end = min(o[0] for o in hit) - gap_s
        shift = new_end - end
        if shift == 0:
            return 0.0
        self._begin()
        for sql in ("UPDATE sessions SET started_unix_s = started_unix_s + ?, "
                    "ended_unix_s = ended_unix_s + ?, clock_offset_s = clock_offset_s + ? "
                    "WHERE id = ?",
                    "UPDATE ratings SET rated_unix_s = rated_unix_s + ? WHERE session_id = ?",
                    "UPDATE notes SET written_unix_s = written_unix_s + ? WHERE session_id = ?",
                    "UPDATE hrmax_decisions SET decided_unix_s = decided_unix_s + ? "
                    "WHERE session_id = ?"):
            self.db.execute(sql, (shift,) * (sql.count("?") - 1) + (session_id,))
        self.refresh_stats(session_id)
        self._commit()
        return shift

    def refresh_stats(self, session_id: str,
                      samples: list[dict[str, Any]] | None = None) -> None:
        """(Re)compute the session's ``session_stats`` row from its samples (inside the
        caller's transaction): at its end, after a late Borg rating, an import, a recovery.
        ``samples``: its rows as ``samples`` would read them, when the caller holds them."""
        rec = self.session(session_id)
        row = _stats.compute(rec, self.samples(session_id) if samples is None else samples,
                             list(self.ratings(session_id).values()), self.events(session_id))
        self.db.execute(f"INSERT OR REPLACE INTO session_stats ({', '.join(_stats.COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_stats.COLUMNS))})",
                        [row[k] for k in _stats.COLUMNS])

    def rate(self, session_id: str, interval: int, borg: int) -> None:
        """The patient's Borg rating (6–20) of interval ``interval`` (0: the 6-minute test's
        test phase). A second rating of the same interval replaces the first (staff
        correcting a slip); anything outside 6–20 is refused, never clamped."""
        if isinstance(borg, bool) or not isinstance(borg, int) or \
                not BORG_MIN <= borg <= BORG_MAX:
            raise Refusal("rpe_range", detail=repr(borg))
        if isinstance(interval, bool) or not isinstance(interval, int) or not 0 <= interval <= 20:
            raise Refusal("borg_interval", detail=repr(interval))
        self._known(session_id)
        self._commit()
        self._begin()
        self.db.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                        (session_id, interval, borg, self.clock()))
        if self.db.execute("SELECT 1 FROM session_stats WHERE session_id = ?",
                           (session_id,)).fetchone():
            self.refresh_stats(session_id)  # rated after the end: the figures follow
        self._commit()

    def add_note(self, session_id: str, text: str) -> None:
        """A staff note on the session (kept out of hand-overs unless staff tick it in)."""
        if not isinstance(text, str) or not text.strip():
            raise Refusal("note_empty")
        if len(text) > NOTE_MAX_CHARS:
            raise Refusal("note_too_long", limit=NOTE_MAX_CHARS, length=len(text))
        self._known(session_id)
        self._commit()
        self._begin()
        self.db.execute("INSERT INTO notes VALUES (?, ?, ?)",
                        (session_id, self.clock(), text.strip()))
        self._commit()

    def _known(self, session_id: str) -> None:
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() \
                is None:
            raise ValueError(f"no recorded session {session_id!r}")

    def close(self) -> None:
        self._commit()
        self.db.close()

    def mark_uploaded(self, session_id: str) -> None:
        """The clinic's records service has this session (its acknowledgement arrived)."""
        self._commit()
        self.db.execute("INSERT OR IGNORE INTO central_acks VALUES (?, ?)",
                        (session_id, self.clock()))

    def import_session(self, doc: dict[str, Any]) -> bool:
        """Add an exported session (``export_session``); False if it is already here (a
        duplicate delivery changes nothing). Raises StoreError on a broken document."""
        if not isinstance(doc, dict) or doc.get("schema") != EXPORT_SCHEMA:
            raise StoreError(f"not a {EXPORT_SCHEMA} document")
        try:
            s = doc["session"]
            if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (s["id"],)).fetchone():
                return False
            self._commit()
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO sessions (id, pseudonym, started_unix_s, ended_unix_s, "
                            "status, plan_json, profile_json, hr_max_bpm, hr_max_source, "
                            "summary_json, stop_reason, clock_offset_s) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (s["id"], s["pseudonym"], s["started_unix_s"], s["ended_unix_s"],
                             s["status"], json.dumps(s["plan"]), json.dumps(s["profile"]),
                             s["hr_max_bpm"], s["hr_max_source"],
                             json.dumps(s["summary"]) if s["summary"] is not None else None,
                             s.get("stop_reason"), s.get("clock_offset_s")))
            self.db.executemany(
                "INSERT INTO samples VALUES (:session_id, :t_s, :phase, :interval, :state, "
                ":hr_bpm, :hr_status, :target_bpm, :zone_low_bpm, :zone_high_bpm, "
                ":speed_set_kmh, :speed_kmh, :incline_set_pct, :incline_pct)",
                [{**r, "session_id": s["id"]} for r in doc["samples"]])
            self.db.executemany(
                f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (:session_id, :t_s, :kind, "
                ":severity, :message, :params_json)",
                [{**e, "session_id": s["id"], "params_json": params_to_json(e.get("params"))}
                 for e in doc["events"]])
            if s["status"] != "running":
                self.refresh_stats(s["id"])
            self.db.execute("COMMIT")
        except (KeyError, TypeError, sqlite3.Error) as e:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreError(f"broken session document: {type(e).__name__}: {e}") from None
        return True

    # -- reading ----------------------------------------------------------------------------

    def pending_upload(self) -> list[str]:
        """Ended sessions the clinic's records service has not acknowledged, oldest first."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM sessions WHERE status != 'running' AND id NOT IN "
            "(SELECT session_id FROM central_acks) ORDER BY started_unix_s")]

    def export_session(self, session_id: str) -> dict[str, Any]:
        """One session with its whole trace, as a JSON-able document."""
        self._commit()
        return _export(self.db, self.path, session_id)

    def sessions(self, pseudonym: str | None = None) -> list[SessionRecord]:
        q = ("SELECT id, pseudonym, started_unix_s, ended_unix_s, status, plan_json, "
             "profile_json, hr_max_bpm, hr_max_source, summary_json, stop_reason, "
             "clock_offset_s "
             "FROM sessions")
        args: tuple[Any, ...] = ()
        if pseudonym is not None:
            q += " WHERE pseudonym = ?"
            args = (pseudonym,)
        rows = self.db.execute(q + " ORDER BY started_unix_s", args).fetchall()
        return [SessionRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]),
                              r[7], r[8], json.loads(r[9]) if r[9] else None, r[10], r[11])
                for r in rows]

    def last_strap(self, pseudonym: str) -> dict[str, Any] | None:
        """The strap of this patient's most recent session that recorded one."""
        for rec in reversed(self.sessions(pseudonym)):
            if isinstance(rec.profile.get("strap"), dict):
                return rec.profile["strap"]
        return None

    def session(self, session_id: str) -> SessionRecord:
        r = self.db.execute(
            "SELECT id, pseudonym, started_unix_s, ended_unix_s, status, plan_json, "
            "profile_json, hr_max_bpm, hr_max_source, summary_json, stop_reason, "
            "clock_offset_s FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if r is None:
            raise StoreError(_("{path}: no session {id}").format(path=self.path, id=session_id))
        return SessionRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]),
                             r[7], r[8], json.loads(r[9]) if r[9] else None, r[10], r[11])

    def stats(self, pseudonym: str | None = None) -> list[dict[str, Any]]:
        """The ``session_stats`` rows of ended sessions (of one patient), oldest first."""
        q = f"SELECT {', '.join(_stats.COLUMNS)} FROM session_stats"
        args: tuple[Any, ...] = ()
        if pseudonym is not None:
            q += " WHERE pseudonym = ?"
            args = (pseudonym,)
        cur = self.db.execute(q + " ORDER BY started_unix_s", args)
        return [dict(zip(_stats.COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def stats_of(self, session_id: str) -> dict[str, Any]:
        """One session's figures: the kept row, or (a running session) computed now."""
        r = self.db.execute(f"SELECT {', '.join(_stats.COLUMNS)} FROM session_stats "
                            "WHERE session_id = ?", (session_id,)).fetchone()
        if r is not None:
            return dict(zip(_stats.COLUMNS, r, strict=True))
        return _stats.compute(self.session(session_id), self.samples(session_id),
                              list(self.ratings(session_id).values()), self.events(session_id))

    def samples(self, session_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM samples WHERE session_id = ? ORDER BY t_s",
                              (session_id,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def ratings(self, session_id: str) -> dict[int, int]:
        """interval → Borg rating."""
        return dict(self.db.execute("SELECT interval, borg FROM ratings WHERE session_id = ? "
                                    "ORDER BY interval", (session_id,)).fetchall())

    def rating_rows(self, session_id: str) -> list[dict[str, Any]]:
        """Each rating with when it was given (what an export carries)."""
        cur = self.db.execute("SELECT interval, borg, rated_unix_s FROM ratings WHERE "
                              "session_id = ? ORDER BY interval", (session_id,))
        return [{"interval": i, "borg": b, "rated_unix_s": t} for i, b, t in cur.fetchall()]

    def notes(self, session_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT written_unix_s, text FROM notes WHERE session_id = ? "
                              "ORDER BY written_unix_s", (session_id,))
        return [{"written_unix_s": t, "text": x} for t, x in cur.fetchall()]

    def events(self, session_id: str) -> list[dict[str, Any]]:
        """The session's events, each with its ``params`` (empty in rows from before
        schema 7)."""
        cur = self.db.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ? "
                              "ORDER BY t_s", (session_id,))
        names = [d[0] for d in cur.description]
        return [event_from_row(names, r) for r in cur.fetchall()]
