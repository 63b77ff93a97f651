"""The control service (``fourbyfour run``): real hardware from the config, one session after
another, staff consoles attached through the local control socket.

The hardware path is the demo's code with real ports: the treadmill client on the serial port
named in the config, heart rate from the ANT+ stick (or a BLE strap), MQTT to the clinic
broker. A session starts only when a person presses Start on a console.

Stopping the service (``systemctl stop``, a reboot, Ctrl-C: SIGTERM or SIGINT) is a
controlled stop, never a ``kill -9``: the session slows the belt down at its stop ramp, the
motor board gets a STOP, the session is summarised and recorded as stopped ("shutdown"), the
board is left idle (not latched on host silence), and the retained MQTT status says
``offline``. The whole stop is bounded by ``SHUTDOWN_BOUND_S`` (the unit's TimeoutStopSec is
longer); a second signal does not cut it short.

systemd's watchdog watches the process, not the treadmill: the ping comes from the event loop
while the session tick is alive, whatever the link does (after a cable pull the session waits
paused for staff and must not be killed).

Simulated time (``run_service(..., time_scale=10)``, Python only: the command line never sets
it) runs the session, the plan and the heart-rate source faster than the wall, for fault drills
on the emulated firmware and for researchers; the link's heartbeat and the firmware's host
timeout stay real, as in the demo. A clinic's service always runs at 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from controller.core.i18n import N_, _
from controller.core.interlock import RestartInterlock
from controller.core.plan import warmup_s
from controller.hr import AntSource, BleSource, HeartRateSource, scan_ble, serial_stick_driver
from controller.net.publisher import MqttPublisher
from controller.net.straps import SiteStraps
from controller.net.straps import watch as watch_straps
from controller.protocol import RunState, SessionError
from controller.service import worker
from controller.service.config import Config, ConfigError
from controller.service.control_socket import ControlServer
from controller.service.runtime import Runtime, StrapChoice
from controller.service.sdnotify import Notifier, watchdog_interval_s
from controller.service.simclock import ScaledClock
from controller.service.store_writer import StoreWriter
from controller.treadmill import Treadmill

_log = logging.getLogger(__name__)


CONTROLLED_STOP_S = 40.0
"""Session stop ramp (0.6 km/h/s: 16 km/h in 27 s) plus the settle, then a STOP regardless."""
BOARD_SETTLE_S = 20.0
"""The board's own ramp (1 km/h/s) to idle before the link is closed (else: host_silent)."""
GOODBYE_S = 5.0
"""Last MQTT messages and the retained ``offline`` status."""
SHUTDOWN_BOUND_S = CONTROLLED_STOP_S + BOARD_SETTLE_S + 2 * GOODBYE_S
"""The whole controlled stop; systemd's TimeoutStopSec must be longer."""
SHUTDOWN_MESSAGE = N_("The control service is stopping (systemctl stop, reboot or Ctrl-C): "
                      "the belt slows to a stop.")


def _stick(cfg: Config):  # type: ignore[no-untyped-def]
    hr = cfg.heart_rate
    return (lambda: serial_stick_driver(hr.ant_serial_path)) if hr.ant_serial_path else None


def source_for(cfg: Config, strap: StrapChoice,
               clock: Callable[[], float] = time.monotonic) -> HeartRateSource:
    """The source for the strap staff paired: pinned to it, for one session."""
    if strap["kind"] == "ant":
        return AntSource(device_number=strap["device_number"], driver_factory=_stick(cfg),
                         transmission_type=strap.get("transmission_type", 0), clock=clock)
    return BleSource(strap["address"], clock=clock)


def configured_strap(cfg: Config) -> StrapChoice | None:
    """A strap fixed in the config (a treadmill with its own strap); None: staff pair one
    for every session."""
    hr = cfg.heart_rate
    if hr.source == "simulated":
        raise ConfigError("[heart_rate] source = \"simulated\" has no patient behind it: use "
                          "'fourbyfour demo', or set [heart_rate] source = \"ant\" or \"ble\"")
    if hr.source == "ant" and hr.ant_device_number:
        return {"kind": "ant", "device_number": hr.ant_device_number}
    if hr.source == "ble":
        return {"kind": "ble", "address": hr.ble_address}
    return None


