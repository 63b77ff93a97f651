"""Issue 21, the bokmål new-nurse trial: the console's words (the plan in the header, the
active pause told apart from the staff's pause, one time format, one form for a minute, the
HRmax warning and its edit box said in words). Pilot keystrokes against the real service on
the emulated firmware where the words come from a running session."""

import asyncio
import re

import pytest
from textual.widgets import Static

from controller.core import i18n
from controller.core.plan import default_4x4
from tests.console_rig import demo_console, realtime, wait_for
from tests.test_console import _screen_lines, _Stepped, tmp_sock


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


CLINIC_4X4_WARMUP_S = 180.0
"""The clinic's 4x4 (a 3 min warm-up) for the demo's service, at 5×."""


def header(app) -> str:
    return str(app.query_one("#phase", Static).render())


@realtime
def test_the_header_names_the_plan_and_tells_the_active_pause_from_the_staffs_pause(
        tmp_path, nb):
    """Trial (6): the header never said which plan runs. Trial (15): the recovery is "aktiv
    pause" (glossary) but the staff's hold said "pause" beside it ("AKTIV PAUSE ETTER
    INTERVALL 1 · pause"), then "på pause" (issue 21's bokmål trial: "pause" twice for two
    things): the staff's hold is said without the word, "båndet stanset"."""
    from controller.app.screens import BorgScreen

    async def main():
        async with demo_console(tmp_path, plan=default_4x4(CLINIC_4X4_WARMUP_S)) as (app, pilot):
            await pilot.pause()
            assert "4x4" in header(app), header(app)  # before the start: the plan chosen
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.pause()
            assert "4x4" in header(app), header(app)
            await pilot.press("k", "j")  # interval 1
            await wait_for(lambda: app.state.get("phase") == "interval")
            await pilot.press("k", "j")  # the active pause
            await wait_for(lambda: app.state.get("phase") == "recovery")
            await pilot.pause()
            # the Borg prompt opens only for an interval the console saw run a minute, or
            # could not tell (one push): on a loaded machine it saw two pushes, and no prompt
            if isinstance(app.screen, BorgScreen):
                await pilot.press("escape")
                await wait_for(lambda: not isinstance(app.screen, BorgScreen))
                await pilot.pause()
            assert "4x4" in header(app) and "AKTIV PAUSE" in header(app), header(app)
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused")
            # while the belt still slows the header says so («senker farten», run 30 on a
            # loaded machine saw it there): «stanset» once the belt is at rest
            await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) < 0.05)
            await pilot.pause()
            said = header(app)
            assert "AKTIV PAUSE" in said and "båndet stanset" in said, said
            # the bare word "pause" is the active pause's only as part of "aktiv pause"
            assert not re.search(r"(?<!aktiv )(?<!på )\bpause\b", said.lower()), said
            screen = "\n".join(_screen_lines(app))
            assert "Satt på pause av personalet" in screen or "satt på pause" in screen

    asyncio.run(asyncio.wait_for(main(), 180))


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_header_names_the_6_minute_test_in_every_phase(lang):
    """Trial (6): in the 6-minute test's warm-up and cool-down nothing said which plan ran
    (the phase word names it only while the test itself runs, and then only once)."""
    i18n.set_language(lang)
    plan = "6-minutters pulstest" if lang == "nb" else "6-minute test"

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for phase in ("ready", "warmup", "test", "cooldown"):
                app.feed(plan="6-minute test", phase=phase, interval=0, state="running",
                         started=phase != "ready", alarms={}, alarm_list=[])
                await pilot.pause()
                said = header(app)
                assert said.lower().count(plan.lower()) == 1, (phase, said)

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")


