"""Issue 21 (h21rec), the bokmål new-nurse trial of the records: the report's alarm line, the
demo's dates, which figure "fart ved 90 %" is, the outcome with one patient, what counts as an
økt, the age in the patient list. The CLI runs as a subprocess on a real store and the report
is read back as the nurse reads it (pdftotext)."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.simdemo import run_session
from controller.records.store import Store
from controller.sim import VirtualPatient, make_patient

ROOT = Path(__file__).resolve().parent.parent
START_UNIX_S = 1_780_000_000.0


def _cli(*args: str, lang: str = "nb") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env["FOURBYFOUR_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)


class _Dropout(VirtualPatient):
    """The strap gives nothing for 25 s in interval 2: the 15 s lost-pulse alarm."""

    def step(self, dt_s, speed_kmh, incline_pct):  # type: ignore[no-untyped-def]
        reading = super().step(dt_s, speed_kmh, incline_pct)
        return None if 1000 <= self.t_s < 1025 else reading


@pytest.fixture(scope="module")
def dropout(tmp_path_factory) -> tuple[str, str]:
    """A store with one 4x4 session of P-17 with strap alarms and a 15 s lost pulse."""
    db = str(tmp_path_factory.mktemp("alarm") / "s.db")
    truth, profile = make_patient(random.Random(3), "sedentary", 3)
    store = Store(db)
    sid, _rows, _s = run_session(_Dropout(truth), dataclasses.replace(profile,
                                                                      pseudonym="P-17"),
                                 store=store, start_unix_s=START_UNIX_S)
    kinds = [e["kind"] for e in store.events(sid) if e["severity"] in ("alarm", "warning")]
    store.close()
    assert "hr_lost" in kinds and kinds.count("strap_missing_beats") >= 2, kinds
    return db, sid


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", "-l", "1", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_the_report_lists_every_alarm_of_the_session_cleanly(dropout, tmp_path):
    """The trial: "Alarmer: Pulsbeltet kan miste slag – fukt det eller flytt det;" — the line
    ran off the page after a ";", and the 15 s lost-pulse alarm of the session was not on
    it. Every alarm is there (each kind once, with its times), nothing dangles."""
    db, sid = dropout
    out = tmp_path / "r.pdf"
    r = _cli("report", "--store", db, "--session", sid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = _pdf_text(out)
    # the text block under the table: from "Plan:" on
    block = text[text.index("Plan: 4x4"):]
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    alarm_at = next(i for i, ln in enumerate(lines) if "Alarmer" in ln)
    # up to the event lines, each at its time into the session («7 min 14 s», issue 23)
    upto = next((i for i, ln in enumerate(lines) if i > alarm_at and
                 re.match(r"(\d+ min ?)?(\d+ s)? +(melding|advarsel|alarm)\b", ln)),
                len(lines))
    said = " ".join(lines[alarm_at:upto])
    # the 15-s alarm in the console's words (h21drop: one set of words for hold/slow/stop)
    assert "Finner ikke pulsen – senker til rolig gange (etter 15 s)" in said, said
    assert "Pulsbeltet gir usikre målinger" in said, said
    # nothing dangles: the block ends its sentence (a line may wrap after a comma inside a
    # list of times, as typeset text does, but the list itself is closed)
    assert said.rstrip().endswith("."), said
    assert not lines[-1].rstrip().endswith((";", ",", "–")), lines[-1]
    # each kind once (the strap alarm came three times), with the times it came
    assert said.count("Pulsbeltet gir usikre målinger") == 1, said
    assert re.search(r"16 min 53 s[^()]*ut i økten\)", said), said


def test_the_patient_list_shows_the_age(tmp_path):
    """The trial (28): `patients` lists makspuls, source, caps — not the age, which staff
    read a makspuls against (the age formula) and expect beside it. The age as kept in the
    register; "—" for a patient registered without one."""
    db = str(tmp_path / "s.db")
    made = _cli("demo", "--weeks", "1", "--store", db, "--patient", "P-21")
    assert made.returncode == 0, made.stderr
    r = _cli("patient", "--store", db, "P-17", "--hr-max", "171", "--hr-max-source",
             "measured", "--max-speed", "6.5", "--max-incline", "12")
    assert r.returncode == 0, r.stderr
    store = Store(db, readonly=True)
    from controller.records.register import Register

    age = Register(store).require("P-21").age_years
    store.close()
    assert age is not None
    listed = _cli("patients", "--store", db)
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout.splitlines()
    cols = head.split()
    assert "Alder" in cols, head
    at = cols.index("Alder")
    by = {row.split()[0]: row.split() for row in rows}
    assert by["P-21"][at] == str(round(age)), listed.stdout
    assert by["P-17"][at] == "—", listed.stdout
    en = _cli("patients", "--store", db, lang="en")
    assert "Age" in en.stdout.splitlines()[0].split(), en.stdout


def test_the_report_says_oxygen_uptake_and_which_speed_it_is(dropout, tmp_path):
    """The trial (21): "Belastning ved 90 % av makspuls: 18,5 ml/kg/min (tilsvarer 4,7 km/t
    …)" — ml/kg/min is an oxygen uptake, not a load (belastning is the belt's speed and
    incline, glossary), and the km/h there is the learned model's estimate while the next
    line's is the belt's, neither said. The report says oksygenopptak and whose figure each
    speed is."""
    db, sid = dropout
    out = tmp_path / "r.pdf"
    r = _cli("report", "--store", db, "--session", sid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = " ".join(_pdf_text(out).split())
    assert "Belastning ved 90 %" not in text, text
    at = text.index("Oksygenopptak ved 90 % av makspuls")
    said = text[at:at + 200]
    assert "ml/kg/min" in said and "modellens anslag" in said, said
    assert "Båndet mens pulsen holdt 90 % av makspuls" in text, text


def test_the_progression_says_oxygen_uptake_and_which_speed_it_is(dropout):
    """The progression's table: "Belastning ml/kg/min" over an oxygen uptake, and "Fart
    km/t" with a figure that is the belt's or (marked ≈) the model's, the mark not
    explained. The column says oksygenopptak; a line says what the speed is and what ≈
    means."""
    db, _sid = dropout
    r = _cli("progression", "--store", db, "--pseudonym", "P-17")
    assert r.returncode == 0, r.stderr
    assert "Belastning" not in r.stdout and "belastning" not in r.stdout, r.stdout
    assert "Oksygenopptak" in r.stdout, r.stdout
    assert re.search(r"Fart og stigning: båndet mens pulsen holdt 90 % av makspuls; ≈ "
                     r"modellens anslag", r.stdout), r.stdout


def _spans(db: str) -> dict[str, list[tuple[float, float]]]:
    """Each session's (start, end) as the store dates it: the start, and the latest of its
    end, its last sample and its last event on the wall clock."""
    import sqlite3

    db_ = sqlite3.connect(db)
    try:
        out: dict[str, list[tuple[float, float]]] = {}
        for who, start, ended, offset, sample, event in db_.execute(
                "SELECT pseudonym, started_unix_s, ended_unix_s, clock_offset_s, "
                "(SELECT MAX(t_s) FROM samples WHERE session_id = s.id), "
                "(SELECT MAX(t_s) FROM events WHERE session_id = s.id) FROM sessions s"):
            ends = [start, ended or start] + [offset + t for t in (sample, event)
                                              if t is not None and offset is not None]
            out.setdefault(who, []).append((start, max(ends)))
        rated = db_.execute("SELECT MAX(rated_unix_s) FROM ratings").fetchone()[0]
        if rated is not None:
            out["(ratings)"] = [(rated, rated)]
        return out
    finally:
        db_.close()


def _assert_by_then_and_apart(spans: dict[str, list[tuple[float, float]]],
                              ran_until: float) -> None:
    for who, got in spans.items():
        for _start, end in got:
            assert end <= ran_until, (who, end - ran_until)
        got = sorted(got)
        for (_s1, end1), (start2, _e2) in itertools.pairwise(got):
            assert end1 <= start2, (who, end1, start2)


def test_the_demo_dates_nothing_after_it_ran_and_no_session_overlaps(tmp_path):
    """The trial (20): two `demo --fast` on one store were both dated 16:00–16:40 when read
    at 16:01 — sessions of one patient overlapping, and dated after the demo ran. Months of
    history, instant sessions and a 6-minute test on one store: nothing ends after the last
    command ran, no two sessions of a patient overlap; a second history over a patient's own
    sessions is refused in words.

    The 6-minute test demo (``--plan pulstest``) is dated when it ran (issue 21, s6six: it
    was moved 23 min back, before the patient's session of a moment ago): it starts at the
    instant its command ran, its minutes on the simulated clock after, and overlaps none of
    the patient's sessions before it."""
    import time

    db = str(tmp_path / "s.db")
    for args in (("--weeks", "2", "--patient", "P-17"), ("--fast", "--patient", "P-18"),
                 ("--fast", "--patient", "P-18"), ("--fast", "--patient", "P-17")):
        r = _cli("demo", "--store", db, *args)
        assert r.returncode == 0, (args, r.stderr)
    ran_until = time.time()
    again = _cli("demo", "--store", db, "--weeks", "2", "--patient", "P-17")
    assert again.returncode == 2, again.stdout
    assert "P-17 har allerede økter" in again.stderr, again.stderr
    spans = _spans(db)
    assert len(spans["P-17"]) >= 3, spans  # the 6-minute test, 4x4s, the instant one
    assert len(spans["P-18"]) == 2, spans
    _assert_by_then_and_apart(spans, ran_until)
    began = time.time()
    r = _cli("demo", "--store", db, "--plan", "six-minute-test", "--patient", "P-18")
    assert r.returncode == 0, r.stderr
    after = _spans(db)["P-18"]
    (test,) = set(after) - set(spans["P-18"])
    assert began - 1 <= test[0] <= time.time(), (test[0] - began)
    _assert_by_then_and_apart({"P-18": after}, max(end for _s, end in after))


def test_the_console_demos_store_starts_a_session_at_the_wall_clock_and_ends_it_last(
        tmp_path):
    """The console demo's service records on a clock 10–30× the wall's. Issue 21 (the
    nurse's trial): dated back at its end, a session's start was now − its simulated length
    and a second session was moved before the first. The demo's store (the flag the demo sets
    on its writer's store) keeps the start at the wall clock's instant and ends a session at
    its last sample, so every sample lies inside its start..end; sessions in the order they
    began."""
    from controller.protocol import PatientProfile, Session, Setpoint

    store = Store(str(tmp_path / "s.db"))
    store.ends_at_last_instant = True
    wall = [1_800_000_000.0]
    store.clock = lambda: wall[0]
    profile = PatientProfile(hr_max=180, pseudonym="P-17")
    sim = 0.0
    for sid in ("A", "B"):
        plan = Session(profile).plan
        assert plan is not None
        store.begin_session(sid, profile, plan.to_dict())
        base = Setpoint(now_s=0.0, speed_kmh=5.0, incline_pct=1.0, phase="warmup",
                        interval=0, zone_low_bpm=None, zone_high_bpm=None, target_bpm=None,
                        state="running", phase_elapsed_s=0.0, phase_remaining_s=600.0,
                        hr_bpm=120.0, hr_status="ok")
        ticks = [(dataclasses.replace(base, now_s=sim + t), 5.0, 1.0) for t in range(2400)]
        store.record(sid, ticks[0][0], 5.0, 1.0)
        store.record_many(sid, ticks[1:])
        sim += 2400 * 1.0
        wall[0] += 2400 / 10  # 40 simulated minutes in 4 at 10×
        store.end_session(sid, "finished", None)
        wall[0] += 60  # staff choose the next patient
    store.close()
    spans = _spans(str(tmp_path / "s.db"))["P-17"]
    assert [s for s, _e in spans] == [1_800_000_000.0, 1_800_000_000.0 + 300], spans
    assert all(e - s >= 2399 for s, e in spans), spans  # simulated minutes past the wall
    db = Store(str(tmp_path / "s.db"), readonly=True)
    try:
        for r in db.sessions("P-17"):
            assert r.ended_unix_s == db.span(r.id)[1], r
    finally:
        db.close()


@pytest.fixture(scope="module")
def one_patient(tmp_path_factory) -> str:
    """A store with one patient's weeks of training (the demo's history) and, the day
    after the last, a 4x4 quit after 2 minutes of the warm-up."""
    from controller.protocol import PatientProfile, Session, Setpoint

    db = str(tmp_path_factory.mktemp("one") / "s.db")
    r = _cli("demo", "--weeks", "4", "--store", db, "--patient", "P-17")
    assert r.returncode == 0, r.stderr
    store = Store(db)
    last = max(s.started_unix_s for s in store.sessions("P-17"))
    store.clock = lambda: last + 86400.0
    profile = PatientProfile(hr_max=180, pseudonym="P-17")
    plan = Session(profile).plan
    assert plan is not None
    store.begin_session("QUIT", profile, plan.to_dict())
    base = Setpoint(now_s=0.0, speed_kmh=4.0, incline_pct=1.0, phase="warmup", interval=0,
                    zone_low_bpm=None, zone_high_bpm=None, target_bpm=None, state="running",
                    phase_elapsed_s=0.0, phase_remaining_s=600.0, hr_bpm=100.0,
                    hr_status="ok")
    ticks = [(dataclasses.replace(base, now_s=float(t)), 4.0, 1.0) for t in range(120)]
    store.record("QUIT", ticks[0][0], 4.0, 1.0)
    store.record_many("QUIT", ticks[1:])
    store.end_session("QUIT", "stopped", None, "staff")
    store.close()
    return db


def test_the_outcome_of_one_patient_says_why_chart_and_export_are_empty(one_patient,
                                                                         tmp_path):
    """The trial (25): `outcome` with one patient drew an empty chart and wrote an empty
    anonymised CSV, no word why; "klinikkens 2" read as cut off. The chart says it needs
    more patients, the anonymised export is not written and the output says why (groups of
    at least 5, the threat model), the target is said whole."""
    pdf, anon = tmp_path / "o.pdf", tmp_path / "anon.csv"
    r = _cli("outcome", "--store", one_patient, "--from", "01.01.2000", "--to",
             "31.12.2099", "--out", str(pdf), "--anonymised", str(anon))
    said = " ".join((r.stdout + r.stderr).split())  # as read, wrapped at 80 columns
    assert "klinikkens 2." not in said, said
    assert "klinikkens mål på 2 økter per uke" in said, said
    assert not anon.exists(), anon.read_text()
    assert re.search(r"anonymiserte uttrekket trenger minst 5 pasienter", said), said
    assert r.returncode == 0, said  # the rule held: a success (test_records_trial21b)
    chart = " ".join(_pdf_text(pdf).split())
    assert "Diagrammet trenger minst 3 pasienter med to målte økter (her: 1)" in chart, chart


def test_a_session_quit_in_the_warm_up_is_not_counted_as_an_okt(one_patient):
    """The trial (25): a 4x4 quit after 2 minutes counted as an økt in the outcome's
    attendance. The rule, one for register, progression and outcome: an økt counts when at
    least one interval ran; it is said where the counts are."""
    store = Store(one_patient, readonly=True)
    counted = [s.id for s in store.sessions("P-17") if s.plan_name == "4x4"
               and s.id != "QUIT"]
    store.close()
    out = _cli("outcome", "--store", one_patient, "--from", "01.01.2000", "--to",
               "31.12.2099")
    assert out.returncode == 0, out.stderr
    assert f"1 pasient, {len(counted)} økter med 4x4" in out.stdout, out.stdout
    assert "kom til første intervall" in out.stdout, out.stdout
    prog = _cli("progression", "--store", one_patient, "--pseudonym", "P-17", "--json")
    import json

    doc = json.loads(prog.stdout)
    assert len(doc["sessions"]) == len(counted), prog.stdout
    listed = _cli("patients", "--store", one_patient)
    row = next(ln for ln in listed.stdout.splitlines() if ln.startswith("P-17"))
    assert f"  {len(counted)}  " in row, listed.stdout
    assert "kom til første intervall" in listed.stdout, listed.stdout
    pdf = Path(one_patient).with_name("h.pdf")
    handed = _cli("handover", "P-17", "--store", one_patient, "--out", str(pdf))
    assert handed.returncode == 0, handed.stderr
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert re.search(rf"Økter: {len(counted)}\b", text), text


def test_the_headless_demo_on_the_emulated_firmware_dates_its_sessions_when_they_ran(
        tmp_path):
    """The demo's service on the emulated firmware (the console demo's, here without a
    console) at 30× the wall: two sessions one after the other on one store, as a nurse
    runs the demo twice. Each starts at the wall clock's instant it began (issue 21: dated
    back at its end, it started now − its simulated length), its samples follow at the
    simulated pace and it ends at the last of them; the two in the order they ran."""
    import asyncio
    import time

    from controller.app.demo import run_demo
    from controller.service.config import load
    from tests.test_runtime import BRIEF

    db = tmp_path / "s.db"
    cfg = dataclasses.replace(load(None), plan=BRIEF)
    ran = []
    for seed in (2, 3):
        before = time.time()
        asyncio.run(run_demo(cfg, speedup=30, seed=seed, category="typical", use_mqtt=False,
                             store_path=str(db)))
        ran.append((before, time.time()))
    spans = _spans(str(db))
    (who,) = [k for k in spans if not k.startswith("(")]
    assert len(spans[who]) == 2, spans
    assert all(end - start >= 200 for start, end in spans[who]), spans  # simulated minutes
    for (start, _end), (before, after) in zip(sorted(spans[who]), ran, strict=True):
        assert before <= start <= after, (start - before, after - start)
    store = Store(str(db), readonly=True)
    try:
        for r in store.sessions(who):
            assert r.ended_unix_s == store.span(r.id)[1], r
    finally:
        store.close()


def test_staff_register_the_age_on_the_command_line_and_the_list_shows_it(tmp_path):
    """With the age in the list, `patient` takes it too (`--age`, years; refused outside
    10–100 in staff's words, as the console's form does)."""
    db = str(tmp_path / "s.db")
    r = _cli("patient", "--store", db, "P-17", "--hr-max", "171", "--hr-max-source",
             "measured", "--age", "52")
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in _cli("patients", "--store", db).stdout.splitlines()
               if ln.startswith("P-17"))
    assert row.split()[1] == "52", row
    bad = _cli("patient", "--store", db, "P-17", "--age", "7")
    assert bad.returncode != 0 and "Alderen" in bad.stderr, bad.stderr
    assert "--age ÅR" in _cli("patient", "--help").stdout
