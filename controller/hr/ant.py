"""ANT+ straps through openant: the source with its supervisor thread and watchdog (see the
package docstring), the scan, and what staff are told when the stick fails."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from controller.core.i18n import _
from controller.hr._openant_patch import (
    GuardedDriver,
    StickGone,
    _driver_lock,
    _end_orphan_reader,
    _openant_search,
    _selected_driver_class,
    _wake_on_stop,
)
from controller.hr.source import (
    LOST_AFTER_S,
    STALE_AFTER_S,
    STICK_POLL_S,
    UDEV_HINT,
    WATCH_EVERY_S,
    BatteryReport,
    HeartRateSource,
    HrSample,
    SourceState,
    SourceStatus,
    _offer,
    battery_is_low,
)

_log = logging.getLogger("controller.hr")  # one logger for the package, as before the split


def _explain(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if type(e).__name__ == "DriverNotFound":
        return ("no ANT+ stick found (USB 0fcf:1008/1009, or serial 0fcf:1004): is it plugged "
                f"in? If it is, {UDEV_HINT}")
    if getattr(e, "errno", None) == errno.ENODEV or isinstance(e, StickGone):
        return _("The ANT+ stick was unplugged or stopped answering ({error}): plug it back "
                 "in.").format(error=text)
    if type(e).__name__ == "NoBackendError":
        return ("libusb is missing, so openant cannot look for USB ANT+ sticks: install it "
                "(apt-get install libusb-1.0-0)")
    if "Access denied" in text or "Permission denied" in text or \
            getattr(e, "errno", None) == 13:
        return f"no permission to open the ANT+ stick: {UDEV_HINT}"
    return f"ANT+ stick unavailable: {text}"


def ant_scan_problem(e: BaseException) -> str:
    """Why the staff's scan lists no ANT+ strap, and what to do, in the UI's language (one
    sentence; the Bluetooth straps are listed all the same)."""
    text = str(e) or type(e).__name__
    if type(e).__name__ == "DriverNotFound" or getattr(e, "errno", None) == errno.ENODEV:
        return _("No ANT+ stick found, so only Bluetooth straps are listed: put the ANT+ "
                 "stick in a USB port on the Pi and scan again.")
    if type(e).__name__ == "NoBackendError":
        return _("ANT+ straps are not listed: libusb is missing on this Pi. Tell the "
                 "technician.")
    if "Access denied" in text or "Permission denied" in text or \
            getattr(e, "errno", None) == errno.EACCES:
        return _("ANT+ straps are not listed: the service may not use the ANT+ stick (udev "
                 "rule). Tell the technician.")
    return _("ANT+ straps are not listed: the ANT+ stick did not answer ({error}). Pull it "
             "out, put it back in and scan again.").format(error=text)


@dataclass(frozen=True)
class StrapSeen:
    device_number: int
    rssi_dbm: int | None
    hr_bpm: int
    battery_pct: int | None = None
    """From background page 7, when the strap sent one during the scan."""
    battery_low: bool = False
    """Under 20 % or the strap's own "low"/"critical" status (page 7)."""
    transmission_type: int = 0
    """With the device number the strap's full id: its upper nibble extends the number to
    20 bits (``ant_extended_id``); two straps may share a device number (issue 22)."""


def ant_extended_id(device_number: int, transmission_type: int = 0) -> int:
    """The 20-bit ANT id: the device number with the transmission type's upper nibble as
    bits 16–19 (what a strap's ANT+ ID label may show)."""
    return device_number | ((transmission_type & 0xF0) << 12)


