"""A report printed while the session still runs (trial 13, a clinic leader reading the live
store): the part in progress said «avbrutt» and every later part «ikke gjennomført», as if
the session had been stopped. The part running now says «pågår», the parts to come
«gjenstår»; a stopped session keeps its words."""

from __future__ import annotations

import re
import subprocess
import sys

from controller.protocol import PatientProfile, Session
from controller.records import report
from controller.records.store import Store


def _record_into_interval_1(db, sid: str = "R1", ticks: int = 700) -> PatientProfile:
    """A 4x4 recorded tick by tick by the production Session and Store, 700 s in: the
    warm-up done, interval 1 running; not ended (the service is still recording it)."""
    profile = PatientProfile(hr_max=183, hr_rest=65, max_speed_kmh=7.0, pseudonym="P-41")
    session = Session(profile)
    store = Store(db)
    store.clock = lambda: 1.78e9
    store.begin_session(sid, profile, session.plan.to_dict())
    for k in range(ticks):
        sp = session.step(float(k), 150.0, 5.0, 6.0)
        store.record(sid, sp, 5.0, 6.0)
    assert sp.phase == "interval" and sp.interval == 1
    store.close()
    return profile


def _report_text(db, tmp_path) -> str:
    """The session report as staff print it (bokmål PDF), read back as text."""
    out = tmp_path / "r.pdf"
    done = subprocess.run([sys.executable, "-m", "controller", "rapport", "--store", str(db),
                           "--session", "R1", "--out", str(out), "--lang", "nb"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_report_of_a_running_session_says_what_runs_and_what_is_to_come(tmp_path):
    db = tmp_path / "live.db"
    _record_into_interval_1(db)
    store = Store(db)
    facts = report.session_facts(store, "R1")
    store.close()
    assert [(p.phase, p.note) for p in facts["phases"]] == [("warmup", ""),
                                                            ("interval", "in progress")]
    text = _report_text(db, tmp_path)
    assert "avbrutt" not in text and "ikke gjennomført" not in text, text
    assert re.search(r"intervall 1\s+4:00\s+\d+:\d\d\s+pågår", text), text
    # pause 1, intervals 2–4, pauses 2–3 and the cool-down to come
    assert text.count("gjenstår") == 7, text


def test_a_stopped_session_keeps_cut_short_and_not_done(tmp_path):
    db = tmp_path / "s.db"
    _record_into_interval_1(db)
    store = Store(db)
    store.end_session("R1", "stopped", None)
    facts = report.session_facts(store, "R1")
    store.close()
    assert [(p.phase, p.note) for p in facts["phases"]] == [("warmup", ""),
                                                            ("interval", "cut short")]
    text = _report_text(db, tmp_path)
    assert re.search(r"intervall 1\s+4:00\s+\d+:\d\d\s+avbrutt", text), text
    assert text.count("ikke gjennomført") == 7, text
    assert "pågår" not in text and "gjenstår" not in text, text
