"""Trial 14 (safety): in the 6-minute test's proposal box a makspuls of 230 was stored for a
45-year-old with only «En stor endring: trykk Enter igjen for å lagre den». A zone of 85–95 %
of 230 (196–219 slag/min) asks for loads the heart of a 45-year-old cannot give. A makspuls
more than ``AGE_PLAUSIBLE_ABOVE_BPM`` above the age formula's is said as what it is (the
age, the formula's value) before it is stored, and stored only when staff confirm it: in
the proposal's box (a second Enter) and in the patient form (a second ctrl+s). Through
Textual's Pilot against the real control socket and the real service."""

import asyncio

import pytest

from controller.core import i18n
from controller.core.hrmax import AGE_PLAUSIBLE_ABOVE_BPM, above_age
from tests.console_rig import demo_console
from tests.test_console import _recorded_six_minute_test, at_the_proposal, realtime, wait_for
from tests.test_console_desk import _open_form, _said, _source, _type


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def test_the_rule_names_the_formulas_value_only_far_above_it():
    assert AGE_PLAUSIBLE_ABOVE_BPM == 30
    assert above_age(230, 45) == 176  # Tanaka: 208 − 0,7·45 = 176,5 (the form says 176)
    assert above_age(206, 45) is None  # 29,5 above: an athlete's, not questioned
    assert above_age(207, 45) == 176
    assert above_age(150, 45) is None  # low (beta blockers): the safe side
    assert above_age(230, None) is None  # no age: nothing to hold it against


def test_the_proposal_box_says_a_makspuls_far_above_the_age_and_stores_it_on_a_second_enter(
        tmp_path, nb):
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid = _recorded_six_minute_test(store, hr_max=184, age_years=45)

    async def main():
        async with at_the_proposal(tmp_path, rt) as (app, pilot, screen):
            await pilot.press("e")
            await wait_for(lambda: screen.query("#edit"))
            await pilot.pause()
            await pilot.press("ctrl+u", *"230", "enter")
            await pilot.pause(0.3)
            said = str(screen.query_one("#refused").render())
            assert app.screen is screen, "stored on one Enter"
            assert "45 år" in said and "176" in said, said
            await pilot.press("enter")  # staff confirm it
            await wait_for(lambda: app.screen is not screen)

    asyncio.run(asyncio.wait_for(main(), 60))
    assert Register(store).require("P-42").hr_max_bpm == 230
    store.close()


@realtime
def test_the_patient_form_says_a_makspuls_far_above_the_age_and_saves_it_on_a_second_ctrl_s(
        tmp_path, nb):
    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await pilot.press(*"P-61", "tab", *"45")
            await _type(pilot, form, "hr_max", "230")
            await _type(pilot, form, "max_speed", "6,5")
            await _type(pilot, form, "max_incline", "12")
            await _source(pilot, form, 1)  # målt (laboratorietest)
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert app.screen is form and app.state.get("pseudonym") != "P-61"
            said = _said(form, "hr_max")
            assert "45 år" in said and "176" in said and "ctrl+s" in said, said
            await _type(pilot, form, "hr_max", "203")  # the slip corrected: no question
            await _type(pilot, form, "hr_max", "230")  # typed again: asked again
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert app.screen is form and app.state.get("pseudonym") != "P-61"
            await pilot.press("ctrl+s")  # staff confirm it
            await wait_for(lambda: app.state.get("pseudonym") == "P-61", 20)
            assert app.state["hr_max"] == 230

    asyncio.run(asyncio.wait_for(main(), 120))


def test_a_proposal_far_above_the_age_is_said_so_and_accepted_on_a_second_key(tmp_path, nb):
    """The test's own proposal (198 ± 16 here) close to the makspuls in use (195) but far
    above a 60-year-old's formula (166): the age's warning on the proposal, and j once does
    not store it."""
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid = _recorded_six_minute_test(store, hr_max=195, age_years=60)

    async def main():
        async with at_the_proposal(tmp_path, rt) as (app, pilot, screen):
            assert screen.proposal["hr_max_bpm"] - 166 > 30, screen.proposal
            assert not screen.query("#warning"), "a large change: not this test's case"
            said = str(screen.query_one("#age_warning").render())
            assert "60 år" in said and "166" in said, said
            await pilot.press("j")
            await pilot.pause(0.3)
            assert app.screen is screen, "accepted on one key"
            await pilot.press("j")
            await wait_for(lambda: app.screen is not screen)

    asyncio.run(asyncio.wait_for(main(), 60))
    assert Register(store).require("P-42").hr_max_source == "six_minute_test"
    store.close()


def test_the_command_line_asks_for_a_second_word_for_a_makspuls_far_above_the_age(tmp_path):
    """Last round's leftover: `pasient --makspuls 230 --alder 45` stored 230 for a
    45-year-old without a word, where the patient form and the proposal box ask staff to
    confirm it (a second key). The command line refuses it with the same warning, in its
    language, and names its second word (`--bekreft-makspuls`); nothing is stored until then.
    A changed age that puts a stored makspuls far above it is asked about alike."""
    from tests.test_cli_formula_rule import _cli

    db = str(tmp_path / "s.db")
    r = _cli("pasient", "--øktlager", db, "P-45", "--makspuls", "230", "--makspuls-kilde",
             "målt", "--alder", "45")
    assert r.returncode != 0, r.stdout
    assert "Advarsel: 230 slag/min er 54 slag/min over vanlig makspuls ved 45 år" in r.stderr, \
        r.stderr
    assert "--bekreft-makspuls" in r.stderr and "--confirm" not in r.stderr, r.stderr
    assert "P-45" not in _cli("pasienter", "--øktlager", db).stdout  # nothing was stored
    r = _cli("pasient", "--øktlager", db, "P-45", "--makspuls", "230", "--makspuls-kilde",
             "målt", "--alder", "45", "--bekreft-makspuls")
    assert r.returncode == 0, r.stderr
    assert "230" in _cli("pasient", "--øktlager", db, "P-45").stdout
    # within the bound: no second word needed (and none for an older age's lower formula)
    assert _cli("pasient", "--øktlager", db, "P-46", "--makspuls", "200", "--makspuls-kilde",
                "målt", "--alder", "45").returncode == 0
    # the age changed later: 200 at 80 (Tanaka 152) is asked about too
    r = _cli("patient", "--lang", "en", "--store", db, "P-46", "--age", "80")
    assert r.returncode != 0 and "Warning: 200 bpm is 48 bpm above the usual HRmax at 80 " \
        "years" in r.stderr and "--confirm-hr-max" in r.stderr, r.stderr
    assert _cli("patient", "--lang", "en", "--store", db, "P-46", "--age", "80",
                "--confirm-hr-max").returncode == 0


def test_a_word_typed_for_the_age_is_refused_with_an_example_of_whole_years(tmp_path):
    """Trial 15: `pasient --alder abc` said «'abc': et tall som 6,5 eller 6.5», a decimal
    example for an age in whole years (the form's own words say «hele år, f.eks. 45»)."""
    from tests.test_cli_formula_rule import _cli

    r = _cli("pasient", "--øktlager", str(tmp_path / "s.db"), "P-45", "--alder", "abc")
    assert r.returncode == 2
    assert "'abc'" in r.stderr and "hele år" in r.stderr and "45" in r.stderr, r.stderr
    assert "6,5" not in r.stderr, r.stderr
    r = _cli("pasient", "--øktlager", str(tmp_path / "s.db"), "P-45", "--makspuls", "høy")
    assert "'høy'" in r.stderr and "178" in r.stderr and "6,5" not in r.stderr, r.stderr
