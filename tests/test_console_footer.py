"""Issue 21, the bokmål new-nurse trial at 80×24: the footer says the keys that work where
staff look (under a question too), fits 80 columns in every state, the status lines keep a
number with its unit, and the log says a thing once, in staff's words."""

import asyncio

import pytest
from textual.widgets._footer import FooterKey

from controller.app.screens import BorgScreen, Confirm
from controller.core import i18n
from tests.test_console import _footer, _screen_lines, _Stepped, tmp_sock


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


def shown_keys(app) -> list[str]:
    """The footer's keys as drawn ("p Pause"), each whole on the terminal's last line."""
    line = _footer(app)
    said = [f"{k.key_display} {k.description}" for k in app.screen.query(FooterKey)]
    cut = [s for s in said if s not in line]
    assert not cut, (cut, line)
    return said


STATES = {
    "running, alarm, Borg owed": dict(phase="interval", interval=2, state="running"),
    "paused, alarm": dict(phase="interval", interval=2, state="paused"),
    "holding for the pulse": dict(phase="interval", interval=2, state="hr_hold"),
    "6-minute test": dict(plan="6-minute test", phase="test", interval=0, state="running"),
    "demo fault": dict(phase="interval", interval=2, state="paused", demo_reset=True,
                       treadmill="fault: estop"),
    "done": dict(phase="done", interval=0, state="done", ended_by="staff"),
}


def test_every_footer_fits_80_columns_with_q_in_every_state(lang):
    """Trial: at 80 columns with "a Kvitter" and "b Borg-skår" the footer ended "… m Notat
    h Historikk q" — "q Lukk" was cut off. Every state's footer, whole, with q."""
    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(phase="interval", interval=1)
            app.feed(phase="recovery", interval=1)
            await pilot.pause()
            assert isinstance(app.screen, BorgScreen)
            await pilot.press("escape")  # put off: b Borg-skår is owed from now on
            await pilot.pause()
            for name, state in STATES.items():
                app.feed(**state)
                await pilot.pause()
                if isinstance(app.screen, BorgScreen):  # an interval ended: put off too
                    await pilot.press("escape")
                await pilot.pause()
                said = shown_keys(app)
                assert "q " + i18n._("Quit") in said, (name, said, _footer(app))
                if name != "done":
                    assert "x " + i18n._("Stop") in said, (name, said)
                    assert "a " + i18n._("Ack alarm") in said, (name, said)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_six_minute_test_shows_its_pace_keys_in_the_footer(lang):
    """Trial: the pace keys +/- and ]/[ were only in a status line, not in the footer where
    staff look for keys."""
    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(plan="6-minute test", phase="test", interval=0, state="running")
            await pilot.pause()
            await pilot.pause()
            said = " ".join(shown_keys(app))
            assert "+/-" in said and "]/[" in said, _footer(app)
            app.feed(plan="6-minute test", phase="cooldown", interval=0, state="running")
            await pilot.pause()
            await pilot.pause()
            said = " ".join(shown_keys(app))
            assert "+/-" not in said and "]/[" not in said, _footer(app)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_skip_question_footer_shows_what_works_there(lang):
    """Trial: under «Hoppe over resten av denne delen? j: ja / n: nei» the footer still said
    «p Pause k Hopp over e +1 min x Stopp …» (the main screen's keys)."""
    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(phase="interval", interval=2, state="running")
            await pilot.pause()
            await pilot.press("k")
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            said = shown_keys(app)
            yes = "j " + i18n._("yes") if lang == "nb" else "y " + i18n._("yes")
            for key in (yes, "n " + i18n._("no"), "p " + i18n._("Pause"),
                        "x " + i18n._("Stop"), "a " + i18n._("Ack alarm")):
                assert key in said, (key, said)
            for gone in ("k ", "e ", "q ", "m ", "h "):
                assert not any(s.startswith(gone) for s in said), (gone, said)
            await pilot.press("n")

    asyncio.run(asyncio.wait_for(main(), 60))
