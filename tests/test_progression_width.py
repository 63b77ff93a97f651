"""The last round's leftover: `fourbyfour fremgang` printed its table 110 columns wide
(seven columns of 14) and its sentences up to 136, so an 80-column terminal broke every
row in two and the columns no longer stood under their headings; «Puls ved 15» did not say
15 what. The text fits 80 columns in both languages, each figure stands under its heading,
and the heading says its unit. The CLI as a subprocess on a store the demo recorded."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("p") / "s.db")
    r = _cli("demo", "--fast", "--weeks", "8", "--store", db, "--lang", "en")
    assert r.returncode == 0, r.stderr
    return db


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_progression_fits_80_columns_with_each_figure_under_its_heading(year, lang):
    r = _cli("progression", "--store", year, "--pseudonym", "DEMO-1", "--lang", lang)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    too_wide = [(len(line), line) for line in lines if len(line) > 80]
    assert not too_wide, too_wide
    date = r"\d\d\.\d\d\.\d{4}" if lang == "nb" else r"\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4}|\w+ \d"
    rows = [line for line in lines if re.match(rf"\s*({date})", line)]
    assert len(rows) >= 5, r.stdout
    first = lines.index(rows[0])
    heads = lines[first - 2:first]  # the heading's two lines: name, then unit
    said = " ".join(" ".join(heads).split())
    if lang == "nb":
        for name in ("Dato", "Oksygenopptak", "Fart", "km/t", "Stigning", "VO2maks", "Puls ved",
                     "15 ml/kg/min", "Tid", "i sonen"):
            assert name in said, (name, heads)
    else:
        for name in ("Date", "Work", "Speed", "km/h", "HR at", "15 ml/kg/min"):
            assert name in said, (name, heads)
    # right-aligned columns: every row's figures end where the heading's lines end
    ends = sorted({m.end() for h in heads for m in re.finditer(r"\S+", h)})
    for row in rows:
        for m in re.finditer(r"(?:\d+ min \d+ s|\d+ s|\S+)(?=\s{2,}|$)", row):
            assert m.end() in ends, (row, heads)
    # the sentences over the table are whole where read together
    text = " ".join(r.stdout.split())
    if lang == "nb":
        assert "Fart og stigning: båndet mens pulsen holdt 90 % av makspuls; ≈ modellens " \
               "anslag" in text, text


def test_the_outcome_and_its_note_fit_80_columns(year, tmp_path):
    """Trial 16: `resultat`'s sentences ran to 153 columns («Telling: …»), its note on the
    anonymised export to 230, and that note said «her er 1 pasienter». Each sentence is
    wrapped at 80, its lines after the first indented; the note counts in plain bokmål."""
    anon = tmp_path / "anon.csv"
    r = _cli("resultat", "--øktlager", year, "--fra", "01.01.2000", "--til", "31.12.2099",
             "--anonymisert", str(anon))
    assert r.returncode == 0, r.stderr
    lines = (r.stdout + r.stderr).splitlines()
    # (a file's path is one word: a long one stands on its own line, unbroken)
    assert not [line for line in lines if len(line) > 80 and str(anon) not in line], lines
    said = " ".join(r.stdout.split())
    assert "Frafall: 0 (regnet som frafall: ingen økt de siste 28 dagene" in said, said
    assert "Telling: en økt telles når 4x4-en kom til første intervall" in said, said
    note = " ".join(r.stderr.split())
    assert note.startswith("merk: det anonymiserte uttrekket trenger minst 5 pasienter"), note
    assert "her er 1 i mindre grupper" in note and "pasienter i mindre" not in note, note
    assert not anon.exists()
