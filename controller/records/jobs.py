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

import os
import re
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
    json``, never offered to the nurse beside these.
    The files are named as a nurse knows the session (``report_name``), and a second report
    of a session never overwrites the first with different content (``_keep``)."""
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
        new = out / f".{last.id}.{os.getpid()}.new"  # hidden until it has its name
        try:
            report.render_session(store, last.id, f"{new}.pdf")
            report.export_csv(store, last.id, f"{new}.csv")
            base = _keep(new, out / report_name(last.pseudonym, last.started_unix_s,
                                                last.plan_name))
        finally:
            for suffix in (".pdf", ".csv"):
                Path(f"{new}{suffix}").unlink(missing_ok=True)
        return [f"{base}.pdf", f"{base}.csv"]


def report_name(pseudonym: str, started_unix_s: float, plan_name: str) -> str:
    """A report's file name without its suffix, as a nurse recognises the session: the
    pseudonym, the clinic's date and time of its start (Europe/Oslo, year first so the
    folder sorts by time, ``18-40``: no colon, which a USB stick's file system refuses) and
    the plan's word in the UI's language (``P-17_2026-12-06_18-40_4x4``,
    ``P-17_2026-12-06_09-05_6-minutters-pulstest``). Letters, digits and hyphens only (it
    was ``P-17-a1724f9c1d22``, the session's raw id)."""
    import unicodedata

    from controller.core.dates import local_datetime
    from controller.core.words import PLANS, word

    def safe(text: str) -> str:
        text = text.replace("æ", "ae").replace("Æ", "AE").replace("ø", "o").replace("Ø", "O")
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"

    start = local_datetime(started_unix_s)
    return "_".join((safe(pseudonym), start.strftime("%Y-%m-%d_%H-%M"),
                     safe(word(PLANS, plan_name) or "x")))


def _same_file(a: Path, b: Path) -> bool:
    """The same content; a PDF's creation time (each rendering has its own) is not
    content."""
    def content(p: Path) -> bytes:
        data = p.read_bytes()
        return re.sub(rb"/CreationDate \([^)]*\)", b"", data) if p.suffix == ".pdf" else data

    return content(a) == content(b)


def _keep(new: Path, base: Path) -> Path:
    """Give the report just written (``new``.pdf / .csv) its name: ``base``, or where a
    report of that name holds something else (the session went on since, or a second
    session began in the same minute), ``base-2``, ``base-3``, …: the earlier files are never
    overwritten. The same content again (`w` twice on an ended session) is the file already
    there, not a copy."""
    files = (".pdf", ".csv")
    for n in range(1, 1000):
        name = base if n == 1 else base.with_name(f"{base.name}-{n}")
        there = [Path(f"{name}{s}") for s in files]
        if not any(p.exists() for p in there):
            for s in files:
                os.replace(f"{new}{s}", f"{name}{s}")
            return name
        if all(p.exists() and _same_file(Path(f"{new}{p.suffix}"), p) for p in there):
            return name
    raise StoreError(_("{path}: too many reports of this session").format(path=base))


def session_list(store_path: str, pseudonym: str) -> list[dict[str, Any]]:
    """The patient's recorded sessions for the console's report chooser, the newest first:
    id, start (Unix s), plan, status and whether it is complete (the running one too)."""
    try:
        with closing(Store(store_path, readonly=True)) as store:
            kept = {st["session_id"]: st for st in store.stats(pseudonym)}
            return [{"session_id": r.id, "started_unix_s": r.started_unix_s,
                     "plan": r.plan_name, "status": r.status,
                     "complete": bool((kept.get(r.id) or store.stats_of(r.id))["complete"])}
                    for r in reversed(store.sessions(pseudonym))]
    except StoreError:  # no store yet
        return []


def history(store_path: str, pseudonym: str, lang: str) -> dict[str, Any]:
    """This patient's progression across sessions (no sessions: an empty list)."""
    from controller.records.report import left_out, progression

    set_language(lang)
    try:
        with closing(Store(store_path, readonly=True)) as store:
            try:
                return progression(store, pseudonym)
            except StoreError:  # no 4x4 økt yet: what there is, and why it is not counted
                return {"pseudonym": pseudonym, "sessions": [],
                        "left_out": left_out(store, pseudonym)}
    except StoreError:  # no store yet
        return {"pseudonym": pseudonym, "sessions": []}


def summary(store_path: str, session_id: str, hr_max_bpm: float) -> dict[str, Any]:
    """The end-of-session summary from what the store committed."""
    with closing(Store(store_path, readonly=True)) as store:
        return summarise(store.samples(session_id), hr_max_bpm, store.events(session_id))

