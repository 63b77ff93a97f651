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
        "events": (58, "41a903a1f5333be810a0f46728a33da26c1bb21e8d8ecd6d2bd80a708f617db2"),
        "hrmax_decisions": (1, "30a0b2e0464c200edff518da6d33ea21a9b74284dcf77f5f5e36457ec714dc28"),
        "notes": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "patients": (1, "60f139153fd1c23a5eceb59a242d0f342815d477ecb0e6ec0b03588e7a5ad97a"),
        "ratings": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "samples": (10300, "0a4a04fb8392e986f663fb2078eacda953262e5b6fbf748f32fc800f37cc9a5e"),
        "session_stats": (5, "1c5d75b881c4037ae3474cb6bda6fa0affcb12aef59cfe547ac8b02d23c74ebf"),
        "sessions": (5, "f081faefa85d03f4e9980852f8c5a668e941619edd633d6e0672f6620f7842b9"),
    },
    ("strap_trouble", 7, 3): {
        "central_acks": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "events": (231, "6308bc4387e96f130de94e96884dd8035986d6cfe98a8b0ce57dd8caa1a6b8c8"),
        "hrmax_decisions": (1, "fae6f588410cc70ee820165fc5a0f3c78ad0380e8a7b7a8aefd1f45874f3d858"),
        "notes": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "patients": (1, "4d80b68e2b407672d057d81ce256571f64c4b9c12b2951e937150b74cc2dffcb"),
        "ratings": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "samples": (7891, "d53d3c58ce510e3e12d165724a1963660f1a3c1c68b1a9898a419492343b6a01"),
        "session_stats": (4, "47984d66cb479a6778625d681acd1ad8489b2831f069b1fa0be3de67e3f8f7dc"),
        "sessions": (4, "d697e43e138707a91e39c3bfd6d4f7b46428d5a9a009e4a536d019891d82e638"),
    },
}
"""Taken on the code before this round's speed-ups (commit 6c0dc14); ``sessions`` and
``session_stats`` again after issue 21's one time-in-the-zone rule (h21nums: the zone as the
belt screen shows it, whole seconds), which changed the summaries on purpose — taken on that
branch alone and equal on the merged line with the speed-ups. The strap-trouble patient's
``patients``, ``samples``, ``sessions`` and ``session_stats`` again after issue 21's gentle
ramp after the pulse returns (h21ramp: the belt rises at half the rate for 30 s after a
hold/slow), a deliberate change of the set-points: the same events, 4 of 4 intervals in
each session, time in the zone 793/832/835 s → 785/830/831 s. Both patients' ``patients``,
``samples``, ``sessions`` and ``session_stats`` again after issue 21's walking floor in the
active pause (h21pause: ≥ 3 km/h, the incline comes down first; the 4x4's pauses from 0 %), a
deliberate change of the set-points: the same events, 4 of 4 intervals in each session; time
in the zone typical 734/840/815/808 s → 734/841/813/815 s, strap-trouble 785/830/831 s →
787/833/833 s; the pauses' kept belt 3.7–4.3 km/h at 5.5–5.9 % → 4.95–5.4 km/h at 2.6–3.8 %.
Both patients' ``events`` again after issue 21's «avsluttet» rule (h21rec): each session's
end event carries how it ended (params ``{"ended": "plan"}``; they were empty); every other
column of every event, and every other table, the same. Both patients' ``patients``,
``samples``, ``sessions`` and ``session_stats`` again after the first session's preview
(s10: once the first interval has shown the response, the law raises the load for intervals
2–4 before they begin, as from a carried response), a deliberate change of the set-points:
the first 4x4 of each patient most (the later ones previewed already from the carried
response, and moved with what the first one handed on); 4 of 4 intervals in each session;
time in the zone typical 734/841/813/815 s → 783/841/814/815 s, strap-trouble 787/833/833 s
→ 834/836/837 s. The strap-trouble patient's ``events`` too: one more
``strap_missing_beats`` (38, was 37; the simulated strap's beats fall on other ticks under
another load), the rest the same. Both patients' ``patients``, ``sessions`` and
``session_stats`` again after the history's clinic calendar (trial 13: the sessions fell on
Sundays and Christmas Day): Monday and Thursday afternoons, Oslo time, from the Monday after
the 6-minute test, none on a public holiday; the samples and events the same."""


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


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows in rowid order, the session ids (random) replaced by their order."""
    db = sqlite3.connect(path)
    try:
        ids = {sid: f"S{k}" for k, (sid,) in
               enumerate(db.execute("SELECT id FROM sessions ORDER BY rowid"))}
        out = {}
        for (table,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            rows = []
            for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                text = repr(tuple(row))
                for sid, mapped in ids.items():
                    text = text.replace(sid, mapped)
                rows.append(text)
            out[table] = rows
        return out
    finally:
        db.close()


def test_a_history_recorded_beside_its_simulation_is_the_sequential_one_row_by_row(tmp_path):
    # issue 23: ``demo --weeks`` records each session in a process of its own while the next
    # is simulated; the sessions still start from the response the one before left in the
    # register, and the store holds the very rows of the one-process history, in order
    truth, measured = make_patient(random.Random(1), "typical", 1)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    profile = _new_patient_profile(truth, measured, None)
    got = {}
    for beside in (False, True):
        path = tmp_path / f"h-{beside}.db"
        store = Store(path)
        try:
            made = history(store, truth, profile, weeks=4, seed=1, start_unix_s=START_UNIX_S,
                           recorder_process=beside)
        finally:
            store.close()
        assert len(made) > 5
        got[beside] = table_rows(path)
    assert got[False].keys() == got[True].keys()
    for table in got[False]:
        assert got[True][table] == got[False][table], table
    assert len(got[True]["samples"]) > 10000
    assert '"response_model"' in got[True]["patients"][0]


def test_a_history_recorded_beside_its_simulation_stores_what_it_stored(tmp_path):
    # the strap-trouble patient (the gate's refusals, the fail-safes' events), pinned above
    db = tmp_path / "h.db"
    truth, measured = make_patient(random.Random(7), "strap_trouble", 7)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    store = Store(db)
    try:
        history(store, truth, _new_patient_profile(truth, measured, None), weeks=3, seed=7,
                start_unix_s=START_UNIX_S, recorder_process=True)
    finally:
        store.close()
    assert table_hashes(db) == PINNED[("strap_trouble", 7, 3)]


def test_the_command_records_the_history_the_sequential_one_would(tmp_path):
    # ``fourbyfour demo --fast --weeks 3`` as a person runs it (its recorder a spawned
    # process of the installed script): the store of the in-process one-after-the-other
    # history begun the same afternoon, row by row
    import subprocess
    import sys
    import time

    def start_of_command(weeks: int) -> float:
        # as ``demo_history`` dates it: an open afternoon on the clinic's (Oslo) day; the
        # UTC day's 13:00 this said was another day from 23:00 UTC in winter (this round)
        import datetime as dt

        from controller.app.simdemo import afternoon_unix_s
        from controller.core.dates import clinic_open, local_day

        day = local_day(time.time() - (weeks * 7 + 7) * 86400)
        while not clinic_open(day):
            day -= dt.timedelta(days=1)
        return afternoon_unix_s(day)

    script = Path(sys.executable).with_name("fourbyfour")
    for _attempt in range(2):  # a run across midnight (Oslo) is another afternoon: again
        before = start_of_command(3)
        cmd = tmp_path / f"cmd-{_attempt}.db"
        r = subprocess.run([str(script), "demo", "--fast", "--weeks", "3", "--seed", "4",
                            "--store", str(cmd)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        if start_of_command(3) == before:
            break
    truth, measured = make_patient(random.Random(4), "typical", 4)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    seq = tmp_path / "seq.db"
    store = Store(seq)
    try:
        history(store, truth, _new_patient_profile(truth, measured, None), weeks=3, seed=4,
                start_unix_s=before)
    finally:
        store.close()
    want, got = table_rows(seq), table_rows(cmd)
    assert want.keys() == got.keys()
    for table in want:
        assert got[table] == want[table], table
