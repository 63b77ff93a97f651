"""Issue 21, the 6-minute test's end as staff meet it (a bokmål new-nurse trial): its report
never calls a part of a finished test interrupted, the demo never stores a proposed
makspuls on staff's behalf, and its end summary says what the test measured (not zone
figures), in the glossary's words."""

import re
import subprocess
import sys

import pytest

from controller.core.plan import six_minute_test
from controller.protocol import PatientProfile, Session
from controller.records.store import Store
from controller.sim import Belt, PatientParams, VirtualPatient
from tests.conftest import clinic_today


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
    assert re.search(r"—\s+fullført", text), text  # the title's status: the test ended normally


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


def _register_p17(db):
    """A returning patient: HRmax 171 from a 6-minute test on 20.11.2026, caps 6.5 km/h
    and 12 %."""
    from controller.records.register import PatientRecord, Register

    store = Store(db)
    Register(store).save(PatientRecord("P-17", 171, "six_minute_test", "2026-11-20",
                                       hr_rest_bpm=62, max_speed_kmh=6.5,
                                       max_incline_pct=12.0))
    store.close()


def _p17(db):
    from controller.records.register import Register

    store = Store(db, readonly=True)
    try:
        rec = Register(store).require("P-17")
        (sess,) = [s for s in store.sessions("P-17") if s.plan_name == "6-minute test"]
        kinds = [e["kind"] for e in store.events(sess.id)]
    finally:
        store.close()
    return rec, kinds


def test_the_fast_pulstest_demo_shows_the_proposal_and_stores_no_makspuls(tmp_path):
    """Finding 32 of the trial: ``demo --fast --plan pulstest`` said "Godkjent av
    personalet: lagret for …" although no staff chose anything. Nothing about a patient
    changes unless staff chose it: the proposal is shown, the register keeps the makspuls
    it had (value, source, date, caps), and the demo says it was not stored and how staff
    would accept it."""
    db = tmp_path / "s.db"
    _register_p17(db)
    r = cli("demo", "--fast", "--plan", "pulstest", "--store", str(db), "--patient", "P-17",
            "--lang", "nb")
    out = r.stdout
    assert "Foreslått makspuls" in out, out
    assert "Godkjent av personalet" not in out and "godkjent av personalet" not in out, out
    assert "Ikke lagret:" in out and "--godta-makspuls" in out, out
    rec, kinds = _p17(db)
    assert (rec.hr_max_bpm, rec.hr_max_source, rec.hr_max_date) == (171, "six_minute_test",
                                                                    "2026-11-20"), rec
    assert (rec.max_speed_kmh, rec.max_incline_pct, rec.hr_rest_bpm) == (6.5, 12.0, 62), rec
    assert "borg" in kinds and "hrmax_decision" not in kinds, kinds


def test_the_pulstest_demo_stores_the_proposal_only_when_staff_accept_it(tmp_path):
    """With ``--accept-hrmax`` (staff accept the proposal) the register keeps it, with the
    test as its source and today's date, and the decision is in the session's events."""

    db = tmp_path / "s.db"
    _register_p17(db)
    r = cli("demo", "--fast", "--plan", "pulstest", "--store", str(db), "--patient", "P-17",
            "--accept-hrmax", "--lang", "nb")
    assert "Godkjent av personalet: lagret for P-17" in r.stdout, r.stdout
    rec, kinds = _p17(db)
    assert rec.hr_max_source == "six_minute_test" and rec.hr_max_bpm != 171, rec
    assert rec.hr_max_date == clinic_today().isoformat(), rec
    assert "hrmax_decision" in kinds, kinds


def test_the_fast_4x4_demo_leaves_a_returning_patients_register_entry_as_it_was(tmp_path):
    """Found beside finding 32: ``demo --fast --patient P-17`` (the 4x4) ran on the demo's
    own made-up profile and wrote it into the register: P-17's makspuls 171 from the
    pulstest became 199 "målt", the caps 6,5/12 became 11,6/10. A patient the register
    knows runs on their own profile, and the register keeps it."""
    db = tmp_path / "s.db"
    _register_p17(db)
    r = cli("demo", "--fast", "--store", str(db), "--patient", "P-17", "--lang", "nb")
    assert r.returncode == 0, r.stderr
    from controller.records.register import Register

    store = Store(db, readonly=True)
    try:
        rec = Register(store).require("P-17")
    finally:
        store.close()
    assert (rec.hr_max_bpm, rec.hr_max_source, rec.hr_max_date) == (171, "six_minute_test",
                                                                    "2026-11-20"), rec
    assert (rec.max_speed_kmh, rec.max_incline_pct, rec.hr_rest_bpm) == (6.5, 12.0, 62), rec


def test_the_pulstest_demo_summary_says_what_the_test_measured(tmp_path):
    """Finding 7 of the trial: a 6-minute test's end summary is its own measurements —
    distance, the highest heart rate, the Borg-skår, the proposed makspuls and what became
    of it — in the glossary's words, never zone figures (time in the zone, intervals ok)."""
    import re

    r = cli("demo", "--fast", "--plan", "pulstest", "--store", str(tmp_path / "s.db"),
            "--patient", "P-5", "--lang", "nb")
    out = r.stdout
    assert re.search(r"Distanse i testen: \d+ m", out), out
    assert re.search(r"Høyeste puls i testen: \d+ slag/min", out), out
    assert re.search(r"Borg-skår ved slutten: \d+", out), out
    assert re.search(r"Foreslått makspuls: \d+ ± \d+ slag/min", out), out
    assert not re.search(r"i sonen|sonen|intervall|\bok\b", out, re.I), out
    assert "6-min-test" not in out and "6-minuttstest" not in out, out


