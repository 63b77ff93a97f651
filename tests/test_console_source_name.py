"""Issue 21, the bokmål new-nurse trial: a makspuls from the 6-minute test that staff edited
was named two ways, "endret av personalet" in the console's header (for its width) and
"6-minutters pulstest endret av personalet" in the form, the hand-over and the report. One
name everywhere, whole in the header at 80 columns beside the longest pseudonym. So is a
makspuls set by staff (``staff_entered``: typed after an interrupted test, issue 21). Through
Pilot keystrokes against the demo's real service."""

import asyncio

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Select, Static

from controller.app.console import StaffConsole
from controller.core import i18n
from tests.test_console import realtime, start_service, wait_for
from tests.test_console_desk import _open_form, _type

LONGEST = "AHUS-000123"  # 11 characters: the rule's longest pseudonym


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


def _register(db, source):
    from controller.records.register import PatientRecord, Register
    from controller.records.store import Store

    store = Store(db)
    Register(store).save(PatientRecord(LONGEST, 171, source, "2026-11-20",
                                       hr_rest_bpm=62, max_speed_kmh=6.5,
                                       max_incline_pct=12.0))
    store.close()


@realtime
@pytest.mark.parametrize("source", ["six_minute_test_edited", "staff_entered"])
def test_an_edited_makspuls_has_one_name_whole_in_the_header_at_80_columns(tmp_path, lang,
                                                                            source):
    from controller.app.screens import patient
    from controller.core.i18n import _
    from controller.core.words import SOURCES, word
    from controller.records import handover

    db = tmp_path / "s.db"
    _register(db, source)
    name = word(SOURCES, source)
    assert name != source  # a word, never the key
    # the same name in every table that says it (console, form, hand-over and report)
    assert _(handover.SOURCES[source]) == name
    assert [_(label) for label, v in patient.SOURCES if v == source] == [name]

    async def main():
        service, sock = await start_service(tmp_path, str(db), choose_patient=True)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", LONGEST)
            await wait_for(lambda: form.query_one("#hr_max").value == "171")
            await pilot.pause()
            chosen = form.query_one("#source", Select)
            assert chosen.value == source
            shown = " ".join(str(s.render()) for s in chosen.query(Static))
            assert name in shown, (name, shown)  # the form says it as the header does
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("pseudonym") == LONGEST, 20)
            await pilot.pause()
            box = app.query_one("#phase", Static)
            lines = Text.from_markup(str(box.render())).plain.split("\n")
            who = _("{pseudonym} · HRmax {hr_max} ({source})").format(
                pseudonym=LONGEST, hr_max="171", source=name)
            assert lines[-1] == who, lines
            width = box.content_size.width
            assert all(cell_len(line) <= width for line in lines), (width, lines)
            assert box.size.height == len(lines), lines  # none wrapped
        service.cancel()
        await asyncio.gather(service, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 120))
