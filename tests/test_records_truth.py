"""Issue 23 (h23rec): what is stored tells the truth — a session skipped through is not a
complete one (one rule for the belt screen, the store, the hand-over, outcome and the
report), the week's high-intensity minutes count 4x4 training only, the speed at 90 % HRmax
is kept as two facts (the belt's and the learned response's equivalent), and an interval's
time in the zone is over its running time, a pause shown as such.

Through the CLI as a subprocess on a real store (the recorded sessions come from the
virtual patient and the real session core), and the clinic's PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.simdemo import run_session
from controller.core.summary import summarise
from controller.protocol import PatientProfile, Setpoint
from controller.records import stats as _stats
from controller.records.store import Store
from controller.sim import PatientParams, VirtualPatient
from tests.conftest import earlier_this_week
from tests.test_records_hostile import pg  # noqa: F401  (the fixture: a real PostgreSQL)

HR_MAX = 183.0
DAY = dt.datetime(2026, 11, 2, 10, 0).timestamp()  # a Monday
NEW_STATS = ("intervals_planned", "intervals_run", "complete", "belt_speed_at_90_kmh",
             "belt_incline_at_90_pct", "learned_speed_at_90_kmh", "learned_incline_at_90_pct")


def cli(*args: str) -> str:
    env = {**os.environ, "FOURBYFOUR_LANG": "nb"}
    p = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def _profile() -> PatientProfile:
    return PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0, pseudonym="P-17", hr_rest=70.0)


def _patient() -> VirtualPatient:
    return VirtualPatient(PatientParams(vo2max=30, hr_max_bpm=HR_MAX, hr_rest_bpm=70))


def skip_after(seconds: float, phases: tuple[str, ...] = ("warmup", "interval", "recovery",
                                                            "cooldown")):
    """Staff press skip ``seconds`` into every phase named (the console's s-key)."""
    def on_tick(session, sp, _t) -> None:  # type: ignore[no-untyped-def]
        if sp.phase in phases and sp.state == "running" and sp.phase_elapsed_s >= seconds:
            session.skip()
    return on_tick


def clinic_store(path: Path) -> dict[str, str]:
    """A whole 4x4, one skipped through from the warm-up on, and one whose intervals
    were each skipped after 2 minutes (most of them skipped): all three end with the plan,
    so the service stores them ``finished``."""
    store = Store(path)
    ids = {}
    ids["whole"] = run_session(_patient(), _profile(), store=store, start_unix_s=DAY,
                               trace=False)[0]
    ids["through"] = run_session(_patient(), _profile(), store=store,
                                 start_unix_s=DAY + 86400, on_tick=skip_after(5),
                                 trace=False)[0]
    ids["most"] = run_session(_patient(), _profile(), store=store,
                              start_unix_s=DAY + 2 * 86400,
                              on_tick=skip_after(120, ("interval",)), trace=False)[0]
    store.close()
    return ids


def test_a_session_skipped_through_is_stored_as_not_complete_and_said_so(tmp_path):
    """The hand-over said "3, av dem 3 fullført helt ut" for one whole 4x4 and two skipped
    through; the session list called them "fullført"."""
    ids = clinic_store(tmp_path / "s.db")
    store = Store(tmp_path / "s.db", readonly=True)
    rows = {st["session_id"]: st for st in store.stats("P-17")}
    assert {r.status for r in store.sessions("P-17")} == {"finished"}  # how each ended
    assert (rows[ids["whole"]]["intervals_run"], rows[ids["whole"]]["complete"]) == (4, 1)
    assert (rows[ids["through"]]["intervals_run"], rows[ids["through"]]["complete"]) == (0, 0)
    assert (rows[ids["most"]]["intervals_run"], rows[ids["most"]]["complete"]) == (0, 0)
    assert {st["intervals_planned"] for st in rows.values()} == {4}
    store.close()
    out = tmp_path / "h.pdf"
    cli("handover", "P-17", "--store", str(tmp_path / "s.db"), "--out", str(out))
    from tests.test_handover import _pdf_text

    text, _pages = _pdf_text(out)
    assert "Økter: 3 (2 avsluttet før planen var ferdig)" in text, text
    listing = cli("sessions", "P-17", "--store", str(tmp_path / "s.db"))
    lines = {line.split()[2]: line for line in listing.splitlines()[1:]}
    assert "fullført" in lines[ids["whole"]], listing
    for sid in (ids["through"], ids["most"]):
        assert "fullført" not in lines[sid] and "intervaller hoppet over" in lines[sid], \
            listing
    # intervals ok out of those planned (the trial: "2/2" for a 4x4 stopped after two)
    assert lines[ids["through"]].rstrip().endswith("/4"), listing
    assert lines[ids["whole"]].rstrip().endswith("/4"), listing


def test_outcome_counts_stay_plausible_over_skipped_through_sessions(tmp_path):
    """The clinic's outcome over a store where sessions were skipped through: every
    session attended counts for adherence, only complete ones as complete, and one that
    learned nothing adds no VO2max change."""
    clinic_store(tmp_path / "s.db")
    out = tmp_path / "o.csv"
    text = cli("outcome", "--store", str(tmp_path / "s.db"), "--from", "2026-11-01",
               "--to", "2026-11-30", "--csv", str(out))
    (row,) = list(csv.DictReader(out.open(), delimiter=";"))  # the bokmål spreadsheet
    assert row["Økter"] == "3" and row["Fullførte økter"] == "1", row
    assert "Fullførte økter (alle fire intervallene gjennomført): 1 av 3." in text, text


def test_the_rule_for_complete_is_the_belt_screens():
    """One rule: every planned interval ran ≥ 75 % of its time, running (not paused), and
    the session ended with its plan."""
    from controller.core.beltscreen import RAN_FRAC, intervals_ran

    planned = [240.0] * 4
    ran = {1: 240.0, 2: 240.0, 3: 240.0, 4: RAN_FRAC * 240.0}
    assert intervals_ran(ran, planned) and _stats.intervals_run(ran, planned) == 4
    ran[4] = RAN_FRAC * 240.0 - 1.0
    assert not intervals_ran(ran, planned) and _stats.intervals_run(ran, planned) == 3
    assert _stats.session_complete("finished", 4, 4)
    assert not _stats.session_complete("finished", 3, 4)
    assert not _stats.session_complete("stopped", 4, 4)
    assert _stats.session_complete("finished", 0, 0)  # a plan without intervals


def _make_old(path: Path) -> None:
    """Turn a store written now into one written at schema 7: the new columns gone, the
    speed at 90 % one figure again (the learned one where a response was learned)."""
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("UPDATE session_stats SET speed_at_90_kmh = COALESCE(learned_speed_at_90_kmh, "
               "belt_speed_at_90_kmh), incline_at_90_pct = COALESCE("
               "learned_incline_at_90_pct, belt_incline_at_90_pct)")
    for col in NEW_STATS:
        db.execute(f"ALTER TABLE session_stats DROP COLUMN {col}")
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()


def test_an_old_store_still_reads_and_learns_the_truth(tmp_path):
    """A store from before (schema 7): the first read migrates it; sessions skipped through
    are then not complete, and each old speed at 90 % is split into the belt's and the
    learned response's, or kept marked as not told apart."""
    ids = clinic_store(tmp_path / "s.db")
    store = Store(tmp_path / "s.db")
    now = {st["session_id"]: st for st in store.stats("P-17")}
    store.close()
    _make_old(tmp_path / "s.db")
    out = tmp_path / "h.pdf"
    cli("handover", "P-17", "--store", str(tmp_path / "s.db"), "--out", str(out))
    from tests.test_handover import _pdf_text

    assert "Økter: 3 (2 avsluttet før planen var ferdig)" in _pdf_text(out)[0]
    store = Store(tmp_path / "s.db", readonly=True)
    then = {st["session_id"]: st for st in store.stats("P-17")}
    store.close()
    for sid in ids.values():
        for col in NEW_STATS:
            assert then[sid][col] == pytest.approx(now[sid][col]), (sid, col)
        assert then[sid]["speed_at_90_kmh"] is None  # told apart: nothing left unsplit


def test_speed_at_90_is_kept_as_two_facts(tmp_path):
    """The session that learned a response kept only its converted figure (6,0 km/t at 5 %)
    as "speed at 90 %"; the belt held the zone at about 5 km/t and 7 %. Both are kept, each
    with its meaning, and progression, hand-over and report read the right one."""
    from controller.records.report import _learned_fitness

    ids = clinic_store(tmp_path / "s.db")
    store = Store(tmp_path / "s.db", readonly=True)
    st = store.stats_of(ids["whole"])
    rec = store.session(ids["whole"])
    learned = _learned_fitness(rec, HR_MAX)
    assert learned is not None
    assert st["belt_speed_at_90_kmh"] == pytest.approx(st["zone_speed_kmh"])
    assert st["belt_incline_at_90_pct"] == pytest.approx(st["zone_incline_pct"], abs=0.05)
    assert (st["learned_speed_at_90_kmh"], st["learned_incline_at_90_pct"]) == \
        (learned["speed_at_90_kmh"], learned["incline_pct"])
    assert abs(st["belt_speed_at_90_kmh"] - st["learned_speed_at_90_kmh"]) > 0.3
    store.close()
    out = tmp_path / "p.csv"
    cli("progression", "--store", str(tmp_path / "s.db"), "--pseudonym", "P-17", "--csv",
        str(out), "--lang", "en")
    rows = {r["session_id"]: r for r in csv.DictReader(out.open())}
    r = rows[ids["whole"]]
    assert float(r["belt_speed_at_90_kmh"].replace(",", ".")) == \
        pytest.approx(st["belt_speed_at_90_kmh"], abs=0.06)
    assert float(r["learned_speed_at_90_kmh"].replace(",", ".")) == \
        pytest.approx(st["learned_speed_at_90_kmh"])


def _interval_with_pause(store: Store, sid: str) -> None:
    """A 4x4 whose second interval was paused 90 s after 2 minutes (the heart rate fell
    while the belt stood), the heart at 90 % HRmax whenever the belt ran."""
    store.clock = lambda: DAY
    from controller.core.plan import default_4x4

    store.begin_session(sid, _profile(), default_4x4(180.0).to_dict())
    t = 0.0
    samples = []

    def run(phase: str, n: int, seconds: int, hr: float, state: str = "running") -> None:
        nonlocal t
        for i in range(seconds):
            sp = Setpoint(t, 5.0, 6.0, phase, n, 156.0, 174.0, hr, state, float(i), 1.0, hr,
                          "ok")
            store.record(sid, sp, 0.0 if state == "paused" else 5.0, 6.0)
            samples.append({"t_s": t, "phase": phase, "interval": n, "hr_bpm": hr,
                            "speed_kmh": 5.0, "incline_pct": 6.0, "state": state})
            t += 1.0

    run("warmup", 0, 600, 120.0)
    for n in range(1, 5):
        if n == 2:
            run("interval", n, 120, 0.9 * HR_MAX)
            run("interval", n, 90, 115.0, "paused")
            run("interval", n, 120, 0.9 * HR_MAX)
        else:
            run("interval", n, 240, 0.9 * HR_MAX)
        if n < 4:
            run("recovery", n, 180, 130.0)
    run("cooldown", 0, 300, 115.0)
    store.end_session(sid, "finished", summarise(store.samples(sid), HR_MAX))


def test_an_intervals_time_in_the_zone_is_over_its_running_time(tmp_path):
    """The report said 68 % in the zone for an interval held at 90 % HRmax throughout its
    running time, because the 90 s pause inside it counted as time out of the zone."""
    from controller.core.i18n import set_language
    from controller.records.report import phase_rows, session_facts

    store = Store(tmp_path / "s.db")
    _interval_with_pause(store, "S1")
    set_language("nb")
    try:
        rows = phase_rows(store, session_facts(store, "S1"))
    finally:
        set_language("en")
    second = next(r for r in rows if r[0] == "intervall 2")
    assert second[5] == "100", rows
    # a duration as people read it (issue 21: «1,1 min» beside «4 min 7 s»)
    assert "satt på pause i 1 min 30 s" in second[3].replace("\u00a0", " "), rows
    assert store.stats_of("S1")["intervals_run"] == 4  # 240 s running: it ran
    store.close()
    out = tmp_path / "r.pdf"
    cli("report", "--store", str(tmp_path / "s.db"), "--session", "S1", "--out", str(out))
    from tests.test_handover import _pdf_text

    text = _pdf_text(out)[0]
    assert "1 min 30 s" in text and "1,5 min" not in text, text


def _record_plan_at_90(store: Store, sid: str, started: float, plan: dict, n: int,
                       pseudonym: str) -> None:
    """``n`` seconds of ``plan``'s main phase with the heart at 90 % HRmax (high intensity)."""
    store.clock = lambda: started
    store.begin_session(sid, PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                            pseudonym=pseudonym), plan)
    main = next(ph["kind"] for ph in plan["phases"] if ph["kind"] in ("interval", "test"))
    hr = 0.9 * HR_MAX
    for i in range(n):
        store.record(sid, Setpoint(float(i), 5.0, 6.0, main, int(main == "interval"), 156.0,
                                   174.0, hr, "running", float(i), 1.0, hr, "ok"), 5.0, 6.0)
    store.end_session(sid, "finished", None)


