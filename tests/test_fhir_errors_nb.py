"""`fourbyfour fhir` printed its errors in English in a bokmål process
(«error: session S-empty has no samples to report», «error: no patient 'P-9' in …»): it kept
the whole process English to keep the bundle's text English. Every error line it prints now
speaks the chosen language (the nb catalogue's words), while the bundle stays as it was:
English display strings and codes, the same document in either language. The CLI as a
subprocess on a store recorded by the production code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.core.i18n import translations
from controller.protocol import PatientProfile
from controller.records.register import PatientRecord, Register
from controller.records.store import Store
from tests.records_rig import cli
from tests.test_report import record_sim

NB = translations("nb").gettext


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """P-1 in the register with one recorded session (S1) and one that never got a sample
    (S-empty: stopped before the belt ran)."""
    path = tmp_path_factory.mktemp("fhir") / "s.db"
    store = Store(path)
    Register(store).save(PatientRecord("P-1", 180.0, "measured"))
    record_sim(store, "S1", 30, 1.7e9)
    store.begin_session("S-empty", PatientProfile(hr_max=180, pseudonym="P-1"), {})
    store.end_session("S-empty", "stopped", None)
    store.close()
    return path


def _error_line(r, lang: str = "nb") -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _feil(reason: str) -> str:
    return NB("error: {reason}").format(reason=reason)


def test_an_unknown_session_is_said_in_bokmal(db, tmp_path):
    r = cli("fhir", "--øktlager", str(db), "--økt", "NOPE", "--ut", str(tmp_path / "o.json"))
    assert _error_line(r) == _feil(NB("{path}: no session {id}").format(path=db, id="NOPE"))
    assert _error_line(r) == f"feil: {db}: ingen økt NOPE"
    assert not (tmp_path / "o.json").exists()


def test_a_session_without_samples_is_said_in_bokmal(db, tmp_path):
    r = cli("fhir", "--øktlager", str(db), "--økt", "S-empty", "--ut",
            str(tmp_path / "o.json"))
    assert _error_line(r) == _feil(NB("{path}: session {id} has no recorded samples").format(
        path=db, id="S-empty")), r.stderr
    assert "økt S-empty har ingen registrerte målinger" in r.stderr


def test_an_unknown_pseudonym_for_the_makspuls_bundle_is_said_in_bokmal(db, tmp_path):
    r = cli("fhir", "--øktlager", str(db), "--makspuls", "P-9", "--ut",
            str(tmp_path / "o.json"))
    assert _error_line(r) == _feil(NB("{pseudonym} is not in the register ({path})").format(
        pseudonym="P-9", path=db)), r.stderr


def test_a_name_for_a_pseudonym_is_refused_in_bokmal(db, tmp_path):
    r = cli("fhir", "--øktlager", str(db), "--makspuls", "Kari Nordmann", "--ut",
            str(tmp_path / "o.json"))
    why = NB("A pseudonym is the clinic's code: 1–4 capital letters, a hyphen and 1–6 digits "
             "(P-17, OUS-0042), never a name or a date.")
    assert _error_line(r) == _feil(f"pseudonym: {why}"), r.stderr


def test_neither_a_session_nor_a_patient_is_said_in_bokmal(db, tmp_path):
    r = cli("fhir", "--øktlager", str(db), "--ut", str(tmp_path / "o.json"))
    assert _error_line(r) == "feil: oppgi --økt ID eller --makspuls PSEUDONYM", r.stderr


def test_a_store_that_does_not_exist_is_said_in_bokmal(tmp_path):
    nope = tmp_path / "nope.db"
    r = cli("fhir", "--øktlager", str(nope), "--økt", "S1", "--ut", str(tmp_path / "o.json"))
    assert _error_line(r) == _feil(NB("{path}: no such session store").format(path=nope))


def test_the_errors_are_english_with_lang_en(db, tmp_path):
    r = cli("fhir", "--store", str(db), "--session", "S-empty", "--out",
            str(tmp_path / "o.json"), lang="en")
    assert _error_line(r) == f"error: {db}: session S-empty has no recorded samples"
    r = cli("fhir", "--store", str(db), "--hrmax", "P-9", "--out", str(tmp_path / "o.json"),
            lang="en")
    assert _error_line(r) == f"error: P-9 is not in the register ({db})"


def _bundle(path: Path) -> str:
    """The bundle as text, its random ids and its timestamp taken out."""
    doc = json.loads(path.read_text())
    doc["id"], doc["timestamp"] = "-", "-"
    for e in doc["entry"]:
        e["fullUrl"], e["resource"]["id"] = "-", "-"
    return json.dumps(doc, sort_keys=True)


@pytest.mark.parametrize("what", [["--økt", "S1"], ["--makspuls", "P-1"]])
def test_the_bundle_is_the_same_english_document_in_a_bokmal_process(db, tmp_path, what):
    for lang in ("nb", "en"):
        r = cli("fhir", "--øktlager", str(db), *what, "--ut", str(tmp_path / f"{lang}.json"),
                lang=lang)
        assert r.returncode == 0, r.stderr
    nb, en = _bundle(tmp_path / "nb.json"), _bundle(tmp_path / "en.json")
    assert nb == en
    assert "Heart rate" in nb or "Individual maximum heart rate" in nb
    assert "Makspuls" not in nb and "slag/min" not in nb and "puls" not in nb.lower()


def test_lang_nb_chooses_bokmal_in_an_english_shell(db, tmp_path):
    """`--språk nb` (`--lang nb`) over FOURBYFOUR_LANG=en, as the other records commands."""
    r = cli("fhir", "--store", str(db), "--session", "NOPE", "--out", str(tmp_path / "o.json"),
            "--språk", "nb", lang="en")
    assert _error_line(r) == f"feil: {db}: ingen økt NOPE"
