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

from contextlib import closing
from pathlib import Path
from typing import Any

from controller.core.i18n import _, set_language
from controller.core.summary import summarise
from controller.records.store import Store, StoreError


def export_last(store_path: str, pseudonym: str, lang: str, session_id: str = "") -> list[str]:
    """The patient's last recorded session as PDF report and CSV (the nurse's files: `w`) in
    ``exports/`` beside the store; the paths. StoreError (with the reason) if there is none.
    The JSON (the machine form) is IT's and researchers': ``fourbyfour export --format
    json``, never offered to the nurse beside these."""
    from controller.records import report

    set_language(lang)
    with closing(Store(store_path, readonly=True)) as store:
        recs = store.sessions(pseudonym)
        if not recs:
            raise StoreError(_("no recorded session for {pseudonym}").format(pseudonym=pseudonym))
        last = recs[-1]  # else the session staff see (``session_id``), if it is theirs
        last = next((r for r in recs if session_id and r.id == session_id), last)
        out = Path(store_path).parent / "exports"
        out.mkdir(exist_ok=True)
        base = out / f"{last.pseudonym}-{last.id}"
        report.render_session(store, last.id, f"{base}.pdf")
        report.export_csv(store, last.id, f"{base}.csv")
        return [f"{base}.pdf", f"{base}.csv"]


def history(store_path: str, pseudonym: str, lang: str) -> dict[str, Any]:
    """This patient's progression across sessions (no sessions: an empty list)."""
    from controller.records.report import progression

    set_language(lang)
    try:
        with closing(Store(store_path, readonly=True)) as store:
            return progression(store, pseudonym)
    except StoreError:  # no store yet, or no session of this patient
        return {"pseudonym": pseudonym, "sessions": []}


def summary(store_path: str, session_id: str, hr_max_bpm: float) -> dict[str, Any]:
    """The end-of-session summary from what the store committed."""
    with closing(Store(store_path, readonly=True)) as store:
        return summarise(store.samples(session_id), hr_max_bpm, store.events(session_id))

