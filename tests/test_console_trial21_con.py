"""Issue 21 (s6con), the bokmål new-nurse trial at the console (80×24, ``./run demo``).

1. During a strap dropout the header said hold («venter på puls – holder farten») while the
   alarm line and the belt page said slow («finner ikke pulsen – senker til rolig gange»): the
   state document took the session's state from the last tick's snapshot and its alarms from
   the session itself; while the tick that slowed the belt was still sending its set-point to
   the board, a console push carried the new alarm beside the old state. Every screen now
   takes the heart-rate level from the session (``core.pulse.session_state``).
2. A Borg prompt asked at interval 1's end stayed open through the active pause into the next
   interval and covered the alarm lines.
"""

from __future__ import annotations

import asyncio

import pytest

from controller.core.words import ALARMS, word
from tests.console_rig import demo_console, realtime, run_console, wait_for
from tests.test_pulse_dropout_one_decision import (
    _console_frame,
    _to_interval_in_zone,
    _watch_console,
    dropout_rig,
)


@realtime
def test_the_header_never_says_hold_beside_the_slow_alarm(tmp_path):
    """The board is slow to answer (muted for 0.8 s) as the slow-down falls due, so its
    set-point waits: the console pushes states meanwhile, and none says hold in the header
    beside the slow alarm."""
    async def main() -> None:
        hold, slow = word(ALARMS, "hr_hold"), word(ALARMS, "hr_lost")
        async with dropout_rig(tmp_path, lang="nb") as rig:
            await _to_interval_in_zone(rig)
            frames: list = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(_watch_console(rig.app, frames, stop))
            try:
                rig.hr[0] = 0.0  # no skin contact: the strap sends, nothing is usable
                muted: list[float] = []

                def tick(snap) -> None:
                    # the tick before the slow-down: the line from the board goes quiet
                    # until after it, so the slow-down's set-point waits for the board
                    due = rig.rt.session.next_failsafe_s()
                    if not muted and snap.setpoint.state == "hr_hold" and due is not None \
                            and due - snap.setpoint.now_s < 1.0:
                        muted.append(snap.setpoint.now_s)
                        rig.emu.mute(0.8)

                rig.rt.on_tick = tick
                await wait_for(lambda: rig.app.doc.state == "hr_slow", 20)
                await asyncio.sleep(1.0)
            finally:
                stop.set()
                await watcher
            assert muted
            both = [f for f in frames if slow in f[5].lower() and hold in f[2].lower()]
            assert not both, both[0]
            assert any(slow in f[2].lower() and slow in f[5].lower() for f in frames)
            assert _console_frame(rig.app)[0] == "hr_slow"

    run_console(main(), 120, lang="nb")


@realtime
def test_a_borg_prompt_left_open_closes_when_the_next_interval_begins(tmp_path):
    """2. The trial's Borg prompt (interval 1's end) stayed open through the whole active
    pause into the next interval. It closes itself as interval 2 begins, the rating left
    unrecorded and said so («Borg-skår ikke registrert for intervall 1»); b still gives it."""
    from controller.app.screens import BorgScreen
    from tests.test_console_borg_owed import TWO
    from tests.test_console_nurse import _choose
    from tests.test_console_trial import footer

    async def main():
        async with demo_console(tmp_path, str(tmp_path / "s.db"), choose_patient=True,
                                plan=TWO) as (app, pilot):
            await _choose(pilot, app, "P-62")
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.press("k", "j")  # to interval 1, which runs to its end
            await wait_for(lambda: app.state.get("phase") == "interval", 60)
            # the form's setup is the clinic's 4x4 (4-min interval, 3-min pause: 48 + 36 s
            # at 5×), not TWO: bounds for a loaded machine
            await wait_for(lambda: isinstance(app.screen, BorgScreen), 180)
            assert app.screen.interval == 1
            # nobody answers it: the active pause runs out, interval 2 begins
            await wait_for(lambda: app.state.get("phase") == "interval"
                           and app.state.get("interval") == 2, 180)
            await wait_for(lambda: len(app.screen_stack) == 1, 5)
            await pilot.pause()
            assert "Borg-skår ikke registrert for intervall 1" in app.message, app.message
            assert "1" not in (app.state.get("ratings") or {})
            assert ("b", "Borg-skår") in footer(app), footer(app)
            await pilot.press("p")  # the console's keys are its own again
            await wait_for(lambda: app.state.get("state") == "paused", 20)

    run_console(main(), 480, lang="nb")


HOLD_AND_SLOW = {"hr_hold": "no valid heart rate for 5 s: holding speed",
                 "hr_lost": "no valid heart rate for 15 s: slowing to an easy walk"}


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("alarms", [1, 2], ids=["one_alarm", "hold_and_slow"])
def test_a_borg_prompt_never_covers_the_alarm_lines(lang, alarms):
    """2. At 80×24 the prompt (22 rows, in the middle) covered the alarm lines: they stay
    in view beside it, whole, with one alarm or the two of a dropout."""
    from tests.test_snapshots import STATE, FixedConsole

    held = dict(STATE) if alarms == 1 else dict(
        STATE, state="hr_slow", hr_bpm=None, alarms=HOLD_AND_SLOW,
        alarm_list=[{"kind": k, "message": m} for k, m in HOLD_AND_SLOW.items()])

    class Held(FixedConsole):
        fixed = held

    async def main():
        app = Held("/nonexistent.sock")
        async with app.run_test(size=(80, 24)) as pilot:
            app.rate(2)
            await pilot.pause()
            await pilot.pause()
            box = app.screen.query_one("#borg").region
            lines = app.screen_stack[0].query_one("#alarms").region
            assert lines.height >= alarms, lines
            assert not box.overlaps(lines), (box, lines)
            assert box.bottom <= 23 and box.y >= 0, box  # whole, above the footer
            text = str(app.screen.query_one("#borg").render())
            assert "20" in text and "6" in text

    run_console(main(), 60, lang=lang)


