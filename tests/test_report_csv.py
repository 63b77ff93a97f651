"""Issue 21 (new-nurse trial): the session's CSV (what `w` writes beside the PDF, and
`fourbyfour export --format csv`) had English headers and raw keys as values (warmup,
running, no_reading) in a bokmål clinic. The CSV is for people (a spreadsheet): in bokmål
its headers and phase/state/heart-rate words come from the catalog, with a decimal comma
and semicolons as a Norwegian spreadsheet expects. The JSON export is the machine form
(it imports back, session_import) and stays as it is."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from controller.core import i18n
from controller.records import jobs
from controller.records.store import Store

ENGLISH_KEYS = {"warmup", "interval", "recovery", "cooldown", "running", "paused", "done",
                "ok", "no_reading", "hr_hold", "frozen", "out_of_range"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=180)


def _a_recorded_session(tmp_path) -> tuple[str, str]:
    db = tmp_path / "s.db"
    r = _cli("demo", "--fast", "--store", str(db), "--patient", "P-17")
    assert r.returncode == 0, r.stderr
    st = Store(db, readonly=True)
    (rec,) = st.sessions("P-17")
    st.close()
    return str(db), rec.id


def _read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f, delimiter=";"))


def _check_bokmal(rows: list[list[str]]) -> None:
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Tid (s)", "Klokkeslett", "Del", "Intervall", "Tilstand"], header
    assert "Puls (slag/min)" in header and "Fart (km/t)" in header, header
    assert not {"t_s", "phase", "state", "hr_bpm", "speed_kmh"} & set(header), header
    values = {c for row in body for c in row}
    assert not ENGLISH_KEYS & values, sorted(ENGLISH_KEYS & values)
    phases = [row[2] for row in body]
    assert phases[0] == "oppvarming" and "aktiv pause" in phases, sorted(set(phases))
    assert "godtatt" in {row[header.index("Pulsmåling")] for row in body}
    speed = header.index("Fart (km/t)")
    assert any("," in row[speed] for row in body) and not any("." in row[speed]
                                                                for row in body)


def test_the_session_csv_of_a_bokmal_clinic_is_in_bokmal(tmp_path):
    db, sid = _a_recorded_session(tmp_path)
    out = tmp_path / "s.csv"
    r = _cli("export", "--store", db, "--session", sid, "--format", "csv", "--out", str(out),
             "--lang", "nb")
    assert r.returncode == 0, r.stderr
    _check_bokmal(_read(out))
    # the `w` key's job in the service's worker (the service's language: bokmål)
    try:
        files = jobs.export_last(db, "P-17", "nb")
    finally:
        i18n.set_language("en")  # the job sets its (worker) process's language
    _check_bokmal(_read(next(f for f in files if f.endswith(".csv"))))
    # the machine form (IT's: `export --format json`) stays machine-readable, imports back
    js = tmp_path / "s.json"
    assert _cli("export", "--store", db, "--session", sid, "--format", "json", "--out",
                str(js)).returncode == 0
    doc = json.loads(js.read_text())
    assert doc["samples"][0]["phase"] == "warmup"
    assert _cli("import", "--store", str(tmp_path / "other.db"), str(js)).returncode == 0


def test_the_session_csv_in_english_keeps_its_columns(tmp_path):
    """English is the source language: the CSV keeps its columns and keys, as before."""
    db, sid = _a_recorded_session(tmp_path)
    out = tmp_path / "s.csv"
    r = _cli("export", "--store", db, "--session", sid, "--format", "csv", "--out", str(out),
             "--lang", "en")
    assert r.returncode == 0, r.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["phase"] == "warmup" and rows[0]["t_s"] == "0.0", rows[0]
