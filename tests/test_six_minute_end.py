"""Issue 21, the 6-minute test's end as staff meet it (a bokmål new-nurse trial): its report
never calls a part of a finished test interrupted, the demo never stores a proposed
makspuls on staff's behalf, and its end summary says what the test measured (not zone
figures), in the glossary's words."""

import subprocess
import sys

from controller.core.plan import six_minute_test
from controller.protocol import PatientProfile, Session
from controller.records.store import Store
from controller.sim import Belt, PatientParams, VirtualPatient


def cli(*args, ok=True):
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def _pdf_text(path) -> str:
    import pypdf

    return "\n".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)


def record_test_with_a_late_tick(db, late_at_s=478.0, late_by_s=7.0, sid="T1"):
    """A 6-minute test run to its end by the production Session, recorded by the production
    Store, with one tick late near the end of the test phase (what the trial's loaded Pi
    did: its test phase ended 6 s late, and the cool-down, carrying those seconds, was
    recorded 174 s long). The session ends by its plan: ``finished``."""
    from controller.core.summary import summarise

    profile = PatientProfile(hr_max=183, hr_rest=65, max_speed_kmh=7.0, pseudonym="P-17",
                             hr_max_source="tanaka")
    session = Session(profile, six_minute_test(4.5, 2.0))
    patient = VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=30, seed=3))
    belt = Belt()
    store = Store(db)
    store.clock = lambda: 1.78e9 + t
    t = 0.0
    store.begin_session(sid, profile, session.plan.to_dict())
    while True:
        dt = late_by_s if t == late_at_s else 1.0
        reading = patient.step(dt, belt.speed_kmh, belt.incline_pct)
        t += dt
        sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
        store.record(sid, sp, belt.speed_kmh, belt.incline_pct)
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
    assert session.ended_by == "plan"
    store.end_session(sid, "finished", summarise(store.samples(sid), profile.hr_max,
                                                 store.events(sid)))
    store.close()
    return sid


def test_a_finished_six_minute_tests_report_calls_no_part_interrupted(tmp_path):
    """Finding 8 of the trial: the report of a 6-minute test that ended normally said
    "Nedkjøling … avbrutt". The report as staff print it (``fourbyfour report``, bokmål
    PDF) names no phase cut short; the phases' times are there."""
    db = tmp_path / "s.db"
    sid = record_test_with_a_late_tick(db)
    out = tmp_path / "r.pdf"
    cli("report", "--store", str(db), "--session", sid, "--out", str(out), "--lang", "nb")
    text = _pdf_text(out)
    assert "nedkjøling 3:00" in text and "oppvarming 2:00" in text, text
    assert "avbrutt" not in text.lower(), text
    assert "— fullført" in text, text  # the title's status: the test ended normally


def test_a_stopped_session_still_names_the_phase_it_was_stopped_in(tmp_path):
    """The other side: a phase the session was stopped in is still "cut short"."""
    from controller.records import report

    db = tmp_path / "s.db"
    profile = PatientProfile(hr_max=183, hr_rest=65, max_speed_kmh=7.0, pseudonym="P-17")
    session = Session(profile, six_minute_test(4.5, 2.0))
    store = Store(db)
    store.begin_session("S", profile, session.plan.to_dict())
    for k in range(200):  # stopped in the test phase, 80 s into it
        if k == 200 - 1:
            session.stop("staff")
        sp = session.step(float(k), 100.0, 3.5, 0.0)
        store.record("S", sp, 3.5, 0.0)
    store.end_session("S", "stopped", None)
    facts = report.session_facts(store, "S")
    assert [(p.phase, p.note) for p in facts["phases"]] == [("warmup", ""),
                                                            ("test", "cut short")]
    store.close()
