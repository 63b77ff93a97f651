"""Heart-rate sources: ANT+ (openant), Bluetooth LE (bleak, optional) and simulated.

Every source offers one async interface, ``stream()``, yielding ``HrSample`` (bpm, beat time
and count, RR intervals where the strap gives them, source, device, timestamp) and
``SourceStatus`` (searching, connected, stale, lost, stick missing). Every sample goes to the
one gate (``controller.core.hrgate``) with its beat evidence — the session's own, through
``Session.offer_hr``; ``PlausibilityFilter`` applies the same gate outside a session.

ANT+ — what openant does not do, this module does (shared/reference/heart-rate-input.md):
openant reports no failures. A supervisor thread builds openant's ``Node`` and ``HeartRate``
channel, runs ``node.start()`` in a dedicated thread, copies each page's fields inside the
callback and hands them to asyncio with ``call_soon_threadsafe``. A staleness watchdog marks
the source **stale after 3 s** without data and **lost after 10 s**; then, or when openant's
reader thread dies (unplugged stick, a stray byte on a serial stick), the node is torn down
and rebuilt with back-off (0.5 s doubling to 10 s). Once paired, the source stays pinned to
that strap's device number across rebuilds, so it never silently switches to another
patient's strap. The ANT+ network key is imported from openant, never copied here.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.core.hrgate import HrGate, HrReading
from controller.core.i18n import _
from controller.core.refusals import Refusal

_log = logging.getLogger(__name__)

STALE_AFTER_S = 3.0
STICK_POLL_S = 0.5
"""While no ANT+ stick is plugged in, look for one this often (a cheap USB lookup)."""
RECONNECT_SILENT_S = 8.0
"""A BLE strap connected but silent this long is disconnected and connected afresh."""
LOST_AFTER_S = 10.0
WATCH_EVERY_S = 0.2
"""How often the ANT+ supervisor looks at the data's age, on the source's clock."""
UDEV_HINT = ("install the udev rule (systemd/99-fourbyfour.rules, vendor 0fcf) and re-plug "
             "the stick, or add this user to the 'plugdev' group")


class SourceState(StrEnum):
    SEARCHING = "searching"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost"
    STICK_MISSING = "stick_missing"


@dataclass(frozen=True)
class HrSample:
    hr_bpm: float
    now_s: float
    source: str
    device_id: int | None = None
    beat_time_s: float | None = None
    beat_count: int | None = None
    rr_ms: tuple[float, ...] = ()
    contact: bool | None = None
    """BLE sensor-contact bits: False = the strap says no skin contact; None = unknown."""


@dataclass(frozen=True)
class BatteryReport:
    """The strap's battery, when it says: ANT+ background page 7 (about once a minute), or
    BLE's Battery Level (0x2A19) read once after connecting. ``low`` warns staff before
    Start: under ``LOW_BATTERY_PCT`` or the strap's own "low"/"critical" status."""

    battery_pct: int | None
    low: bool
    now_s: float


LOW_BATTERY_PCT = 20
ANT_BATTERY_LOW, ANT_BATTERY_CRITICAL = 4, 5
"""ANT+ common battery status (page 7, byte 3 bits 4–6): 1 new, 2 good, 3 ok, 4 low,
5 critical, 6 charging, 7 invalid."""


def battery_is_low(battery_pct: int | None, ant_status: int | None = None) -> bool:
    """Whether to warn staff: the percentage under 20 or the strap's own low/critical."""
    if ant_status in (ANT_BATTERY_LOW, ANT_BATTERY_CRITICAL):
        return True
    return battery_pct is not None and battery_pct < LOW_BATTERY_PCT


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    message: str
    now_s: float
    device_id: int | None = None


def reading_of(s: HrSample) -> HrReading:
    """What the gate needs from a sample: the value and its beat evidence."""
    value_only = s.source == "ble" and not s.rr_ms and s.beat_count is None
    return HrReading(s.now_s, s.hr_bpm, s.beat_count, s.beat_time_s, s.rr_ms, s.contact,
                     value_only)


@dataclass(frozen=True)
class CheckedSample:
    sample: HrSample
    valid: bool
    reason: str

    @property
    def hr_bpm(self) -> float | None:
        return self.sample.hr_bpm if self.valid else None