def new_runtime(cfg: Config, profile, plan, *, tm: Treadmill,  # type: ignore[no-untyped-def]
                pub: MqttPublisher | None, store: StoreWriter,
                site_straps: SiteStraps | None,
                clock: Callable[[], float] = time.monotonic, tick_s: float = 1.0) -> Runtime:
    """A fresh session waiting for staff: no strap until a person pairs one (or the config
    fixes it), so it never locks onto the last patient's or a neighbour's strap."""
    scanner = ble_scanner = None
    fixed = configured_strap(cfg)
    # staff pair: ANT+ and Bluetooth LE straps are listed; a strap the config fixes is not
    # chosen at the console (no b offered: a key that does nothing is a lost input)
    if cfg.heart_rate.source == "ant" and fixed is None:
        def scanner(seconds: float):  # type: ignore[no-untyped-def]
            return AntSource(driver_factory=_stick(cfg), clock=clock).scan(seconds)
        ble_scanner = scan_ble
    rt = Runtime(profile, plan, hr_source=None, treadmill=tm, publisher=pub, store=store,
                 clock=clock, tick_s=tick_s,
                 source_for=lambda strap: source_for(cfg, strap, clock), scanner=scanner,
                 straps_in_use=site_straps.in_use if site_straps else None,
                 ble_scanner=ble_scanner)
    if site_straps is not None:
        rt.straps_guard = lambda: site_straps.problem
    if fixed is not None:
        rt.pair(fixed, confirm_in_use=True)  # the config names this treadmill's own strap
    return rt


def _health_pings(rt_of, notifier: Notifier,  # type: ignore[no-untyped-def]
                  time_scale: float = 1.0):
    """Ping systemd's watchdog from the event loop while the session tick is alive (or no
    session is ticking). The treadmill link is not asked: a pulled cable leaves the session
    paused for staff, and killing the process then would lose it."""
    async def ping() -> None:
        interval = watchdog_interval_s()
        if interval is None:
            return
        while True:
            rt = rt_of()
            sp = rt.snapshot.setpoint
            ticking = not rt.started or rt.done or sp is None or (
                (rt.clock() - sp.now_s) / time_scale <= 3 * rt.tick_s + 2.0)
            if ticking:
                notifier.watchdog()
            await asyncio.sleep(interval)
    return ping


def next_runtime(cfg: Config, **parts) -> Runtime:  # type: ignore[no-untyped-def]
    """The runtime for the next patient: no profile until staff choose the patient (from the
    register), so a session never starts on the previous patient's HRmax and caps."""
    return new_runtime(cfg, None, cfg.plan, **parts)


def open_gpio(cfg: Config, pin_factory: object = None):  # type: ignore[no-untyped-def]
    """The Pi's e-stop/key inputs and the patient cues, or (None, None) when [gpio] is off.
    A missing pin library or unusable pins are a ConfigError (one line, not restarted)."""
    if cfg.gpio is None:
        return None, None
    try:
        from controller.devices.gpio import (
            GpioUnavailable,
            PatientCues,
            SafetyInputs,
            prepare_runtime_dir,
        )
    except ImportError as e:
        raise ConfigError(f"GPIO: gpiozero is missing ({e}): reinstall fourbyfour, or set "
                          "[gpio] enabled = false") from None
    prepare_runtime_dir(str(Path(cfg.control_socket).parent))
    from gpiozero import GPIOZeroError

    try:
        inputs = SafetyInputs.open(cfg.gpio.estop_pin, cfg.gpio.key_pin,
                                   pin_factory=pin_factory)
    except GpioUnavailable as e:
        raise ConfigError(str(e)) from None
    try:
        cues = PatientCues(cfg.gpio.buzzer_pin, cfg.gpio.led_pins, pin_factory=pin_factory)
    except GPIOZeroError as e:
        inputs.close()
        raise ConfigError(f"GPIO: the buzzer or LED pins cannot be driven ({type(e).__name__}: "
                          f"{e}): check [gpio] buzzer_pin and led_pins") from None
    return inputs, cues


