"""Issue 21 (s6rec), the bokmål new-nurse trial from a fresh clone, the words of the records:
an interval extended and then skipped, a pause's length, minutes written as people read them
(«1 min 6 s», never «1,1 min»), the hand-over's count of sessions and its title's word, and
the session ``demo --fast`` recorded named as staff know it. The CLI runs as a subprocess on
a real store recorded by the production code; the PDF is read through pdftotext."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import pytest

from controller.app.simdemo import run_session
from controller.records.store import Store
from controller.sim import VirtualPatient, make_patient
from tests.records_rig import cli as _cli
from tests.records_rig import pdf_text as _pdf_text
from tests.test_response_records import learned  # noqa: F401 (a fixture)

START_UNIX_S = 1_780_000_000.0  # 28.05.2026, 22:26 in Oslo




@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> tuple[str, str]:
    """P-17's 4x4 as the trial ran it: interval 1 extended with `e` (+1 min) and then
    skipped, interval 2 paused for 66 s and resumed, the session stopped by staff in the
    second active pause."""
    db = str(tmp_path_factory.mktemp("trial") / "s.db")
    store = Store(db)
    truth, profile = make_patient(random.Random(3), "typical", 3)

    def on_tick(session, sp, t):  # type: ignore[no-untyped-def]
        if t == 620.0:
            session.extend(60.0)
        elif t == 700.0:
            session.skip()
        elif t == 1000.0:
            session.pause()
        elif t == 1066.0:
            session.resume()
        elif t == 1300.0:
            session.stop()

    sid, _rows, _s = run_session(VirtualPatient(truth),
                                 dataclasses.replace(profile, pseudonym="P-17"), store=store,
                                 start_unix_s=START_UNIX_S, on_tick=on_tick, trace=False)
    store.close()
    return db, sid


def _report(trial, tmp_path: Path) -> str:
    db, sid = trial
    pdf = tmp_path / "r.pdf"
    r = _cli("rapport", "--øktlager", db, "--økt", sid, "--ut", str(pdf))
    assert r.returncode == 0, r.stderr
    return _pdf_text(pdf)


def _row(text: str, part: str) -> str:
    """The phase table's remark («Merknad») for ``part``, with the lines its cell wrapped
    onto (up to the blank line under the row, or the next row), read by column."""
    lines = text.splitlines()
    (head,) = [ln for ln in lines if "Merknad" in ln and "Til sonen" in ln]
    left, right = head.index("Merknad") - 1, head.index("Til sonen") - 1
    (i,) = [k for k, ln in enumerate(lines) if ln.strip().startswith(part)]
    row = [lines[i]]
    for ln in lines[i + 1:]:
        if not ln.strip() or re.match(r"\s*(oppvarming|intervall|aktiv pause|nedkjøling)",
                                      ln):
            break
        row.append(ln)
    return " ".join(" ".join(ln[left:right] for ln in row).split())


# 1. An interval extended and then skipped says both


def test_an_interval_extended_then_skipped_says_both_in_the_report(trial, tmp_path):
    """The trial: interval 1, extended with `e` and then skipped, said only «hoppet over»:
    the extension was lost from the record staff read."""
    row = _row(_report(trial, tmp_path), "intervall 1")
    assert "forlenget med 1 min" in row and "hoppet over" in row, row


# 2. Durations as people read them: «1 min 6 s», never «1,1 min»


def test_a_pause_in_an_interval_is_said_in_minutes_and_seconds(trial, tmp_path):
    """The trial: «avbrutt, satt på pause 1,1 min» beside «4 min 7 s» elsewhere."""
    text = _report(trial, tmp_path)
    row = _row(text, "intervall 2")
    assert "satt på pause i 1 min 6 s" in row, row
    assert not re.search(r"\d,\d min", text), text


def test_the_progression_says_the_time_in_the_zone_as_the_report_does(trial, tmp_path):
    """The trial: `fremgang` said «4,1» under «Min i sonen»; the report says the same time
    «4 min 7 s». Its column says the time as the report does."""
    db, _sid = trial
    r = _cli("fremgang", "--øktlager", db, "--pseudonym", "P-17")
    assert r.returncode == 0, r.stderr
    report = " ".join(_report(trial, tmp_path).split())
    said = re.search(r"Tid i sonen \(85–95 % av makspuls\) i intervallene: (\d+ min \d+ s)",
                     report)
    assert said, report
    lines = r.stdout.splitlines()
    head, row = lines[-3], lines[-1]  # the headings' names, their units, the one session
    assert "Tid i sonen" in head and "Min i sonen" not in head, r.stdout
    assert row.endswith(said.group(1)), (row, said.group(1))


# 3. and 4. The hand-over: its count of sessions said kindly, one word for itself


def _handover(trial, tmp_path: Path) -> str:
    db, _sid = trial
    pdf = tmp_path / "h.pdf"
    r = _cli("overlevering", "P-17", "--øktlager", db, "--ut", str(pdf))
    assert r.returncode == 0, r.stderr
    return " ".join(_pdf_text(pdf).split())


def test_the_handover_counts_sessions_without_a_shortfall(trial, tmp_path):
    """The trial: «Økter gjennomført: 1, av dem 0 fullført helt ut» read as a shortfall to
    staff and patient. The numbers stay: one session, ended before its plan's end."""
    text = _handover(trial, tmp_path)
    assert "fullført helt ut" not in text and "av dem 0" not in text, text[:600]
    assert "Økter: 1 (1 avsluttet før planen var ferdig)" in text, text[:600]


