"""The session store: survives kill -9, reopens cleanly, refuses foreign files; summaries."""

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from controller.core.summary import summarise
from controller.protocol import PatientProfile, Session
from controller.records.store import Store, StoreError

WRITER = textwrap.dedent("""
    import sys
    from controller.protocol import PatientProfile, Session
    from controller.records.store import Store
    store = Store(sys.argv[1])
    profile = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0, pseudonym="P-9")
    s = Session(profile)
    store.begin_session("S-kill", profile, s.plan.to_dict())
    t = 0.0
    while True:
        sp = s.step(t, 130.0, 3.0, 2.0)
        store.record("S-kill", sp, 3.0, 2.0)
        t += 1.0
        if t % 50 == 0:
            print(int(t), flush=True)
""")


def test_store_survives_kill_9_mid_write_and_marks_the_session_incomplete(tmp_path):
    db = tmp_path / "sessions.db"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                         text=True)
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 2000 and time.monotonic() < deadline:
        seen = int(p.stdout.readline())
    time.sleep(2.5)  # let at least one more commit happen after what we saw
    p.send_signal(signal.SIGKILL)
    p.wait()
    store = Store(db, recover=True)  # the service's next start
    (rec,) = store.sessions()
    assert rec.status == "incomplete" and rec.pseudonym == "P-9"
    samples = store.samples("S-kill")
    assert len(samples) >= seen  # everything up to the last commit is there
    ts = [s["t_s"] for s in samples]
    assert ts == sorted(ts) and ts[0] == 0.0
    assert store.events("S-kill")[0]["kind"] == "phase"
    store.close()
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_finished_session_round_trips(tmp_path):
    store = Store(tmp_path / "s.db")
    profile = PatientProfile(hr_max=180, pseudonym="P-1")
    s = Session(profile)
    store.begin_session("S1", profile, s.plan.to_dict())
    for t in range(30):
        store.record("S1", s.step(float(t), 100.0, 2.0, 0.0), 2.0, 0.0)
    store.end_session("S1", "stopped", {"total_in_zone_s": 0})
    store.close()
    again = Store(tmp_path / "s.db")
    (rec,) = again.sessions("P-1")
    assert rec.status == "stopped" and rec.summary == {"total_in_zone_s": 0}
    assert rec.plan["name"] == "4x4" and rec.profile["hr_max"] == 180
    assert len(again.samples("S1")) == 30
    with pytest.raises(ValueError, match="final status"):
        again.end_session("S1", "great", None)


def test_bad_and_foreign_files_get_a_clear_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a database, it is a shopping list " * 50)
    with pytest.raises(StoreError, match="not a fourbyfour session store"):
        Store(text)
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE recipes (name TEXT)")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="foreign tables"):
        Store(other)
    newer = tmp_path / "newer.db"
    Store(newer).close()
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version = 99")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="newer version"):
        Store(newer)


def _samples():
    rows = []
    t = 0.0
    for i in range(240):  # interval 1: 140 → 170 over 60 s, then 165
        hr = 140 + i * 0.5 if i < 60 else 165.0
        rows.append({"t_s": t, "phase": "interval", "interval": 1, "hr_bpm": hr,
                     "speed_kmh": 6.0, "incline_pct": 8.0})
        t += 1
    for i in range(180):  # recovery: 165 → 135 over the first minute
        hr = max(165 - i * 0.5, 135.0)
        rows.append({"t_s": t, "phase": "recovery", "interval": 1, "hr_bpm": hr,
                     "speed_kmh": 4.0, "incline_pct": 5.0})
        t += 1
    return rows


def test_summary_on_a_known_trace():
    s = summarise(_samples(), 183.0, [{"kind": "hr_lost", "severity": "alarm"},
                                      {"kind": "phase", "severity": "info"}])
    (iv,) = s["intervals"]
    # 85 % of 183 = 155.55 bpm, shown 156: first shown at 140 + 0.5·31 = 155.5, shown 156
    # (the belt screen's "in the zone" and every figure of time in it: one rule) → 31 s
    assert iv["time_to_zone_s"] == 31
    assert iv["in_zone_after_allowance_pct"] == 100.0
    assert iv["above_95_s"] == 0 and iv["peak_hr_bpm"] == 170  # 169.5, rounded
    assert iv["mean_speed_kmh"] == 6.0 and iv["mean_incline_pct"] == 8.0
    assert s["total_in_zone_s"] == 240 - 31
    (rec,) = s["recoveries"]
    assert rec["hr_drop_first_minute_bpm"] == 30
    assert s["alarms"] == ["hr_lost"]