@realtime
@pytest.mark.parametrize("how", ["stopped", "plan"])
def test_the_header_says_ended_for_a_stopped_session_and_finished_only_when_the_plan_ran_out(
        tmp_path, how):
    """3. The header said STOPPET (and FERDIG) where the records, the belt page and the
    chooser say «avsluttet» for a stopped session and «ferdig/fullført» only when the plan
    ran out: the header follows the end event's ``ended`` (plan|stopped)."""
    from tests.console_rig import skip_to, start_session, stop_session
    from tests.test_runtime import BRIEF

    async def main():
        async with demo_console(tmp_path, plan=BRIEF) as (app, pilot):
            await start_session(pilot)
            if how == "stopped":
                await skip_to(pilot, "interval")
                await stop_session(pilot)
            else:
                for phase in ("interval", "cooldown"):
                    await skip_to(pilot, phase)
                await pilot.press("k", "j")
                await wait_for(lambda: app.state.get("state") == "done", 60)
            await wait_for(lambda: any(e.get("kind") == "done"
                                       for e in app.state.get("event_list") or []), 30)
            await pilot.pause()
            header = str(app.query_one("#phase").render())
            ended = [e for e in app.state["event_list"] if e["kind"] == "done"][-1]
            assert ended["params"]["ended"] == how
            if how == "stopped":
                assert "AVSLUTTET" in header and "STOPPET" not in header, header
                assert "FERDIG" not in header, header
            else:
                assert "FERDIG" in header or "FULLFØRT" in header, header
                assert "AVSLUTTET" not in header, header

    run_console(main(), 180, lang="nb")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_demos_lines_carry_no_log_level_word(tmp_path, lang):
    """4. «[06:36] INFO: Stoppet av personalet» in the headless demo's lines: a line staff
    read carries no log level (the demo's log file keeps them). Alarms and warnings keep
    the console's own words for them (ALARM, ADVARSEL)."""
    import re
    import subprocess
    import sys

    from tests.test_demo_lines import _env

    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--category",
                        "strap_trouble", "--lang", lang], capture_output=True, text=True,
                       timeout=300, env=_env())
    assert r.returncode == 0, r.stderr
    events = [ln for ln in r.stdout.splitlines() if re.match(r"^\s+\[\d\d:\d\d\] ", ln)]
    assert len(events) > 5, r.stdout
    levels = [ln for ln in r.stdout.splitlines() + r.stderr.splitlines()
              if re.search(r"\b(INFO|DEBUG)\b|\binfo:", ln, re.IGNORECASE)]
    assert not levels, levels


def test_the_bokmal_help_names_its_groups_plainly():
    """5. `fourbyfour --help` in bokmål said «posisjonsargumenter» (argparse's own words):
    every group title of every command's help is «argumenter» or «valg»."""
    import argparse
    import os
    import re
    import subprocess
    import sys

    from controller.app.cli import build_parser

    env = dict(os.environ, FOURBYFOUR_LANG="nb")
    ap = build_parser()
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    commands = sorted({sub.prog.split()[-1] for sub in subs.choices.values()})
    titles: set[str] = set()
    for args in ([], *([c] for c in commands)):
        r = subprocess.run([sys.executable, "-m", "controller", *args, "--help"],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, (args, r.stderr)
        assert "posisjon" not in r.stdout.lower(), (args, r.stdout)
        titles |= set(re.findall(r"^(\S[^:\n]*):$", r.stdout, re.MULTILINE))
    assert titles == {"argumenter", "valg"}, titles


@realtime
def test_the_patient_forms_age_is_marked_optional_and_is(tmp_path):
    """6. The form's age field is optional (a measured HRmax needs none) but was labelled
    «alder (år)» beside «hvilepuls (valgfri)»: it says «alder (valgfri)», and a patient
    saved without an age is taken."""
    from textual.widgets import Label

    from tests.console_rig import open_form

    async def main():
        async with demo_console(tmp_path, choose_patient=True) as (app, pilot):
            form = await open_form(pilot)
            labels = [str(label.render()) for label in form.query(Label)]
            assert "alder (valgfri)" in labels, labels
            assert "hvilepuls (valgfri)" in labels, labels
            await pilot.press(*"P-63")
            form.query_one("#source").value = "measured"
            for field, value in (("hr_max", "181"), ("max_speed", "7"), ("max_incline", "10")):
                form.query_one(f"#{field}").value = value
            assert form.query_one("#age").value == ""
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("pseudonym") == "P-63", 20)
            assert app.state.get("age_years") is None

    run_console(main(), 120, lang="nb")
