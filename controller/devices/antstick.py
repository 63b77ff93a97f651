"""An emulated ANT USB stick with heart-rate straps in range (a test and demo component).

It speaks the ANT serial message protocol byte for byte (sync 0xA4, length, id, payload, XOR
checksum), answers the start-up and channel configuration that openant sends the way a stick
does, and broadcasts ANT+ heart-rate pages (device type 120, ~4.06 Hz) for the straps in range:
page 4 with the page-change toggle and the previous beat time, background pages 1, 2, 3 and 7,
beat event time in 1/1024 s and the beat count computed from the heart rate each strap is
given. Extended messages carry the device number (and RSSI when asked for with LIB_CONFIG).

``EmulatedStick`` is the sans-IO core: ``feed(host_bytes)`` and ``poll(now_s) -> stick_bytes``.
Two transports put it where openant looks for a stick:

* ``EmulatedStickDriver`` — an ``openant.base.driver.Driver`` that openant's ``Node`` uses
  when ``StickHub.driver`` is the ``AntSource``'s ``driver_factory`` (``controller.hr.ant``;
  no radio, no port);
* ``StickPty`` — the stick behind a pseudo-terminal, for openant's serial driver.

Faults to inject: a strap out of range or flat (``Strap.in_range = False``), the stick
unplugged (``unplug()``/``replug()``), garbage bytes on the line (``inject_garbage``), no
permission, no libusb. Failures are raised as pyusb's own exception types (``USBError``,
``USBTimeoutError``, ``NoBackendError``) with the codes libusb gives, as openant sees them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

SYNC = 0xA4
MSG_PERIOD_S = 8070 / 32768
HRM_DEVICE_TYPE = 120


def message(msg_id: int, payload: bytes | list[int]) -> bytes:
    body = bytes([SYNC, len(payload), msg_id]) + bytes(payload)
    cs = 0
    for b in body:
        cs ^= b
    return body + bytes([cs])


@dataclass
class Strap:
    """A chest strap in range. ``hr_of(now_s)`` gives its heart rate (None: no contact)."""

    device_number: int
    hr_of: Callable[[float], float | None]
    rssi_dbm: int = -60
    in_range: bool = True
    transmission_type: int = 1
    legacy: bool = False  # legacy straps never toggle the page bit
    battery_pct: int = 80
    frozen: bool = False  # a failing strap that repeats its last page: no new beats
    battery_status: int = 2
    """Page 7's battery status (2 good; 4 low, 5 critical)."""
    _next_msg_s: float = 0.0
    _msg_count: int = 0
    _beat_time: float = 0.0  # seconds, of the last beat
    _prev_beat_time: float = 0.0
    _beat_count: int = 0
    _next_beat_s: float | None = None
    _last_hr: int = 0

    def _advance_beats(self, now_s: float) -> None:
        if self.frozen:
            return
        hr = self.hr_of(now_s)
        if hr is None or hr <= 0:
            self._next_beat_s = None
            return
        self._last_hr = round(hr)
        if self._next_beat_s is None:
            self._next_beat_s = now_s
        while self._next_beat_s <= now_s:
            self._prev_beat_time = self._beat_time
            self._beat_time = self._next_beat_s
            self._beat_count = (self._beat_count + 1) & 0xFF
            self._next_beat_s += 60.0 / hr

    def page(self) -> bytes:
        """The next 8-byte HRM page (main page 4, background pages every 65th message)."""
        n = self._msg_count
        self._msg_count += 1
        toggle = 0 if self.legacy else (0x80 if (n // 4) % 2 else 0)
        bt = int(self._beat_time * 1024) & 0xFFFF
        common = bytes([bt & 0xFF, bt >> 8, self._beat_count, self._last_hr & 0xFF])
        bg = n % 65
        if 61 <= bg <= 64:
            pg = (1, 2, 3, 7)[(n // 65) % 4]
            if pg == 1:
                specific = bytes([0x10, 0x27, 0x00])  # operating time
            elif pg == 2:
                specific = bytes([0x01, self.device_number & 0xFF, self.device_number >> 8])
            elif pg == 3:
                specific = bytes([0x01, 0x0A, 0x05])
            else:
                specific = bytes([self.battery_pct, 0x80, (self.battery_status << 4) | 0x03])
            return bytes([pg | toggle]) + specific + common
        prev = int(self._prev_beat_time * 1024) & 0xFFFF
        return bytes([4 | toggle, 0xFF, prev & 0xFF, prev >> 8]) + common


@dataclass
class _Channel:
    number: int
    assigned: bool = False
    open: bool = False
    device_number: int = 0
    device_type: int = 0
    transmission_type: int = 0
    period: int = 8192
    rf: int = 66
    ext: bool = False


@dataclass
class EmulatedStick:
    """The stick's protocol engine; see the module docstring."""

    straps: list[Strap] = field(default_factory=list)
    serial_number: int = 0x12345678
    _rx: bytearray = field(default_factory=bytearray)
    _out: bytearray = field(default_factory=bytearray)
    _channels: dict[int, _Channel] = field(default_factory=dict)
    _lib_config: int = 0
    commands_seen: list[int] = field(default_factory=list)
    refuse_lib_config: bool = False
    """As some sticks: LIB_CONFIG (RSSI and extended data in every message) is refused."""

    def feed(self, data: bytes) -> None:
        """Bytes from the host. Bad sync or checksum: skip to the next sync byte."""
        self._rx.extend(data)
        while True:
            while self._rx and self._rx[0] != SYNC:
                del self._rx[0]
            if len(self._rx) < 4 or len(self._rx) < self._rx[1] + 4:
                return
            n = self._rx[1]
            frame = bytes(self._rx[: n + 4])
            cs = 0
            for b in frame[:-1]:
                cs ^= b
            if cs != frame[-1]:
                del self._rx[0]
                continue
            del self._rx[: n + 4]
            self._handle(frame[2], frame[3:-1])

    def _reply(self, channel: int, msg_id: int, code: int = 0) -> None:
        self._out += message(0x40, [channel, msg_id, code])

    def _handle(self, mid: int, p: bytes) -> None:
        self.commands_seen.append(mid)
        ch = p[0] if p else 0
        if mid == 0x4A:  # reset: what the stick had not sent yet is gone with its channels
            self._channels.clear()
            self._lib_config = 0
            self._out.clear()
            self._out += message(0x6F, [0x20])
        elif mid == 0x4D:  # request message
            want = p[1] if len(p) > 1 else 0
            if want == 0x54:
                self._out += message(0x54, [8, 8, 0x00, 0xBA, 0x36, 0x00, 0xDF])
            elif want == 0x61:
                self._out += message(0x61, list(self.serial_number.to_bytes(4, "little")))
            elif want == 0x3E:
                self._out += message(0x3E, list(b"AP2-EMU1.0\x00"))
            elif want == 0x51:
                c = self._chan(ch)
                self._out += message(0x51, [ch, c.device_number & 0xFF, c.device_number >> 8,
                                            c.device_type, c.transmission_type])
            elif want == 0x52:
                c = self._chan(ch)
                self._out += message(0x52, [ch, 3 if c.open else (1 if c.assigned else 0)])
            else:
                self._reply(ch, mid, 40)
        elif mid == 0x46:
            self._reply(ch, mid)
        elif mid == 0x42:
            c = self._chan(ch)
            c.assigned = True
            self._reply(ch, mid)
        elif mid == 0x41:
            self._channels.pop(ch, None)
            self._reply(ch, mid)
        elif mid == 0x51 and len(p) >= 5:
            c = self._chan(ch)
            c.device_number = p[1] | (p[2] << 8)
            c.device_type = p[3]
            c.transmission_type = p[4]
            self._reply(ch, mid)
        elif mid == 0x43 and len(p) >= 3:
            self._chan(ch).period = p[1] | (p[2] << 8)
            self._reply(ch, mid)
        elif mid == 0x45 and len(p) >= 2:
            self._chan(ch).rf = p[1]
            self._reply(ch, mid)
        elif mid == 0x66 and len(p) >= 2:
            for c in self._channels.values():
                c.ext = bool(p[1])
            self._reply(ch, mid)
        elif mid == 0x6E and len(p) >= 2:
            if self.refuse_lib_config:
                self._reply(0, mid, 40)  # INVALID_MESSAGE
                return
            self._lib_config = p[1]
            self._reply(0, mid)
        elif mid == 0x4B:
            c = self._chan(ch)
            c.open = c.assigned
            self._reply(ch, mid, 0 if c.assigned else 21)
        elif mid == 0x4C:
            c = self._chan(ch)
            c.open = False
            self._reply(ch, mid)
            self._out += message(0x40, [ch, 0x01, 0x07])  # EVENT_CHANNEL_CLOSED
        elif mid in (0x44, 0x47, 0x49, 0x60, 0x63, 0x68, 0x5B):
            self._reply(ch, mid)
        else:
            self._reply(ch, mid, 40)

    def _chan(self, n: int) -> _Channel:
        return self._channels.setdefault(n, _Channel(n))

    def _straps_for(self, c: _Channel) -> list[Strap]:
        """Pinned channel: its strap. Wildcard: the strongest strap (as a searching slave
        channel locks on to), or every strap in range when RSSI reports were asked for (our
        scan)."""
        if c.device_type not in (0, HRM_DEVICE_TYPE) or c.rf != 57:
            return []
        cands = [s for s in self.straps if s.in_range and
                 c.device_number in (0, s.device_number) and
                 c.transmission_type in (0, s.transmission_type)]
        if c.device_number == 0 and not self._lib_config & 0x40:
            cands = sorted(cands, key=lambda s: -s.rssi_dbm)[:1]
        return cands

    def poll(self, now_s: float) -> bytes:
        """Bytes the stick sends by ``now_s``: replies, then any broadcasts that are due."""
        for s in self.straps:
            s._advance_beats(now_s)
        for c in list(self._channels.values()):
            if not c.open:
                continue
            for strap in self._straps_for(c):
                if strap._next_beat_s is None or now_s < strap._next_msg_s:
                    continue
                strap._next_msg_s = max(strap._next_msg_s + MSG_PERIOD_S,
                                        now_s - MSG_PERIOD_S)
                self._out += self._broadcast(c, strap)
        out = bytes(self._out)
        self._out.clear()
        return out

    def _broadcast(self, c: _Channel, strap: Strap) -> bytes:
        payload = bytes([c.number]) + strap.page()
        flags = 0x80 if (c.ext or self._lib_config & 0x80) else 0
        if self._lib_config & 0x40:
            flags |= 0x40
        if flags:
            payload += bytes([flags])
            if flags & 0x80:
                payload += bytes([strap.device_number & 0xFF, strap.device_number >> 8,
                                  HRM_DEVICE_TYPE, strap.transmission_type])
            if flags & 0x40:
                payload += bytes([0x20, strap.rssi_dbm & 0xFF, 0xA0])
        return message(0x4E, payload)


def _no_device() -> Exception:
    """What pyusb's libusb1 backend raises on a transfer to a stick that was pulled out."""
    import usb.core

    return usb.core.USBError("No such device (it may have been disconnected)", -4,
                             errno.ENODEV)


class EmulatedStickDriver:
    """An openant driver backed by an ``EmulatedStick``, failing the way openant's USB driver
    does over pyusb: ``read`` waits up to ``read_timeout_s`` for data and then raises
    ``usb.core.USBTimeoutError``; on a pulled stick every transfer raises ``usb.core.USBError``
    (LIBUSB_ERROR_NO_DEVICE, errno ENODEV) at once; opening without permission raises
    ``USBError`` (LIBUSB_ERROR_ACCESS)."""

    reset_wait_s = 0.05
    """How long openant waits after resetting the stick (``controller.hr`` reads it; its own
    drivers wait 1 s): this stick has answered the reset before the reset call returns."""

    def __init__(self, hub: StickHub) -> None:
        self.hub = hub

    @classmethod
    def find(cls) -> bool:
        return True

    def open(self) -> None:
        import usb.core

        if self.hub.permission_denied:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3,
                                    errno.EACCES)
        if not self.hub.plugged:
            raise _no_device()
        self.hub.opened += 1

    def close(self) -> None:
        return None

    def read(self):  # type: ignore[no-untyped-def]
        import array

        import usb.core

        self.hub.reads += 1
        deadline = time.monotonic() + self.hub.read_timeout_s
        while True:
            data = self.hub.read()
            if data:
                return array.array("B", data)
            if time.monotonic() >= deadline:
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            time.sleep(0.005)

    def write(self, data) -> None:  # type: ignore[no-untyped-def]
        self.hub.write(bytes(data))


class StickHub:
    """Owns an ``EmulatedStick`` and its clock; thread-safe; the thing tests poke."""

    def __init__(self, straps: list[Strap] | None = None, clock: Callable[[], float] =
                 time.monotonic) -> None:
        self.stick = EmulatedStick(list(straps or []))
        self.clock = clock
        self.plugged = True
        self.opened = 0
        self.reads = 0
        """Reads openant's reader made (a busy loop shows here)."""
        self.read_timeout_s = 0.05
        self.permission_denied = False
        self.backend_missing = False
        """As on a machine without libusb: finding the stick raises ``NoBackendError``."""
        self.failing_writes: str | None = None
        """``"eio"``: every write raises pyusb's ``USBError`` (LIBUSB_ERROR_IO, errno EIO),
        as a stick that enumerates but is broken; ``"timeout"``: ``USBTimeoutError``, as a
        wedged stick. The stick still opens and reads."""
        self._garbage = b""
        self._lock = threading.Lock()

    def read(self) -> bytes:
        with self._lock:
            if not self.plugged:
                raise _no_device()
            out = self._garbage + self.stick.poll(self.clock())
            self._garbage = b""
            return out

    def write(self, data: bytes) -> None:
        import usb.core

        with self._lock:
            if not self.plugged:
                raise _no_device()
            if self.failing_writes == "eio":
                raise usb.core.USBError("Input/Output Error", -1, errno.EIO)
            if self.failing_writes == "timeout":
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            self.stick.feed(data)

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False

    def replug(self) -> None:
        """A fresh stick (as after re-enumeration): it knows nothing of the old channels."""
        with self._lock:
            self.stick = EmulatedStick(self.stick.straps)
            self.plugged = True

    def inject_garbage(self, data: bytes | None = None) -> None:
        with self._lock:
            self._garbage += data if data is not None else \
                bytes(random.Random(7).randrange(256) for _ in range(12))

    def driver(self) -> EmulatedStickDriver:
        """The driver factory for ``AntSource``: finds the stick as openant's search does
        (``DriverNotFound`` when it is not plugged in, pyusb's ``NoBackendError`` without
        libusb)."""
        import usb.core
        from openant.base.driver import DriverNotFound

        if self.backend_missing:
            raise usb.core.NoBackendError("No backend available")
        if not self.plugged:
            raise DriverNotFound
        return EmulatedStickDriver(self)


class StickPty:
    """The emulated stick behind a pty, for openant's serial driver (``SerialDriver``)."""

    def __init__(self, hub: StickHub) -> None:
        self.hub = hub
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        os.set_blocking(self.master_fd, False)
        self.path = os.ttyname(self.slave_fd)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stick-pty", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(BlockingIOError, OSError):
                data = os.read(self.master_fd, 4096)
                if data and self.hub.plugged:
                    self.hub.write(data)
            if self.hub.plugged:
                out = self.hub.read()
                if out:
                    with contextlib.suppress(BlockingIOError, OSError):
                        os.write(self.master_fd, out)
            time.sleep(0.005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        for fd in (self.master_fd, self.slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
