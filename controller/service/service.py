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
from controller.protocol import SessionError
from controller.records.store import Store
from controller.service.config import Config
from controller.service.control_socket import ControlServer
from controller.service.runtime import Runtime
from controller.service.sdnotify import Notifier, watchdog_interval_s
from controller.treadmill import Treadmill

_log = logging.getLogger(__name__)


def heart_rate_source(cfg: Config) -> HeartRateSource:
    hr = cfg.heart_rate
    if hr.source == "ant":
        factory = (lambda: serial_stick_driver(hr.ant_serial_path)) if hr.ant_serial_path \
            else None
        return AntSource(device_number=hr.ant_device_number, driver_factory=factory)
    if hr.source == "ble":
        return BleSource(hr.ble_address)
    raise ValueError("heart_rate source 'simulated' has no patient behind it: use "
                     "'fourbyfour demo', or set [heart_rate] source = \"ant\" or \"ble\"")


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


def next_runtime(cfg: Config, **parts) -> Runtime:  # type: ignore[no-untyped-def]
    """The runtime for the next patient: no profile until staff choose the patient (from the
    register), so a session never starts on the previous patient's HRmax and caps."""
    return Runtime(None, cfg.plan, **parts)


async def run_service(cfg: Config) -> None:
    Path(cfg.control_socket).parent.mkdir(parents=True, exist_ok=True)
    tm = Treadmill(cfg.treadmill.port, max_speed_kmh=cfg.treadmill.max_speed_kmh,
                   max_incline_pct=cfg.treadmill.max_incline_pct)
    await tm.open()
    pub = MqttPublisher(cfg.mqtt) if cfg.mqtt_enabled else None
    Path(cfg.store_path).parent.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.store_path)
    pub_task = asyncio.create_task(pub.run()) if pub else None
    rt = Runtime(cfg.profile, cfg.plan, hr_source=heart_rate_source(cfg), treadmill=tm,
                 publisher=pub, store=store)
    server = ControlServer(rt, cfg.control_socket)
    server_task = asyncio.create_task(server.serve())
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
                    r.stop(why)
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
            rt = wire(next_runtime(cfg, hr_source=heart_rate_source(cfg), treadmill=tm,
                                   publisher=pub, store=store))
            server.rt = rt
    finally:
        server_task.cancel()
        watchdog_task.cancel()
        if remote_task:
            remote_task.cancel()
        if pub_task:
            pub_task.cancel()
        store.close()
        with contextlib.suppress(Exception):
            await tm.close()