async def _board_settled(tm: Treadmill, timeout_s: float) -> None:
    """Keep the link (and its heartbeat) until the board has finished its ramp to idle."""
    if not tm.connected:
        return
    with contextlib.suppress(Exception):
        await tm.wait_status(lambda s: s.state in ("idle", "fault") and s.speed_kmh == 0.0,
                             timeout_s)


def _stop_for_shutdown(rt: Runtime) -> None:
    """Ask the session for its controlled stop, unless it is already stopping (by staff, a
    fail-safe or an earlier signal: that reason stays in the record)."""
    if rt.session is None or rt.session.run_state in (RunState.STOPPING, RunState.DONE):
        return
    with contextlib.suppress(SessionError):
        rt.stop(_(SHUTDOWN_MESSAGE), code="shutdown", by="service")


async def _controlled_stop(rt: Runtime, run_task: asyncio.Task[None]) -> None:
    """The session ramps down and ends (summary, record); bounded, then a STOP regardless."""
    if not rt.started:
        run_task.cancel()  # nothing moves; run()'s clean-up still sends a STOP
    else:
        _stop_for_shutdown(rt)
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns when the session
            # ends and drops a cancel of this task arriving in the same loop step
            async with asyncio.timeout(CONTROLLED_STOP_S):
                await asyncio.shield(run_task)
        except TimeoutError:
            _log.error("controlled stop took over %.0f s: STOP to the motor board now",
                       CONTROLLED_STOP_S)
            run_task.cancel()
        except Exception:  # the session's own error; run() logged it
            pass
    with contextlib.suppress(BaseException):
        await run_task


def _cancel(tasks: dict[str, asyncio.Task[None]], name: str) -> None:
    task = tasks.get(name)
    if task is not None:
        task.cancel()


async def _end_session(tasks: dict[str, asyncio.Task[None]]) -> None:
    """Cancelled from outside (not a signal: an embedding program, a test): the session's own
    clean-up (STOP to the board, the record closed) runs now, while the link and the store
    are open, not later on a closed link at loop shutdown."""
    run_task = tasks.get("run")
    if run_task is not None and not run_task.done():
        run_task.cancel()
        with contextlib.suppress(BaseException):
            await run_task


async def _goodbye(pub: MqttPublisher, pub_task: asyncio.Task[None],
                   stopping: asyncio.Event) -> None:
    """The last summary out, then the retained ``offline``."""
    await pub.goodbye(pub_task, GOODBYE_S, "signal" if stopping.is_set() else "crash")


async def _close_link(tm: Treadmill) -> None:
    with contextlib.suppress(Exception):
        await tm.close()


