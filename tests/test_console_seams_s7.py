"""Issue 21, the last bokmål trial (a new nurse at 80×24): seams where two parts of the
console said different things at once, or a message stayed after what it said was over.
Through Textual's Pilot against the real service (runtime, emulated board, control socket)."""

import asyncio
import math

import pytest
from rich.text import Text
from textual.widgets import Static

from controller.core import i18n
from tests.console_rig import (
    borg_box_in_cooldown,
    console_in_warmup,
    console_on_runtime,
    demo_console,
    realtime,
    run_console,
    skip_to,
    start_session,
    wait_for,
)


def _plain(app, wid: str) -> str:
    return Text.from_markup(str(app.query_one(wid, Static).render())).plain


class OffsetClock:
    """A simulated clock that reads like a Pi's monotonic clock (hours since boot)."""

    def __init__(self, speedup: float, offset_s: float = 5000.0) -> None:
        from controller.service.simclock import ScaledClock

        self._scaled = ScaledClock(speedup)
        self.offset_s = offset_s

    def __call__(self) -> float:
        return self.offset_s + self._scaled()


@realtime
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_a_stale_pulse_alarm_never_says_the_opposite_of_the_header_in_the_present(
        tmp_path, lang):
    """The trial: the strap went quiet (hold, then slow to a walk: the slow alarm, not
    acknowledged), came back, went quiet again: the header said «venter på puls – holder
    farten» while the held alarm line still said «finner ikke pulsen – senker til rolig
    gange». An alarm line says a heart-rate state in the present only when the header says
    the same; an earlier one is said in the past with its time into the session."""
    from controller.core.words import ALARMS, word

    speed = 10.0
    clock = OffsetClock(speed)
    quiet: list[list[float | None]] = []  # the strap's quiet spells, [from, to) on the clock

    def hr_of(now_s: float) -> float | None:
        for lo, hi in quiet:
            if lo is not None and now_s >= lo and (hi is None or now_s < hi):
                return None
        return 100.0 + 2.0 * math.sin(now_s / 7.0)

    seen: list[tuple[str, str, str]] = []  # (state, header, alarms) at each look

    async def look(app, pilot) -> None:
        # the header and the alarm lines are drawn from each pushed state as it comes
        # (``refresh_view``): read together, without waiting for idle (the hold is short)
        seen.append((str(app.doc.state), _plain(app, "#phase"), _plain(app, "#alarms")))

    async def main():
        async with console_in_warmup(tmp_path, speed, clock, hr_of) as (_rt, app, pilot):
            quiet.append([clock(), None])
            await wait_for(lambda: app.state.get("state") == "hr_slow")
            await look(app, pilot)
            quiet[-1][1] = clock()  # back: control resumes, the alarm stays held
            await wait_for(lambda: app.state.get("state") == "running")
            for _ in range(5):
                await look(app, pilot)
                await asyncio.sleep(0.05)
            quiet.append([clock(), None])  # quiet again: the session holds
            await wait_for(lambda: app.state.get("state") == "hr_hold")
            await wait_for(lambda: app.doc.state == "hr_hold")
            await look(app, pilot)
            held = {a["kind"] for a in app.doc.alarm_list or []}
            assert "hr_lost" in held, held  # not acknowledged: still held
            return dict(app.state)

    i18n.set_language(lang)
    try:
        state = asyncio.run(asyncio.wait_for(main(), 120))
        present = {"hr_hold": word(ALARMS, "hr_hold").lower(),
                   "hr_slow": word(ALARMS, "hr_lost").lower()}
        for st, header, alarms in seen:
            low = alarms.lower()
            for other, said in present.items():
                if other != st:
                    assert said not in low, (st, header, alarms)
        _st, header, alarms = next(x for x in reversed(seen) if x[0] == "hr_hold")
        assert present["hr_hold"] in header.lower(), header
        slow = next(e for e in state["event_list"] if e["kind"] == "hr_lost")
        s = round(slow["now_s"] - state["started_s"])
        when = f"{s // 60}:{s % 60:02d}"
        assert i18n._("{time} into the session").format(time=when) in alarms, (when, alarms)
    finally:
        i18n.set_language("en")


