"""Issue 21, a bokmål trial: ``fourbyfour pasient`` stored makspuls 165 as the Nes formula's
at age 60 (the formula gives 173); the patient form then loaded it but refused to save it
(«ikke aldersformelens 173»), so the nurse could not choose the patient as the register held
him. One rule everywhere: the command line refuses what the form refuses, in its language,
and what it takes the form saves unchanged. The CLI as a subprocess on a real store; the
form through Pilot against the demo's real service."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from controller.core import i18n
from tests.console_rig import demo_console, realtime, wait_for
from tests.test_console_desk import _open_form, _said, _type


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_the_cli_refuses_a_makspuls_that_is_not_its_age_formulas_as_the_form_does(tmp_path):
    db = str(tmp_path / "s.db")
    r = _cli("pasient", "--øktlager", db, "P-23", "--makspuls", "165", "--makspuls-kilde",
             "nes", "--alder", "60")
    assert r.returncode != 0, r.stdout
    assert "makspuls 165 slag/min er ikke aldersformelens 173: skriv 173, eller velg en " \
           "annen kilde" in r.stderr, r.stderr
    assert "P-23" not in _cli("pasienter", "--øktlager", db).stdout  # nothing was stored
    r = _cli("patient", "--lang", "en", "--store", db, "P-23", "--hr-max", "165",
             "--hr-max-source", "tanaka", "--age", "60")
    assert r.returncode != 0
    assert "HRmax 165 bpm is not the age formula's 166 bpm: type 166" in r.stderr, r.stderr
    # a changed age of a patient stored by a formula: the stored makspuls no longer is its
    assert _cli("pasient", "--øktlager", db, "P-23", "--makspuls", "173", "--makspuls-kilde",
                "nes", "--alder", "60").returncode == 0
    r = _cli("pasient", "--øktlager", db, "P-23", "--alder", "70")
    assert r.returncode != 0 and "ikke aldersformelens 166" in r.stderr, r.stderr
    # another source takes staff's own number
    assert _cli("pasient", "--øktlager", db, "P-23", "--makspuls", "165", "--makspuls-kilde",
                "målt").returncode == 0


@realtime
def test_a_makspuls_the_cli_took_from_an_age_formula_saves_in_the_form_unchanged(tmp_path, nb):
    db = str(tmp_path / "s.db")
    r = _cli("pasient", "--øktlager", db, "P-23", "--makspuls", "173", "--makspuls-kilde",
             "nes", "--alder", "60")
    assert r.returncode == 0, r.stderr

    async def main():
        async with demo_console(tmp_path, db, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "P-23")
            await wait_for(lambda: form.query_one("#hr_max").value == "173")
            await pilot.pause()
            assert form.query_one("#source").value == "nes"
            assert _said(form, "hr_max") == ""
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("pseudonym") == "P-23", 20)
            assert (app.state["hr_max"], app.state["hr_max_source"]) == (173, "nes")

    asyncio.run(asyncio.wait_for(main(), 120))