class PlausibilityFilter:
    """The one gate (``controller.core.hrgate``) applied to a source's samples, for callers
    that watch a strap outside a session (the strap check before Start, benchmarks). A
    session gates its own samples (``Session.offer_hr``): never run both in series."""

    def __init__(self) -> None:
        self.gate = HrGate()

    def check(self, s: HrSample) -> CheckedSample:
        v = self.gate.update(reading_of(s))
        return CheckedSample(s, v.valid, v.reason)


class HeartRateSource:
    """The interface: ``async for item in source.stream(): ...``."""

    def stream(self) -> AsyncIterator[  # pragma: no cover
            HrSample | SourceStatus | BatteryReport]:
        raise NotImplementedError


def _offer(q: asyncio.Queue[Any], item: object) -> None:
    """Bounded hand-over: when the consumer lags, the oldest item goes, never the newest."""
    if q.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            q.get_nowait()
    q.put_nowait(item)


# -- simulated ------------------------------------------------------------------------------


class SimulatedSource(HeartRateSource):
    """Samples at ~4 Hz from ``hr_of(now_s)`` (e.g. a virtual patient); None means no contact.

    >>> src = SimulatedSource(lambda t: 120.0)
    >>> async for item in src.stream(): ...
    """

    def __init__(self, hr_of: Callable[[float], float | None], *, rate_hz: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hr_of = hr_of
        self.period_s = 1.0 / rate_hz
        self.clock = clock

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus]:
        last_ok = self.clock()
        state = SourceState.SEARCHING
        yield SourceStatus(state, "simulated strap", last_ok)
        while True:
            now = self.clock()
            hr = self.hr_of(now)
            if hr is not None:
                last_ok = now
                if state is not SourceState.CONNECTED:
                    state = SourceState.CONNECTED
                    yield SourceStatus(state, "simulated strap connected", now)
                yield HrSample(float(round(hr)), now, "simulated")
            else:
                new = state
                if now - last_ok >= LOST_AFTER_S:
                    new = SourceState.LOST
                elif now - last_ok >= STALE_AFTER_S:
                    new = SourceState.STALE
                if new is not state:
                    state = new
                    yield SourceStatus(state, f"simulated strap {state}", now)
            await asyncio.sleep(self.period_s)


# -- ANT+ through openant -------------------------------------------------------------------

_driver_lock = threading.Lock()


def _selected_driver_class() -> Any:
    """A driver class in openant's ``drivers`` list (its documented extension point) that
    yields whatever driver a source asked for while it builds its Node."""
    import openant.base.driver as drv

    for cls in drv.drivers:
        if getattr(cls, "_fourbyfour", False):
            return cls

    class SelectedDriver(drv.Driver):
        _fourbyfour = True
        factory: Callable[[], Any] | None = None

        @classmethod
        def find(cls) -> bool:
            return cls.factory is not None

        def __new__(cls):  # type: ignore[no-untyped-def]
            assert cls.factory is not None
            return cls.factory()

    drv.drivers.append(SelectedDriver)
    return SelectedDriver


def _openant_search() -> Any:
    """openant's own search for a stick (its ``find_driver``), without our selector."""
    import openant.base.driver as drv

    for cls in reversed(drv.drivers):
        if not getattr(cls, "_fourbyfour", False) and cls.find():
            return cls()
    raise drv.DriverNotFound


def _wake_on_stop(node: Any) -> None:
    """openant's ``Node.stop`` stops its reader, then joins the thread dispatching the
    reader's messages, which looks at its running flag only between 1 s waits on its queue:
    every stop (a scan's end, a session's, a rebuild) took up to 1 s. Once the reader has
    stopped, an empty channel event (code 0, which openant files among the channel events
    nobody waits for) wakes the dispatcher at once."""
    ant = node.ant
    if not hasattr(ant, "_events"):  # another openant: its stop is left as it is
        return
    stop = ant.stop

    def stop_and_wake() -> None:
        stop()
        ant._events.put(("event", (0, 0, b"")))

    ant.stop = stop_and_wake


