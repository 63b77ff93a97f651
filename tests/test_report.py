"""Exports parse back, reports render, progression reads fitness; foreign files are refused."""

import csv
import json
import subprocess
import sys

import pytest

from controller.core.summary import summarise
from controller.protocol import PatientProfile
from controller.records import report
from controller.records.store import Store, StoreError
from controller.sim import PatientParams, VirtualPatient, simulate

OLD_EVENT = "INSERT INTO events (session_id, t_s, kind, severity, message) VALUES "
"""An event as stores kept it before schema 7: its English message, no parameters."""


def record_sim(store, sid, vo2max, started, hr_max=183.0, seed=1):
    """A simulated 4x4 recorded into ``store`` as a finished session."""
    from controller.protocol import Session
    profile = PatientProfile(hr_max=hr_max, hr_rest=70, max_speed_kmh=7.0, pseudonym="P-3")
    session = Session(profile)
    tr = simulate(VirtualPatient(PatientParams(vo2max=vo2max, hr_max_bpm=hr_max,
                                               hr_rest_bpm=70, seed=seed)), profile,
                  session=session)
    store.clock = lambda: started
    store.begin_session(sid, profile, session.plan.to_dict())
    db = store.db
    db.execute("BEGIN")
    for r in tr.rows:
        db.execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (sid, r.t_s, r.phase, r.interval, r.state, r.hr_true_bpm, "ok", None,
                    r.zone_low_bpm, r.zone_high_bpm, r.speed_sp_kmh, r.speed_kmh,
                    r.incline_sp_pct, r.incline_pct))
    db.execute("COMMIT")
    summary = summarise(store.samples(sid), hr_max, [])
    summary["response_model"] = session.response_model()  # as the runtime keeps it (issue 26)
    store.end_session(sid, "finished", summary)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sessions.db")
    yield s
    s.close()


