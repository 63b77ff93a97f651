"""Four small things a bokmål "new nurse" saw on the console at 80×24 (brief s10con): the
acknowledgement of a lost-pulse alarm after the pulse came back, the Borg box's line after
the session ended, staff's pause in an active pause in the header, and «0/4» in ``økter``
for a session that never reached an interval. Through Textual's Pilot against the real
runtime on the emulated motor board, and the CLI as a subprocess."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from controller.core import i18n
from tests.console_rig import realtime, run_console, wait_for


def _plain(app, wid: str) -> str:
    return Text.from_markup(str(app.screen_stack[0].query_one(wid, Static).render())).plain


def _mss(s: float) -> str:
    s = round(s)
    return f"{s // 60}:{s % 60:02d}"


@realtime
def test_acknowledging_after_the_pulse_came_back_says_it_in_the_past(tmp_path):
    """Trial: the alarm line read «Fant pulsen igjen (fant den ikke 10:59–11:06 ut i økten)»;
    `a` answered «Alarmen er kvittert: finner ikke pulsen – senker til rolig gange», as if
    the pulse were lost now. After it came back, the answer says when it was lost and that it
    is back; in English too."""
    from controller.protocol import HR_HOLD_AFTER_S
    from controller.service.simclock import ScaledClock
    from tests.console_rig import console_in_warmup, lose_the_pulse, strap_with_a_gap

    speed = 10.0
    clock = ScaledClock(speed)
    gone, hr_of = strap_with_a_gap()  # quiet from gone[0] to gone[1] on the session's clock

    async def main():
        async with console_in_warmup(tmp_path, speed, clock, hr_of) as (_rt, app, pilot):
            await lose_the_pulse(app, gone, clock, 60)  # back after 15 s and a little more
            await wait_for(lambda: "Fant pulsen igjen (" in _plain(app, "#alarms"), 60)
            await pilot.press("a")
            await wait_for(lambda: any(e["kind"] == "acknowledged"
                                       for e in app.state.get("event_list") or []), 30)
            await pilot.pause()
            await wait_for(lambda: "kvittert" in _plain(app, "#events"), 10)
            said = " ".join(line.strip() for line in _plain(app, "#events").split("\n"))
            i18n.set_language("en")
            app.refresh_view()
            english = " ".join(line.strip() for line in _plain(app, "#events").split("\n"))
            i18n.set_language("nb")
            return dict(app.state), said, english

    state, said, english = run_console(main(), 180, lang="nb")
    events = state["event_list"]
    started = state["started_s"]
    hold = next(e for e in events if e["kind"] == "hr_hold")
    back = next(e for e in events if e["kind"] == "hr_restored")
    span = f"{_mss(hold['now_s'] - HR_HOLD_AFTER_S - started)}–{_mss(back['now_s'] - started)}"
    assert "finner ikke pulsen" not in said and "senker" not in said, said
    assert f"Alarmen er kvittert: fant ikke pulsen {span} ut i økten – nå er den funnet " \
           "igjen" in said, (span, said)
    assert f"Alarm acknowledged: the heart rate was lost {span} into the session – it is " \
           "back" in english, (span, english)


def test_an_alarm_acknowledged_while_the_pulse_is_still_missing_keeps_its_words():
    """The past tense only where the pulse came back after the alarm: acknowledged while it
    is still missing (or missing again, a later dropout) the answer says the alarm as it is
    held now."""
    import asyncio

    from controller.core.words import event_text
    from tests.test_console import _Stepped, tmp_sock

    def ev(kind: str, now_s: float, **params) -> dict:
        return {"kind": kind, "severity": "info", "message": kind, "now_s": now_s,
                "params": params}

    ack = ev("acknowledged", 60.0, alarm="hr_lost", severity="alarm")
    still = [ev("hr_hold", 20.0), ev("hr_lost", 30.0), ack]
    again = [ev("hr_hold", 20.0), ev("hr_restored", 35.0), ev("hr_hold", 50.0), ack]
    over = [ev("hr_hold", 20.0), ev("hr_lost", 30.0), ev("hr_restored", 40.0), ack]

    async def main():
        app = _Stepped(tmp_sock())
        seen = []
        async with app.run_test(size=(80, 24)) as pilot:
            for events in (still, again, over):
                app.feed(phase="warmup", interval=0, event_list=events, alarms={},
                         alarm_list=[], started_s=0.0)
                await pilot.pause()
                seen.append(" ".join(x.strip() for x in _plain(app, "#events").split("\n")))
        return seen

    for lang in ("nb", "en"):
        i18n.set_language(lang)
        try:
            still_said, again_said, over_said = asyncio.run(asyncio.wait_for(main(), 60))
            now = event_text("acknowledged", "", ack["params"])
        finally:
            i18n.set_language("en")
        assert still_said.endswith(now) and again_said.endswith(now), (still_said, again_said)
        assert not over_said.endswith(now) and "0:15–0:40" in over_said, over_said


@realtime
def test_the_borg_box_follows_the_stop_to_its_end(tmp_path):
    """Trial: with the Borg box open, Stop put «Stopper: båndet senker farten til stopp.» on
    it, and it stayed there after the header said AVSLUTTET. Once the session is done and
    the belt at rest, the box says so (the message line's words), in both languages."""
    from controller.app.screens import BorgScreen
    from controller.app.screens.confirm import yes_key
    from tests.console_rig import borg_box_in_cooldown, demo_console

    def box(app) -> str:
        return " ".join(line.strip() for line in Text.from_markup(str(
            app.screen.query_one("#borg", Static).render())).plain.split("\n"))

    async def main():
        async with demo_console(tmp_path, linger=True) as (app, pilot):
            await borg_box_in_cooldown(pilot, yes=yes_key())
            await pilot.press("x", yes_key())
            await wait_for(lambda: i18n._("Stopping: the belt slows to a stop.") in box(app))
            await wait_for(lambda: app.state.get("state") == "done"
                           and (app.state.get("speed_kmh") or 0.0) < 0.05, 60)
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, BorgScreen), app.screen
            return box(app), _plain(app, "#phase")

    for lang in ("nb", "en"):
        said, header = run_console(main(), 120, lang=lang)
        i18n.set_language(lang)
        try:
            assert i18n._("ended").upper() in header, header
            assert i18n._("Stopping: the belt slows to a stop.") not in said, said
            assert i18n._("Stopped: the belt is at rest.") in said, said
        finally:
            i18n.set_language("en")