@realtime
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_stop_message_says_the_belt_has_stopped_once_it_is_at_rest(tmp_path, lang):
    """The trial: «Stopper: båndet senker farten til stopp.» stayed under the log after the
    belt was at rest. While the belt slows it says so; once the belt reports 0 km/h (the
    session done), that the belt has stopped."""
    from controller.app.screens.confirm import yes_key

    async def main():
        async with demo_console(tmp_path, linger=True) as (app, pilot):
            await borg_box_in_cooldown(pilot, yes=yes_key())
            await pilot.press("x", yes_key())
            await wait_for(lambda: app.state.get("state") in ("stopping", "done"))
            await pilot.pause()
            slowing = _plain(app, "#message") + "\n" + " ".join(
                str(w.render()) for w in app.screen.query(Static))
            await wait_for(lambda: app.state.get("state") == "done"
                           and (app.state.get("speed_kmh") or 0.0) < 0.05, 60)
            await pilot.pause()
            while len(app.screen_stack) > 1:  # a Borg prompt, if one came: not now
                await pilot.press("escape")
            await pilot.pause()
            return slowing, _plain(app, "#message")

    slowing, still = run_console(main(), 120, lang=lang)
    i18n.set_language(lang)
    try:
        assert i18n._("Stopping: the belt slows to a stop.") in slowing, slowing
        assert i18n._("Stopping: the belt slows to a stop.") not in still, still
        assert i18n._("Stopped: the belt is at rest.") in still, still
    finally:
        i18n.set_language("en")


