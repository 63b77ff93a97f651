"""Issue 21/23 (c3rec), the bokmål trial: P-23's register said makspuls 185 («pulstest,
endret», decided by staff on a 6-minute test), yet `overlevering P-23` printed «Makspuls 190
slag/min; kilde: 6-minutters pulstest» and zones from 190 (the last session's profile), and
the test's report said «Makspuls 190 …» in its body under a header with 185, without saying
190 was the one used during the test. And a file named into a folder that does not exist
(`--ut /root/nope/x.pdf`) gave a Python traceback. The CLI runs as a subprocess on a store
recorded by the production code; PDFs are read with pdftotext."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from controller.app.simdemo import run_session, run_six_minute_test
from controller.records.register import Register
from controller.records.store import Store
from controller.sim import PatientParams, VirtualPatient, make_patient
from tests.records_rig import cli as _cli
from tests.records_rig import pdf_text

START_UNIX_S = 1_780_000_000.0  # 28.05.2026 in Oslo


def _pdf_text(path: Path) -> str:
    return " ".join(pdf_text(path).split())


@pytest.fixture(scope="module")
def p23(tmp_path_factory) -> tuple[str, str]:
    """P-23: a 4x4 at makspuls 190 (from an earlier pulstest), then a 6-minute test at 190
    whose proposal staff edited to 185: the register now says 185, «pulstest, endret»."""
    db = str(tmp_path_factory.mktemp("p23") / "s.db")
    store = Store(db)
    truth, profile = make_patient(random.Random(3), "typical", 3)
    profile = dataclasses.replace(profile, pseudonym="P-23", hr_max=190,
                                  hr_max_source="six_minute_test")
    run_session(VirtualPatient(truth), profile, store=store, start_unix_s=START_UNIX_S,
                trace=False)
    test = run_six_minute_test(
        VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=26, seed=4)),
        profile, store=store, start_unix_s=START_UNIX_S + 2 * 86_400, accept=False)
    Register(store).decide_hrmax("P-23", "edited", 185, "six_minute_test_edited",
                                 {"proposed_bpm": 190}, test.session_id)
    rec = Register(store).require("P-23")
    store.close()
    assert (rec.hr_max_bpm, rec.hr_max_source) == (185, "six_minute_test_edited"), rec
    return db, test.session_id


def test_the_hand_over_uses_the_registers_makspuls_source_and_date(p23, tmp_path):
    """The zones the municipality trains by come from the makspuls staff decided: 185,
    «pulstest, endret», with the day it was set; none from 190."""
    db, _sid = p23
    pdf = tmp_path / "o.pdf"
    r = _cli("overlevering", "P-23", "--øktlager", db, "--ut", str(pdf))
    assert r.returncode == 0, r.stderr
    text = _pdf_text(pdf)
    store = Store(db, readonly=True)
    day = Register(store).require("P-23").hr_max_date
    store.close()
    assert day is not None
    dd = ".".join(reversed(day.split("-")))
    assert f"Makspuls 185 slag/min; kilde: pulstest, endret; satt {dd}" in text, text
    # 85–95 % of 185: 157–176 (from 190 it said 162–181)
    assert "intervaller (4 × 4 min): 157–176 slag/min" in text, text
    assert "190" not in text, text


def test_the_tests_report_says_its_body_makspuls_was_the_one_before_the_test(p23, tmp_path):
    """Under a header with the makspuls decided (185, pulstest, endret), the body's 190 is
    said to be the one used during the test."""
    db, sid = p23
    pdf = tmp_path / "t.pdf"
    r = _cli("rapport", "--øktlager", db, "--økt", sid, "--ut", str(pdf))
    assert r.returncode == 0, r.stderr
    text = _pdf_text(pdf)
    assert "makspuls 185 slag/min (pulstest, endret)" in text, text
    assert "Makspuls før testen: 190 slag/min (6-minutters pulstest)" in text, text
    assert "Makspuls 190 slag/min, kilde" not in text, text


def _commands(db: str, sid: str, out: Path) -> dict[str, list[str]]:
    """Every command that writes a file the user names, with ``out`` as that file."""
    return {
        "rapport": ["rapport", "P-23", "--øktlager", db, "--ut", f"{out}.pdf"],
        "overlevering": ["overlevering", "P-23", "--øktlager", db, "--ut", f"{out}.pdf"],
        "eksport": ["eksport", "--øktlager", db, "--økt", sid, "--ut", f"{out}.csv"],
        "fhir": ["fhir", "--øktlager", db, "--økt", sid, "--ut", f"{out}.json"],
        "fremgang --csv": ["fremgang", "P-23", "--øktlager", db, "--csv", f"{out}.csv"],
        "fremgang --ut": ["fremgang", "P-23", "--øktlager", db, "--ut", f"{out}.png"],
        "resultat --csv": ["resultat", "--øktlager", db, "--fra", "01.05.2026", "--til",
                           "30.06.2026", "--csv", f"{out}.csv"],
        "resultat --ut": ["resultat", "--øktlager", db, "--fra", "01.05.2026", "--til",
                          "30.06.2026", "--ut", f"{out}.pdf"],
    }


COMMANDS = list(_commands("", "", Path("x")))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_into_a_folder_that_does_not_exist_is_one_clear_line(p23, tmp_path, command):
    """The trial: `rapport P-23 … --ut /root/nope/x.pdf` ended in a Python traceback
    (FileNotFoundError). Refused in bokmål, exit non-zero, nothing written."""
    db, sid = p23
    nope = tmp_path / "nope"
    r = _cli(*_commands(db, sid, nope / "x")[command])
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [f"feil: mappen {nope} finnes ikke"], r.stderr
    assert not nope.exists()


@pytest.mark.parametrize("command", ["rapport", "overlevering", "fremgang --csv"])
def test_a_file_under_a_file_is_refused_and_the_file_left_alone(p23, tmp_path, command):
    """A path through a file (``notes.txt/x.pdf``): said, and the file is left as it was."""
    db, sid = p23
    plain = tmp_path / "notater.txt"
    plain.write_text("uendret")
    r = _cli(*_commands(db, sid, plain / "x")[command])
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [f"feil: {plain} er ikke en mappe"], r.stderr
    assert plain.read_text() == "uendret"


@pytest.mark.parametrize("command", ["rapport", "overlevering"])
def test_the_refusal_is_in_english_with_lang_en(p23, tmp_path, command):
    """The CLI's language: English when asked."""
    db, sid = p23
    nope = tmp_path / "nope"
    r = _cli(*_commands(db, sid, nope / "x")[command], lang="en")
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [f"error: the folder {nope} does not exist"], \
        r.stderr
