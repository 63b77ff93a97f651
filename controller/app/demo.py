"""The demo: a virtual patient on the emulated treadmill firmware, through the real runtime.

Everything a clinic runs is real here except the hardware: the motor-board firmware runs in
the emulator behind a pty (``controller.devices.emulator``), the strap is a virtual patient
(``controller.sim``), and the runtime, session, treadmill client and MQTT publisher are the
production code. Simulated time can run up to 30× faster (``--speed``): the patient, the plan
and the motor board's physics (belt inertia, ramps, incline motor) run on it, but the link's
safety timers do not — the 100 ms heartbeat and the firmware's 500 ms host timeout stay in
real time at any speed (``Emulator``'s ``real_time_safety``), so a demo never has a thinner
safety margin than a clinic. The emulated board runs in a process of its own at raised
priority (``EmulatorProcess``), as the real board is its own MCU: a starved control process
does not starve the board too, and a host that goes silent is seen as silent.

Headless (no console), nobody can resume a paused session: the run then ends with
``DemoAborted`` and the belt at rest instead of waiting for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
from collections.abc import AsyncIterator, Callable

from controller.core.i18n import _
from controller.core.sigint import ctrl_c_noted
from controller.core.words import event_text
from controller.devices.emulator_process import EmulatorProcess
from controller.hr import HeartRateSource, HrSample, SourceState, SourceStatus
from controller.net.publisher import MqttPublisher
from controller.protocol import PatientProfile
from controller.service import worker
from controller.service.config import Config
from controller.service.runtime import Runtime, Snapshot
from controller.service.simclock import MAX_TIME_SCALE, ScaledClock
from controller.service.store_writer import StoreWriter
from controller.sim import TraceRow, VirtualPatient, make_patient
from controller.treadmill import Treadmill

MAX_SPEEDUP = MAX_TIME_SCALE


class DemoAborted(Exception):
    """The demo could not finish its session (headless and paused: nobody can resume it)."""


class DemoInterrupted(Exception):
    """Ctrl-C (SIGINT): the session had its controlled stop (as for SIGTERM) and the belt is
    at rest; the demo ends with exit status 130, as an interrupted command does."""
_log = logging.getLogger(__name__)


class PatientSource(HeartRateSource):
    """A virtual patient's strap: steps the patient with the belt's measured state at 4 Hz."""

    def __init__(self, patient: VirtualPatient, belt: Callable[[], tuple[float, float]],
                 clock: Callable[[], float], speedup: float) -> None:
        self.patient = patient
        self.belt = belt
        self.clock = clock
        self.speedup = speedup

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus]:
        last = self.clock()
        yield SourceStatus(SourceState.CONNECTED, "virtual patient's strap", last)
        while True:
            await asyncio.sleep(0.25 / self.speedup)
            now = self.clock()
            speed, incline = self.belt()
            reading = self.patient.step(now - last, speed, incline)
            last = now
            if reading is not None:
                yield HrSample(reading, now, "simulated")


SERVICE_NICE = -5
"""The control service's priority, as ``systemd/fourbyfour.service`` gives it (``Nice=-5``)."""


def service_priority() -> None:
    """Run the demo's control service as the unit runs the real one: at ``SERVICE_NICE``
    where allowed, so a busy laptop (a browser, a build) delays the heartbeat to the board no
    more than it would on the Pi. Where it is not allowed the demo runs as it is, and says
    so once in the log."""
    if os.getpriority(os.PRIO_PROCESS, 0) <= SERVICE_NICE:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, SERVICE_NICE)
    except OSError as e:
        _log.info("the control service runs at nice %d (nice %d not allowed: %s)",
                  os.getpriority(os.PRIO_PROCESS, 0), SERVICE_NICE, e.strerror or e)


def _controlled_sigterm(holder: dict[str, Runtime]) -> list[str]:
    """SIGTERM (quitting the demo's console, systemctl stop) and SIGINT (Ctrl-C) are the
    controlled stop that ``fourbyfour run`` makes: a running session ramps down and is
    summarised and recorded as stopped ("shutdown"), bounded by ``CONTROLLED_STOP_S``; with
    nothing running, the main task is cancelled (its ``finally`` blocks stop the board). The
    returned list holds the signal's name once asked, so the demo does not linger (the
    processes beside it ignore Ctrl-C: this one ends them)."""
    from controller.service.service import CONTROLLED_STOP_S, _stop_for_shutdown

    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    def on_signal(name: str) -> None:
        if asked or main is None:
            return
        asked.append(name)
        rt = holder.get("rt")
        if rt is not None and rt.started and not rt.done:
            _log.info("%s: controlled stop", name)
            _stop_for_shutdown(rt)
            loop.call_later(CONTROLLED_STOP_S, main.cancel)  # bounded, as in the service
        else:
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig.name)
    if ctrl_c_noted():  # a Ctrl-C from the start, noted until now (core/sigint.py)
        on_signal(signal.SIGINT.name)
    return asked