def _week_store(path: Path, now: float, pseudonym: str = "P-7") -> Store:
    """This week: a 4x4 with 20 minutes at high intensity and a 6-minute test with 20."""
    from controller.core.plan import default_4x4, six_minute_test

    store = Store(path)
    train_s = earlier_this_week(now, 900)
    _record_plan_at_90(store, "train", train_s, default_4x4(180.0).to_dict(), 1201,
                       pseudonym)
    _record_plan_at_90(store, "test", max(earlier_this_week(now, 600), train_s + 0.5),
                       six_minute_test(5.0, 2.0).to_dict(), 1201, pseudonym)
    return store


def test_the_weeks_minutes_count_4x4_training_only(tmp_path):
    from controller.records.mastery import mastery

    now = dt.datetime(2026, 11, 25, 12, 0).timestamp()
    _week_store(tmp_path / "s.db", now).close()
    m = mastery(tmp_path / "s.db", "P-7", "train", now)
    assert m.week_hit_min == pytest.approx(20.0, abs=0.1)


def test_the_belt_screen_counts_the_weeks_minutes_from_4x4_training_only(tmp_path):
    """The belt page, as the patient reads it after today's session: «Denne uken så langt: 20
    minutter i sonen» from the 4x4 this week — the 6-minute test's 20 minutes (it sets HRmax, it
    is not training) made it "Ukemålet er nådd"."""
    import time

    from tests.test_beltview import _phase, _run, _text, belt_rig

    store = _week_store(tmp_path / "s.db", time.time())
    store.clock = time.time

    async def main() -> None:
        async with belt_rig(tmp_path, store=store) as rig:
            rig.hr[0] = 110.0  # today: nothing at high intensity
            rig.rt.start()
            await _phase(rig.page, "Oppvarming")
            rig.rt.stop()
            await rig.page.wait_for_selector("#mastery:not(.hidden)", timeout=60000)
            lines = await rig.page.locator("#masterylines li").all_text_contents()
            assert "Denne uken så langt: 20 minutter i sonen" in lines, lines
            assert "Ukemålet" not in await _text(rig.page, "body")

    try:
        _run(main())
    finally:
        store.close()