def _end_orphan_reader(guard: GuardedDriver, join_s: float = 2.0) -> None:
    """openant's ``Ant()`` opens the stick and starts its reader thread before its first
    write (the reset); when that write fails (EIO, a wedged stick's ``USBTimeoutError``) the
    constructor raises and nobody holds the ``Ant`` to stop it: its reader would read on for
    ever, one per failed rebuild, beside the next node. The thread's own target names its
    ``Ant``; the one reading through ``guard`` is told to stop, and the stick is closed."""
    for t in threading.enumerate():
        ant = getattr(getattr(t, "_target", None), "__self__", None)
        if ant is None or getattr(ant, "_driver", None) is not guard:
            continue
        ant._running = False
        guard.close()  # wakes a read waiting on a failed stick
        if t is not threading.current_thread():
            t.join(join_s)
    guard.close()


class StickGone(Exception):
    """The stick failed for good (unplugged): what a transfer raised is in ``cause``."""


class GuardedDriver:
    """Wraps the driver openant reads from, because openant's reader swallows every pyusb
    ``USBError`` and retries at once: an unplugged stick spins a core and floods the log.

    A read timeout (``USBTimeoutError``) passes through as usual. Any other failure of a
    transfer (``USBError`` such as LIBUSB_ERROR_NO_DEVICE, a serial port's ``OSError``) is
    remembered in ``failed`` and never retried: reads then wait quietly until the node is
    torn down, and the supervisor, which looks every 0.2 s, says so to staff.
    """

    IDLE_WAIT_S = 0.2

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed: BaseException | None = None
        self._closed = threading.Event()

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(Exception):
            self.inner.close()

    def _fatal(self, e: BaseException) -> bool:
        import usb.core

        if isinstance(e, usb.core.USBTimeoutError):
            return False
        return isinstance(e, OSError)

    def read(self):  # type: ignore[no-untyped-def]
        if self.failed is None:
            try:
                return self.inner.read()
            except Exception as e:
                if not self._fatal(e):
                    raise
                self.failed = e
        self._closed.wait(self.IDLE_WAIT_S)
        return array.array("B")

    def write(self, data) -> None:  # type: ignore[no-untyped-def]
        if self.failed is not None:
            raise StickGone(str(self.failed))
        try:
            self.inner.write(data)
        except Exception as e:
            if self._fatal(e):
                self.failed = e
            raise


def serial_stick_driver(path: str) -> Any:
    """openant's serial (USB1, 0fcf:1004) driver pointed at ``path`` — a stable device name
    or a pty — with a read that waits up to 50 ms instead of spinning a core."""
    import serial
    from openant.base.driver import DriverException, SerialDriver

    class PathSerialDriver(SerialDriver):
        @classmethod
        def get_url(cls) -> str:
            return path

        def open(self) -> None:
            try:
                self._serial = serial.serial_for_url(path, 115200, timeout=0.05)
            except serial.SerialException as e:
                raise DriverException(f"cannot open ANT stick at {path}: {e}") from e

        def read(self):  # type: ignore[no-untyped-def]
            return array.array("B", self._serial.read(4096))

    return PathSerialDriver()


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


@dataclass(frozen=True)
class BleStrapSeen:
    """A Bluetooth LE strap advertising the Heart Rate service (its adverts carry no bpm)."""

    address: str
    name: str | None
    rssi_dbm: int | None


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


# -- the strap staff chose ---------------------------------------------------------------

StrapChoice = dict[str, Any]
"""``{"kind": "ant", "device_number": 12345}`` or ``{"kind": "ble", "address": "AA:…"}``."""


def check_strap(strap: object) -> StrapChoice:
    """A strap staff chose (or a profile remembered); a ValueError (``Refusal``: a code the
    console renders in its language) says what is wrong."""
    if not isinstance(strap, dict):
        raise Refusal("strap_not_object")
    kind = strap.get("kind")
    if kind == "ant":
        n = strap.get("device_number")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 0xFFFF:
            raise Refusal("strap_ant_number")
        tt = strap.get("transmission_type", 0)
        if isinstance(tt, bool) or not isinstance(tt, int) or not 0 <= tt <= 0xFF:
            raise Refusal("strap_ant_type")
        out: StrapChoice = {"kind": "ant", "device_number": n}
        if tt:
            out["transmission_type"] = tt  # pinned on the full id (issue 22)
        return out
    if kind == "ble":
        addr = strap.get("address")
        if not isinstance(addr, str) or not 1 <= len(addr) <= 64:
            raise Refusal("strap_ble_address")
        return {"kind": "ble", "address": addr}
    raise Refusal("strap_kind", kind=repr(kind))


