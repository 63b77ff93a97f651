"""The journey from the command line: a 6-minute test, weeks of training, the register and
session lists, progression — all through the real CLI and a real store file."""

import csv
import subprocess
import sys

from controller.records.register import Register
from controller.records.store import Store


def cli(*args, ok=True):
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def test_fast_demo_records_into_the_store_it_is_given(tmp_path):
    db = tmp_path / "s.db"
    out = cli("demo", "--fast", "--store", str(db), "--patient", "P-4").stdout
    store = Store(db)
    (rec,) = store.sessions()
    assert rec.pseudonym == "P-4" and rec.status == "finished" and rec.id in out
    assert rec.clock_offset_s is not None and len(store.samples(rec.id)) > 2000
    assert Register(store).require("P-4").hr_max_bpm == rec.hr_max_bpm


def test_six_minute_test_end_to_end_gives_a_stored_hrmax(tmp_path):
    db = tmp_path / "s.db"
    out = cli("demo", "--plan", "six-minute-test", "--store", str(db), "--patient",
              "P-6", "--accept-hrmax",  # staff accept the proposal (issue 21: never unasked)
              "--lang", "en").stdout  # the demo speaks the config's (nb) by default
    assert "Borg rating at the end:" in out and "Proposed HRmax:" in out and "±" in out
    assert out.startswith("An instant simulation of the 6-minute test")  # not the treadmill
    store = Store(db)
    rec = Register(store).require("P-6")
    assert rec.hr_max_source == "six_minute_test" and rec.hr_max_date
    (sess,) = store.sessions("P-6")
    kinds = [e["kind"] for e in store.events(sess.id)]
    assert "adjust" in kinds and "borg" in kinds and "hrmax_decision" in kinds
    assert sess.plan_name == "6-minute test"
    listing = cli("patients", "--store", str(db), "--lang", "en").stdout
    assert "P-6" in listing and "6-minute test" in listing  # words, not the stored key
    assert "six_minute_test" not in listing
    from fhir.resources.R4B.bundle import Bundle

    cli("fhir", "--store", str(db), "--hrmax", "P-6", "--out", str(tmp_path / "h.json"))
    (entry,) = Bundle.model_validate_json((tmp_path / "h.json").read_text()).entry
    assert entry.resource.valueQuantity.value == rec.hr_max_bpm
    assert "uncertainty ±" in entry.resource.note[0].text
    cli("fhir", "--store", str(db), "--session", sess.id, "--out", str(tmp_path / "s.json"))
    Bundle.model_validate_json((tmp_path / "s.json").read_text())


def test_weeks_of_history_feed_sessions_and_progression(tmp_path):
    db = tmp_path / "h.db"
    cli("demo", "--fast", "--weeks", "3", "--patient", "P-17", "--store", str(db),
        "--seed", "4")
    said = cli("sessions", "--store", str(db), "P-17", "--lang", "en").stdout.splitlines()
    rule = next(i for i, line in enumerate(said) if line.startswith("Intervals in zone:"))
    lines = said[:rule + 1]  # the table, then the rule (wrapped at 80 columns under it)
    assert "6-minute test" in lines[1] and len(lines) >= 5
    assert all("4x4" in line for line in lines[2:-1])
    assert lines[-1].startswith("Intervals in zone: the zone reached within 2 min"), lines[-1]
    prog = cli("progression", "--lang", "en", "--store", str(db), "--pseudonym", "P-17", "--csv",
               str(tmp_path / "p.csv"), "--out", str(tmp_path / "p.png")).stdout
    prog = " ".join(prog.split())  # as read, whatever line a sentence is wrapped onto
    assert "per week (the clinic aims for 2)" in prog and "Theil" not in prog
    assert "from ≥ 3 sessions over ≥ 14 days" in prog, prog
    with open(tmp_path / "p.csv") as f:
        assert len(list(csv.DictReader(f))) == len(lines) - 3  # header, the test, the rule
    assert (tmp_path / "p.png").stat().st_size > 20_000


def test_pseudonyms_that_look_like_people_are_refused_on_the_command_line(tmp_path):
    db = tmp_path / "s.db"
    r = cli("patient", "--store", str(db), "KariNordmann_120348", "--hr-max", "180",
            "--hr-max-source", "tanaka", "--lang", "en", ok=False)
    assert r.returncode == 2 and "name" in r.stderr and "Traceback" not in r.stderr
    r = cli("demo", "--fast", "--patient", "Kari Nordmann, born 1948-03-12", ok=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    cli("patient", "--store", str(db), "P-8", "--hr-max", "181", "--hr-max-source", "measured",
        "--walk-only")
    assert "walk only" in cli("patients", "--store", str(db), "--lang", "en").stdout


def test_a_listing_piped_into_head_ends_quietly(tmp_path):
    """`fourbyfour sessions P | head -1` is what staff type; a closed pipe is not an error
    worth a traceback."""
    db = tmp_path / "s.db"
    cli("demo", "--fast", "--weeks", "2", "--patient", "P-8", "--store", str(db))
    for reader in ("head -1", "true"):  # `true` has closed the pipe before we write
        r = subprocess.run(f"{sys.executable} -m controller sessions P-8 --store {db} "
                           f"| {reader}", shell=True, capture_output=True, text=True,
                           timeout=120)
        assert r.stdout.count("\n") == (1 if reader.startswith("head") else 0)
        assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
