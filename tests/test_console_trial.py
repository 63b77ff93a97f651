"""Issue 21, the bokmål "new nurse" trial of the last round: what a person touches in the
console (Textual Pilot keystrokes against the real service on the emulated firmware), each
finding first seen failing here."""

import asyncio

import pytest
from textual.widgets._footer import FooterKey

from controller.app.console import StaffConsole
from controller.core import i18n
from tests.test_console import realtime, start_service, tmp_sock, wait_for


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def footer(app) -> list[tuple[str, str]]:
    """The footer's keys as shown on the top screen: (key, description)."""
    return [(k.key_display, k.description) for k in app.screen.query(FooterKey)]


@realtime
def test_no_strap_key_where_the_heart_rate_source_is_fixed(tmp_path, nb):
    """Trial: the footer offered `b Pulsbelte` in the demo, whose heart rate is simulated (a
    fixed source): b did nothing but refuse. Offered only where staff can choose a strap."""
    from controller.app.screens import StrapScreen

    async def main():
        service, sock = await start_service(tmp_path)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await pilot.pause()
            shown = footer(app)
            assert ("n", "Pasient") in shown and ("s", "Start") in shown, shown
            assert all(key != "b" for key, _ in shown), shown
            assert "Pulsbelte" not in " ".join(d for _, d in shown)
            await pilot.press("b")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, StrapScreen)
            assert app.message == "" or "refused" not in app.message
        service.cancel()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_strap_key_is_offered_where_staff_choose_the_strap(nb):
    """The other side: a service that can scan (no strap fixed) offers b before Start."""
    from tests.test_console import _Stepped

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(started=False, phase="ready", state="ready", interval=0,
                     strap_choice=True, alarms={}, alarm_list=[])
            await pilot.pause()
            assert ("b", "Pulsbelte") in footer(app), footer(app)
            app.feed(started=False, phase="ready", state="ready", interval=0,
                     strap_choice=False, alarms={}, alarm_list=[])
            await pilot.pause()
            assert all(key != "b" for key, _ in footer(app)), footer(app)

    asyncio.run(asyncio.wait_for(main(), 30))


def _words(lang: str) -> set[str]:
    """Every word our catalog gives in ``lang`` (English: the source texts)."""
    cat = i18n.translations("nb")._catalog
    return {k if lang == "en" else v for k, v in cat.items() if isinstance(k, str) and k}


def assert_catalog_footer(app, lang: str) -> list[tuple[str, str]]:
    shown = footer(app)
    words = _words(lang)
    strays = [(k, d) for k, d in shown if d not in words]
    assert not strays, f"footer words not from our catalog ({lang}): {strays}"
    return shown


def _screen_text(app) -> str:
    from tests.test_console import _screen_lines

    return "\n".join(_screen_lines(app))


@realtime
def test_every_footer_word_comes_from_our_catalog_also_under_an_open_list(tmp_path, lang):
    """Trial: the patient form's list (HRmax from) showed Textual's "esc Dismiss menu" in
    English in a bokmål console; ctrl+c put up Textual's English "Do you want to quit?". Every
    footer word and that notice come from our catalog, in both languages."""
    from textual.widgets._select import SelectOverlay

    from controller.app.screens import PatientScreen

    async def main():
        service, sock = await start_service(tmp_path)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await pilot.pause()
            assert_catalog_footer(app, lang)
            await pilot.press("ctrl+c")
            await pilot.pause()
            notes = [f"{n.title} {n.message}" for n in app._notifications]
            assert notes and "quit?" not in " ".join(notes).lower() and \
                "the app" not in " ".join(notes), notes
            await pilot.press("n")
            await wait_for(lambda: isinstance(app.screen, PatientScreen))
            await pilot.pause()
            assert_catalog_footer(app, lang)
            await pilot.press("tab", "tab")  # pseudonym → age → HRmax from (a list)
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.focused, SelectOverlay))
            await pilot.pause()
            shown = assert_catalog_footer(app, lang)
            assert ("esc", "lukk listen" if lang == "nb" else "close the list") in shown, \
                shown
            assert "Dismiss" not in _screen_text(app)
            await pilot.press("escape")  # closes the list, not the form
            await pilot.pause()
            assert isinstance(app.screen, PatientScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.screen_stack) == 1
        service.cancel()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_monitor_footer_words_come_from_our_catalog(lang):
    from controller.net.publisher import MqttSettings
    from tests.test_snapshots import FixedMonitor

    async def main():
        app = FixedMonitor(MqttSettings(), clock=lambda: 1.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert_catalog_footer(app, lang)
            await pilot.press("ctrl+c")
            await pilot.pause()
            notes = " ".join(f"{n.title} {n.message}" for n in app._notifications)
            assert "quit?" not in notes.lower() and "the app" not in notes, notes

    asyncio.run(asyncio.wait_for(main(), 30))


@realtime
def test_the_patient_form_shows_the_6_minute_test_pace_only_for_that_plan(tmp_path, nb):
    """Trial: the 6-minute test's pace field was on the form with the 4x4 plan chosen. The
    form shows the fields of the chosen plan only: the pace comes with the test, and goes
    when staff choose 4x4 again (the plan chosen with the keys, as a nurse does)."""
    from controller.app.screens import PatientScreen

    async def main():
        service, sock = await start_service(tmp_path)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await pilot.press("n")
            await wait_for(lambda: isinstance(app.screen, PatientScreen))
            await pilot.pause()
            form = app.screen
            assert form.query_one("#plan").value == "4x4"
            assert "fart i 6-min-testen" not in _screen_text(app)
            assert not form.query_one("#pace").display
            form.query_one("#plan").focus()
            await pilot.press("enter", "down", "enter")  # the list: 6-minutters pulstest
            await pilot.pause()
            assert form.query_one("#plan").value == "six_minute_test"
            assert "fart i 6-min-testen" in _screen_text(app)
            assert form.query_one("#pace").display
            await pilot.press("enter", "up", "enter")  # back to 4x4
            await pilot.pause()
            assert form.query_one("#plan").value == "4x4"
            assert "fart i 6-min-testen" not in _screen_text(app)
        service.cancel()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_nothing_wraps_at_80x24_when_a_treadmill_fault_is_shown(lang):
    """Trial: with a fault the status line ("… tredemølle: feil: mistet kontakt med Pi-en ·
    MQTT tilkoblet") wrapped at 80 columns, and so did the alarm and its event. Every fault,
    a strap with its battery, both languages: each line of the status, the alarms and the
    events fits the width (a deliberate second line, never a wrap)."""
    from rich.cells import cell_len
    from rich.text import Text
    from textual.widgets import Static

    from controller.core.words import FAULTS
    from tests.test_console import _Stepped
    from tests.test_snapshots import HOST_SILENT

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for fault in FAULTS:
                app.feed(**dict(HOST_SILENT, treadmill=f"fault: {fault}"))
                await pilot.pause()
                for wid in ("#links", "#alarms", "#events"):
                    box = app.query_one(wid, Static)
                    lines = Text.from_markup(str(box.render())).plain.split("\n")
                    width = box.content_size.width
                    assert all(cell_len(line) <= width for line in lines), (fault, lines)
                    assert box.size.height == len(lines), (fault, wid, lines)
                assert FAULTS[fault] in str(app.query_one("#links", Static).render()) \
                    if lang == "en" else True

    asyncio.run(asyncio.wait_for(main(), 60))