@realtime
def test_staffs_pause_in_an_active_pause_keeps_the_header_on_one_line(tmp_path):
    """Trial: paused (p) in an active pause, «4x4 · AKTIV PAUSE ETTER INTERVALL 1 · båndet
    stanset» did not fit the header's 48 columns at 80×24 and its state went onto a line of
    its own. The part and that the belt is halted on one line, the patient under it, in
    both languages."""
    import dataclasses

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
        # the demo's plan name (the rig's short plans are named "short")
        plan = dataclasses.replace(_with_a_pause_plan(), name="4x4")
        async with demo_console(tmp_path, plan=plan) as (_app, pilot):
            await active_pause_of_a_short_4x4(pilot, yes=yes_key())
            # «stanset» once the belt stands (while it slows the header says so: s10ack)
            await pause_until_the_belt_stands(pilot)
            await pilot.pause()
            lines, width, height = await header_lines(pilot)
            await stop_session(pilot, yes_key(), 60)
            return lines, width, height

    for lang in ("nb", "en"):
        lines, width, height = run_console(main(), 180, lang=lang)
        i18n.set_language(lang)
        try:
            part = i18n._("recovery after interval {n}").format(n=1).upper()
            assert len(lines) == 2 and height == 2, (lines, height)
            assert part in lines[0] and i18n._("belt halted") in lines[0], lines
            assert all(cell_len(line) <= width for line in lines), (width, lines)
            assert "DEMO-1 · " in lines[1], lines  # the demo's patient
        finally:
            i18n.set_language("en")


@realtime
def test_okter_shows_no_intervals_for_a_4x4_stopped_in_its_warm_up(tmp_path):
    """Trial: ``økter`` listed a 4x4 stopped in its warm-up with «0/4» under «Intervaller i
    sonen», beside the line that says such a session is kept but not counted: read as four
    intervals failed. A session that never reached its first interval shows «—» there; one
    that did keeps its «n/4». The session made as staff make it (the console on the demo's
    service, Start, Stop in the warm-up), the list read as they read it (the CLI)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from controller.app.screens.confirm import yes_key
    from controller.core.plan import default_4x4
    from tests.console_rig import demo_console, start_session, stop_session

    db = str(tmp_path / "sessions.db")

    async def main():
        # the clinic's 4x4 (its shortest warm-up): four intervals planned, none reached
        async with demo_console(tmp_path, db, plan=default_4x4(180.0)) as (app, pilot):
            await start_session(pilot, 60)
            await stop_session(pilot, yes=yes_key(), timeout_s=60)
            return app.state.get("session_id")

    sid = run_console(main(), 120, lang="nb")
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    out = subprocess.run([sys.executable, "-m", "controller", "økter", "DEMO-1", "--store", db],
                         capture_output=True, text=True, timeout=120, env=env,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out
    row = next(line for line in out.stdout.splitlines() if sid in line)
    assert "avsluttet" in row, out.stdout
    assert "0/4" not in row and row.rstrip().endswith("—"), out.stdout
    # the line that says why, under the table (as read: wrapped at 80 columns)
    assert "— under «Intervaller i sonen»: økten kom ikke til første intervall (lagres, men " \
        "telles ikke)." in " ".join(out.stdout.split()), out.stdout
