"""The emulated motor board in its own process (issue 10 §1, the benches): a real board is its
own MCU and never waits for the Pi's CPU, so the emulated one must not freeze with the control
process — and a control process that is frozen for longer than the firmware's 500 ms must
still be seen as a silent host (the safety works)."""

import asyncio
import contextlib
import dataclasses
import os
import sys

from controller.app.demo import run_demo
from controller.devices.emulator_process import EmulatorProcess
from controller.service.config import load
from controller.treadmill import Treadmill
from tests.console_rig import realtime
from tests.test_live import running_belt
from tests.test_runtime import BRIEF, DEMO_SPEEDUP

SETUP_SCALE = 10
"""The board's physics while the belt is brought to speed before a freeze (10× faster)."""

FREEZER = """
import os, signal, sys, time
pid, hold_s = int(sys.argv[1]), float(sys.argv[2])
os.kill(pid, signal.SIGSTOP)
try:
    time.sleep(hold_s)
finally:
    os.kill(pid, signal.SIGCONT)
"""


async def freeze_this_process(hold_s: float) -> None:
    """The control process gets no CPU at all for ``hold_s`` (SIGSTOP from a helper, which
    always sends SIGCONT): what a starved Pi does to it, at its worst. The loop runs on (and
    the heartbeat goes out) until the helper stops it."""
    helper = await asyncio.create_subprocess_exec(sys.executable, "-c", FREEZER,
                                                  str(os.getpid()), str(hold_s))
    assert await asyncio.wait_for(helper.wait(), 30) == 0


def test_the_board_runs_on_while_the_control_process_is_frozen_and_sees_it_silent():
    """In the control process (a polling thread) the board froze with it: its poll gap was as
    long as the freeze, and a host frozen for 0.8 s — longer than the firmware's 500 ms — was
    not caught, the board resumed with it and read the late heartbeats. In its own process the
    board keeps polling through a 0.3 s freeze (the belt runs on, no fault), and latches
    ``host_silent`` when the host is silent for 0.8 s."""
    async def main():
        # the set-up (reset, homing, the belt's ramp) on the board's simulated time; the
        # freezes, the heartbeat and the firmware's 500 ms host timeout stay real
        with EmulatorProcess(time_scale=SETUP_SCALE) as emu:
            assert emu.pid != os.getpid()
            async with Treadmill(emu.link) as tm:
                await running_belt(emu, tm)
                await tm.wait_status(lambda s: s.speed_kmh > 1.5, 10)
                emu.port.max_rx_gap_s = 0.0
                emu.max_poll_gap_s = 0.0
                await freeze_this_process(0.3)
                await asyncio.sleep(0.4)
                gap, poll_gap = emu.port.max_rx_gap_s, emu.max_poll_gap_s
                assert gap >= 0.28, f"the host was not frozen (largest gap {gap * 1000:.0f} ms)"
                assert poll_gap < 0.15, (f"the board went unpolled for {poll_gap * 1000:.0f} ms "
                                         "while the control process was frozen")
                assert tm.status.fault == "none" and tm.status.state == "running", (
                    f"{tm.status.fault} after a freeze of {gap * 1000:.0f} ms")
                assert emu.sup.fault == 0 and emu.board.belt_kmh > 1.5

                await freeze_this_process(0.8)  # silent for longer than the firmware's limit
                st = await tm.wait_status(lambda s: s.fault != "none", 5)
                assert st.fault == "host_silent"
                assert emu.host_silent_faults == 1
                # the controlled ramp ends with the belt at rest and the relay open, and the
                # cause is still the silence: the belt followed the ramp (its tach reading,
                # the speed of up to a pulse period ago, once ended it as 'overspeed')
                st = await tm.wait_status(lambda s: not s.relay_on, 10)
                assert (st.fault, st.speed_kmh) == ("host_silent", 0.0)
                assert emu.max_poll_gap_s < 0.15

    asyncio.run(asyncio.wait_for(main(), 90))


@realtime  # a whole demo with its board's process: run 14 starved its start past 10 s
def test_the_headless_demo_runs_on_the_board_in_its_own_process():
    """``run_demo`` (headless and console) drives the board in a child process at raised
    priority; the virtual patient walks on the child's belt speed, the session finishes."""
    cfg = dataclasses.replace(load(None), plan=BRIEF)
    emus, nice = [], []

    def ready(rt, emu):
        emus.append(emu)
        nice.append(os.getpriority(os.PRIO_PROCESS, 0))

    async def main():
        return await run_demo(cfg, speedup=DEMO_SPEEDUP, seed=4, category="typical", use_mqtt=False,
                              on_ready=ready)

    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        _rt, rows = asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        with contextlib.suppress(OSError):  # this test process goes back to where it was
            os.setpriority(os.PRIO_PROCESS, 0, before)
    (emu,) = emus
    assert isinstance(emu, EmulatorProcess) and emu.pid != os.getpid()
    if os.geteuid() == 0:
        assert emu.nice == -10
        assert nice == [-5], "the demo's control service runs at the unit's Nice=-5"
    phases = []
    for r in rows:
        if not phases or phases[-1] != r.phase:
            phases.append(r.phase)
    assert phases == ["warmup", "interval", "cooldown", "done"]
    assert rows[-1].state == "done" and rows[-1].speed_kmh == 0.0
    assert max(r.speed_kmh for r in rows) > 3.0, "the patient never walked on the board's belt"
    assert emu.host_silent_faults == 0 and emu.sup.fault == 0