def test_csv_and_json_exports_parse_back_and_import(store, tmp_path):
    record_sim(store, "S1", 30, 1.7e9)
    report.export_csv(store, "S1", tmp_path / "s.csv")
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(store.samples("S1")) and rows[0]["phase"] == "warmup"
    report.export_json(store, "S1", tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["session"]["summary"]["intervals"][0]["interval"] == 1
    other = Store(tmp_path / "other.db")
    assert report.import_json(other, tmp_path / "s.json") == "S1"
    assert other.samples("S1") == store.samples("S1")
    with pytest.raises(StoreError, match="already in"):
        report.import_json(other, tmp_path / "s.json")
    other.close()


def test_session_report_png_and_pdf_render(store, tmp_path):
    record_sim(store, "S1", 30, 1.7e9)
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    report.render_session(store, "S1", png)
    report.render_session(store, "S1", pdf)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 30_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_progression_sees_fitness_rise_and_a_wrong_hrmax(store, tmp_path):
    week = 7 * 86400
    for i, vo2max in enumerate((26, 28, 30, 32)):
        record_sim(store, f"S{i}", vo2max, 1.7e9 + i * week, seed=i)
    prog = report.progression(store, "P-3")
    work = [p["work_at_90_vo2"] for p in prog["sessions"]]
    assert all(w is not None for w in work) and work == sorted(work)
    assert prog["work_at_90_trend_vo2_per_week"] > 0.5
    fixed = [p["hr_at_fixed_workload_bpm"] for p in prog["sessions"]]
    assert all(f is not None for f in fixed) and fixed[-1] < fixed[0]  # fitter: lower HR
    assert 26 <= prog["vo2max_estimate"] <= 40
    assert prog["hr_max_suggestion"] is None
    report.render_progression(store, "P-3", tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000
    record_sim(store, "S9", 30, 1.7e9 + 5 * week, hr_max=160.0)  # HRmax set too low
    sugg = report.progression(store, "P-3")["hr_max_suggestion"]
    assert sugg["source"] == "observed_peak" and sugg["hr_max_bpm"] > 160


def test_foreign_files_get_clear_errors(store, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(StoreError, match=r"not a session export of fourbyfour"):
        report.import_json(store, bad)
    bad.write_text("{not json")
    with pytest.raises(StoreError, match="not a session export"):
        report.import_json(store, bad)
    bad.write_text(json.dumps({"schema": report.EXPORT_SCHEMA, "session": {"id": "Z"}}))
    with pytest.raises(StoreError, match="missing samples, events; nothing imported"):
        report.import_json(store, bad)
    assert store.sessions() == []  # nothing half-imported
    with pytest.raises(StoreError, match="no session nope"):
        report.render_session(store, "nope", tmp_path / "r.png")
    with pytest.raises(StoreError, match="P-0 is not in the register"):  # never used
        report.progression(store, "P-0")


def test_cli_report_on_a_foreign_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all " * 100)
    r = subprocess.run([sys.executable, "-m", "controller", "report", "--store", str(junk),
                        "--session", "S1", "--out", str(tmp_path / "r.png")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not a fourbyfour session store" in r.stderr
    assert "Traceback" not in r.stderr


def test_csv_time_starts_at_zero_with_an_absolute_utc_column(store, tmp_path):
    record_sim(store, "S1", 30, 1.7e9)
    store.db.execute("UPDATE samples SET t_s = t_s + 5000")  # a monotonic clock's origin
    report.export_csv(store, "S1", tmp_path / "s.csv")
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["t_s"]) == 0.0 and float(rows[60]["t_s"]) == 60.0
    assert rows[0]["time_utc"] == "2023-11-14T22:13:20Z"
    assert rows[60]["time_utc"] == "2023-11-14T22:14:20Z"


def test_wall_clock_is_recorded_with_the_samples(tmp_path):
    from controller.protocol import Session

    st = Store(tmp_path / "w.db", clock=lambda: 1.8e9 + 12.5)
    prof = PatientProfile(hr_max=180, pseudonym="P-1")
    st.begin_session("W", prof, Session(prof).plan.to_dict())
    sp = Session(prof).step(1000.0, 90.0, 0.0, 0.0)
    st.record("W", sp, 0.0, 0.0)
    st.close()
    rec = Store(tmp_path / "w.db").session("W")
    assert rec.clock_offset_s == pytest.approx(1.8e9 + 12.5 - 1000.0)


def test_report_shows_phases_as_they_ran_events_and_work(store, tmp_path):
    record_sim(store, "S1", 30, 1.7e9)
    # the second interval was extended by a minute, the third skipped after 60 s
    db = store.db
    db.execute("UPDATE samples SET t_s = t_s + 60 WHERE t_s >= 1200")
    db.execute("INSERT INTO samples SELECT session_id, t_s - 60, phase, interval, state, "
               "hr_bpm, hr_status, target_bpm, zone_low_bpm, zone_high_bpm, speed_set_kmh, "
               "speed_kmh, incline_set_pct, incline_pct FROM samples WHERE t_s >= 1200 "
               "AND t_s < 1260")
    db.execute(OLD_EVENT + "('S1', 1100, 'extend', 'info', 'interval extended "
               "by 60 s')")
    db.execute(OLD_EVENT + "('S1', 1559, 'skip', 'info', 'phase interval "
               "skipped by staff')")
    db.execute("DELETE FROM samples WHERE phase = 'interval' AND interval = 3 AND t_s >= 1560")
    facts = report.session_facts(store, "S1")
    notes = {(p.phase, p.interval): p.note for p in facts["phases"]}
    assert notes[("interval", 1)] == "" and notes[("interval", 2)] == "extended"
    assert notes[("interval", 3)] == "skipped"
    ran = {(p.phase, p.interval): p.ran_s for p in facts["phases"]}
    assert ran[("interval", 2)] == 300 and ran[("interval", 3)] == 60
    assert facts["start_utc"] == "2023-11-14T22:13:20Z"
    assert facts["work_at_90_vo2"] is not None
    assert any(e["kind"] == "skip" for e in facts["events_rel"])
    report.render_session(store, "S1", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().count(b"/Type /Page\n") + \
        (tmp_path / "r.pdf").read_bytes().count(b"/Type /Page ") >= 2  # page 2: the events


def test_no_trend_from_sessions_on_one_day_and_a_robust_one_over_weeks(store, tmp_path):
    for i, vo2max in enumerate((26, 28, 30)):
        record_sim(store, f"D{i}", vo2max, 1.7e9 + i * 3600, seed=i)  # one afternoon
    prog = report.progression(store, "P-3")
    assert prog["work_at_90_trend_vo2_per_week"] is None  # was +138,951,510 per week
    assert prog["sessions_per_week"] == 3 and prog["weeks"][0]["sessions"] == 3
    assert report.trend_per_week([0, 7 * 86400, 14 * 86400, 21 * 86400],
                                 [10.0, 11.0, 30.0, 13.0]) == pytest.approx(1.0)
    report.progression_csv(prog, tmp_path / "p.csv")
    with open(tmp_path / "p.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and rows[0]["work_at_90_vo2"] and rows[0]["minutes_at_85"]


def test_a_report_in_bokmal_shows_words_not_keys(store):
    """A clinic's journal gets the report in bokmål: phases, the HRmax source, severities and
    events in words — never raw keys such as ``warmup``, ``hr_lost`` or ``six_minute_test``."""
    from controller.core.i18n import set_language
    record_sim(store, "S1", 30, 1.7e9)
    store.db.execute("UPDATE sessions SET hr_max_source = 'six_minute_test'")
    store.db.execute(OLD_EVENT + "('S1', 900, 'hr_lost', 'alarm', "
                     "'no valid heart rate for 15 s')")
    set_language("nb")
    try:
        facts = report.session_facts(store, "S1")
        text = "\n".join(report.report_lines(store, facts)
                         + [" ".join(row) for row in report.phase_rows(store, facts)])
    finally:
        set_language("en")
    for key in ("six_minute_test", "hr_lost", "warmup", "cooldown", "recovery",
                "no valid heart rate", "100.0"):
        assert key not in text, (key, text)
    assert "6-minutters pulstest" in text and "oppvarming" in text.lower()


def test_a_bokmal_report_says_the_test_events_and_plan_in_bokmal(store):
    """The bokmål session report listed "Plan: 6-minute test.", "Borg rating at the end of the
    test: 7", "HRmax proposal 190 bpm edited by staff as 195 bpm" in English: the store keeps
    the English message only, so the report says them by kind with the message's numbers."""
    from controller.core.i18n import set_language
    record_sim(store, "S1", 30, 1.7e9)
    store.db.execute("UPDATE sessions SET plan_json = "
                     "json_set(plan_json, '$.name', '6-minute test')")
    for t, msg in ((900, "Borg rating at the end of the test: 7"),):
        store.db.execute(OLD_EVENT + "('S1', ?, 'borg', 'info', ?)", (t, msg))
    for t, msg in ((901, "HRmax proposal 190 bpm edited by staff as 195 bpm"),
                   (902, "HRmax proposal 120 bpm rejected by staff"),
                   (903, "HRmax proposal 181 bpm accepted by staff")):
        store.db.execute(OLD_EVENT + "('S1', ?, 'hrmax_decision', 'info', ?)",
                         (t, msg))
    set_language("nb")
    try:
        facts = report.session_facts(store, "S1")
        text = "\n".join(report.report_lines(store, facts)
                         + [report.event_text(e["kind"], e["message"])
                            for e in facts["events"]])
    finally:
        set_language("en")
    for english in ("6-minute test", "Borg rating", "HRmax proposal", "by staff", "bpm"):
        assert english not in text, (english, text)
    for bokmal in ("6-minutters pulstest", "Borg-skår", "7", "190", "195", "120", "181"):
        assert bokmal in text, (bokmal, text)


def _recorded_with_staff_commands(store) -> str:
    """A real session's ticks into the store, with a skip and an extension by staff."""
    from controller.protocol import Session

    profile = PatientProfile(hr_max=183.0, hr_rest=70, max_speed_kmh=7.0, pseudonym="P-3")
    s = Session(profile)
    store.begin_session("S1", profile, s.plan.to_dict())
    for k in range(40):
        if k == 10:
            s.extend(60)
        if k == 20:
            s.skip()  # the warm-up
        store.record("S1", s.step(float(k), 100.0, 3.0, 0.0), 3.0, 0.0)
    store.end_session("S1", "stopped", None)
    return "S1"


def test_events_are_stored_with_their_parameters_and_said_from_them(store, tmp_path):
    """Issue 21 (new-nurse trial): the store kept an event's English message only, so a
    bokmål report matched messages and lost what they were about ("Del hoppet over" — which
    one?). Events keep their code's parameters (schema 7); the report says them from the
    catalog in its language; an export carries them and imports back."""
    from controller.core.i18n import set_language

    sid = _recorded_with_staff_commands(store)
    kept = {e["kind"]: e for e in store.events(sid)}
    assert kept["skip"]["params"] == {"phase": "warmup"}, kept["skip"]
    assert kept["extend"]["params"]["seconds"] == 60, kept["extend"]
    set_language("nb")
    try:
        lines = report.report_lines(store, report.session_facts(store, sid))
    finally:
        set_language("en")
    text = "\n".join(lines)
    assert "Oppvarming hoppet over av personalet" in text, text
    assert "Oppvarming forlenget med 1 min av personalet" in text, text
    report.export_json(store, sid, tmp_path / "s.json")
    other = Store(tmp_path / "other.db")
    assert report.import_json(other, tmp_path / "s.json") == sid
    assert other.events(sid) == store.events(sid)
    other.close()


def test_events_recorded_before_schema_7_still_read(store):
    """An old row (no parameters) reads with empty ones and says its kind's sentence."""
    from controller.core.i18n import set_language

    record_sim(store, "S1", 30, 1.7e9)
    store.db.execute(OLD_EVENT + "('S1', 1559, 'skip', 'info', 'phase interval skipped by "
                     "staff')")
    (old,) = [e for e in store.events("S1") if e["kind"] == "skip"]
    assert old["params"] == {}
    set_language("nb")
    try:
        text = "\n".join(report.report_lines(store, report.session_facts(store, "S1")))
    finally:
        set_language("en")
    assert "skipped" not in text and "hoppet over" in text.lower(), text


def test_the_six_minute_tests_events_carry_their_numbers(tmp_path):
    """The Borg score and staff's HRmax decision are stored with their numbers as data (the
    CLI's 6-minute test, as staff run it), not only inside an English sentence."""
    db = tmp_path / "s.db"
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--plan",
                        "six-minute-test", "--store", str(db), "--patient", "P-5",
                        "--accept-hrmax"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    st = Store(db, readonly=True)
    (rec,) = st.sessions("P-5")
    kept = {e["kind"]: e["params"] for e in st.events(rec.id)}
    st.close()
    assert set(kept["borg"]) == {"rpe"} and 6 <= kept["borg"]["rpe"] <= 20, kept
    assert kept["hrmax_decision"]["decision"] == "accepted", kept
    assert 100 <= kept["hrmax_decision"]["proposed_bpm"] <= 230, kept


def test_the_progression_chart_dates_every_panel_over_the_sessions_days(store, tmp_path,
                                                                        monkeypatch):
    """The trial read a session of 06.12 as 30.11: only the weeks' panel had dates (its
    bars stood at each week's Monday) and a lone session's panel spanned four years."""
    import datetime as dt

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    record_sim(store, "S1", 30, 1.7e9)
    figs = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), real_close(fig)))
    report.render_progression(store, "P-3", tmp_path / "p.pdf")
    (fig,) = figs
    day = dt.datetime.fromtimestamp(1.7e9)
    for ax in fig.axes[:4]:
        lo, hi = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
        assert lo < day < hi and (hi - lo).days <= 21, (lo, hi)
        fig.canvas.draw()
        assert any(t.get_text() and t.get_visible() for t in ax.get_xticklabels()), ax


def test_a_session_skipped_through_before_any_phase_was_recorded_still_exports(tmp_path):
    """test_live's matplotlib probe failed 1 of 2 runs beside two CPU hogs: staff skipped
    every phase (0.1 s apart) while the tick waited for a CPU, so the record holds one sample,
    'done', and no phase ran; the PDF's phase table had no rows and matplotlib raised
    IndexError ('export' failed: "The service could not do it"). The report is drawn without
    the table."""
    from controller.protocol import Session

    store = Store(tmp_path / "sessions.db")
    profile = PatientProfile(hr_max=183.0, hr_rest=70, pseudonym="P-3")
    session = Session(profile)
    store.begin_session("S1", profile, session.plan.to_dict())
    store.db.execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     ("S1", 0.0, "done", 0, "done", 96.0, "ok", None, None, None, 0.0, 0.0,
                      0.0, 0.0))
    store.end_session("S1", "stopped", summarise(store.samples("S1"), 183.0, []))
    report.render_session(store, "S1", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").stat().st_size > 1000
    store.close()
