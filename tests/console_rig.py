"""The console tests' rig: the demo's real service behind its control socket, the staff
console on it (Textual's Pilot), and the steps most tests take before what they test (the
patient form, Start, a skip to a phase, Stop).

The console tests wrote this set-up out again in every test; here it is once, so a test
reads as what a person does at the console and what they see. Nothing here asserts what a
test is about: the helpers press the keys a person presses and wait (``wait_for``, with the
test's own time-outs) for the state the service pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

# the console and the demo's service share one event loop with the firmware link's heartbeat:
# on a machine busy with other tests, Textual's rendering can starve it past the firmware's
# 500 ms host timeout; `./run tests` runs these in the quieter phase (the tests without a
# link to a board run with the others)
realtime = pytest.mark.realtime

SIZE = (80, 24)
"""The terminal the console tests drive (80×24, a plain terminal's size)."""


def run_console(main: Coroutine[Any, Any, Any], timeout_s: float, lang: str | None = None
                ) -> Any:
    """Run a console test's ``main`` (``asyncio.run``) within ``timeout_s``; with ``lang``
    the console speaks ``lang`` during it and English after, also when it fails."""
    from controller.core import i18n

    if lang is None:
        return asyncio.run(asyncio.wait_for(main, timeout_s))
    i18n.set_language(lang)
    try:
        return asyncio.run(asyncio.wait_for(main, timeout_s))
    finally:
        i18n.set_language("en")


_OPEN_CONSOLES: list[Any] = []
"""The consoles ``open_console`` has open: a time-out says what they showed."""


def console_seen(app: Any) -> str:
    """What a console showed, in a line for a failed wait: its screen, the session's state,
    phase and interval, its alarms, the last events' kinds and the message line (CI's time-outs
    said only the line waited on, and the cause of a one-off failure was gone)."""
    state = getattr(app, "state", {}) or {}
    events = [e.get("kind") for e in (state.get("event_list") or [])[-6:]]
    alarms = [a.get("kind") for a in (state.get("alarm_list") or [])]
    return (f"screen={type(app.screen).__name__} state={state.get('state')} "
            f"phase={state.get('phase')} interval={state.get('interval')} "
            f"treadmill={state.get('treadmill')} alarms={alarms} events={events} "
            f"message={getattr(app, 'message', None)!r}")


async def wait_for(pred: Callable[[], object], timeout_s: float = 30.0,
                   step: float = 0.02) -> None:
    """Poll ``pred`` until it holds; after ``timeout_s`` a TimeoutError that names the
    line the condition was written on and what the open consoles showed."""
    try:
        async with asyncio.timeout(timeout_s):
            while not pred():
                await asyncio.sleep(step)
    except TimeoutError:
        seen = "".join(f"; console: {console_seen(app)}" for app in _OPEN_CONSOLES)
        raise TimeoutError(f"waited {timeout_s:g} s for the condition on line "
                           f"{pred.__code__.co_firstlineno}{seen}") from None


async def start_service(tmp_path: Path, store_path: str | None = None, linger: bool = False,
                        speedup: float = 5, choose_patient: bool = False,
                        on_ready: Callable[[Any, Any], None] | None = None,
                        plan: Any = None, setup_warmup_s: float | None = None
                        ) -> tuple[asyncio.Task[Any], str]:
    """The demo's control service (short plan, 5×) serving consoles on a socket. It shares
    the event loop with the console under test (the firmware's host timeout stays 500 ms of
    real time at any speed). Not faster: at 10× this process is never idle, and the Pilot
    waits its full second for idle twice on every key press (the file took 60 s, not 46).
    ``on_ready`` is the demo's: it is handed the runtime and the emulated board; ``plan``
    replaces the short plan (``tests.test_runtime.SHORT``)."""
    from controller.app.demo import run_demo
    from controller.service.config import load
    from tests.test_runtime import SHORT

    sock = tmp_path / "control.sock"
    cfg = dataclasses.replace(load(None), plan=SHORT if plan is None else plan)
    # the console demo's way
    more: dict[str, Any] = {"choose_patient": True} if choose_patient else {}
    if on_ready is not None:
        more["on_ready"] = on_ready
    if setup_warmup_s is not None:  # the config's [plan] warmup_s, as `demo --config` passes
        more["setup_warmup_s"] = setup_warmup_s
    service = asyncio.create_task(run_demo(cfg, speedup=speedup, seed=2, category="typical",
                                           use_mqtt=False, control_socket=str(sock),
                                           store_path=store_path, linger=linger, **more))
    await wait_for(sock.exists)
    return service, str(sock)


async def stop_service(service: asyncio.Task[Any]) -> None:
    """Cancel the service (if it has not ended) and wait for its clean-up: the emulated
    board's process and the store's writer are gone when this returns."""
    service.cancel()
    await asyncio.gather(service, return_exceptions=True)


@contextlib.asynccontextmanager
async def demo_service(tmp_path: Path, store_path: str | None = None, **kw: Any
                       ) -> AsyncIterator[tuple[asyncio.Task[Any], str]]:
    """``start_service`` for the ``async with`` block: yields ``(service, sock)`` and stops
    the service after (a test that waited for its end finds it ended)."""
    service, sock = await start_service(tmp_path, store_path, **kw)
    try:
        yield service, sock
    finally:
        await stop_service(service)


@contextlib.asynccontextmanager
async def open_console(sock: str, *, session: bool = True,
                       make: Callable[[str], Any] | None = None,
                       size: tuple[int, int] = SIZE) -> AsyncIterator[tuple[Any, Any]]:
    """The staff console on ``sock`` as Pilot drives it: yields ``(app, pilot)``. With
    ``session`` it first waits for the service's first state (its session id), as a person
    waits for the screen; ``make`` builds another console class (default: StaffConsole)."""
    from controller.app.console import StaffConsole

    app = (make or StaffConsole)(sock)
    async with app.run_test(size=size) as pilot:
        _OPEN_CONSOLES.append(app)
        try:
            if session:
                await wait_for(lambda: app.state.get("session_id"))
            yield app, pilot
        finally:
            _OPEN_CONSOLES.remove(app)


@contextlib.asynccontextmanager
async def demo_console(tmp_path: Path, store_path: str | None = None, *,
                       make: Callable[[str], Any] | None = None, **kw: Any
                       ) -> AsyncIterator[tuple[Any, Any]]:
    """The demo's service and a console on it, the session id seen: yields
    ``(app, pilot)``; the console closes, then the service is stopped. ``kw`` goes to
    ``start_service`` (``linger``, ``choose_patient``, ``on_ready``, ``speedup``, ``plan``)."""
    async with (demo_service(tmp_path, store_path, **kw) as (_service, sock),
                open_console(sock, make=make) as (app, pilot)):
        yield app, pilot


async def armed_treadmill(emu: Any) -> Any:
    """The treadmill client on the emulated board ``emu``, its reset pressed as staff press
    it after the board's boot: the board idle, ready for a session."""
    from controller.treadmill import Treadmill

    tm = Treadmill(emu.link)
    await tm.open()
    await tm.wait_status(lambda s: s.reset_needed, 10)
    await asyncio.to_thread(emu.press_reset, 0.2)
    await tm.wait_status(lambda s: s.state == "idle", 10)
    return tm


@contextlib.asynccontextmanager
async def console_in_warmup(tmp_path: Path, speed: float, clock: Callable[[], float],
                            hr_of: Callable[[float], float | None]
                            ) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The real runtime on the emulated board at ``speed``× with a simulated strap (``hr_of``
    on ``clock``: None is a quiet strap), its console, the session started (P-7, HRmax 183)
    and in its warm-up with a heart rate: yields ``(rt, app, pilot)``. The pulse tests' start
    (a dropout is what they do next)."""
    from controller.core.plan import default_4x4
    from controller.devices.emulator import Emulator
    from controller.hr import SimulatedSource
    from controller.protocol import PatientProfile
    from controller.service.runtime import Runtime

    with Emulator(time_scale=speed) as emu:
        tmc = await armed_treadmill(emu)
        rt = Runtime(PatientProfile(hr_max=183.0, max_speed_kmh=8.0, pseudonym="P-7"),
                     default_4x4(183.0), treadmill=tmc, clock=clock, tick_s=1.0 / speed,
                     hr_source=SimulatedSource(hr_of, rate_hz=4.0 * speed, clock=clock))
        run = asyncio.create_task(rt.run())
        try:
            async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
                await wait_for(lambda: app.state.get("session_id"))
                rt.start()
                await wait_for(lambda: app.state.get("phase") == "warmup"
                               and app.state.get("hr_bpm") is not None)
                yield rt, app, pilot
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await tmc.close()


@contextlib.asynccontextmanager
async def console_on_runtime(rt: Any, sock: str) -> AsyncIterator[tuple[Any, Any]]:
    """A runtime the test made (a recorded session, say) served on the real control socket
    ``sock``, and the console on it: yields ``(app, pilot)`` without waiting for a state
    (the test waits for the screen it expects)."""
    from controller.service.control_socket import ControlServer

    server = asyncio.create_task(ControlServer(rt, sock).serve())
    try:
        await wait_for(Path(sock).exists)
        async with open_console(sock, session=False) as (app, pilot):
            yield app, pilot
    finally:
        server.cancel()


@contextlib.asynccontextmanager
async def second_client(sock: str) -> AsyncIterator[Any]:
    """Another client on the control socket (as a second console would be), connected, its
    pushed states read and dropped (a command's reply comes among them); closed after."""
    from controller.service.control_socket import ControlClient

    client = ControlClient(sock)
    await client.connect()

    async def drain() -> None:
        async for _ in client.updates():
            pass

    reader = asyncio.create_task(drain())
    try:
        yield client
    finally:
        reader.cancel()
        await client.close()


async def choose_for_a_six_minute_test(client: Any, pseudonym: str = "P-17") -> None:
    """Set ``pseudonym`` up (makspuls 171, measured; caps 6,5 km/t, 12 %) for a 6-minute
    test at 4,5 km/t and 2 %, through ``client``."""
    reply = await client.command("setup", profile={
        "pseudonym": pseudonym, "hr_max": 171, "hr_max_source": "measured",
        "max_speed_kmh": 6.5, "max_incline_pct": 12},
        plan={"name": "six_minute_test", "speed_kmh": 4.5, "incline_pct": 2})
    assert reply["ok"], reply


async def start_session(pilot: Any, timeout_s: float = 30.0) -> None:
    """Start (s) and wait for the warm-up."""
    await pilot.press("s")
    await wait_for(lambda: pilot.app.state.get("phase") == "warmup", timeout_s)


async def skip_to(pilot: Any, phase: str, timeout_s: float = 30.0, yes: str = "j") -> None:
    """Skip the phase shown (k, and ``yes`` to the question) and wait for ``phase``."""
    await pilot.press("k", yes)
    await wait_for(lambda: pilot.app.state.get("phase") == phase, timeout_s)


async def borg_box_in_cooldown(pilot: Any, yes: str = "j") -> None:
    """Start the demo's short plan, skip to its one interval and wait in the cool-down after
    it with the interval's Borg box open and the belt moving (above 2 km/h)."""
    from controller.app.screens import BorgScreen

    app = pilot.app
    await start_session(pilot)
    await skip_to(pilot, "interval", yes=yes)
    await wait_for(lambda: app.state.get("phase") == "cooldown", 60)
    await wait_for(lambda: isinstance(app.screen, BorgScreen))
    await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) > 2.0, 60)


