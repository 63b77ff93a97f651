"""Record jobs for the control service's worker process: never run in the control process.

Reports draw with matplotlib; exports, progression and the end-of-session summary read whole
sessions. Each takes from tens of milliseconds to most of a second of CPU, which on the
control loop would silence the heartbeat to the motor board (its firmware latches a fault
after 500 ms). The service hands these functions to its worker process
(``controller.service.worker``) by name, with plain arguments. Each opens the store file by
path through a read-only connection of its own (SQLite WAL: it sees every committed row, and
never takes the writer's lock), so the service's writer thread is untouched. matplotlib is
imported inside the functions only (importing this module costs nothing).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from controller.core.i18n import set_language
from controller.core.summary import summarise
from controller.records.store import Store, StoreError


def reader(path: str | Path) -> Store:
    """A ``Store`` for reading only, on a read-only connection. Opening a ``Store`` the usual
    way would mark the running session ``incomplete`` (what it does after a crash) and write;
    this one only reads what the service's writer committed."""
    p = Path(path)
    if not p.exists():
        raise StoreError(f"{p}: no such session store")
    store = Store.__new__(Store)
    store.path, store.clock = p, time.time
    store.db = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True, isolation_level=None)
    store._last_commit, store._offset_known = time.monotonic(), set()
    return store


def export_last(store_path: str, pseudonym: str, lang: str) -> list[str]:
    """The patient's last recorded session as PDF report, CSV and JSON in ``exports/`` beside
    the store; the paths. StoreError (with the reason) if there is none."""
    from controller.records import report

    set_language(lang)
    store = reader(store_path)
    try:
        recs = store.sessions(pseudonym)
        if not recs:
            raise StoreError(f"no recorded session for {pseudonym}")
        last = recs[-1]
        out = Path(store_path).parent / "exports"
        out.mkdir(exist_ok=True)
        base = out / f"{last.pseudonym}-{last.id}"
        report.render_session(store, last.id, f"{base}.pdf")
        report.export_csv(store, last.id, f"{base}.csv")
        report.export_json(store, last.id, f"{base}.json")
        return [f"{base}.pdf", f"{base}.csv", f"{base}.json"]
    finally:
        store.db.close()


def history(store_path: str, pseudonym: str, lang: str) -> dict[str, Any]:
    """This patient's progression across sessions (no sessions: an empty list)."""
    from controller.records.report import progression

    set_language(lang)
    try:
        store = reader(store_path)
    except StoreError:
        return {"pseudonym": pseudonym, "sessions": []}
    try:
        return progression(store, pseudonym)
    except StoreError:
        return {"pseudonym": pseudonym, "sessions": []}
    finally:
        store.db.close()


def summary(store_path: str, session_id: str, hr_max_bpm: float) -> dict[str, Any]:
    """The end-of-session summary from what the store committed."""
    store = reader(store_path)
    try:
        return summarise(store.samples(session_id), hr_max_bpm, store.events(session_id))
    finally:
        store.db.close()


def test_trace(store_path: str, session_id: str) -> list[float | None]:
    """The heart rate of a 6-minute test's test phase (for the HRmax estimate)."""
    store = reader(store_path)
    try:
        return [r["hr_bpm"] for r in store.samples(session_id) if r["phase"] == "test"]
    finally:
        store.db.close()
