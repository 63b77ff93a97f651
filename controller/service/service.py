"""The control service (``fourbyfour run``): real hardware from the config, one session after
another, staff consoles attached through the local control socket.

The hardware path is the demo's code with real ports: the treadmill client on the serial port
named in the config, heart rate from the ANT+ stick (or a BLE strap), MQTT to the clinic
broker. A session starts only when a person presses Start on a console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from controller.hr import AntSource, BleSource, HeartRateSource, serial_stick_driver
from controller.net.publisher import MqttPublisher
from controller.net.straps import SiteStraps
from controller.net.straps import watch as watch_straps
from controller.protocol import SessionError
from controller.records.store import Store
from controller.service.config import Config
from controller.service.control_socket import ControlServer
from controller.service.runtime import Runtime, StrapChoice
from controller.service.sdnotify import Notifier, watchdog_interval_s
from controller.treadmill import Treadmill

_log = logging.getLogger(__name__)


def _stick(cfg: Config):  # type: ignore[no-untyped-def]
    hr = cfg.heart_rate
    return (lambda: serial_stick_driver(hr.ant_serial_path)) if hr.ant_serial_path else None


def source_for(cfg: Config, strap: StrapChoice) -> HeartRateSource:
    """The source for the strap staff paired: pinned to it, for one session."""
    if strap["kind"] == "ant":
        return AntSource(device_number=strap["device_number"], driver_factory=_stick(cfg))
    return BleSource(strap["address"])


def configured_strap(cfg: Config) -> StrapChoice | None:
    """A strap fixed in the config (a treadmill with its own strap); None: staff pair one
    for every session."""
    hr = cfg.heart_rate
    if hr.source == "simulated":
        raise ValueError("heart_rate source 'simulated' has no patient behind it: use "
                         "'fourbyfour demo', or set [heart_rate] source = \"ant\" or \"ble\"")
    if hr.source == "ant" and hr.ant_device_number:
        return {"kind": "ant", "device_number": hr.ant_device_number}
    if hr.source == "ble":
        return {"kind": "ble", "address": hr.ble_address}
    return None


def new_runtime(cfg: Config, profile, plan, *, tm: Treadmill,  # type: ignore[no-untyped-def]
                pub: MqttPublisher | None, store: Store,
                site_straps: SiteStraps | None) -> Runtime:
    """A fresh session waiting for staff: no strap until a person pairs one (or the config
    fixes it), so it never locks onto the last patient's or a neighbour's strap."""
    scanner = None
    if cfg.heart_rate.source == "ant":
        def scanner(seconds: float):  # type: ignore[no-untyped-def]
            return AntSource(driver_factory=_stick(cfg)).scan(seconds)
    rt = Runtime(profile, plan, hr_source=None, treadmill=tm, publisher=pub, store=store,
                 source_for=lambda strap: source_for(cfg, strap), scanner=scanner,
                 straps_in_use=site_straps.in_use if site_straps else None)
    fixed = configured_strap(cfg)
    if fixed is not None:
        rt.pair(fixed)
    return rt


def _health_pings(rt_of, tm: Treadmill, notifier: Notifier):  # type: ignore[no-untyped-def]
    """Ping systemd's watchdog only while the loop is healthy: the link is up and the
    session tick ran recently (or no session is running)."""
    async def ping() -> None:
        interval = watchdog_interval_s()
        if interval is None:
            return
        while True:
            rt = rt_of()
            sp = rt.snapshot.setpoint
            ticking = not rt.started or rt.done or (
                sp is not None and rt.clock() - sp.now_s <= 3 * rt.tick_s + 2.0)
            if tm.connected and ticking:
                notifier.watchdog()
            await asyncio.sleep(interval)
    return ping


async def run_service(cfg: Config) -> None:
    Path(cfg.control_socket).parent.mkdir(parents=True, exist_ok=True)
    tm = Treadmill(cfg.treadmill.port, max_speed_kmh=cfg.treadmill.max_speed_kmh,
                   max_incline_pct=cfg.treadmill.max_incline_pct)
    await tm.open()
    pub = MqttPublisher(cfg.mqtt) if cfg.mqtt_enabled else None
    Path(cfg.store_path).parent.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.store_path)
    pub_task = asyncio.create_task(pub.run()) if pub else None
    site_straps = SiteStraps(cfg.mqtt.site, cfg.mqtt.device) if cfg.mqtt_enabled else None
    straps_task = asyncio.create_task(watch_straps(cfg.mqtt, site_straps)) \
        if site_straps else None
    rt = new_runtime(cfg, cfg.profile, cfg.plan, tm=tm, pub=pub, store=store,
                     site_straps=site_straps)
    server = ControlServer(rt, cfg.control_socket)
    server_task = asyncio.create_task(server.serve())
    belt_task = None
    if cfg.belt_view.enabled:  # beside the runtime, never in its safety TaskGroup
        from controller.service.beltview import BeltView

        belt = BeltView(lambda: server.rt, cfg.language, cfg.belt_view.host, cfg.belt_view.port)

        async def serve_belt() -> None:
            try:
                await belt.serve()
            except OSError as e:  # the patient's screen is best effort: the session is not
                _log.error("belt screen not served on %s:%s: %s", cfg.belt_view.host,
                           cfg.belt_view.port, e)

        belt_task = asyncio.create_task(serve_belt())
    notifier = Notifier()
    watchdog_task = asyncio.create_task(_health_pings(lambda: server.rt, tm, notifier)())
    gpio_inputs = cues = None
    if cfg.gpio is not None:
        from controller.devices.gpio import PatientCues, SafetyInputs

        gpio_inputs = SafetyInputs(cfg.gpio.estop_pin, cfg.gpio.key_pin)
        cues = PatientCues(cfg.gpio.buzzer_pin, cfg.gpio.led_pins)

    def wire(r: Runtime) -> Runtime:
        """The Pi's own stop path joins the safety group; cues follow every tick."""
        if gpio_inputs is not None:
            async def estop_or_key() -> None:
                await r.wait_started()  # before Start nothing moves: nothing to stop
                why = await gpio_inputs.wait_tripped()
                with contextlib.suppress(SessionError):
                    r.session.stop(why)
                raise RuntimeError(why)
            r.safety_watchers.append(estop_or_key)
        if cues is not None:
            r.on_tick = lambda snap: cues.show(snap.setpoint) if snap.setpoint else None
        return r

    wire(rt)
    notifier.ready("waiting for staff to start a session")
    remote_task = None
    if cfg.command_secret is not None and cfg.mqtt_enabled:
        from controller.net.remote import Verifier, listen

        def handle(cmd: str, alarm: str | None) -> None:
            if cmd == "stop":
                server.rt.stop("stopped from the central monitor")
            elif cmd == "ack" and alarm is not None:
                server.rt.acknowledge(alarm)

        remote_task = asyncio.create_task(listen(cfg.mqtt, Verifier(cfg.command_secret),
                                                 handle))
    try:
        while True:
            # The next patient: a fresh session, waiting for a person to press Start.
            try:
                await rt.run()
            except Exception as e:  # the safe stop already ran; log it, then the next one
                _log.error("session %s ended abnormally: %s", rt.session_id, e)
            await asyncio.sleep(1.0)
            rt = wire(new_runtime(cfg, rt.profile, rt.session.plan, tm=tm, pub=pub,
                                  store=store, site_straps=site_straps))
            server.rt = rt
    finally:
        server_task.cancel()
        if belt_task:
            belt_task.cancel()
        watchdog_task.cancel()
        if remote_task:
            remote_task.cancel()
        if straps_task:
            straps_task.cancel()
        if pub_task:
            pub_task.cancel()
        store.close()
        with contextlib.suppress(Exception):
            await tm.close()
