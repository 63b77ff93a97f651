"""Async client for the treadmill's motor-board link (firmware/PROTOCOL.md), over pyserial.

A thin adapter: it frames commands with the shared codec, sends the 100 ms heartbeat,
retransmits a command whose result does not come back, surfaces status and faults, and
reconnects after the cable is pulled (open it by a stable name — ``/dev/serial/by-id/...`` or
the udev symlink — so the replugged device is found again).

It reads the port on a thread of its own and only writes from the event loop: Linux's tty
poll waits for the tty's pending input work when no byte is waiting, and under CPU load that
wait held the loop's ``epoll_wait`` for 0.25–2.6 s (measured), long enough for the firmware to
latch ``host_silent``. The reader thread takes that wait instead, and hands the bytes over.
It reads a tty by ``poll`` and one ``os.read`` of what came, never asking how many bytes wait
(pyserial's ``in_waiting``): that ioctl (``TIOCINQ``) takes the tty's termios lock for
*writing*, which waits behind the input work that holds it for reading, and every write to the
port — the heartbeat's too — then queues behind it.

A board that is silent on a port still there is not a lost link: the port stays open and the
heartbeat goes on (the silence is told: ``silent``, then ``heard``). Under load the host's
read stalled 0.5–2.8 s while the board was well (issue 25.7): closing and reopening the port
then sent no heartbeat meanwhile, and the reopen (``tcsetattr``, ``tcflush``) waits on the same
stalled input work — the firmware latched ``host_silent``. Reopening is for a device that went
away or was replaced (a read fails, or the path no longer leads to the open device).
Writes do not wait either: one non-blocking write of the whole frame (pyserial's write timeout
would poll the port after every write, the same wait); a port whose buffer is full has a
board that stopped reading, and is dropped and reopened like a pulled cable.

The 100 ms heartbeat goes out from a thread of its own, not from the loop: under load the
loop's thread sat runnable for 180–640 ms waiting for a CPU, or busy with other work, and the
firmware latched ``host_silent`` on a control process that was alive. The thread writes only
while the loop shows it is alive (a task stamps ``_loop_alive_s`` every heartbeat): a loop
hung for ``LOOP_DEAD_S`` stops the heartbeat, and the firmware's own 500 ms rule stops the
belt, as it does when the process is gone.

What it never does: restart the belt by itself. After a reconnect it sends no ARM, START or
set-point of its own; the firmware latches a fault when the host goes silent anyway, and only
the session (a person) can ask for motion again. Requests outside the configured caps are
refused here with ``ValueError`` before anything is sent; the firmware checks them again.

    async with Treadmill("/dev/serial/by-id/usb-pico") as tm:
        await tm.arm(); await tm.start(2.0); await tm.set(5.5, 7.0); await tm.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial

from controller.core.fwpath import linkcodec as lc
from controller.errors import FourByFourError, Unavailable

RESULT_NAMES = {lc.R_SUCCESS: "success", lc.R_NOT_SUPPORTED: "not supported",
                lc.R_INVALID_PARAMETER: "invalid parameter", lc.R_FAILED: "failed",
                lc.R_NOT_PERMITTED: "control not permitted"}


HOMING_TIMEOUT_S = 50.0  # the board's own homing timeout is 45 s
LOOP_DEAD_S = 1.5
"""The heartbeat thread stops writing when the event loop has shown no sign of life for this
long (a hung loop); the firmware then latches ``host_silent`` 500 ms later. A hung loop so
holds the last (bounded, rate-limited) set-point at most 2 s — the clinic's tick is 1 s, the
heart rate's hold 5 s — while a loop busy or starved for up to 1.5 s (measured under load:
0.27–0.64 s) no longer stops the belt. A dead process stops the heartbeat at once."""
HOST_STALL_S = 0.1
"""A supervisor wake-up this late is this process's stall (no CPU), not the board's silence."""
READ_TIMEOUT_S = 0.5
"""The reader thread's longest blocking read: a port whose driver cannot cancel a read
still lets the thread see within this long that the link was closed."""


class TreadmillError(FourByFourError, RuntimeError):
    """The link could not do what was asked."""


class LinkDown(TreadmillError, Unavailable):
    """No connection to the motor board, or it did not answer."""


class CommandRefused(TreadmillError):
    """The motor board answered with a result other than success."""

    def __init__(self, command: str, code: int, status: TreadmillStatus | None) -> None:
        self.code = code
        state = f" (board {status.state}, fault {status.fault})" if status else ""
        super().__init__(f"{command} refused by the motor board: "
                         f"{RESULT_NAMES.get(code, hex(code))}{state}")


@dataclass(frozen=True)
class TreadmillStatus:
    state: str
    fault: str
    speed_cmd_kmh: float
    speed_kmh: float
    incline_cmd_pct: float
    incline_pct: float
    key_present: bool
    estop_healthy: bool
    relay_on: bool
    incline_homed: bool
    reset_needed: bool
    received_s: float


_log = logging.getLogger(__name__)

EMPTY_READ_WAIT_S = 0.005
EMPTY_READS_GONE = 200
"""Empty reads in a row (at ``EMPTY_READ_WAIT_S`` apart, about a second) after which a tty
that keeps saying it has input is taken as gone; one empty read is the line's hiccup."""

