"""The demo's start never holds the control loop: staff's local reset on the emulated board
is held for 0.2 s, and the demo pressed it from the event loop, so every demo began with no
heartbeat to the board for 0.2 s plus the board's answer (the ~270 ms "largest gap" of a
good headless run)."""

import asyncio
import contextlib
import time

import pytest

from controller.app.demo import run_demo
from controller.service.config import load

pytestmark = pytest.mark.realtime  # measures the loop's lag in wall time


def test_the_reset_press_at_the_demos_start_does_not_hold_the_loop(tmp_path):
    """From the board's start to the session's: the link is open (heartbeats due), the store's
    writer and the worker process start, staff press the reset."""

    async def main() -> float:
        worst = [0.0]
        ready = asyncio.Event()

        async def beat() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                worst[0] = max(worst[0], now - last)
                last = now

        demo = asyncio.create_task(run_demo(load(None), speedup=30, seed=1,
                                            category="typical", use_mqtt=False,
                                            store_path=str(tmp_path / "s.db"),
                                            on_ready=lambda rt, emu: ready.set()))
        await asyncio.sleep(0.3)  # the board process has started; the link is open soon
        probe = asyncio.create_task(beat())
        await asyncio.wait_for(ready.wait(), 30)
        probe.cancel()
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
        return worst[0]

    worst_s = asyncio.run(main())
    assert worst_s < 0.19, f"the loop stood still for {worst_s * 1000:.0f} ms"