@realtime
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_an_extension_is_said_as_1_min_everywhere(tmp_path, lang):
    """Trial (11): e said "Denne delen er forlenget med 1 minutt", its event "forlenget med
    60 s" and the footer "+1 min": one duration, one form ("1 min")."""
    i18n.set_language(lang)

    async def main():
        async with demo_console(tmp_path, plan=default_4x4(CLINIC_4X4_WARMUP_S)) as (app, pilot):
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.press("e")
            await wait_for(lambda: any(e["kind"] == "extend"
                                       for e in app.state.get("event_list") or []))
            event = "Oppvarming forlenget med 1 min av personalet" if lang == "nb" else \
                "warmup extended by 1 min"
            done = "Denne delen er forlenget med 1 min." if lang == "nb" else \
                "This part is extended by 1 min."
            # drawn (a loaded machine is slow to draw); the message said it until the log
            # did, then once is enough (issue 21 trial: a command was said twice)
            await wait_for(lambda: event in "\n".join(_screen_lines(app)))
            await pilot.pause()
            screen = "\n".join(_screen_lines(app))
            assert done not in screen, screen
            assert "60 s" not in screen and "minutt" not in screen, screen
            assert "1 minute" not in screen and "e +1 min" in screen, screen

    try:
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        i18n.set_language("en")


@realtime
def test_the_countdown_is_m_ss_as_on_the_belt_screen(tmp_path, nb):
    """Trial (16): the console said "02:57 min igjen av delen" (a clock with a unit and a
    leading zero) where the belt screen's counter says "2:10": a countdown is m:ss."""

    async def main():
        async with demo_console(tmp_path, plan=default_4x4(CLINIC_4X4_WARMUP_S)) as (app, pilot):
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.pause(0.3)
            said = str(app.query_one("#countdown", Static).render())
            assert re.fullmatch(r"[1-9]?\d:[0-5]\d igjen av denne delen", said), said

    asyncio.run(asyncio.wait_for(main(), 120))


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_hrmax_warning_says_what_it_means_and_the_edit_box_has_a_label(lang):
    """Trial (10): "Advarsel: −28 slag/min" did not say from what; the edit box (key e) had
    no label, only its number. The warning says the proposal is so much lower or higher than
    the HRmax in use; the box is labelled in words."""
    from controller.app.screens import HrMaxProposalScreen
    from tests.test_snapshots import PROPOSAL, SIX_MINUTE_DONE, SixMinuteDone

    i18n.set_language(lang)
    lower = dict(PROPOSAL, hr_max_bpm=155, current_hr_max_bpm=183)

    async def main():
        app = SixMinuteDone("/nonexistent.sock")
        async with app.run_test(size=(80, 24)) as pilot:
            app.push_screen(HrMaxProposalScreen(lower, SIX_MINUTE_DONE))
            await pilot.pause()
            screen = "\n".join(_screen_lines(app))
            if lang == "nb":
                assert "28 slag/min lavere enn makspulsen som brukes nå" in screen, screen
            else:
                assert "28 bpm lower than the HRmax in use" in screen, screen
            assert "−28" not in screen, screen
            await pilot.press("e")
            await pilot.pause()
            screen = "\n".join(_screen_lines(app))
            label = "Ny makspuls, slag/min (Enter lagrer):" if lang == "nb" else \
                "New HRmax, bpm (Enter saves):"
            line = next((ln for ln in screen.splitlines() if label in ln), None)
            assert line is not None and "155" in line, screen  # the label beside its box

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")


def test_the_monitors_time_left_is_m_ss_as_on_the_console(nb):
    """Trial (16): the central monitor said "02:31" where the console and the belt screen say
    "2:31" for the same countdown: m:ss, no leading zero."""
    from tests.test_monitor import T0, Offline, rendered_row, running, settle

    async def main():
        app = Offline(lambda: T0)
        async with app.run_test(size=(80, 24)) as pilot:
            running(app, "oslo", "tm-1", now=T0, phase="interval", interval=2,
                    zone_low_bpm=156.0, zone_high_bpm=174.0, phase_remaining_s=151.0)
            await settle(pilot, app)
            row = rendered_row(app, "tm-1")
            assert re.search(r"(?<![0-9])2:31", row) and "02:31" not in row, row

    asyncio.run(asyncio.wait_for(main(), 60))
