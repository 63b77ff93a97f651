"""What `a` says it acknowledged, and the header's second line (brief s10ack): a bokmål "new
nurse" at 80×24 read «Alarmen er kvittert.» after `a` also for a warning, and not which one
(one press took the warning and the lost-pulse line together); and after `p` then `r` in an
active pause the header's state went onto a line of its own. Through Textual's Pilot against
the real runtime on the emulated motor board."""

from __future__ import annotations

import asyncio
import dataclasses

from rich.text import Text
from textual.widgets import Static

from controller.core import i18n
from tests.console_rig import realtime, run_console, wait_for


def _plain(app, wid: str) -> str:
    return Text.from_markup(str(app.screen_stack[0].query_one(wid, Static).render())).plain


def _flat(text: str) -> str:
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


def _mss(s: float) -> str:
    s = round(s)
    return f"{s // 60}:{s % 60:02d}"


@realtime
def test_a_acknowledges_the_top_line_and_says_which_in_the_logs_words(tmp_path):
    """Trial: with «ADVARSEL Pulsbeltet gir usikre målinger …» and «Fant pulsen igjen (…)»
    held, one `a` cleared both and the message line said «Alarmen er kvittert.»: not a
    warning's word, not which one, and not the past tense the log uses once the pulse is
    back. Now `a` takes the line shown first, one per press (as the monitor does), and the
    message line says what it took in the same words as the log and the report."""
    from controller.app.console import acks_said_as_past, event_words
    from controller.protocol import HR_HOLD_AFTER_S
    from controller.service.simclock import ScaledClock
    from tests.console_rig import console_in_warmup, lose_the_pulse, strap_with_a_gap

    speed = 10.0
    clock = ScaledClock(speed)
    gone, steady = strap_with_a_gap()
    halved: list[float | None] = [None, None]  # the strap reads half from [0] until [1]

    def hr_of(now_s: float) -> float | None:
        bpm = steady(now_s)
        lo, hi = halved
        if bpm is not None and lo is not None and now_s >= lo and (hi is None or now_s < hi):
            return bpm / 2.0  # every other beat missed: the strap warning
        return bpm

    async def main():
        async with console_in_warmup(tmp_path, speed, clock, hr_of) as (_rt, app, pilot):
            halved[0] = clock()
            await wait_for(lambda: "strap_missing_beats" in (app.state.get("alarms") or {}), 60)
            halved[1] = clock()
            await lose_the_pulse(app, gone, clock, 60)
            await wait_for(lambda: "Fant pulsen igjen (" in _plain(app, "#alarms"), 60)
            await pilot.pause()
            held = _plain(app, "#alarms").split("\n")
            said = []
            for _ in range(2):
                before = app.message
                await pilot.press("a")
                await wait_for(lambda was=before: app.message and app.message != was, 10)
                await pilot.pause()
                said.append((_flat(_plain(app, "#message")), _plain(app, "#alarms")))
            await wait_for(lambda: sum(e["kind"] == "acknowledged"
                                       for e in app.state.get("event_list") or []) == 2, 30)
            return dict(app.state), held, said

    state, held, said = run_console(main(), 180, lang="nb")
    events = state["event_list"]
    hold = next(e for e in events if e["kind"] == "hr_hold")
    back = next(e for e in events if e["kind"] == "hr_restored")
    span = f"{_mss(hold['now_s'] - HR_HOLD_AFTER_S - state['started_s'])}–" \
           f"{_mss(back['now_s'] - state['started_s'])}"
    assert held[0].startswith("ADVARSEL Pulsbeltet gir usikre målinger"), held
    assert held[1].startswith("Fant pulsen igjen ("), held
    (first, left), (second, none) = said
    assert first == "Advarselen er kvittert: usikre målinger fra pulsbeltet – fukt eller " \
        "flytt det", first
    assert "ADVARSEL" not in left and left.startswith("Fant pulsen igjen (") \
        and "(a: kvitter)" in left, left  # the other one still held, for its own press
    assert second == f"Alarmen er kvittert: fant ikke pulsen {span} ut i økten – nå er den " \
        "funnet igjen", (span, second)
    assert none == "", none
    # the same words as the log's lines for them
    i18n.set_language("nb")
    try:
        logged = [event_words(e) for e in acks_said_as_past(events, state["started_s"])
                  if e["kind"].startswith("acknowledged")]
    finally:
        i18n.set_language("en")
    assert logged == [first, second], (logged, first, second)