def strap_with_a_gap(bpm: float = 100.0) -> tuple[list[float | None],
                                                   Callable[[float], float | None]]:
    """(gone, hr_of): a strap's heart rate on the session's clock (about ``bpm``, a slow
    swing) that is quiet from ``gone[0]`` until ``gone[1]`` once the test sets them (None:
    not yet / not back yet), for ``console_in_warmup``."""
    import math

    gone: list[float | None] = [None, None]

    def hr_of(now_s: float) -> float | None:
        lo, hi = gone
        if lo is not None and (hi is None or now_s < hi) and now_s >= lo:
            return None
        return bpm + 2.0 * math.sin(now_s / 7.0)

    return gone, hr_of


async def lose_the_pulse(app: Any, gone: list[float | None], clock: Callable[[], float],
                         timeout_s: float = 30.0) -> None:
    """Make ``strap_with_a_gap``'s strap quiet now, wait for the session's ``hr_lost``, then
    let it come back (the gap ends at the next reading on the session's clock)."""
    gone[0] = clock()
    await wait_for(lambda: any(e["kind"] == "hr_lost"
                               for e in app.state.get("event_list") or []), timeout_s)
    gone[1] = clock()


async def header_lines(pilot: Any) -> tuple[list[str], int, int]:
    """The console header's lines as laid out (after a new text the box may take a moment
    to get its new height on a loaded machine), its content width and its height."""
    from rich.text import Text
    from textual.widgets import Static

    box = pilot.app.screen_stack[0].query_one("#phase", Static)

    def lines() -> list[str]:
        return Text.from_markup(str(box.render())).plain.split("\n")

    for _ in range(50):
        if box.size.height == len(lines()):
            break
        await pilot.pause(0.02)
    return lines(), box.content_size.width, box.size.height