class AntSource(HeartRateSource):
    """ANT+ heart-rate strap through openant (see the module docstring).

    ``device_number=N`` listens to that strap only (the service creates one per session for
    the strap staff paired, and drops it when the session ends); ``device_number=0`` pairs
    with the first strap the stick locks on to (tests, tools — never the service);
    ``driver_factory`` picks the stick (default: openant's own search over USB sticks;
    ``serial_stick_driver(path)`` for a serial stick or a pty; an emulated stick in tests).
    ``clock`` stamps the samples and times the watchdog and the scan: on simulated time
    (a ``ScaledClock``, whose ``speedup`` it reads) they run that much faster; the stick's
    own waits (openant's, the rebuild back-off) stay real.
    """

    def __init__(self, *, device_number: int = 0, transmission_type: int = 0,
                 driver_factory: Callable[[], Any] | None = None,
                 stale_s: float = STALE_AFTER_S, lost_s: float = LOST_AFTER_S,
                 max_backoff_s: float = 10.0, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        if not 0 <= device_number <= 0xFFFF:
            raise ValueError(f"ANT device number must be 0–65535, got {device_number}")
        if not 0 <= transmission_type <= 0xFF:
            raise ValueError(f"ANT transmission type must be 0–255, got {transmission_type}")
        self.device_number = device_number
        self.transmission_type = transmission_type
        """With the device number, the strap's full id; 0 listens to any (issue 22)."""
        self.driver_factory = driver_factory
        self.stale_s = stale_s
        self.lost_s = lost_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.builds = 0
        self._per_real_s = float(getattr(clock, "speedup", 1.0))
        """Seconds of ``clock`` per real second (1 on the wall clock)."""
        self._stop = threading.Event()
        self._put: Callable[[object], object] = lambda item: None
        self._last_data_s: float | None = None
        self._last_bc: int | None = None
        self._logged: tuple[SourceState, str] | None = None

    # -- building openant's node ------------------------------------------------------------

    def _new_node(self) -> Any:
        """openant's Node on our guarded driver (the factory's stick, or openant's own
        search for USB sticks).

        openant sleeps 1 s after resetting the stick; a driver whose stick is ready sooner
        says so in ``reset_wait_s`` (the emulated stick, which answers the reset at once;
        openant's own drivers do not, and keep the 1 s). Its stop waits up to 1 s more for
        its dispatcher's queue; here the stop wakes it (see ``_wake_on_stop``)."""
        from openant.base.ant import Ant
        from openant.easy.node import Node

        cls = _selected_driver_class()
        find = self.driver_factory or _openant_search
        quiet = logging.getLogger("openant")
        if quiet.level == logging.NOTSET:  # its INFO lines come with every rebuild attempt
            quiet.setLevel(logging.WARNING)
        guard: list[GuardedDriver] = []

        def factory() -> GuardedDriver:
            inner = find()
            wait_s = getattr(inner, "reset_wait_s", None)
            if wait_s is not None:  # read by this Ant's reset, under _driver_lock
                Ant._RESET_WAIT = wait_s
            guard.append(GuardedDriver(inner))
            return guard[-1]

        with _driver_lock:
            cls.factory = factory
            reset_wait_s = Ant._RESET_WAIT
            try:
                node = Node()
            except BaseException:
                if guard:
                    _end_orphan_reader(guard[-1])
                raise
            finally:
                cls.factory = None
                Ant._RESET_WAIT = reset_wait_s
        node._fourbyfour_guard = guard[-1]
        _wake_on_stop(node)
        return node

    def _build(self) -> tuple[Any, Any]:
        from openant.devices import ANTPLUS_NETWORK_KEY
        from openant.devices.heart_rate import HeartRate

        node = self._new_node()
        try:
            node.set_network_key(0x00, ANTPLUS_NETWORK_KEY)
            tt = self.transmission_type if self.device_number else 0

            class PinnedHeartRate(HeartRate):
                """openant 1.3 drops a slave's ``trans_type`` (it keeps 0, "any"): pin the
                channel on the strap's full id before it opens (issue 22)."""

                def open_channel(self, *a: Any, **k: Any) -> None:
                    if tt:
                        self.trans_type = tt
                    super().open_channel(*a, **k)

            dev = PinnedHeartRate(node, device_id=self.device_number, trans_type=tt)
        except BaseException:
            with contextlib.suppress(Exception):
                node.stop()
            raise
        dev.on_device_data = lambda page, name, data: self._on_page(dev, page, data)
        self.builds += 1
        return node, dev

    def _on_page(self, dev: Any, page: int, data: Any) -> None:
        """In openant's thread: copy the reused data object's fields, hand them to asyncio.
        Never raise here: an exception would end ``node.start()``."""
        try:
            now = self.clock()
            self._last_data_s = now
            if self.device_number == 0 and dev.device_id:
                self.device_number = dev.device_id  # paired: stay with this strap
            bc, bt, prev = int(data.beat_count), float(data.beat_time), \
                float(data.previous_heart_beat_time)
            rr: tuple[float, ...] = ()
            if (page & 0x7F) == 4 and prev >= 0 and self._last_bc is not None and \
                    (bc - self._last_bc) & 0xFF == 1:
                rr = (((bt - prev) % 64.0) * 1000.0,)
            self._last_bc = bc
            if (page & 0x0F) == 7 and int(data.battery_percentage) <= 100:
                status = dev.data["common"].last_battery_data.status
                pct = int(data.battery_percentage)
                self._put(BatteryReport(pct, battery_is_low(pct, getattr(status, "value",
                                                                          None)), now))
            self._put(HrSample(float(data.heart_rate), now, "ant+", dev.device_id or None,
                               bt, bc, rr))
        except Exception:  # pragma: no cover - defensive
            _log.exception("ANT+ callback failed")

    def _status(self, state: SourceState, message: str) -> None:
        """To staff every time; to the log once per change (a stick that stays missing is
        retried with back-off, and must not fill the journal)."""
        if (state, message) != self._logged:
            self._logged = (state, message)
            level = logging.INFO if state in (SourceState.SEARCHING, SourceState.CONNECTED) \
                else logging.WARNING
            _log.log(level, "ANT+ %s: %s", state, message)
        self._put(SourceStatus(state, message, self.clock(), self.device_number or None))

    # -- the supervisor thread --------------------------------------------------------------

    def _supervise(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                node, _dev = self._build()
            except Exception as e:
                self._status(SourceState.STICK_MISSING, _explain(e))
                if type(e).__name__ == "DriverNotFound" or \
                        getattr(e, "errno", None) == errno.ENODEV:
                    # not plugged in: looking costs nothing, so look every half second and
                    # a stick put back in gives heart rate within ~1–2 s (issue 22: up to
                    # 11.5 s once the back-off had grown)
                    self._stop.wait(STICK_POLL_S)
                    continue
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            backoff = 0.5
            who = f"strap #{self.device_number}" if self.device_number else "any strap"
            self._status(SourceState.SEARCHING, f"ANT+ channel open, searching for {who}")
            reason = self._watch(node)
            if not self._stop.is_set():  # tell staff first, then clean up
                gone = node._fourbyfour_guard.failed is not None
                self._status(SourceState.STICK_MISSING if gone else SourceState.LOST, reason)
            with contextlib.suppress(Exception):
                node.stop()
            self._stop.wait(0.5)

    def _watch(self, node: Any) -> str:
        runner = threading.Thread(target=self._run_node, args=(node,), name="ant-node",
                                  daemon=True)
        built = self.clock()
        self._last_data_s = None
        runner.start()
        state = SourceState.SEARCHING
        guard: GuardedDriver = node._fourbyfour_guard
        while not self._stop.wait(WATCH_EVERY_S / self._per_real_s):
            if guard.failed is not None:
                return _explain(guard.failed)
            if not node.ant._worker_thread.is_alive() or not runner.is_alive():
                return "the ANT+ reader stopped (stick unplugged or bad data): rebuilding"
            last = self._last_data_s
            age = self.clock() - (last if last is not None else built)
            if last is not None and age < self.stale_s:
                if state is not SourceState.CONNECTED:
                    state = SourceState.CONNECTED
                    self._status(state, f"ANT+ strap #{self.device_number} connected")
            elif age >= self.lost_s:
                return f"no heart-rate data for {self.lost_s:g} s: rebuilding the ANT+ channel"
            elif age >= self.stale_s and state is SourceState.CONNECTED:
                state = SourceState.STALE
                self._status(state, f"no heart-rate data for {self.stale_s:g} s "
                             "(strap off, dry or out of battery?)")
        return "stopped"

    @staticmethod
    def _run_node(node: Any) -> None:
        try:
            node.start()
        except Exception:  # openant ends start() on any callback error
            _log.exception("ANT+ node stopped")

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus | BatteryReport]:
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[HrSample | SourceStatus] = asyncio.Queue(maxsize=256)
        self._put = lambda item: loop.call_soon_threadsafe(_offer, q, item)
        self._stop.clear()
        thread = threading.Thread(target=self._supervise, name="ant-supervisor", daemon=True)
        thread.start()
        try:
            while True:
                yield await q.get()
        finally:
            self._stop.set()
            self._put = lambda item: None
            await asyncio.to_thread(thread.join, 15.0)

    # -- choosing the patient's strap -------------------------------------------------------

    def scan(self, seconds: float = 4.0) -> list[StrapSeen]:
        """Straps in range with device number and signal strength, strongest first
        (blocking; call with ``asyncio.to_thread``). ``seconds`` on the source's clock."""
        from openant.base.message import Message
        from openant.devices import ANTPLUS_NETWORK_KEY
        from openant.devices.scanner import Scanner

        seen: dict[tuple[int, int], StrapSeen] = {}

        class _RssiScanner(Scanner):
            def _on_data(self, data):  # type: ignore[no-untyped-def]
                if len(data) > 12 and data[8] & 0x80:
                    dev = data[9] | (data[10] << 8)
                    key = (dev, data[12])  # the full id: device number, transmission type
                    rssi = None
                    if data[8] & 0x40 and len(data) > 14:
                        rssi = data[14] - 256 if data[14] > 127 else data[14]
                    battery = seen[key].battery_pct if key in seen else None
                    low = seen[key].battery_low if key in seen else False
                    if data[0] & 0x7F == 7 and data[1] <= 100:
                        battery = data[1]
                        low = battery_is_low(battery, (data[3] >> 4) & 0x07)
                    seen[key] = StrapSeen(dev, rssi, data[7], battery, low, data[12])

        node = self._new_node()
        try:
            node.set_network_key(0x00, ANTPLUS_NETWORK_KEY)
            try:
                node.ant.write_message(Message(Message.ID.LIB_CONFIG, [0x00, 0xC0]))
                node.wait_for_response(Message.ID.LIB_CONFIG)
            except Exception as e:  # some sticks refuse it: list the straps without RSSI
                _log.info("the ANT+ stick refused LIB_CONFIG (%s): scanning without signal "
                          "strength", e)
            scanner = _RssiScanner(node, device_id=0, device_type=120)
            runner = threading.Thread(target=self._run_node, args=(node,), daemon=True)
            runner.start()
            time.sleep(seconds / self._per_real_s)
            # close the channel, so the stick stops sending every strap's pages: the source
            # built next (the strap staff pair) must not get them before its own reset
            with contextlib.suppress(Exception):
                scanner.close_channel()
        finally:
            node.stop()
        return sorted(seen.values(), key=lambda s: (-(s.rssi_dbm or -999), s.transmission_type))