async def run_service(cfg: Config, *, pin_factory: object = None,
                      time_scale: float = 1.0) -> None:
    """Run until SIGTERM or SIGINT; ConfigError (exit status 78) for what a restart cannot
    mend: a bad config, no pin library. ``time_scale`` > 1 runs the sessions on simulated
    time (drills on the emulated firmware; see the module's docstring).

    The service is an assembly on one ``contextlib.AsyncExitStack``: each part is entered as
    it opens, so a failure while starting closes what had opened, and the stop unwinds the
    stack last-in, first-out. That LIFO order is the shutdown order (a test checks it):

    1. the session ends: its controlled stop under a signal, else it is cancelled; its own
       clean-up sends a STOP to the motor board, the recorder flushes the rows and closes the
       record (summary, learned response);
    2. the board settles to idle while the link and its heartbeat stay open (else the board
       latches ``host_silent``);
    3. what runs beside the session is cancelled: remote commands, the board watcher, the
       belt screen, the console server, the site-straps watcher, the records link;
    4. MQTT says goodbye: the last summary out, then the retained ``offline``;
    5. the treadmill link closes (its heartbeat stops; the board is idle by now);
    6. the worker process closes;
    7. the store closes: what is queued is written and committed;
    8. systemd's watchdog pings stop (they go on through the whole stop);
    9. the signal handlers are removed;
    10. the Pi's e-stop/key inputs and the patient cues close (opened first: watched to the
        end).

    Each part below is one function that opens it and enters its closing on the stack.
    """
    clock: Callable[[], float] = time.monotonic if time_scale == 1.0 else \
        ScaledClock(time_scale)  # ValueError for a scale outside (0, 30]
    configured_strap(cfg)  # a config error surfaces before anything opens
    sv = _Service(cfg, clock, time_scale)
    async with contextlib.AsyncExitStack() as stack:
        gpio = _gpio(stack, cfg, pin_factory)  # 10
        _signal_handlers(stack, sv)  # 9
        stack.callback(_cancel, sv.tasks, "watchdog")  # 8: its pings go on to the end
        Path(cfg.control_socket).parent.mkdir(parents=True, exist_ok=True)
        # the store's thread and the worker process first: starting them waits a little, which
        # must not happen once the link's heartbeat runs
        store = _store(stack, cfg)  # 7
        _worker(stack)  # 6
        tm = await _link(stack, cfg)  # 5: fails: the worker and the store close (the stack)
        pub = _publisher(stack, cfg, sv.stopping)  # 4
        records = _records_link(stack, cfg, store)  # 3 …
        site_straps = _strap_guard(stack, cfg)
        sv.parts = {"tm": tm, "pub": pub, "store": store, "site_straps": site_straps,
                    "clock": clock, "tick_s": sv.tick_s}
        server = _console_server(stack, sv, records)
        _belt_screen(stack, cfg, server)
        sv.tasks["watchdog"] = asyncio.create_task(
            _health_pings(lambda: server.rt, sv.notifier, time_scale)())
        wire = _wiring(_board_watcher(stack, tm), *gpio)
        wire(server.rt)
        sv.notifier.ready("waiting for staff to start a session")
        _remote_commands(stack, cfg, server)  # … 3
        server.fresh = lambda: sv.fresh(wire)
        stack.push_async_callback(_board_settled, tm, BOARD_SETTLE_S)  # 2
        stack.push_async_callback(_end_session, sv.tasks)  # 1
        await _sessions(sv, server, records)


class _Service:
    """What the parts of one running service share: the config and clock, the stop signal,
    systemd's notifier, the tasks the stop waits for, and the session now."""

    def __init__(self, cfg: Config, clock: Callable[[], float], time_scale: float) -> None:
        self.cfg, self.clock, self.time_scale = cfg, clock, time_scale
        self.tick_s = 1.0 / time_scale
        self.stopping = asyncio.Event()
        self.notifier = Notifier()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.rt: Runtime | None = None
        self.parts: dict[str, object] = {}
        """What every session is made with (``next_runtime``): link, publisher, store …"""
        self.next_chosen = asyncio.Event()

    def next_session(self) -> Runtime:
        """A fresh session waiting for staff (``next_runtime``), the session now."""
        self.rt = next_runtime(self.cfg, **self.parts)
        return self.rt

    def fresh(self, wire: Callable[[Runtime], Runtime]) -> Runtime:
        """The next patient's session, made when staff choose them after one ended."""
        r = wire(self.next_session())
        self.next_chosen.set()
        return r

    def on_signal(self, name: str) -> None:
        if self.stopping.is_set():
            _log.warning("%s again: already stopping under control (at most %.0f s)", name,
                         SHUTDOWN_BOUND_S)
            return
        _log.info("%s: controlled stop", name)
        self.stopping.set()
        self.notifier.notify("STOPPING=1", "STATUS=controlled stop: belt slowing down")
        rt = self.rt
        if rt is not None and rt.started and not rt.done:
            _stop_for_shutdown(rt)


def _gpio(stack: contextlib.AsyncExitStack, cfg: Config,  # type: ignore[no-untyped-def]
          pin_factory: object):
    """The e-stop/key inputs and the cues (``open_gpio``), closed last of all."""
    inputs, cues = open_gpio(cfg, pin_factory)
    for part in (inputs, cues):
        if part is not None:
            stack.callback(part.close)
    return inputs, cues


def _signal_handlers(stack: contextlib.AsyncExitStack, sv: _Service) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sv.on_signal, sig.name)
        stack.callback(loop.remove_signal_handler, sig)