LOG_LEVELS = {"connected": logging.INFO, "hello": logging.INFO, "heard": logging.INFO,
              "disconnected": logging.WARNING, "silent": logging.WARNING,
              "fault": logging.ERROR}
"""How loud each link event is in the log (journald's priority under systemd)."""


@dataclass(frozen=True)
class LinkEvent:
    kind: str  # connected | disconnected | silent | heard | fault | hello
    message: str
    now_s: float


def _status_from(payload: bytes, now_s: float) -> TreadmillStatus:
    st, fault, sc, sm, ic, im, flags = lc.unpack_status(payload)
    return TreadmillStatus(
        state=lc.STATE_NAMES[st] if st < len(lc.STATE_NAMES) else f"unknown({st})",
        fault=lc.FAULT_NAMES[fault] if fault < len(lc.FAULT_NAMES) else f"unknown({fault})",
        speed_cmd_kmh=sc / 100.0, speed_kmh=sm / 100.0, incline_cmd_pct=ic / 10.0,
        incline_pct=im / 10.0, key_present=bool(flags & lc.FLAG_KEY_PRESENT),
        estop_healthy=bool(flags & lc.FLAG_ESTOP_HEALTHY),
        relay_on=bool(flags & lc.FLAG_RELAY_ON),
        incline_homed=bool(flags & lc.FLAG_INCLINE_HOMED),
        reset_needed=bool(flags & lc.FLAG_RESET_NEEDED), received_s=now_s,
    )