async def _socket_bound(server_task: asyncio.Task[None], path: str) -> None:
    """Wait until the control server has its socket; a socket it cannot serve (a path over
    AF_UNIX's 107 bytes, a folder it may not write) ends the demo with why, instead of a
    service that waits for a console that can never connect."""
    while not os.path.exists(path):
        if server_task.done():
            e = server_task.exception()
            raise OSError(f"the control socket {path} cannot be served: {e}") from e
        await asyncio.sleep(0.01)


async def chosen_on_the_command_line(rt: Runtime, pseudonym: str, cfg: Config) -> None:
    """The console demo's ``--patient``/``--pasient``: the person who typed it chose the
    patient (issue 21: the console still asked to choose one, and the log named nobody).
    A patient the register knows runs on the register's profile, as the console's form
    would load it (their HRmax with its source, their caps: nothing is overwritten); a new
    one on the demo's virtual patient's profile under that pseudonym, as the headless demo.
    Chosen, not started: the belt waits for Start at the console."""
    import dataclasses

    from controller.protocol import SessionError
    from controller.records.register import Register
    from controller.service.control_socket import setup_from

    profile = dataclasses.replace(cfg.profile, pseudonym=pseudonym)
    if rt.store is not None:
        msg = {"profile": {"pseudonym": pseudonym}}
        try:
            profile, _plan = await rt.in_store(lambda s: setup_from(msg, Register(s)))
        except SessionError as e:
            if e.code != "unknown_patient":  # unknown: a new patient, the demo's profile
                raise
    rt.configure(profile, cfg.plan)
    if rt.store is not None:  # chosen is registered, as the console's setup does
        await rt.in_store(lambda s: Register(s).remember(profile))