async def active_pause_of_a_short_4x4(pilot: Any, yes: str = "j") -> None:
    """Start the demo's short plan with an active pause (``test_console_smalls21``'s, named
    4x4), skip to that pause and wait for the belt to move in it (above 2 km/h)."""
    await start_session(pilot, 60)
    await skip_to(pilot, "interval", yes=yes)
    await skip_to(pilot, "recovery", yes=yes)
    await wait_for(lambda: (pilot.app.state.get("speed_kmh") or 0.0) > 2.0, 60)


async def pause_until_the_belt_stands(pilot: Any, timeout_s: float = 60.0) -> None:
    """Pause (p) and wait until the session is paused and the belt reports standing."""
    await pilot.press("p")
    await wait_for(lambda: pilot.app.state.get("state") == "paused"
                   and (pilot.app.state.get("speed_kmh") or 0.0) < 0.05, timeout_s)


async def stop_session(pilot: Any, yes: str = "j", timeout_s: float = 30.0,
                       until: tuple[str, ...] = ("done",)) -> None:
    """Stop (x, and ``yes`` to the question) and wait for a state in ``until``."""
    await pilot.press("x", yes)
    await wait_for(lambda: pilot.app.state.get("state") in until, timeout_s)


async def open_form(pilot: Any) -> Any:
    """The patient form (n), mounted and drawn: returns it."""
    from controller.app.screens import PatientScreen

    await pilot.press("n")
    await wait_for(lambda: isinstance(pilot.app.screen, PatientScreen))
    await pilot.pause()
    return pilot.app.screen


async def fill_form(pilot: Any, *, save: bool = True, **fields: object) -> Any:
    """Open the patient form (n), set its fields by id (``pseudonym="P-42"``,
    ``hr_max="171"`` …, in the order given, as one change) and, with ``save``, save it
    (ctrl+s). Returns the form: a test waits for what saving does."""
    await pilot.press("n")
    form = pilot.app.screen
    for field, value in fields.items():
        form.query_one(f"#{field}").value = value
    if save:
        await pilot.press("ctrl+s")
    return form
