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
from controller.service.shutdown import stop_on_sigterm
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


async def run_service(cfg: Config) -> None:
    stop_on_sigterm()
    Path(cfg.control_socket).parent.mkdir(parents=True, exist_ok=True)
    tm = Treadmill(cfg.treadmill.port, max_speed_kmh=cfg.treadmill.max_speed_kmh,
                   max_incline_pct=cfg.treadmill.max_incline_pct)
    await tm.open()
    pub = MqttPublisher(cfg.mqtt) if cfg.mqtt_enabled else None
    Path(cfg.store_path).parent.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.store_path)
    pub_task = asyncio.create_task(pub.run()) if pub else None
    records = records_task = None
    if cfg.records_upload and cfg.mqtt_enabled:
        from controller.net.records_link import RecordsLink
        from controller.records.store import read_export

        async def export(session_id: str) -> dict:
            return await asyncio.to_thread(read_export, cfg.store_path, session_id)

        records = RecordsLink(cfg.mqtt, pending=store.pending_upload, export=export,
                              acked=store.mark_uploaded)
        records_task = asyncio.create_task(records.run())
    rt = Runtime(cfg.profile, cfg.plan, hr_source=heart_rate_source(cfg), treadmill=tm,
                 publisher=pub, store=store)
    server = ControlServer(rt, cfg.control_socket)
    if records is not None:
        server.profile_lookup = records.request_profile  # the console asks at setup
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

        def running_session() -> str | None:
            r = server.rt
            return r.session_id if r.started and not r.done else None

        verifier = Verifier(cfg.command_secret, site=cfg.mqtt.site, device=cfg.mqtt.device,
                            session_id=running_session,
                            replay_file=Path(cfg.store_path).with_name("command-nonces.txt"))
        remote_task = asyncio.create_task(listen(cfg.mqtt, verifier, handle))
    cause = "crash"
    try:
        while True:
            # The next patient: a fresh session, waiting for a person to press Start.
            try:
                await rt.run()
            except Exception as e:  # the safe stop already ran; log it, then the next one
                _log.error("session %s ended abnormally: %s", rt.session_id, e)
            if records is not None:
                records.wake()  # to the clinic record; kept here until acknowledged
            await asyncio.sleep(1.0)
            rt = wire(Runtime(rt.profile, rt.session.plan, hr_source=heart_rate_source(cfg),
                              treadmill=tm, publisher=pub, store=store))
            server.rt = rt
    except asyncio.CancelledError:
        cause = "signal"
        raise
    finally:
        server_task.cancel()
        watchdog_task.cancel()
        if remote_task:
            remote_task.cancel()
        if records_task:
            records_task.cancel()
        if pub is not None:  # the last summary out, then an honest "offline"
            await asyncio.shield(pub.close(pub_task, cause))
        store.close()
        with contextlib.suppress(Exception):
            await tm.close()