@realtime
def test_the_restart_countdown_after_a_pause_in_an_active_pause_keeps_the_header_on_one_line(
        tmp_path):
    """Trial: `p` then `r` in an active pause, the header read «4x4 · AKTIV PAUSE ETTER
    INTERVALL 1» / «båndet starter om 2 s»: the plan's name is left out wherever the whole
    line does not fit but the line without it does (it was for staff's pause only), and
    where even that is too long (53 columns of 48 here) the countdown is said shorter,
    «starter om 2 s», on the part's line. In both languages."""
    from rich.cells import cell_len

    from controller.app.screens.confirm import yes_key
    from tests.console_rig import (
        active_pause_of_a_short_4x4,
        demo_console,
        header_lines,
        pause_until_the_belt_stands,
        stop_session,
    )
    from tests.test_console_smalls21 import _with_a_pause_plan

    async def main():
        plan = dataclasses.replace(_with_a_pause_plan(), name="4x4")
        async with demo_console(tmp_path, plan=plan) as (app, pilot):
            await active_pause_of_a_short_4x4(pilot, yes=yes_key())
            await pause_until_the_belt_stands(pilot)
            await pilot.press("r")
            await wait_for(lambda: app.state.get("restart_in_s") is not None, 30)
            await pilot.pause()
            lines, width, height = await header_lines(pilot)
            await stop_session(pilot, yes_key(), 60)
            return lines, width, height

    for lang in ("nb", "en"):
        lines, width, height = run_console(main(), 180, lang=lang)
        i18n.set_language(lang)
        try:
            part = i18n._("recovery after interval {n}").format(n=1).upper()
            starts = i18n._("starts in {seconds} s").split("{")[0]  # the 3-2-1, short
            assert len(lines) == 2 and height == 2, (lines, height)
            assert part in lines[0] and starts in lines[0], lines
            assert all(cell_len(line) <= width for line in lines), (width, lines)
            assert "DEMO-1 · " in lines[1], lines
        finally:
            i18n.set_language("en")



@realtime
def test_a_pause_in_an_active_pause_says_the_belt_slows_until_it_stands(tmp_path):
    """Trial: `p` in an active pause, the header said «båndet stanset» while the belt still
    slowed (3,8 km/t on screen, «tredemølle: går»). While it moves the header says it slows
    to a stop (on the line with the part), «stanset» once it stands, in both languages."""
    from controller.app.screens.confirm import yes_key
    from tests.console_rig import active_pause_of_a_short_4x4, demo_console
    from tests.test_console_smalls21 import _with_a_pause_plan

    async def main():
        plan = dataclasses.replace(_with_a_pause_plan(), name="4x4")
        async with demo_console(tmp_path, plan=plan) as (app, pilot):
            await active_pause_of_a_short_4x4(pilot, yes=yes_key())
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused", 30)
            await pilot.pause()
            moving = (_plain(app, "#phase").split("\n"), app.state.get("speed_kmh"))
            await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) < 0.05, 60)
            await pilot.pause()
            still = _plain(app, "#phase").split("\n")
            await pilot.press("x", yes_key())
            await wait_for(lambda: app.state.get("state") == "done", 60)
            return moving, still

    for lang in ("nb", "en"):
        (moving, speed), still = run_console(main(), 180, lang=lang)
        i18n.set_language(lang)
        try:
            halted = i18n._("belt halted")
            assert speed >= 0.05, speed  # read while the belt still moved
            assert halted not in moving[0] and i18n._("slowing to a stop") in moving[0], \
                moving
            assert len(moving) == 2 and len(still) == 2, (moving, still)
            assert halted in still[0], still
        finally:
            i18n.set_language("en")


def test_the_acknowledgement_is_said_from_the_held_line_with_its_name_as_text():
    """`a`'s words come from the held line as shown when it was pressed: its severity as the
    service sent it (by the reply the state no longer holds it; a name the core does not
    know was then said as an alarm), and its name drawn as text, never as markup."""
    from controller.core.i18n import translations
    from tests.test_console import _Stepped, tmp_sock

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(phase="warmup", interval=0, event_list=[], started_s=0.0,
                     alarms={"[b]odd[/b]": "x"},
                     alarm_list=[{"kind": "[b]odd[/b]", "message": "x",
                                  "severity": "warning"}])
            await pilot.pause()
            said = app._acknowledged_words("[b]odd[/b]", [])
            app.say(said)
            await pilot.pause()
            # as drawn: the Static's rendered text, its markup already applied
            return said, str(app.screen_stack[0].query_one("#message", Static).render())

    said, shown = asyncio.run(asyncio.wait_for(main(), 60))
    words = translations("en").gettext("Warning acknowledged: {alarm}").format(
        alarm="[b]odd[/b]")
    assert shown.startswith(words), (said, shown)
