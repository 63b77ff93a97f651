"""Issue 21, the patient form after a second bokmål "new nurse" trial: a returning patient's
HRmax source, every field's refusal at once, refusals and hints that stayed. Through Pilot
keystrokes against the demo's real service, each seen failing first."""

import asyncio

import pytest

from controller.core import i18n
from tests.console_rig import demo_console, realtime, wait_for
from tests.test_console_desk import _open_form, _said, _source, _type


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def _register(db, source="six_minute_test_edited", max_speed_kmh=6.5):
    """P-17 in the register: HRmax 171 with ``source``, caps 6.5 km/h and 12 %."""
    from controller.records.register import PatientRecord, Register
    from controller.records.store import Store

    store = Store(db)
    Register(store).save(PatientRecord("P-17", 171, source, "2026-11-20", hr_rest_bpm=62,
                                       max_speed_kmh=max_speed_kmh, max_incline_pct=12.0))
    store.close()


async def _p17(pilot, app):
    form = await _open_form(pilot, app)
    await _type(pilot, form, "pseudonym", "P-17")
    await wait_for(lambda: form.query_one("#hr_max").value == "171")
    await pilot.pause()
    return form


@realtime
def test_a_changed_makspuls_says_its_source_under_makspuls_fra_and_the_old_value_restores_it(
        tmp_path, nb):
    """Trial (nothing changes unless staff chose it): editing P-17's makspuls set "makspuls
    fra" to "velg kilde" without a word there; typing 171 back did not restore "6-minutters
    pulstest endret av personalet"; Lagre said "velg hvor ..." under the makspuls line. Now a
    changed makspuls says under "makspuls fra" that it needs its source, and typing the
    register's value back restores the register's source and saves nothing new."""
    db = tmp_path / "s.db"
    _register(db)

    async def main():
        async with demo_console(tmp_path, str(db), choose_patient=True) as (app, pilot):
            form = await _p17(pilot, app)
            assert form.query_one("#source").value == "six_minute_test_edited"
            await _type(pilot, form, "hr_max", "175")
            assert "kilde" in _said(form, "source"), _said(form, "source")
            assert _said(form, "hr_max") == ""
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert app.screen is form
            said = _said(form, "source")
            assert "makspuls fra" in said or "kilde" in said, said
            assert _said(form, "hr_max") == "", _said(form, "hr_max")
            await _type(pilot, form, "hr_max", "171")  # the register's value back
            assert form.query_one("#source").value == "six_minute_test_edited"
            assert _said(form, "source") == "" and _said(form, "hr_max") == ""
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("pseudonym") == "P-17", 20)
            assert (app.state["hr_max"], app.state["hr_max_source"]) == (
                171, "six_minute_test_edited")

    asyncio.run(asyncio.wait_for(main(), 120))


@realtime
def test_lagre_shows_every_fields_refusal_at_once(tmp_path, nb):
    """Trial: with "kari-nordmann" and a makspuls in conflict with the age formula, Lagre
    showed only the makspuls refusal; the pseudonym's came after that was fixed."""
    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "kari-nordmann")
            await _type(pilot, form, "age", "45")
            await _type(pilot, form, "hr_max", "180")
            await _type(pilot, form, "max_speed", "6,5")
            await _type(pilot, form, "max_incline", "12")
            await _source(pilot, form, 4)  # Tanaka: 176, not 180
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert app.screen is form
            assert "176" in _said(form, "hr_max"), _said(form, "hr_max")
            assert "bindestrek" in _said(form, "pseudonym") or "kode" in _said(
                form, "pseudonym"), _said(form, "pseudonym")

    asyncio.run(asyncio.wait_for(main(), 120))


@realtime
def test_a_corrected_whole_makspuls_clears_its_refusal(tmp_path, nb):
    """Trial: "makspuls er et helt tall" stayed after 160,5 was corrected to 160 (the
    hvilepuls refusal went at once)."""
    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "P-58")
            await _type(pilot, form, "hr_max", "160,5")
            await _type(pilot, form, "max_speed", "6,5")
            await _type(pilot, form, "max_incline", "12")
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert "helt tall" in _said(form, "hr_max"), _said(form, "hr_max")
            await _type(pilot, form, "hr_max", "160")
            await pilot.press("tab")
            await pilot.pause()
            assert "helt tall" not in _said(form, "hr_max"), _said(form, "hr_max")
            assert not form.query_one("#hr_max").has_class("-invalid")

    asyncio.run(asyncio.wait_for(main(), 120))


@realtime
def test_the_new_patient_hint_goes_once_makspuls_and_its_source_are_filled_in(tmp_path, nb):
    """Trial: "ny pasient: fyll inn makspuls og kilden" stayed under the pseudonym after both
    were filled in."""
    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "P-59")
            await pilot.press("enter")
            await wait_for(lambda: "ny pasient" in _said(form, "pseudonym"))
            await _type(pilot, form, "hr_max", "178")
            assert "ny pasient" in _said(form, "pseudonym")  # the source is still owed
            await _source(pilot, form, 1)  # målt
            assert "ny pasient" not in _said(form, "pseudonym"), _said(form, "pseudonym")

    asyncio.run(asyncio.wait_for(main(), 120))



@realtime
def test_a_whole_max_speed_from_the_register_shows_its_decimal(tmp_path, nb):
    """Trial (issue 21): P-17 loaded from the register showed "maks fart km/t 9", where every
    other screen writes a speed as 9,0."""
    db = tmp_path / "s.db"
    _register(db, max_speed_kmh=9.0)

    async def main():
        async with demo_console(tmp_path, str(db), choose_patient=True) as (app, pilot):
            form = await _p17(pilot, app)
            assert form.query_one("#max_speed").value == "9,0"
            await pilot.press("ctrl+s")  # nothing changed: it saves as it is
            await wait_for(lambda: app.state.get("pseudonym") == "P-17", 20)

    asyncio.run(asyncio.wait_for(main(), 120))


@realtime
def test_typing_the_age_formulas_own_value_keeps_the_formula_as_the_source(tmp_path, nb):
    """Issue 21 trial: P-17's makspuls was from «Nes-formelen (alder)» at 62 years (171);
    staff set the age to 59 and typed the formula's value, 173, into makspuls: the source went
    to «velg kilde» and Lagre refused «endret makspuls trenger kilde». The value typed is
    what the chosen formula gives: nothing about the source changed, it stays and is saved."""
    from controller.records.register import PatientRecord, Register
    from controller.records.store import Store

    db = tmp_path / "s.db"
    store = Store(db)
    Register(store).save(PatientRecord("P-17", 171, "nes", "2026-11-20", max_speed_kmh=6.5,
                                       max_incline_pct=12.0, age_years=62))
    store.close()

    async def main():
        async with demo_console(tmp_path, str(db), choose_patient=True) as (app, pilot):
            form = await _p17(pilot, app)
            assert form.query_one("#source").value == "nes"
            await _type(pilot, form, "age", "59")
            await _type(pilot, form, "hr_max", "173")
            assert form.query_one("#source").value == "nes", _said(form, "source")
            assert _said(form, "source") == "" and _said(form, "hr_max") == ""
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("hr_max") == 173, 20)
            assert app.state["hr_max_source"] == "nes"

    asyncio.run(asyncio.wait_for(main(), 120))