@realtime
def test_a_number_error_shows_when_the_field_is_left_and_the_hint_only_while_hrmax_is_empty(
        tmp_path):
    """The trial (bokmål): «6,5,» in maks fart and «300» in makspuls were refused only at
    ctrl+s, while the staff guide says a number error shows at once; and «ny pasient: fyll
    inn makspuls» stood under the pseudonym while makspuls held «17» (typed on its way to
    176). A number the field does not take is said under it when staff leave it (Tab), in
    bokmål, the typed text kept; the hint asks for makspuls only while its field is empty."""
    from tests.test_console_desk import _open_form, _said, _source, _type

    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "P-61")  # a new patient
            await wait_for(lambda: form._looked_up == "P-61")
            await _source(pilot, form, 1)  # measured: makspuls is typed
            assert "fyll inn makspuls" in _said(form, "pseudonym"), _said(form, "pseudonym")
            await _type(pilot, form, "hr_max", "17")
            assert "fyll inn makspuls" not in _said(form, "pseudonym"), \
                _said(form, "pseudonym")
            await _type(pilot, form, "hr_max", "300")
            await pilot.press("tab")
            await pilot.pause()
            assert "makspuls må være 100–230 slag/min" in _said(form, "hr_max"), \
                _said(form, "hr_max")
            await _type(pilot, form, "max_speed", "6,5,")
            assert _said(form, "max_speed") == ""  # a comma typed last: a number on its way
            await pilot.press("tab")
            await pilot.pause()
            assert form.query_one("#max_speed").value == "6,5,"
            assert "maks fart: skriv et tall i km/t" in _said(form, "max_speed"), \
                _said(form, "max_speed")
            await _type(pilot, form, "max_speed", "6,5")  # corrected: its refusal goes
            assert _said(form, "max_speed") == "", _said(form, "max_speed")
            await _type(pilot, form, "hr_max", "")  # emptied: asked for again
            assert "fyll inn makspuls" in _said(form, "pseudonym"), _said(form, "pseudonym")

    run_console(main(), 120, lang="nb")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_footer_offers_skip_in_the_six_minute_test_and_save_and_stop_in_its_edit_box(
        tmp_path, lang):
    """The trial: during the 6-minute test `k` skipped the test but the footer did not say
    so; typing makspuls after the test (`e`), the footer said only «esc senere»: not how to
    save it (Enter), nor Stop. The footer says k in the test; in the edit box Enter saves
    and ctrl+x stops (x is a letter there), and Stop is there on every screen."""
    from controller.app.screens import BorgScreen, Confirm, HrMaxProposalScreen
    from controller.records.store import Store
    from tests.test_console_footer import shown_keys
    from tests.test_console_six_minute_desk import _test_runtime

    _ = i18n._

    async def in_the_test():
        store = Store(tmp_path / "a.db")
        rt, _sid, _belt = _test_runtime(store, until="test")
        async with console_on_runtime(rt, str(tmp_path / "a.sock")) as (app, pilot):
            await wait_for(lambda: app.state.get("phase") == "test")
            await pilot.pause()
            said = shown_keys(app)
            await pilot.press("k")  # the key the footer names works: the skip question
            await wait_for(lambda: isinstance(app.screen, Confirm))
            asked = shown_keys(app)
            await pilot.press("n")
        store.close()
        return said, asked

    async def after_the_test():
        store = Store(tmp_path / "b.db")
        rt, _sid, _belt = _test_runtime(store, until="cooldown")
        async with console_on_runtime(rt, str(tmp_path / "b.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("1", "5", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.pause()
            proposal = shown_keys(app)
            await pilot.press("e")
            await wait_for(lambda: app.screen.query("#edit"))
            await pilot.pause()
            editing = shown_keys(app)
            await pilot.press("ctrl+x")  # Stop from the box: the stop question
            await wait_for(lambda: isinstance(app.screen, Confirm))
            await pilot.press("n")
        store.close()
        return proposal, editing

    said, asked = run_console(in_the_test(), 60, lang=lang)
    proposal, editing = run_console(after_the_test(), 60, lang=lang)
    i18n.set_language(lang)
    try:
        assert "k " + _("Skip") in said, said
        for keys in (said, asked, proposal):
            assert "x " + _("Stop") in keys, keys
        assert any(k.startswith("enter ") or k.startswith("⏎") for k in editing), editing
        assert "esc " + _("later") in editing, editing
        assert any(k.endswith(" " + _("Stop")) and "x" in k.lower() for k in editing), \
            editing
    finally:
        i18n.set_language("en")


@realtime
def test_the_report_saved_message_is_whole_on_the_borg_prompt_at_80_columns(tmp_path):
    """The trial: with the Borg prompt open, `w` wrote the report and the prompt said
    «Rapporten er lagret: P-…» cut with «…» at 80 columns: where the file went was lost.
    The prompt says the whole message (file names and folder), on lines that fit."""
    from rich.cells import cell_len

    from controller.app.screens import BorgScreen, ReportChooser
    from controller.app.screens.confirm import yes_key
    from tests.test_console_nurse import SAVED

    async def main():
        async with demo_console(tmp_path, str(tmp_path / "sessions.db"),
                                linger=True) as (app, pilot):
            await start_session(pilot)
            await skip_to(pilot, "interval", yes=yes_key())
            await wait_for(lambda: isinstance(app.screen, BorgScreen), 60)
            await pilot.press("w")
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.press("enter")
            await wait_for(lambda: app.message.startswith(SAVED()), 30)
            await pilot.pause()
            prompt = app.screen
            assert isinstance(prompt, BorgScreen)
            box = prompt.query_one("#borg", Static)
            return (Text.from_markup(app.message).plain, _plain_of(box),
                    box.content_size.width)

    said, shown, width = run_console(main(), 180, lang="nb")
    lines = shown.split("\n")
    assert all(cell_len(line) <= width for line in lines), (width, lines)
    assert not any(line.endswith("…") for line in lines), lines
    # the whole sentence, the folder by its own name (the message line has its whole path)
    folder = said.rsplit(" ", 1)[1].rstrip(".")
    short = " ".join(said.split()).replace(folder, "…/" + folder.rsplit("/", 1)[1])
    assert short in " ".join(shown.split()), (short, shown)


def _plain_of(box: Static) -> str:
    return Text.from_markup(str(box.render())).plain


@realtime
def test_tab_back_to_a_filled_field_puts_the_cursor_at_its_end_and_typing_adds_to_it(
        tmp_path):
    """The trial: Tab (or shift+tab) to a filled field selected its text, so the next key
    replaced «6,5» without a word. Tabbing to a field puts the cursor at the end of what is
    there; typing adds to it (seen, and refused in words if it is no number)."""
    from tests.test_console_desk import _open_form, _type

    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await _open_form(pilot, app)
            await _type(pilot, form, "pseudonym", "P-62")
            await _type(pilot, form, "max_speed", "6,5")
            await pilot.press("tab")  # on to max incline
            await pilot.pause()
            assert app.focused is form.query_one("#max_incline")
            await pilot.press("shift+tab", "0")  # back, and a key
            await pilot.pause()
            speed = form.query_one("#max_speed").value
            await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab",
                              "shift+tab")  # back up to the pseudonym
            await pilot.pause()
            on = app.focused.id if app.focused is not None else None
            await pilot.press("7")
            await pilot.pause()
            return speed, on, form.query_one("#pseudonym").value

    speed, on, pseudonym = run_console(main(), 120, lang="nb")
    assert speed == "6,50", speed
    assert on == "pseudonym", on
    assert pseudonym == "P-627", pseudonym