def test_the_headless_demos_table_for_a_six_minute_test_has_no_zone_figures():
    """The headless demo's summary (``_summary``, after a session a console set up as a
    6-minute test) printed the 4x4's interval table — time to zone, in zone, ok — and its
    footnote about the intervals' allowance: it says what the test measured instead."""
    from controller.app import demo_text
    from controller.app.simdemo import run_session
    from controller.core import i18n

    profile = PatientProfile(hr_max=183, hr_rest=65, max_speed_kmh=7.0, pseudonym="P-17")
    patient = VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=30, seed=3))
    _sid, rows, _s = run_session(patient, profile, six_minute_test(4.5, 2.0))
    i18n.set_language("nb")
    try:
        text = "\n".join(demo_text.summary_lines(rows, 183))
    finally:
        i18n.set_language("en")
    test_rows = [r for r in rows if r.phase == "test"]
    metres = round(sum(r.speed_kmh / 3.6 for r in test_rows))
    assert f"Distanse i testen: {metres} m" in text, text
    peak = round(max(r.hr_bpm for r in test_rows if r.hr_bpm is not None))
    assert f"Høyeste puls i testen: {peak} slag/min" in text, text
    assert "sonen" not in text and "intervall" not in text.lower(), text


@pytest.mark.parametrize(("keys", "said"), [
    (("j",), "godkjent av personalet"),
    (("e", "195", "enter"), "endret av personalet til 195 slag/min"),
    (("n",), "avvist: makspulsen i bruk beholdes")])
def test_the_consoles_end_of_a_six_minute_test_says_what_it_measured(tmp_path, keys, said):
    """Finding 7 of the trial, at the desk: after a 6-minute test the console's summary
    said "i sonen 0 min 0 s" (zone figures). A recorded test (production Session and Store)
    behind the real control socket, the console in bokmål driven by keys: Borg 15, the
    proposal accepted; the end summary says the distance, the highest heart rate, the
    Borg-skår and the proposed makspuls with its decision, and no zone figure."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records import jobs
    from tests.console_rig import console_on_runtime, run_console, wait_for
    from tests.test_console import _recorded_six_minute_test, text

    store = Store(tmp_path / "sessions.db")
    rt, sid = _recorded_six_minute_test(store)
    rt.summary = jobs.summary(str(store.path), sid, 171)  # as the recording makes it
    measured = rt.summary["test"]

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            before = text(app, "#events")
            await pilot.press("1", "5", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.press(keys[0])
            await pilot.pause()
            if len(keys) > 1:  # staff type their own value
                app.screen.query_one("#edit").value = keys[1]
                await pilot.press(keys[2])
                await pilot.pause()
            if isinstance(app.screen, HrMaxProposalScreen):  # a large change: asked twice
                await pilot.press("enter" if len(keys) > 1 else "j")
            await wait_for(lambda: said in text(app, "#events"))
            after = text(app, "#events")
        return before, after

    before, after = run_console(main(), 60, "nb")
    for said in (before, after):
        assert f"Distanse i testen: {measured['distance_m']} m" in said, said
        assert f"Høyeste puls i testen: {measured['peak_hr_bpm']} slag/min" in said, said
        assert "sonen" not in said and "intervall" not in said, said
    assert "Borg-skår ikke gitt ennå" in before, before
    assert "Borg-skår ved slutten: 15\n" in after, after
    assert "Foreslått makspuls" in after and "± " in after, after
    assert "HRmax" not in after and "bpm" not in after, after


def test_staff_see_the_glossarys_word_for_the_6_minute_test_everywhere():
    """Finding 5 of the trial: the patient form's "fart i 6-min-testen" beside
    "6-minutters pulstest" in the plan list. One word for the thing (the glossary:
    "6-minutters pulstest", short "pulstest"; never "6-minuttstest" alone or "6-min-test"):
    no bokmål text staff see says it otherwise."""
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    from controller.core import i18n

    po = Path(i18n.__file__).parent / "locale" / "nb" / "LC_MESSAGES" / "fourbyfour.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    odd = [m.string for m in catalog if m.id and isinstance(m.string, str) and
           re.search(r"6-min\b|6-min-|6-minuttstest|seksminutt|6 min-", m.string)]
    assert not odd, odd


def test_the_patient_forms_pace_field_says_pulstest(tmp_path):
    """The form as a nurse sees it at 80×24 in bokmål, the plan chosen with the keys: the
    pace field's label names the test as the plan list does, on one line."""
    from tests.console_rig import demo_console, open_form, run_console
    from tests.test_console_trial import _screen_text

    async def main():
        async with demo_console(tmp_path) as (app, pilot):
            await open_form(pilot)
            app.screen.query_one("#plan").focus()
            await pilot.press("enter", "down", "enter")  # the list: 6-minutters pulstest
            await pilot.pause()
            assert app.screen.query_one("#plan").value == "six_minute_test"
            shown = _screen_text(app)
        return shown

    shown = run_console(main(), 120, "nb")
    assert "fart i pulstesten km/t" in shown, shown
    assert "6-min" not in shown.replace("6-minutters pulstest", ""), shown