def test_the_clinics_postgresql_database_brings_old_rows_up_too(tmp_path, pg):  # noqa: F811
    """The records server's PostgreSQL kept figures before: opened now, each old row learns
    whether its session was complete and has the speed at 90 % split — or, where the old
    figure equals the belt's in a session that learned a response, keeps it marked."""
    from controller.records.clinic_db import PgClinicDb

    ids = clinic_store(tmp_path / "s.db")
    store = Store(tmp_path / "s.db", readonly=True)
    docs = {k: store.export_session(sid) for k, sid in ids.items()}
    store.close()
    db = PgClinicDb(pg.url)
    for doc in docs.values():
        assert db.add_session("oslo", "tm-1", doc)
    now = {st["session_id"]: st for st in db.stats("P-17")}
    assert now[ids["through"]]["complete"] == 0 and now[ids["whole"]]["complete"] == 1
    # as schema 7 kept it; one row whose learned figure happens to equal the belt's
    db.db.execute("UPDATE session_stats SET speed_at_90_kmh = COALESCE("
                  "learned_speed_at_90_kmh, belt_speed_at_90_kmh), incline_at_90_pct = "
                  "COALESCE(learned_incline_at_90_pct, belt_incline_at_90_pct)")
    db.db.execute("UPDATE session_stats SET speed_at_90_kmh = zone_speed_kmh, "
                  "incline_at_90_pct = zone_incline_pct WHERE session_id = %s",
                  (ids["most"],))
    for col in NEW_STATS:
        db.db.execute(f"ALTER TABLE session_stats DROP COLUMN {col}")
    db.close()
    db = PgClinicDb(pg.url)
    then = {st["session_id"]: st for st in db.stats("P-17")}
    db.close()
    for key in ("whole", "through"):
        sid = ids[key]
        for col in NEW_STATS:
            assert then[sid][col] == pytest.approx(now[sid][col]), (key, col)
        assert then[sid]["speed_at_90_kmh"] is None, key
    most = then[ids["most"]]
    assert (most["intervals_run"], most["complete"]) == (0, 0)
    assert most["belt_speed_at_90_kmh"] == pytest.approx(now[ids["most"]]["zone_speed_kmh"])
    assert most["learned_speed_at_90_kmh"] is None  # not told apart: kept, marked
    assert most["speed_at_90_kmh"] == pytest.approx(most["belt_speed_at_90_kmh"])


