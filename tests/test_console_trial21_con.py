"""Issue 21 (s6con), the bokmål new-nurse trial at the console (80×24, ``./run demo``).

1. During a strap dropout the header said hold («venter på puls – holder farten») while the
   alarm line and the belt page said slow («finner ikke pulsen – senker til rolig gange»): the
   state document took the session's state from the last tick's snapshot and its alarms from
   the session itself; while the tick that slowed the belt was still sending its set-point to
   the board, a console push carried the new alarm beside the old state. Every screen now
   takes the heart-rate level from the session (``core.pulse.session_state``).
"""

from __future__ import annotations

import asyncio

from controller.core.words import ALARMS, word
from tests.console_rig import realtime, run_console, wait_for
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