def strap_key(strap: StrapChoice) -> int | str:
    """What names a strap on the site: its 20-bit ANT+ id (the device number when the
    transmission type is not known) or its BLE address."""
    if strap["kind"] == "ant":
        return ant_extended_id(strap["device_number"], strap.get("transmission_type", 0))
    return str(strap["address"]).upper()


def strap_label(strap: StrapChoice) -> str:
    return f"#{strap_key(strap)}" if strap["kind"] == "ant" else str(strap["address"])


# -- Bluetooth LE ---------------------------------------------------------------------------

HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
HR_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class BleUnavailable(RuntimeError):
    """Bluetooth LE cannot be used here (no 'ble' extra, no adapter, no BlueZ): one sentence
    for staff, never a traceback."""


async def scan_ble(seconds: float = 4.0, *, backend: type | None = None
                   ) -> list[BleStrapSeen]:
    """Bluetooth LE straps in range that advertise the Heart Rate service (0x180D), with
    their name and signal strength, strongest first. ``backend`` is bleak's scanner seam
    (``BleakScanner(..., backend=...)``); raises ``BleUnavailable`` with the reason."""
    try:
        from bleak import BleakScanner
    except ImportError as e:
        raise BleUnavailable(_("Bluetooth straps are not listed: the 'ble' extra (bleak) is "
                               "not installed.")) from e
    try:
        found = await BleakScanner.discover(seconds, return_adv=True,
                                            service_uuids=[HR_SERVICE_UUID],
                                            backend=backend)  # type: ignore[call-overload]
    except Exception as e:  # BleakError, D-Bus errors, no adapter: all say "not here"
        raise BleUnavailable(_("Bluetooth straps are not listed: {error}").format(
            error=str(e) or type(e).__name__)) from e
    seen = [BleStrapSeen(dev.address, adv.local_name or dev.name, adv.rssi)
            for dev, adv in found.values()
            if HR_SERVICE_UUID in [u.lower() for u in adv.service_uuids]]
    return sorted(seen, key=lambda s: -(s.rssi_dbm if s.rssi_dbm is not None else -999))


@dataclass(frozen=True)
class HrmMeasurement:
    hr_bpm: int
    contact_supported: bool
    contact_detected: bool
    energy_kj: int | None
    rr_ms: tuple[float, ...]


def parse_hrm(data: bytes) -> HrmMeasurement:
    """Parse a Heart Rate Measurement (0x2A37) notification; ValueError if malformed."""
    if len(data) < 2:
        raise ValueError("heart rate measurement shorter than 2 bytes")
    flags = data[0]
    i = 1
    if flags & 0x01:
        if len(data) < 3:
            raise ValueError("uint16 heart rate flagged but missing")
        hr = data[1] | (data[2] << 8)
        i = 3
    else:
        hr = data[1]
        i = 2
    energy = None
    if flags & 0x08:
        if len(data) < i + 2:
            raise ValueError("energy expended flagged but missing")
        energy = data[i] | (data[i + 1] << 8)
        i += 2
    rr: list[float] = []
    if flags & 0x10:
        if (len(data) - i) % 2:
            raise ValueError("RR intervals have an odd number of bytes")
        for j in range(i, len(data), 2):
            rr.append((data[j] | (data[j + 1] << 8)) * 1000.0 / 1024.0)
    return HrmMeasurement(hr, bool(flags & 0x04), bool(flags & 0x02), energy, tuple(rr))


