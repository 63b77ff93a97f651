"""The strap tests' rig: the emulated ANT stick, its straps, Bluetooth straps and a session
waiting to be paired, on one simulated clock.

openant's real code reads the emulated stick (``StickHub``); the straps' pages, the ANT+
source's watchdog and scan, the Bluetooth scan and the session all run on the hub's clock, a
``ScaledClock`` (``STRAP_SCALE`` times the wall). openant's own waits (its 1 s after a stick
reset, its 1 s queue polls on teardown) and the source's rebuild back-off stay real: they are
the stick's time, not the strap's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from controller.devices.antstick import StickHub, Strap
from controller.hr import AntSource, BleSource, scan_ble
from controller.service.config import load
from controller.service.simclock import ScaledClock
from tests.ble_air import BleStrap, client_backend, scanner_backend
from tests.test_runtime import SHORT

STRAP_SCALE = 10
"""Simulated seconds per real second for the straps and the session."""


def sim_hub(straps: list[Strap], scale: float = STRAP_SCALE) -> StickHub:
    """The stick with ``straps`` in range, on a clock ``scale`` times the wall's."""
    return StickHub(straps, clock=ScaledClock(scale))


def speedup(hub: StickHub) -> float:
    return float(getattr(hub.clock, "speedup", 1.0))


def ant_source(hub: StickHub, **kw: Any) -> AntSource:
    """openant on ``hub``'s stick, its samples, watchdog and scan on ``hub``'s clock."""
    return AntSource(driver_factory=hub.driver, clock=hub.clock, **kw)


def battery_page_due(hub: StickHub, strap: Strap, after_msgs: int) -> None:
    """Make ``strap``'s battery page (7: messages 256–259 of every 260) come after
    ``after_msgs`` more of its messages: a test says when, not the scheduler."""
    with hub._lock:  # the stick's reader counts the messages
        strap._msg_count = 256 - after_msgs


class CountingScanner:
    """The ANT+ scanner the runtime calls (``AntSource.scan``), counting finished scans so a
    test waits for "a scan ended" instead of sleeping for one."""

    def __init__(self, hub: StickHub) -> None:
        self.hub = hub
        self.done = 0

    def __call__(self, seconds: float) -> Any:
        try:
            return ant_source(self.hub).scan(seconds)
        finally:
            self.done += 1


def strap_runtime(hub: StickHub, tm_link: Any, *, clock: Callable[[], float] | None = None,
                  ble: list[BleStrap] | None = None, tick_s: float = 0.1, **kw: Any) -> Any:
    """A session waiting for staff to pair a strap: ANT+ straps on ``hub`` through openant,
    and with ``ble`` those Bluetooth straps through bleak's front classes on ``tests.ble_air``.
    The session runs on ``clock`` (default: the hub's); the Bluetooth scan listens for the
    same stretch of simulated time as the ANT+ one."""
    from controller.service.runtime import Runtime

    scale = speedup(hub)

    def source_for(s: dict[str, Any]) -> Any:
        if s["kind"] == "ble":
            assert ble is not None
            return BleSource(s["address"], backend=client_backend(ble, 0.25 / scale),
                             max_backoff_s=0.2, clock=hub.clock)
        return ant_source(hub, device_number=s["device_number"])

    ble_scanner = None
    if ble is not None:
        def ble_scanner(seconds: float) -> Any:
            return scan_ble(seconds / scale, backend=scanner_backend(ble))

    return Runtime(load(None).profile, SHORT, hr_source=None, treadmill=tm_link,
                   clock=clock or hub.clock, tick_s=tick_s, source_for=source_for,
                   scanner=CountingScanner(hub), ble_scanner=ble_scanner, **kw)


def press(app: Any, key: str) -> None:
    """``key`` as staff press it, through the app's own key handling, without
    ``Pilot.press``'s wait for an idle process (with the stick and the board emulated in this
    process it never is: 2 s a key); the test then waits for what the key does."""
    app.simulate_key(key)


@contextlib.asynccontextmanager
async def console_on(rt: Any, sock: str, size: tuple[int, int] = (80, 24)
                     ) -> AsyncIterator[tuple[Any, Any]]:
    """The session served on the control socket ``sock`` and the staff console on it (Textual's
    Pilot), as a person at the treadmill sees them: yields ``(app, pilot)``."""
    from pathlib import Path

    from controller.app.console import StaffConsole
    from controller.service.control_socket import ControlServer

    run = asyncio.create_task(rt.run())
    server = asyncio.create_task(ControlServer(rt, sock).serve())
    try:
        async with asyncio.timeout(30):
            while not Path(sock).exists():
                await asyncio.sleep(0.05)
        app = StaffConsole(sock)
        async with app.run_test(size=size) as pilot:
            yield app, pilot
    finally:
        server.cancel()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