def _store(stack: contextlib.AsyncExitStack, cfg: Config) -> StoreWriter:
    """The session store on its own thread (no SQLite on this loop); on close what is queued
    is written and committed."""
    Path(cfg.store_path).parent.mkdir(parents=True, exist_ok=True)
    store = StoreWriter(cfg.store_path)
    stack.callback(store.close)
    return store


def _worker(stack: contextlib.AsyncExitStack) -> None:
    """Reports and summaries: a process of their own, started now."""
    worker.shared().start()
    stack.callback(lambda: worker.shared().close())


async def _link(stack: contextlib.AsyncExitStack, cfg: Config) -> Treadmill:
    tm = Treadmill(cfg.treadmill.port, max_speed_kmh=cfg.treadmill.max_speed_kmh,
                   max_incline_pct=cfg.treadmill.max_incline_pct)
    await tm.open()
    stack.push_async_callback(_close_link, tm)
    return tm


def _beside(stack: contextlib.AsyncExitStack, coro: Coroutine[Any, Any, None]) -> None:
    """A task beside the session, cancelled at step 3 of the stop."""
    stack.callback(asyncio.create_task(coro).cancel)


def _publisher(stack: contextlib.AsyncExitStack, cfg: Config,
               stopping: asyncio.Event) -> MqttPublisher | None:
    """MQTT out; at its close the last summary, then the retained ``offline``."""
    if not cfg.mqtt_enabled:
        return None
    pub = MqttPublisher(cfg.mqtt)
    stack.push_async_callback(_goodbye, pub, asyncio.create_task(pub.run()), stopping)
    return pub


def _records_link(stack: contextlib.AsyncExitStack,  # type: ignore[no-untyped-def]
                  cfg: Config, store: StoreWriter):
    """Every finished session to the clinic's records service, profiles from it."""
    if not (cfg.records_upload and cfg.mqtt_enabled):
        return None
    from controller.net.records_link import RecordsLink
    from controller.records.store import Store, read_export

    async def export(session_id: str) -> dict:  # type: ignore[type-arg]
        return await worker.shared().call(read_export, cfg.store_path, session_id)

    records = RecordsLink(cfg.mqtt, pending=lambda: store.call(Store.pending_upload),
                          export=export, acked=lambda sid: store.call(Store.mark_uploaded, sid))
    _beside(stack, records.run())
    return records


def _strap_guard(stack: contextlib.AsyncExitStack, cfg: Config) -> SiteStraps | None:
    """The straps the site's other treadmills have paired (from the broker)."""
    if not cfg.mqtt_enabled:
        return None
    site_straps = SiteStraps(cfg.mqtt.site, cfg.mqtt.device)
    _beside(stack, watch_straps(cfg.mqtt, site_straps))
    return site_straps


def _console_server(stack: contextlib.AsyncExitStack, sv: _Service,  # type: ignore[no-untyped-def]
                    records) -> ControlServer:
    """The staff consoles' socket, on the first session: it too waits for staff to choose
    the patient, never the config's [patient] (issue 21)."""
    server = ControlServer(sv.next_session(), sv.cfg.control_socket)
    server.warmup_s = warmup_s(sv.cfg.plan)  # the clinic's, for a 4x4 set up at a console
    if records is not None:
        server.profile_lookup = records.request_profile  # the console asks at setup
    _beside(stack, server.serve())
    return server


def _belt_screen(stack: contextlib.AsyncExitStack, cfg: Config, server: ControlServer) -> None:
    """The patient's screen: beside the runtime, never in its safety TaskGroup."""
    if not cfg.belt_view.enabled:
        return
    from controller.service.beltview import BeltView

    belt = BeltView(lambda: server.rt, cfg.language, cfg.belt_view.host, cfg.belt_view.port)

    async def serve_belt() -> None:
        try:
            await belt.serve()
        except OSError as e:  # the patient's screen is best effort: the session is not
            _log.error("belt screen not served on %s:%s: %s", cfg.belt_view.host,
                       cfg.belt_view.port, e)

    _beside(stack, serve_belt())


