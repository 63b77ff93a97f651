"""A bokmål "new nurse" trial from a fresh clone (issue 21, the console and monitor part): every
key the footer shows works where it is shown, letters typed in a field go into it, nothing
wraps at 80×24, and the belt never runs on when the console quits. Through Textual's Pilot,
against the real service where the finding is about the service's answer."""

import asyncio

import pytest

from controller.app.screens import Confirm
from controller.core import i18n
from controller.net.publisher import MqttSettings
from tests.test_console import _screen_lines, tmp_sock
from tests.test_snapshots import BeforeStart, FixedConsole, FixedMonitor


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


def whole(lines: list[str], phrase: str) -> bool:
    """The phrase stands whole on one screen line (not wrapped over two)."""
    return any(phrase in line for line in lines)


def test_the_monitor_footer_has_no_english_palette_and_its_status_line_does_not_wrap(lang):
    """Issue 21 trial: the monitor's footer showed Textual's "^p palette" (English on a
    bokmål screen) and its status line wrapped "ugyldige meldinger: / 0" at 80 columns."""
    async def main():
        app = FixedMonitor(MqttSettings(), clock=lambda: 1.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            lines = _screen_lines(app)
            assert "palette" not in lines[-1] and "^p" not in lines[-1], lines[-1]
            _ = i18n._
            for phrase in (_("treadmills: {n}").format(n=3),
                           _("with alarms: {alarms}").format(alarms=0),
                           _("bad messages: {bad}").format(bad=0)):
                assert whole(lines, phrase), (phrase, lines[-4:])

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_alarm_line_and_the_stop_question_do_not_wrap_at_80x24(lang):
    """Issue 21 trial: "(a: kvitter)" broke over two lines under the alarm, and the stop
    question's "j: ja / n: nei" broke after "j: ja"."""
    async def main():
        app = FixedConsole(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            lines = _screen_lines(app)
            hint = i18n._("(a: acknowledge)")
            assert whole(lines, hint), lines
            alarm = str(app.query_one("#alarms").render()).splitlines()
            assert all(whole(lines, part.strip()) for part in alarm), (alarm, lines)
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            lines = _screen_lines(app)
            question = i18n._("Stop the session (the belt slows to a stop)?")
            keys = "j: ja / n: nei" if lang == "nb" else "y: yes / n: no"
            assert whole(lines, question) and whole(lines, keys), lines[10:16]
            await pilot.press("n")

    asyncio.run(asyncio.wait_for(main(), 30))


class FormConsole(BeforeStart):
    """Before Start, no service: what the console would send is kept."""

    async def _send(self, cmd, **kw):
        self.sent = [*getattr(self, "sent", []), cmd]
        return {"ok": True}


def test_the_patient_form_footer_shows_only_its_keys_and_letters_go_into_the_fields(lang):
    """Issue 21 trial: under the patient form the footer still offered "n Pasient s Start …"
    (keys that do nothing there); a letter typed in a field must go into the field only."""
    async def main():
        app = FormConsole(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("n")
            await pilot.pause()
            form = app.screen
            footer = _screen_lines(app)[-1]
            for gone in ("n " + i18n._("Patient"), "s " + i18n._("Start"),
                         "q " + i18n._("Quit"), "h " + i18n._("History")):
                assert gone not in footer, footer
            assert "esc" in footer and "^s" in footer, footer
            form.query_one("#pseudonym").value = ""
            form.query_one("#pseudonym").focus()
            await pilot.press("s", "n", "q", "x", "p")
            await pilot.pause()
            assert form.query_one("#pseudonym").value == "snqxp"
            assert app.screen is form and not getattr(app, "sent", [])

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_field_error_clears_once_the_field_is_valid(lang):
    """Issue 21 trial: a refused field's reason stayed under it after staff corrected it."""
    async def main():
        app = FormConsole(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("n")
            await pilot.pause()
            form = app.screen
            speed = form.query_one("#max_speed")
            speed.value = "6..5"
            await pilot.press("ctrl+s")
            await pilot.pause()
            error = form.query_one("#max_speed_error")
            assert error.has_class("shown") and speed.has_class("-invalid")
            speed.value = ""
            speed.focus()
            await pilot.press(*"6,5")
            await pilot.pause()
            assert not error.has_class("shown") and not speed.has_class("-invalid")
            assert app.screen is form  # nothing was saved by correcting it

    asyncio.run(asyncio.wait_for(main(), 30))