def test_the_handover_calls_itself_what_the_command_calls_it(trial, tmp_path):
    """The trial: the title said «overføring», the command `overlevering`."""
    text = _handover(trial, tmp_path)
    assert "overføring" not in text, text[:300]
    assert text.startswith("4x4-trening: overlevering til oppfølging"), text[:300]


# 6. `demo --fast` names the session it recorded as staff know it


def test_demo_fast_names_its_session_by_patient_day_and_clock(tmp_path):
    """The trial: «Lagret som økt 3f9c0a1b2c4d i …», a hex id staff never meet. The headless
    demo names a session by patient, day and clock; the line also says how to open its
    report."""
    import sqlite3
    from zoneinfo import ZoneInfo

    db = tmp_path / "d.db"
    r = _cli("demo", "--straks", "--øktlager", str(db), "--pasient", "P-17")
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    ((sid, started),) = con.execute("SELECT id, started_unix_s FROM sessions").fetchall()
    con.close()
    import datetime as dt

    when = dt.datetime.fromtimestamp(started, ZoneInfo("Europe/Oslo"))
    (line,) = [ln for ln in r.stdout.splitlines() if ln.startswith("Lagret")]
    assert line.startswith(f"Lagret: økten for P-17 {when:%d.%m.%Y} kl. {when:%H:%M}"), line
    assert f"Lagret som økt {sid}" not in r.stdout, r.stdout[-500:]
    (how,) = [ln for ln in r.stdout.splitlines() if ln.startswith("Rapporten: ")]
    command = how.split(": ", 1)[1].split()
    assert command[:6] == ["fourbyfour", "rapport", "--øktlager", str(db), "--økt", sid], how
    assert command[6:] == ["--ut", f"P-17_{when:%Y-%m-%d_%H-%M}_4x4.pdf"], how
    out = tmp_path / command[7]
    opened = _cli(*command[1:6], "--ut", str(out))  # as typed, the file written elsewhere
    assert opened.returncode == 0 and out.stat().st_size > 10_000, opened.stderr


def test_the_learned_response_says_its_time_in_minutes_and_seconds(learned):  # noqa: F811
    """The same rule for the learned response `pasient` and the console's history show:
    «er framme etter ca. 1,5 min» was a decimal minute beside «4 min 7 s»."""
    from controller.core.i18n import set_language
    from controller.core.words import response_words

    _session, _trace, doc = learned
    model = {**doc, "dead_time_s": 9.0, "tau_s": 27.0}  # there after 90 s
    set_language("nb")
    try:
        words = response_words(model)
    finally:
        set_language("en")
    assert words.endswith("framme etter ca. 1 min 30 s"), words
    assert "after about 1 min 30 s" in response_words(model), response_words(model)
