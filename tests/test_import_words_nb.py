"""`fourbyfour import` refused in English inside a bokmål line
(«feil: bad.json: schema: not a fourbyfour.session-export/1 file; nothing imported»). The
frame is bokmål («linje N», «ingenting er importert») and so are the reasons staff meet: not
a session export, already imported, the same session under another id, nested too deeply, a
value out of range, the formula rule; the field's path stays as the file names it. The CLI as
a subprocess in bokmål; the export written by the exporter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.records_rig import cli
from tests.test_import_formula_rule import _export, _held

ENGLISH = re.compile(r"\b(nothing|imported|line|must|not|already|session|got|file|nested|"
                     r"export|deeply|register|then|HRmax|bpm|formula)\b")
"""English words of the old refusals (the field's path, e.g. ``session.profile.hr_max``,
is taken out before this is matched: it names the file's field)."""


def _refusal(r, file: Path) -> str:
    """The one bokmål refusal line, its file and field paths taken out."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    line = lines[0]
    assert line.startswith(f"feil: {file}: "), line
    assert line.endswith("; ingenting er importert"), line
    said = line.removeprefix(f"feil: {file}: ").replace("fourbyfour.session-export/1", "SCHEMA")
    said = re.sub(r"\b(session|samples|events|schema)(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*",
                  "FIELD", said)
    assert not ENGLISH.search(said), line
    return line


@pytest.fixture
def exported(tmp_path) -> Path:
    return _export(tmp_path, 173)


def test_not_a_session_export(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = cli("import", str(bad), "--øktlager", str(tmp_path / "s.db"))
    line = _refusal(r, bad)
    # trial 11: «schema: ikke en økteksport (fourbyfour.session-export/1)»: an English field
    # name and a raw code for a file that has neither; the file is not an export, said so
    assert line == f"feil: {bad}: ikke en økteksport fra fourbyfour; ingenting er importert"
    for empty in ("{}", "[]"):
        bad.write_text(empty)
        line = _refusal(cli("import", str(bad), "--øktlager", str(tmp_path / "s.db")), bad)
        assert line == f"feil: {bad}: ikke en økteksport fra fourbyfour; ingenting er " \
                       "importert", line


def test_not_json_and_no_such_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ikke json")
    line = _refusal(cli("import", str(bad), "--øktlager", str(tmp_path / "s.db")), bad)
    assert "ikke en økteksport (ikke JSON på linje 1, kolonne 2)" in line, line
    nope = tmp_path / "nope.json"
    line = _refusal(cli("import", str(nope), "--øktlager", str(tmp_path / "s.db")), nope)
    assert "ikke en økteksport (filen finnes ikke)" in line, line


def test_nested_too_deeply(tmp_path, exported):
    deep = tmp_path / "deep.json"
    deep.write_text(exported.read_text().replace(
        '"summary": ', '"summary": ' + "[" * 100_000 + "]" * 100_000 + ', "x": ', 1))
    line = _refusal(cli("import", str(deep), "--øktlager", str(tmp_path / "s.db")), deep)
    assert "ikke en økteksport (nøstet for dypt)" in line, line


def test_a_value_out_of_range_names_its_line_and_field(tmp_path, exported):
    doc = json.loads(exported.read_text())
    doc["samples"][700]["hr_bpm"] = 5000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, indent=1))
    line = _refusal(cli("import", str(bad), "--øktlager", str(tmp_path / "s.db")), bad)
    n = int(re.search(r"linje (\d+): samples\[700\]\.hr_bpm: må være 30–250, fikk 5000;",
                      line).group(1))
    assert '"hr_bpm": 5000' in bad.read_text().splitlines()[n - 1]
    assert _held(tmp_path / "s.db") == ([], [])


def test_already_imported_and_the_same_session_under_another_id(tmp_path, exported):
    db = tmp_path / "s.db"
    assert cli("import", str(exported), "--øktlager", str(db)).returncode == 0
    line = _refusal(cli("import", str(exported), "--øktlager", str(db)), exported)
    assert line == f"feil: {exported}: økt S-60 er allerede i {db}; ingenting er importert"
    doc = json.loads(exported.read_text())
    doc["session"]["id"] = "S-60-kopi"
    for row in doc["samples"] + doc["events"]:
        row["session_id"] = "S-60-kopi"
    copy = tmp_path / "kopi.json"
    copy.write_text(json.dumps(doc))
    line = _refusal(cli("import", str(copy), "--øktlager", str(db)), copy)
    assert line == f"feil: {copy}: denne økten til P-60 er allerede i {db} som økt S-60; " \
                   "ingenting er importert"
    assert _held(db)[0] == ["S-60"]


def test_the_formula_refusal_is_bokmal_whole(tmp_path):
    refused = _export(tmp_path, 165)
    line = _refusal(cli("import", str(refused), "--øktlager", str(tmp_path / "s.db")), refused)
    assert re.search(r": linje \d+: session\.profile\.hr_max: makspuls 165 slag/min er ikke "
                     r"aldersformelens 173 ved alder 60 \(kilde nes\): ", line), line
    assert "fourbyfour pasient" in line


def test_english_with_lang_en(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = cli("import", str(bad), "--store", str(tmp_path / "s.db"), "--lang", "en")
    assert r.stderr.strip() == f"error: {bad}: not a session export of fourbyfour; nothing " \
                               "imported"