def test_journal_summary_and_bench_score_with_the_same_rules():
    """The journal's summary and the bench's metrics are one computation on one row shape."""
    from controller.core.metrics import ScoredRow, interval_metrics

    samples = _samples()
    rows = [ScoredRow(s["t_s"], s["phase"], s["interval"], s["hr_bpm"], s["speed_kmh"],
                      s["incline_pct"]) for s in samples]
    ms = interval_metrics(rows, 183.0)
    s = summarise(samples, 183.0, [])
    assert [i["time_to_zone_s"] for i in s["intervals"]] == \
        [None if m.time_to_zone_s is None else round(m.time_to_zone_s) for m in ms]
    assert [i["in_zone_after_allowance_pct"] for i in s["intervals"]] == \
        [round(100 * m.in_zone_after_allowance, 1) for m in ms]


def test_borg_ratings_and_notes_are_stored_refused_out_of_range_and_exported(tmp_path):
    from controller.records import report
    from controller.records.store import MIGRATIONS

    # a store written before ratings existed (schema 1) is migrated, its sessions kept
    old = tmp_path / "old.db"
    c = sqlite3.connect(old)
    c.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    c.close()
    store = Store(old)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    profile = PatientProfile(hr_max=180, pseudonym="P-1")
    s = Session(profile)
    store.begin_session("S1", profile, s.plan.to_dict())
    for t in range(5):
        store.record("S1", s.step(float(t), 100.0, 2.0, 0.0), 2.0, 0.0)
    store.rate("S1", 1, 15)
    store.rate("S1", 2, 17)
    store.rate("S1", 2, 16)  # staff correct a slip: the second replaces the first
    for bad in (5, 21, 15.5, "15", True):
        with pytest.raises(ValueError, match="Borg rating is a whole number 6–20"):
            store.rate("S1", 3, bad)
    with pytest.raises(ValueError, match="no recorded session"):
        store.rate("nope", 1, 12)
    store.add_note("S1", "  knee sore after interval 2; walked the last one  ")
    with pytest.raises(ValueError, match="needs some text"):
        store.add_note("S1", "   ")
    store.end_session("S1", "finished", None)
    assert store.ratings("S1") == {1: 15, 2: 16}
    assert [n["text"] for n in store.notes("S1")] == [
        "knee sore after interval 2; walked the last one"]
    report.export_json(store, "S1", tmp_path / "s1.json")
    other = Store(tmp_path / "other.db")
    report.import_json(other, tmp_path / "s1.json")
    assert other.ratings("S1") == {1: 15, 2: 16}
    assert other.notes("S1")[0]["text"].startswith("knee sore")


def test_a_schema_5_store_gets_its_session_figures_once_and_readers_use_them(tmp_path):
    """Schema 6 keeps per-session figures at write time; a store from before gets them at
    its first opening (a reader's too), computed by the same code as a session's end."""
    from controller.records import stats
    from controller.records.store import MIGRATIONS
    from tests.test_report import record_sim

    new = Store(tmp_path / "new.db")
    record_sim(new, "S1", 30, 1.7e9)
    kept = new.stats_of("S1")
    assert kept == stats.compute(new.session("S1"), new.samples("S1"), [])
    new.close()
    old = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for step in MIGRATIONS[:5]:
        old.executescript("BEGIN;" + step + "; COMMIT;")
    old.execute("PRAGMA user_version = 5")
    old.execute("ATTACH DATABASE ? AS n", (str(tmp_path / "new.db"),))
    for table in ("sessions", "samples", "events"):
        columns = "session_id, t_s, kind, severity, message" if table == "events" else "*"
        old.execute(f"INSERT INTO {table} SELECT {columns} FROM n.{table}")
    old.close()
    reader = Store(tmp_path / "old.db", readonly=True)
    assert reader.stats() == [kept]
    assert reader.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    reader.close()