async def run_demo(cfg: Config, *, speedup: float, seed: int, category: str,
                   on_tick: Callable[[Snapshot, TraceRow], None] | None = None,
                   on_ready: Callable[[Runtime, EmulatorProcess], None] | None = None,
                   use_mqtt: bool = True, control_socket: str | None = None,
                   store_path: str | None = None, linger: bool = False,
                   belt_view: Callable[[str], None] | None = None,
                   store_write_delay_s: float = 0.0, choose_patient: bool = False,
                   pseudonym: str | None = None, setup_warmup_s: float | None = None
                   ) -> tuple[Runtime, list[TraceRow]]:
    """Run one demo session. With ``control_socket`` the session waits for a console to
    press Start; without it, it starts at once (headless). With ``belt_view`` the patient's
    screen is served as in ``[belt_view]`` of the config, and its URL handed to the callback.
    The store is written by its writer thread (``store_write_delay_s``: a slow disk, for the
    benches), reports and summaries are made in the worker process, as in the service.

    ``choose_patient`` (the console demo): no patient until staff choose one at the console,
    as in a clinic (the config's ``[patient]`` is not used). With ``linger`` and a console,
    a finished session stays on show (summary, Borg ratings, reports) until staff choose
    the next patient: then a fresh session waits for their Start (the belt never starts by
    itself). ``pseudonym`` with ``choose_patient`` (the console demo's ``--patient``, typed by
    the person who runs it): that patient is chosen before the console opens, with the
    register's profile where it knows them (``chosen_on_the_command_line``).
    ``setup_warmup_s``: the warm-up of a 4x4 staff set up at the console (the config's
    ``[plan] warmup_s``; None: the service's default)."""
    if not 0 < speedup <= MAX_SPEEDUP:
        raise ValueError(f"--speed must be > 0 and ≤ {MAX_SPEEDUP:g} with the emulated "
                         "firmware")
    truth, _profile = make_patient(random.Random(seed), category, seed)
    patient = VirtualPatient(truth)
    clock = ScaledClock(speedup)
    rows: list[TraceRow] = []
    holder: dict[str, Runtime] = {}
    terminating = _controlled_sigterm(holder)
    service_priority()
    with EmulatorProcess(time_scale=speedup) as emu:
        # the store's thread and the worker process first: starting them waits a little,
        # which must not happen once the link's heartbeat runs
        store = StoreWriter(store_path, write_delay_s=store_write_delay_s) \
            if store_path else None
        if store is not None:
            # simulated time outruns the wall: a session starts at the wall clock's instant,
            # its samples follow at the simulated pace and it ends at the last of them
            # (issue 21: dated back at its end, starts were now − the simulated length)
            store.submit(setattr, "ends_at_last_instant", True)
            worker.shared().start()  # started now, not when staff first ask for a report
        tm = Treadmill(emu.link, max_speed_kmh=cfg.treadmill.max_speed_kmh,
                       max_incline_pct=cfg.treadmill.max_incline_pct,
                       heartbeat_s=0.1, stale_s=1.0)  # real time, like a clinic's
        try:
            await tm.open()
        except asyncio.CancelledError:  # a Ctrl-C this early: the same end as later
            if terminating == ["SIGINT"]:  # (it was "demo ended (SIGTERM)", exit 0)
                raise DemoInterrupted from None
            raise
        pub = MqttPublisher(cfg.mqtt, max_backoff_s=5.0) if use_mqtt and cfg.mqtt_enabled \
            else None
        pub_task = asyncio.create_task(pub.run()) if pub else None

        aborted: list[str] = []

        def tick(snap: Snapshot) -> None:
            sp = snap.setpoint
            assert sp is not None
            if sp.state == "paused" and not control_socket and not aborted:
                why = "; ".join(event_text(kind, message) for kind, message in
                                rt.session.alarm_messages.items()) if rt.session else ""
                aborted.append(_("the session paused at {clock} ({why}) and no console is "
                                 "attached to resume it: stopping the belt and ending the "
                                 "demo").format(
                    clock=f"{int(sp.now_s // 60):02d}:{int(sp.now_s % 60):02d}",
                    why=why or _("no reason given")))
                by_belt = rt.session is not None and "belt_stopped" in rt.session.alarm_messages
                rt.stop("paused with no console to resume it",
                        code="treadmill" if by_belt else "staff",
                        by="treadmill" if by_belt else "staff")
            row = TraceRow(sp.now_s, sp.phase, sp.interval, sp.state, sp.hr_bpm,
                           patient.true_hr_bpm, emu.board.belt_kmh, emu.board.incline_pct,
                           sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm, sp.zone_high_bpm)
            rows.append(row)
            if on_tick:
                on_tick(snap, row)

        server_task: asyncio.Task[None] | None = None
        belt_task: asyncio.Task[None] | None = None
        next_session = asyncio.Event()

        def runtime(profile: PatientProfile | None) -> Runtime:
            r = Runtime(profile, cfg.plan, treadmill=tm, publisher=pub, clock=clock,
                        tick_s=1.0 / speedup, on_tick=tick, store=store,
                        hr_source=PatientSource(patient,
                                                lambda: (emu.board.belt_kmh,
                                                         emu.board.incline_pct),
                                                clock, speedup))
            holder["rt"] = r
            return r

        def fresh() -> Runtime:
            """The next patient's session, made when staff choose them after one ended."""
            next_session.set()
            return runtime(None)

        rt = runtime(None if choose_patient else cfg.profile)
        server = None
        cause = "crash"
        try:
            await tm.wait_status(lambda s: s.reset_needed, 10)
            # staff at the treadmill: the local reset after power-up, held 0.2 s (on a thread:
            # the loop sends the heartbeat meanwhile)
            await asyncio.to_thread(emu.press_reset, 0.2)
            await tm.wait_status(lambda s: s.state == "idle", 10)
            if choose_patient and pseudonym:
                await chosen_on_the_command_line(rt, pseudonym, cfg)
            if on_ready:
                on_ready(rt, emu)
            if belt_view is not None:
                from controller.service.beltview import BeltView
                # at least one push per simulated second: the page's 3-2-1 shows every digit
                # at any demo speed (the clinic's real time keeps 0.1 s)
                view = BeltView(lambda: rt, cfg.language, cfg.belt_view.host,
                                cfg.belt_view.port, push_s=min(0.1, 1.0 / speedup))
                try:
                    await view.start()
                except OSError as e:  # best effort: the demo runs on without the screen
                    _log.warning("belt screen not served on %s:%s: %s", cfg.belt_view.host,
                                 cfg.belt_view.port, e)
                else:
                    belt_task = asyncio.create_task(view.serve())
                    belt_view(view.url)
            if control_socket:
                from controller.service.control_socket import ControlServer
                server = ControlServer(rt, control_socket)
                if setup_warmup_s is not None:
                    server.warmup_s = setup_warmup_s
                if linger:
                    server.fresh = fresh

                async def press_reset() -> None:  # a person's press, held 0.2 s
                    await asyncio.to_thread(emu.press_reset, 0.2)

                server.demo_reset = press_reset
                server_task = asyncio.create_task(server.serve())
                await _socket_bound(server_task, control_socket)
            else:
                rt.start()
            while True:
                try:
                    await rt.run()
                except BaseException:
                    if server_task:
                        server_task.cancel()
                    raise
                try:
                    await tm.wait_status(lambda s: s.speed_kmh == 0 and s.state != "running",
                                         30)
                except TimeoutError:
                    raise RuntimeError(f"the belt did not come to rest: {tm.status}") from None
                cause = "signal" if terminating else "normal"  # a SIGTERM's controlled stop
                if aborted:
                    raise DemoAborted(aborted[0])
                if not linger or terminating or server is None:
                    break
                # serve consoles (summary, reports) until asked, or until staff choose the
                # next patient: that session waits for their Start
                while server.rt is rt:
                    await next_session.wait()
                    next_session.clear()
                rt = server.rt
        except asyncio.CancelledError:
            cause = "signal" if cause == "crash" else cause  # Ctrl-C, SIGTERM, the console
            if terminating != ["SIGINT"]:
                raise  # Ctrl-C's: DemoInterrupted once the board is closed
        finally:
            if pub is not None:
                # the final summary reaches the broker, then an honest "offline"
                await asyncio.shield(pub.close(pub_task, cause))
            if server_task:
                server_task.cancel()
            if belt_task:
                belt_task.cancel()
            if store is not None:
                store.close()
            await tm.close()
    if terminating == ["SIGINT"]:  # the belt at rest, the board closed: Ctrl-C's end
        raise DemoInterrupted
    return rt, rows
