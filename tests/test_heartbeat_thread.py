"""The link's heartbeat does not share fate with a busy event loop, but dies with a hung one
(issue 25 item 7).

Under load (two CPU hogs, load 7–12 on two cores) the headless demo latched ``host_silent``
on real host silences of 523 and 644 ms: the heartbeat was a task of the event loop, and the
loop's thread sat runnable in the run queue (a probe: 180 ms waiting for a CPU, 4 ms of
work) or was busy elsewhere. The heartbeat now goes out from a thread of its own every
100 ms, and only while the loop shows it is alive (``LOOP_DEAD_S``): a loop that is busy or
starved for 0.7 s keeps the belt running, a loop that is hung stops the heartbeat, and the
firmware's own 500 ms rule stops the belt — as it does for a dead process.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from controller.devices.emulator_process import EmulatorProcess
from controller.treadmill import LOOP_DEAD_S, Treadmill
from tests.test_live import running_belt

pytestmark = pytest.mark.realtime


def busy(seconds: float) -> None:
    """A step that holds the event loop's thread (a report, a big JSON, a slow query)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        pass


def test_a_loop_busy_for_700_ms_does_not_latch_while_it_is_alive() -> None:
    async def main() -> None:
        with EmulatorProcess(time_scale=10) as emu:
            async with Treadmill(emu.link) as tm:
                await running_belt(emu, tm)
                await tm.wait_status(lambda s: s.speed_kmh > 1.5, 10)
                for _ in range(2):
                    emu.port.max_rx_gap_s = 0.0
                    busy(0.7)  # longer than the firmware's 500 ms: no task of this loop ran
                    await asyncio.sleep(0.5)
                    assert emu.host_silent_faults == 0, "the board latched a busy host"
                    assert tm.status is not None and tm.status.fault == "none"
                    assert tm.status.state == "running"
                    gap = emu.port.max_rx_gap_s
                    assert gap < 0.45, f"the heartbeat stopped with the loop ({gap * 1e3:.0f} ms)"

    asyncio.run(asyncio.wait_for(main(), 120))


def test_a_hung_loop_stops_the_heartbeat_and_the_firmware_latches() -> None:
    async def main() -> None:
        with EmulatorProcess(time_scale=10) as emu:
            async with Treadmill(emu.link) as tm:
                await running_belt(emu, tm)
                await tm.wait_status(lambda s: s.speed_kmh > 1.5, 10)
                emu.port.max_rx_gap_s = 0.0
                # hung: nothing of the loop runs for longer than its liveness bound and the
                # firmware's 500 ms together
                time.sleep(LOOP_DEAD_S + 1.0)
                st = await tm.wait_status(lambda s: s.fault != "none", 5)
                assert st.fault == "host_silent"
                assert emu.host_silent_faults == 1
                await asyncio.sleep(0.5)  # the board has read the frames after the hang
                # the heartbeat stopped about LOOP_DEAD_S after the loop's last sign of life
                assert 0.5 <= emu.port.max_rx_gap_s <= 1.45

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_liveness_bound_keeps_the_belt_safe() -> None:
    """A hung loop holds the last set-point at most this long before the heartbeat stops, and
    the firmware's 500 ms on top: within the clinic's 1 s tick's order, far below the heart
    rate's 5 s hold."""
    assert 0.7 < LOOP_DEAD_S <= 1.5
