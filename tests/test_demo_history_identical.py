"""The demo history's store, pinned (issue 23): making ``demo --weeks`` faster must not change
one stored number.

A short history (the 6-minute test, then weeks of 4x4, each session starting from the
response the one before left in the register) is made with a fixed seed and start, every
table is dumped row by row in write order with the session ids (random) replaced by their
order, and each table's dump is hashed. The hashes were taken from the code before the
speed-ups of this round; a change that alters a sample, an event, a summary, a session's
figures or the register shows here as the table it changed. Two patients: a typical one
and one whose strap misbehaves (the heart-rate gate's refusals and the fail-safes)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import sqlite3
from pathlib import Path

import pytest

from controller.app.commands.demo_sim import _new_patient_profile
from controller.app.simdemo import history
from controller.records.store import Store
from controller.sim import make_patient

START_UNIX_S = 1.75e9 - 1.75e9 % 86400 + 13 * 3600  # an afternoon, as the demo starts


def table_hashes(path: Path) -> dict[str, tuple[int, str]]:
    """(rows, sha256 of the rows' reprs in rowid order, session ids by order) per table."""
    db = sqlite3.connect(path)
    try:
        ids = {sid: f"S{k}" for k, (sid,) in
               enumerate(db.execute("SELECT id FROM sessions ORDER BY rowid"))}
        out = {}
        for (table,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            h = hashlib.sha256()
            rows = db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for row in rows:
                text = repr(tuple(row))
                for sid, mapped in ids.items():
                    text = text.replace(sid, mapped)
                h.update(text.encode())
            out[table] = (len(rows), h.hexdigest())
        return out
    finally:
        db.close()


def make_history(path: Path, category: str, seed: int, weeks: int) -> None:
    """What ``fourbyfour demo --fast --weeks N --category C --seed S`` records, with the start
    fixed (the command starts N weeks before today)."""
    truth, measured = make_patient(random.Random(seed), category, seed)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    profile = _new_patient_profile(truth, measured, None)
    store = Store(path)
    try:
        history(store, truth, profile, weeks=weeks, seed=seed, start_unix_s=START_UNIX_S)
    finally:
        store.close()


PINNED: dict[tuple[str, int, int], dict[str, tuple[int, str]]] = {
    ("typical", 1, 3): {
        "central_acks": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "events": (58, "9b098508847e7d72886c377fb5a64f5b773c4a7697229a9f80e8c3a1b55591aa"),
        "hrmax_decisions": (1, "30a0b2e0464c200edff518da6d33ea21a9b74284dcf77f5f5e36457ec714dc28"),
        "notes": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "patients": (1, "5d570d3ab5300c813076624b1cd4a267fc0b329eb93a1999e93b65eadd8be4ae"),
        "ratings": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "samples": (10300, "bad5e250b23bb81a6e190a131793e01e04f8bee3289fd769d18f0e3729c92e95"),
        "session_stats": (5, "78e475bee1f1cf257e0021791197f1e1965d0b429d1072070b8c4d7a3502073d"),
        "sessions": (5, "9fea2cd628c8b7d2151fa8cadf4b8b717f8485da10afbe31fafd2cc362ea6af0"),
    },
    ("strap_trouble", 7, 3): {
        "central_acks": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "events": (230, "7758e7bc8d6e842bdd9a5a4c21200bd699972b2366e273549bd709849942bdb5"),
        "hrmax_decisions": (1, "fae6f588410cc70ee820165fc5a0f3c78ad0380e8a7b7a8aefd1f45874f3d858"),
        "notes": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "patients": (1, "1a63516a375f2b222b0e042ac6c3d8c3e4f7597153db758868455a2e3c6c727d"),
        "ratings": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "samples": (7891, "66b4ddec0741361fc09053baafd0a2e094d3e2a5f54be6c19632edbcfb4acec4"),
        "session_stats": (4, "63d57fb9f6b671462a4007f6c7ed295a7e36f02533eaa87b6ed7bfc1a01318c8"),
        "sessions": (4, "837bab389e4528b0c16725463e33310f72d2956cf429399698400359b29572f7"),
    },
}
"""Taken on the code before this round's speed-ups (commit 6c0dc14); ``sessions`` and
``session_stats`` again after issue 21's one time-in-the-zone rule (h21nums: the zone as the
belt screen shows it, whole seconds), which changed the summaries on purpose — taken on that
branch alone and equal on the merged line with the speed-ups. The strap-trouble patient's
``patients``, ``samples``, ``sessions`` and ``session_stats`` again after issue 21's gentle
ramp after the pulse returns (h21ramp: the belt rises at half the rate for 30 s after a
hold/slow), a deliberate change of the set-points: the same events, 4 of 4 intervals in
each session, time in the zone 793/832/835 s → 785/830/831 s."""


@pytest.mark.parametrize("category,seed,weeks", [("typical", 1, 3), ("strap_trouble", 7, 3)])
def test_the_demo_history_stores_what_it_stored(tmp_path, category, seed, weeks):
    db = tmp_path / "h.db"
    make_history(db, category, seed, weeks)
    got = table_hashes(db)
    assert got == PINNED[(category, seed, weeks)]


@pytest.mark.parametrize("category,seed", [("typical", 1), ("strap_trouble", 7)])
def test_the_recorder_holds_each_sample_as_the_store_reads_it_back(tmp_path, category, seed):
    # issue 23: a simulated session's figures are computed at its end from the ticks the
    # recorder kept (``sample_row``), not from the trace read back: every row, key, value
    # and type must be what ``Store.samples`` returns (a strap that misbehaves: no reading,
    # refusals, the fail-safes' states)
    from controller.app.simdemo import run_session, sample_row
    from controller.sim import VirtualPatient

    truth, measured = make_patient(random.Random(seed), category, seed)
    profile = _new_patient_profile(truth, measured, None)
    ticks = []

    def keep(session, sp, t):  # type: ignore[no-untyped-def]
        ticks.append(sp)

    store = Store(tmp_path / "s.db")
    try:
        sid, rows, _s = run_session(VirtualPatient(truth), profile, store=store,
                                    start_unix_s=START_UNIX_S, on_tick=keep)
        held = [sample_row(sp, r.speed_kmh, r.incline_pct) for sp, r in
                zip(ticks, rows, strict=True)]
        read = store.samples(sid)
        assert len(held) == len(read) > 1000
        for h, r in zip(held, read, strict=True):
            del r["session_id"]
            assert h == r
            assert {k: type(v) for k, v in h.items()} == {k: type(v) for k, v in r.items()}
    finally:
        store.close()