def _board_watcher(stack: contextlib.AsyncExitStack, tm: Treadmill) -> RestartInterlock:
    """The interlock sees every board state: the local reset is a fault left."""
    interlock = RestartInterlock()

    async def watch_board() -> None:
        while True:
            st = tm.status
            interlock.observe(st.state if st is not None and tm.connected else None)
            await asyncio.sleep(0.05)

    _beside(stack, watch_board())
    return interlock


def _wiring(interlock: RestartInterlock, gpio_inputs,  # type: ignore[no-untyped-def]
            cues) -> Callable[[Runtime], Runtime]:
    """How each session is wired to the Pi's own stop path (the interlock, the e-stop and
    key in its safety group) and its cues (every tick)."""
    def gpio_refusal() -> str | None:
        assert gpio_inputs is not None
        if not gpio_inputs.key_present:
            return "start_pi_key_out"  # refusal codes (controller.core.refusals)
        if not gpio_inputs.estop_healthy:
            return "start_pi_estop"
        return None

    def wire(r: Runtime) -> Runtime:
        r.start_checks.append(interlock.refusal_code)
        if gpio_inputs is not None:
            async def estop_or_key() -> None:
                await r.wait_started()  # before Start nothing moves: nothing to stop
                trip = await gpio_inputs.wait_tripped()
                interlock.trip(trip.kind)
                with contextlib.suppress(SessionError):
                    r.stop(_(trip.message), code=trip.kind)
                r.stop_reason = trip.kind
                raise RuntimeError(trip.message)
            r.safety_watchers.append(estop_or_key)
            r.start_checks.append(gpio_refusal)
        if cues is not None:
            r.on_tick = lambda snap: cues.show(snap.setpoint) if snap.setpoint else None
        return r

    return wire


def _remote_commands(stack: contextlib.AsyncExitStack, cfg: Config,
                     server: ControlServer) -> None:
    """Signed stop and alarm acknowledgements from the central monitor."""
    if cfg.command_secret is None or not cfg.mqtt_enabled:
        return
    from controller.net.remote import Verifier, listen

    def handle(cmd: str, alarm: str | None) -> None:
        if cmd == "stop":
            server.rt.stop("stopped from the central monitor", code="remote")
        elif cmd == "ack" and alarm is not None:
            server.rt.acknowledge(alarm)

    def running_session() -> str | None:
        r = server.rt
        return r.session_id if r.started and not r.done else None

    verifier = Verifier(cfg.command_secret, site=cfg.mqtt.site, device=cfg.mqtt.device,
                        session_id=running_session,
                        replay_file=Path(cfg.store_path).with_name("command-nonces.txt"))
    _beside(stack, listen(cfg.mqtt, verifier, handle))


async def _first_of(task: asyncio.Task[Any], stopping: asyncio.Event) -> bool:
    """Wait for ``task`` or the stop signal; True when stopping."""
    stop_wait = asyncio.create_task(stopping.wait())
    await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    stop_wait.cancel()
    return stopping.is_set()


async def _sessions(sv: _Service, server: ControlServer,  # type: ignore[no-untyped-def]
                    records) -> None:
    """One session after another until a signal stops the service."""
    rt = server.rt
    while True:
        # The next patient: a fresh session, waiting for a person to press Start.
        run_task = sv.tasks["run"] = asyncio.create_task(rt.run(), name="runtime")
        if await _first_of(run_task, sv.stopping):
            await _controlled_stop(rt, run_task)
            return
        try:
            await run_task
        except Exception as e:  # the safe stop already ran; log it, then the next one
            _log.error("session %s ended abnormally: %s", rt.session_id, e)
        if records is not None:
            records.wake()  # to the clinic record; kept here until acknowledged
        # The finished session stays on show (its summary, a late Borg rating, the
        # report) until staff choose the next patient: that setup makes the next session
        # (``fresh``), which waits for their Start.
        chosen = asyncio.create_task(sv.next_chosen.wait())
        stopping = await _first_of(chosen, sv.stopping)
        chosen.cancel()
        if stopping:
            return
        sv.next_chosen.clear()
        rt = server.rt