class Treadmill:
    """See the module docstring. ``url`` is a device path or any pyserial URL."""

    def __init__(self, url: str, *, max_speed_kmh: float = 16.0, max_incline_pct: float = 15.0,
                 heartbeat_s: float = 0.1, ack_timeout_s: float = 0.25, retries: int = 3,
                 stale_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.max_speed_kmh = max_speed_kmh
        self.max_incline_pct = max_incline_pct
        self.heartbeat_s = heartbeat_s
        self.ack_timeout_s = ack_timeout_s
        self.retries = retries
        self.stale_s = stale_s
        self._clock = clock
        self.status: TreadmillStatus | None = None
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue(maxsize=1000)
        self.reconnects = 0
        self._ser: serial.SerialBase | None = None
        self._fd: int | None = None
        self._decoder = lc.Decoder()
        self._seq = 0
        self._rx_seq = 0
        """The last ``seq`` received from the board: every header's ``ack`` (PROTOCOL.md)."""
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_rx_s = 0.0
        self._closing = False
        self._status_changed = asyncio.Event()
        self._armed_s = -math.inf
        self._tx_lock = threading.Lock()
        """Held while a frame takes its ``seq`` and is written: the heartbeat thread and the
        loop share the counter and the port."""
        self._loop_alive_s = -math.inf
        """When the loop last ran its liveness task (``time.monotonic``, real time)."""
        self._hb_stop: threading.Event | None = None
        self._rx_wake: int | None = None
        """The write end of the reader thread's wake-up pipe (a tty): closed, the thread ends."""
        self.silent = False
        """No status from the board for ``stale_s`` while its port is open (``silent``)."""
        self.silences = 0
        """How often the board went ``silent`` (the demo's link line)."""
        self.max_tx_gap_s = 0.0
        """The longest real time between two frames this host wrote (a write that waited in
        the kernel, or this process without a CPU): the host's side of the board's "largest
        gap between host frames"."""
        self.max_write_s = 0.0
        """The longest single write (the kernel held it)."""
        self._last_tx_s: float | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ser is not None

    async def open(self) -> None:
        """Open the port (a clear LinkDown if it cannot be) and start the link tasks."""
        self._closing = False
        self._open_port()
        self._loop_alive_s = time.monotonic()
        self._hb_stop = threading.Event()
        threading.Thread(target=self._heartbeat_forever,
                         args=(self._hb_stop, asyncio.get_running_loop()),
                         name="treadmill-heartbeat", daemon=True).start()
        self._tasks = [asyncio.create_task(self._alive(), name="treadmill-liveness"),
                       asyncio.create_task(self._supervise(), name="treadmill-supervise")]

    async def watch(self) -> None:
        """Wait on the link's own tasks (heartbeat, supervisor): returns only if they end and
        raises if one fails — for a task group that must hear about it."""
        if self._tasks:
            # asyncio.wait, not gather: cancelling the watcher must not cancel the heartbeat
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]

    async def close(self) -> None:
        self._closing = True
        if self._hb_stop is not None:
            self._hb_stop.set()  # the heartbeat thread writes no more
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        self._drop_port()

    async def __aenter__(self) -> Treadmill:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _emit(self, kind: str, message: str) -> None:
        """Log the event (staff and clinic IT read the journal) and queue it for a reader;
        a full queue (nobody reads it) drops the oldest, never the log line."""
        level = LOG_LEVELS.get(kind, logging.INFO)
        if kind == "fault" and message.startswith("motor board fault: boot"):
            level = logging.WARNING  # every power-up: staff press the reset, as expected
        _log.log(level, "%s", message)
        if self.events.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.events.get_nowait()
        with contextlib.suppress(asyncio.QueueFull):
            self.events.put_nowait(LinkEvent(kind, message, self._clock()))

    def _open_port(self) -> None:
        try:
            ser = serial.serial_for_url(self.url, baudrate=115200, bytesize=8, parity="N",
                                        stopbits=1, timeout=READ_TIMEOUT_S,
                                        write_timeout=0)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkDown(f"cannot open the treadmill link {self.url!r}: {e}. Is the motor "
                           "board plugged in, and is this user in the 'dialout' group?") from e
        self._ser = ser
        self._fd = None
        if isinstance(ser, serial.Serial) and os.name == "posix":  # a tty: see the module doc
            self._fd = ser.fileno()
            os.set_blocking(self._fd, False)
        self._decoder = lc.Decoder()
        self._last_rx_s = self._clock()
        self.silent = False
        loop = asyncio.get_running_loop()
        if self._fd is not None:
            # the thread's own descriptor and wake-up pipe: closing the port never leaves it
            # polling a number the next open may reuse
            wake_r, self._rx_wake = os.pipe()
            threading.Thread(target=self._read_tty_forever,
                             args=(ser, os.dup(self._fd), wake_r, loop),
                             name="treadmill-reader", daemon=True).start()
        else:
            threading.Thread(target=self._read_forever, args=(ser, loop),
                             name="treadmill-reader", daemon=True).start()
        self._emit("connected", f"treadmill link open on {self.url}")

    def _drop_port(self) -> None:
        with self._tx_lock:  # never while the heartbeat thread writes to it
            ser, self._ser, self._fd = self._ser, None, None
            wake, self._rx_wake = self._rx_wake, None
            if ser is None:
                return
            if wake is not None:
                os.close(wake)  # the tty reader thread wakes and ends
            with contextlib.suppress(Exception):
                ser.cancel_read()  # the reader thread's blocking read returns now
            with contextlib.suppress(Exception):
                ser.close()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkDown("the treadmill link went down"))
        self._pending.clear()

    def _lost(self, why: str) -> None:
        if self._ser is None:
            return
        self._drop_port()
        self._emit("disconnected", f"treadmill link lost: {why}")

    # -- receiving --------------------------------------------------------------------------

    def _read_tty_forever(self, ser: serial.SerialBase, fd: int, wake: int,
                          loop: asyncio.AbstractEventLoop) -> None:
        """The reader thread of a tty: ``poll`` (its wait for the tty's input work is this
        thread's), then one non-blocking ``os.read`` of what came, handed to the loop — and
        never ``TIOCINQ`` (module doc: it would hold the port's writes). It ends when the
        loop closes ``wake``'s other end, or when the port fails (then the loop hears why)."""
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(wake, select.POLLIN)
        why = None
        empty_reads = 0
        try:
            while why is None:
                ready = dict(poller.poll())
                if wake in ready:
                    return  # the port was closed by the loop
                if not ready.get(fd):
                    continue
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                except OSError as e:  # EIO: the device went away
                    why = str(e) or repr(e)
                    break
                if not data:
                    # a raw tty (VMIN 0) answers "nothing" with 0 bytes, and under load poll
                    # can say POLLIN for input the line discipline has not handed on yet
                    # (bench-demo: the link dropped at 00:25 with nothing unplugged). A
                    # device that went away says so: a hang-up or error flag, EIO, or a
                    # second of nothing but empty reads.
                    if ready[fd] & (select.POLLHUP | select.POLLERR | select.POLLNVAL) or \
                            empty_reads >= EMPTY_READS_GONE:
                        why = "the device reports input but gave none (unplugged?)"
                        break
                    empty_reads += 1
                    time.sleep(EMPTY_READ_WAIT_S)
                    continue
                empty_reads = 0
                try:
                    loop.call_soon_threadsafe(self._on_data, ser, data)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self._read_failed, ser, why)
        finally:
            os.close(fd)
            os.close(wake)

    def _read_forever(self, ser: serial.SerialBase, loop: asyncio.AbstractEventLoop) -> None:
        """The reader thread of a port that is not a tty (a pyserial URL): blocking reads,
        each chunk handed to the loop. It ends when the port is closed (by the loop) or fails
        (then the loop hears why)."""
        while ser.is_open:
            try:
                data = ser.read(max(ser.in_waiting, 1))
            except Exception as e:  # pyserial raises several kinds once a port is gone
                if ser.is_open:
                    with contextlib.suppress(RuntimeError):  # the loop is already closed
                        loop.call_soon_threadsafe(self._read_failed, ser, str(e) or repr(e))
                return
            if data and ser.is_open:
                try:
                    loop.call_soon_threadsafe(self._on_data, ser, data)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return

    def _on_data(self, ser: serial.SerialBase, data: bytes) -> None:
        if ser is not self._ser:  # bytes from a port already dropped
            return
        for frame in self._decoder.feed(data):
            self._handle(frame)

    def _read_failed(self, ser: serial.SerialBase, why: str) -> None:
        if ser is self._ser:
            self._lost(why)

    def _handle(self, frame: Any) -> None:  # a linkcodec.Frame (firmware code: untyped)
        now = self._clock()
        if self.silent:
            self.silent = False
            self._emit("heard", f"treadmill link back: the motor board is heard again after "
                       f"{now - self._last_rx_s:.1f} s")
        self._last_rx_s = now
        self._rx_seq = frame.seq
        if frame.type == lc.T_STATUS:
            try:
                st = _status_from(frame.payload, now)
            except ValueError:
                return
            old = self.status
            if st.fault != "none" and (old is None or old.fault != st.fault):
                self._emit("fault", f"motor board fault: {st.fault}"
                           + ("; press the reset on the treadmill" if st.reset_needed else ""))
            self.status = st
            self._status_changed.set()
        elif frame.type == lc.T_RESULT:
            try:
                _acked_type, acked_seq, code = lc.unpack_result(frame.payload)
            except ValueError:
                return
            fut = self._pending.get(acked_seq)
            if fut is not None and not fut.done():
                fut.set_result(code)
        elif frame.type == lc.T_HELLO and len(frame.payload) == 3:
            fault = frame.payload[2]
            name = lc.FAULT_NAMES[fault] if fault < len(lc.FAULT_NAMES) else str(fault)
            self._emit("hello", f"motor board firmware {frame.payload[0]}.{frame.payload[1]} "
                       f"started ({name})")

    async def wait_status(self, predicate: Callable[[TreadmillStatus], bool],
                          timeout_s: float = 5.0) -> TreadmillStatus:
        """Wait until a status frame satisfies ``predicate``; TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s):
            while True:
                if self.status is not None and predicate(self.status):
                    return self.status
                self._status_changed.clear()
                await self._status_changed.wait()

    # -- sending ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write one frame from the loop (retransmissions: the same bytes)."""
        with self._tx_lock:
            err = self._put(data)
        if err is not None:
            self._lost(err)
            raise LinkDown(f"writing to the treadmill failed: {err}")

    def _send(self, ftype: int, payload: bytes, result: asyncio.Future[int]) -> tuple[int, bytes]:
        """A new command (the next ``seq``, ``ack`` as it is now) written from the loop; once
        written, ``result`` waits for its RESULT. Returns its seq and bytes (a retransmission
        is the same bytes)."""
        with self._tx_lock:
            seq = self._next_seq()
            wire = lc.encode(ftype, seq, self._rx_seq, payload)
            err = self._put(wire)
        if err is not None:
            self._lost(err)
            raise LinkDown(f"writing to the treadmill failed: {err}")
        self._pending[seq] = result
        return seq, wire

    def _put(self, data: bytes) -> str | None:
        """The write itself (hold ``_tx_lock``), from the loop or the heartbeat thread: None,
        or why the port must be dropped (the loop drops it)."""
        ser = self._ser
        if ser is None:
            raise LinkDown(f"the treadmill link {self.url!r} is not connected")
        t0 = time.monotonic()
        try:
            if self._fd is not None:
                written = os.write(self._fd, data)
            else:  # not a tty (a pyserial URL): its own write, which may not count
                n = ser.write(data)
                written = len(data) if n is None else n
        except BlockingIOError:
            written = 0
        except (serial.SerialException, OSError) as e:
            return str(e) or repr(e)
        if written < len(data):
            return "the port's output buffer is full: the motor board is not reading"
        t1 = time.monotonic()
        self.max_write_s = max(self.max_write_s, t1 - t0)
        if self._last_tx_s is not None:
            self.max_tx_gap_s = max(self.max_tx_gap_s, t1 - self._last_tx_s)
        self._last_tx_s = t1
        return None

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    async def _command(self, name: str, ftype: int, payload: bytes = b"") -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        seq, wire = self._send(ftype, payload, fut)
        try:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._write(wire)  # the same bytes: a retransmission keeps its seq
                try:
                    # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the
                    # answer and drops a cancel that arrives in the same loop step (the
                    # session cancelled by a controlled stop then went on ticking)
                    async with asyncio.timeout(self.ack_timeout_s):
                        code = await asyncio.shield(fut)
                    break
                except TimeoutError:
                    continue
            else:
                raise LinkDown(f"{name}: no answer from the motor board after "
                               f"{self.retries + 1} tries")
        finally:
            self._pending.pop(seq, None)
        if code != lc.R_SUCCESS:
            raise CommandRefused(name, code, self.status)

    def _check(self, speed_kmh: float, incline_pct: float) -> bytes:
        if not isinstance(speed_kmh, int | float) or not math.isfinite(speed_kmh) or \
                not 0.0 <= speed_kmh <= self.max_speed_kmh:
            raise ValueError(f"speed_kmh {speed_kmh!r} is outside 0–{self.max_speed_kmh:g} "
                             "km/h: refused")
        if not isinstance(incline_pct, int | float) or not math.isfinite(incline_pct) or \
                not 0.0 <= incline_pct <= self.max_incline_pct:
            raise ValueError(f"incline_pct {incline_pct!r} is outside "
                             f"0–{self.max_incline_pct:g} %: refused")
        return lc.pack_setpoint(round(speed_kmh * 100), round(incline_pct * 10))

    async def arm(self) -> None:
        """Energise the motor relay (and home the incline the first time)."""
        await self._command("arm", lc.T_ARM)
        self._armed_s = self._clock()

    async def disarm(self) -> None:
        await self._command("disarm", lc.T_DISARM)

    async def start(self, speed_kmh: float, incline_pct: float = 0.0) -> None:
        """Start the belt; the firmware allows at most 3 km/h to start. After ARM the board
        homes the incline first (~3.5 s from a low incline, up to 45 s from the top) and
        refuses START until it is done, so this waits for the homed flag."""
        payload = self._check(speed_kmh, incline_pct)
        st = self.status
        just_armed = self._clock() - self._armed_s < 1.0  # the status may predate the ARM
        if st is not None and not st.incline_homed and \
                (st.state == "armed" or (st.state == "idle" and just_armed)):
            with contextlib.suppress(TimeoutError):
                await self.wait_status(lambda s: s.incline_homed or
                                       s.state not in ("idle", "armed"), HOMING_TIMEOUT_S)
        await self._command("start", lc.T_START, payload)

    async def set(self, speed_kmh: float, incline_pct: float) -> None:
        """Absolute set-point; the firmware ramps to it within its limits."""
        await self._command("set", lc.T_SET, self._check(speed_kmh, incline_pct))

    async def stop(self) -> None:
        """Controlled stop; the board disarms when the belt is still."""
        await self._command("stop", lc.T_STOP)

    # -- background tasks -------------------------------------------------------------------

    async def _alive(self) -> None:
        """The loop's sign of life for the heartbeat thread: a stamp every heartbeat."""
        while True:
            self._loop_alive_s = time.monotonic()
            await asyncio.sleep(self.heartbeat_s)

    def _heartbeat_forever(self, stop: threading.Event,
                           loop: asyncio.AbstractEventLoop) -> None:
        """The heartbeat thread: a HEARTBEAT every ``heartbeat_s`` of real time while the
        port is open and the loop is alive (``LOOP_DEAD_S``); after a hold-up of this thread
        one frame at once, never a burst. A failed write is the loop's to handle (it drops
        and reopens the port)."""
        due = time.monotonic()
        while not stop.wait(max(0.0, due - time.monotonic())):
            now = time.monotonic()
            due = max(due + self.heartbeat_s, now)
            if loop.is_closed():
                return  # the program ended without closing the link: silent at once
            if now - self._loop_alive_s > LOOP_DEAD_S:
                continue  # a hung loop: silent, so the firmware stops the belt
            ser = self._ser
            if ser is None:
                continue
            with self._tx_lock:
                if self._ser is not ser or stop.is_set():
                    continue
                err = self._put(lc.encode(lc.T_HEARTBEAT, self._next_seq(), self._rx_seq))
            if err is not None:
                try:
                    loop.call_soon_threadsafe(self._write_failed, ser, err)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return

    def _write_failed(self, ser: serial.SerialBase, why: str) -> None:
        if ser is self._ser:
            self._lost(why)

    def _device_present(self) -> bool:
        """The path still leads to the device this port has open (a tty): not unplugged, not
        replaced (a replugged board, the emulator's new pty behind the same name)."""
        if self._fd is None:
            return False
        try:
            return os.stat(self.url).st_rdev == os.fstat(self._fd).st_rdev
        except OSError:
            return False

    async def _supervise(self) -> None:
        """Notice a silent board (told, the port kept: module doc), and reopen the port after
        an unplug, with back-off.

        The board is judged on the time this process ran: when it got no CPU for a while
        (a loaded machine), the board's status waited in the port, and waking, this task ran
        before the reader thread had handed it over — it dropped a healthy link, and the
        heartbeats not sent while it reopened made the firmware refuse a reset press or
        latch ``host_silent`` (issue 25.7). Such a stall (a wake-up ``HOST_STALL_S`` late) is
        not counted as the board's silence; a board that is silent while this process runs is
        noticed as before."""
        backoff = 0.1
        while True:
            period = 0.05 if self._ser is not None else backoff
            slept_at = self._clock()
            await asyncio.sleep(period)
            now = self._clock()
            if self._ser is not None:
                backoff = 0.1
                stall_s = now - slept_at - period
                if stall_s > HOST_STALL_S:
                    self._last_rx_s = min(self._last_rx_s + stall_s, now)
                if now - self._last_rx_s > self.stale_s:
                    why = f"no status from the motor board for {self.stale_s:g} s"
                    if not self._device_present():
                        self._lost(why)  # unplugged or replaced: reopened below
                    elif not self.silent:
                        self.silent = True
                        self.silences += 1
                        self._emit("silent", f"treadmill link lost: {why}; the port stays "
                                   "open and the heartbeat goes on")
                continue
            if self._closing:
                return
            try:
                self._open_port()
                self.reconnects += 1
            except LinkDown:
                backoff = min(backoff * 2, 2.0)