class BleSource(HeartRateSource):
    """A Bluetooth LE strap (Heart Rate Service) via bleak, reconnecting with back-off.

    ``backend`` is bleak's own seam (``BleakClient(..., backend=...)``): tests pass a fake.
    After each connect the Battery Level (0x2A19) is read once when the strap has the
    Battery service, and reported as a ``BatteryReport``.
    """

    def __init__(self, address: str, *, backend: type | None = None,
                 max_backoff_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 reconnect_silent_s: float = RECONNECT_SILENT_S) -> None:
        self.address = address
        self.backend = backend
        self.max_backoff_s = max_backoff_s
        self.reconnect_silent_s = reconnect_silent_s
        self.clock = clock
        self.connects = 0

    async def _read_battery(self, client: Any) -> BatteryReport | None:
        """Battery Level, once: None when the strap has no Battery service or the read
        fails (a strap without a battery reading still works)."""
        if client.services.get_service(BATTERY_SERVICE_UUID) is None:
            return None
        try:
            data = await asyncio.wait_for(client.read_gatt_char(BATTERY_LEVEL_UUID), 5.0)
        except Exception as e:
            _log.info("BLE strap %s: battery not read (%s)", self.address, e)
            return None
        if not data or data[0] > 100:
            return None
        return BatteryReport(data[0], battery_is_low(data[0]), self.clock())

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus | BatteryReport]:
        """Connect, notify, reconnect. Every connection is released in every path — a drop,
        silence, an error, or the consumer cancelling or closing the stream (re-scan,
        re-pair, end of session) — so the strap is free for the next scan and for another
        treadmill. Each connection has its own queue: nothing an old connection sent is
        yielded after the new one's."""
        try:
            from bleak import BleakClient
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise RuntimeError("Bluetooth LE needs the 'ble' extra: pip install "
                               "'fourbyfour[ble]'") from e
        backoff = 0.5
        while True:
            q: asyncio.Queue[HrSample | SourceStatus] = asyncio.Queue(maxsize=256)
            gone = asyncio.Event()
            client = BleakClient(self.address,
                                 disconnected_callback=lambda _c, g=gone: g.set(),  # type: ignore[misc]
                                 backend=self.backend)
            yield SourceStatus(SourceState.SEARCHING, f"connecting to {self.address}",
                               self.clock())
            silent = False
            try:
                try:
                    await client.connect()

                    def on_notify(_char: object, data: bytearray, q: asyncio.Queue = q
                                  ) -> None:
                        try:
                            m = parse_hrm(bytes(data))
                        except ValueError as e:
                            _log.warning("bad heart rate measurement from %s: %s",
                                         self.address, e)
                            return
                        contact = m.contact_detected if m.contact_supported else None
                        _offer(q, HrSample(float(m.hr_bpm), self.clock(), "ble", None, None,
                                           None, m.rr_ms, contact))

                    await client.start_notify(HRM_UUID, on_notify)
                    battery = await self._read_battery(client)
                except Exception as e:
                    yield SourceStatus(SourceState.LOST, f"BLE strap {self.address}: {e}",
                                       self.clock())
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                self.connects += 1
                backoff = 0.5
                yield SourceStatus(SourceState.CONNECTED,
                                   f"BLE strap {self.address} connected", self.clock())
                if battery is not None:
                    yield battery
                now = asyncio.get_running_loop().time  # silence in the loop's seconds
                last_s = now()
                stale_told = False
                while not gone.is_set():
                    quiet_s = now() - last_s
                    if quiet_s >= self.reconnect_silent_s:
                        silent = True  # connected but silent: connect afresh
                        break
                    wait_s = (self.reconnect_silent_s - quiet_s) if stale_told else \
                        min(STALE_AFTER_S - quiet_s, self.reconnect_silent_s - quiet_s)
                    get = asyncio.ensure_future(q.get())
                    lost = asyncio.ensure_future(gone.wait())
                    try:
                        done, _pending = await asyncio.wait(
                            {get, lost}, timeout=max(wait_s, 0.0),
                            return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        get.cancel()
                        lost.cancel()
                    if get in done:
                        last_s = now()
                        stale_told = False
                        yield get.result()
                        continue
                    if not done and not stale_told and \
                            now() - last_s >= STALE_AFTER_S - 1e-3:
                        stale_told = True
                        yield SourceStatus(SourceState.STALE, "no BLE heart-rate notification "
                                           f"for {STALE_AFTER_S:g} s", self.clock())
            finally:
                await self._release(client)
            why = f"silent for {self.reconnect_silent_s:g} s: reconnecting" if silent \
                else "disconnected"
            yield SourceStatus(SourceState.LOST, f"BLE strap {self.address} {why}",
                               self.clock())

    async def _release(self, client: Any) -> None:
        """Stop notifying and disconnect, whatever state the connection is in; bounded, so
        a cancelled stream never waits long for a radio that does not answer."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(client.disconnect(), 5.0)