def test_a_response_learned_from_seconds_gives_no_fitness(tmp_path):
    """Outcome over a store with a session skipped through: its summary carried a response
    "learned" from 45 s of heart rate (the demo's history keeps it; the service would not),
    and the store made a VO2max estimate and a speed at 90 % of it. Below the service's
    evidence (``LEARNED_MIN_EVIDENCE_S``) a learned response is no measurement."""
    ids = clinic_store(tmp_path / "s.db")
    store = Store(tmp_path / "s.db", readonly=True)
    through = store.session(ids["through"])
    assert through.summary["response_model"]["evidence_s"] < 780
    st = store.stats_of(ids["through"])
    assert (st["vo2max_estimate"], st["work_at_90_vo2"], st["learned_speed_at_90_kmh"]) == \
        (None, None, None)
    assert store.stats_of(ids["whole"])["learned_speed_at_90_kmh"] is not None
    store.close()
    out = tmp_path / "o.csv"
    cli("outcome", "--store", str(tmp_path / "s.db"), "--from", "2026-11-01",
        "--to", "2026-11-30", "--csv", str(out), "--lang", "en")
    (row,) = list(csv.DictReader(out.open()))
    whole = Store(tmp_path / "s.db", readonly=True)
    first = whole.stats_of(ids["whole"])["vo2max_estimate"]
    whole.close()
    assert float(row["vo2max_first"].replace(",", ".")) == pytest.approx(first), row
