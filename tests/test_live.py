"""Simulated time never shrinks a safety margin (issue 10): the firmware's host timeout stays
≥ 500 ms of real time at any demo speed, and a headless demo never hangs in a pause."""

import asyncio
import dataclasses
import time

import pytest

from controller.app.demo import DemoAborted, run_demo
from controller.devices.emulator import Emulator
from controller.service.config import load
from controller.treadmill import Treadmill
from tests.test_runtime import SHORT

# stalls of 200 ms that must not trip the 500 ms host timeout: `./run tests` runs these in the
# quieter phase, where a busy machine does not stretch them
pytestmark = pytest.mark.realtime


async def running_belt(emu: Emulator, tm: Treadmill) -> None:
    await tm.wait_status(lambda s: s.reset_needed, 10)
    emu.press_reset(0.2)
    await tm.wait_status(lambda s: s.state == "idle", 10)
    await tm.arm()
    await tm.wait_status(lambda s: s.incline_homed and s.state == "armed", 30)
    await tm.start(2.0)
    await tm.wait_status(lambda s: s.state == "running", 5)


def test_simulated_time_never_shrinks_the_firmwares_host_timeout():
    """At 10× a loop stall of 200 ms (a PDF, a slow disk) once latched ``host_silent``: the
    timeout was 50 ms of real time. It is ≥ 500 ms real at any speed, and still enforced."""
    async def main():
        with Emulator(time_scale=10) as emu:
            async with Treadmill(emu.link) as tm:
                await running_belt(emu, tm)
                time.sleep(0.2)  # the event loop stalls: no heartbeat for 200 ms
                await asyncio.sleep(0.3)
                assert tm.status.fault == "none" and tm.status.state == "running"
                time.sleep(0.7)  # silent for longer than the firmware's limit
                st = await tm.wait_status(lambda s: s.fault != "none", 5)
                assert st.fault == "host_silent"

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_headless_demo_never_hangs_in_a_pause():
    """Headless, nobody can resume a paused session: the run ends with a clear reason and the
    belt at rest, instead of waiting for ever."""
    cfg = dataclasses.replace(load(None), plan=SHORT)

    def on_ready(rt, emu):
        asyncio.get_running_loop().call_later(3.0, emu.set_estop, True)

    async def main():
        with pytest.raises(DemoAborted, match=r"paused.*no console") as info:
            await run_demo(cfg, speedup=30, seed=3, category="typical", use_mqtt=False,
                           on_ready=on_ready)
        return info

    asyncio.run(asyncio.wait_for(main(), 60))
