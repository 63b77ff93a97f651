"""The treadmill emulator: the real firmware logic on a PC, behind a pseudo-terminal.

``firmware/app.py``'s ``Firmware`` loop — the code that runs on the Pico — is driven here with
a simulated motor board (``firmware/simboard.py``: belt inertia, tach pulses, incline motor)
and a pty instead of UART0. The host connects to the printed path exactly as to
/dev/ttyAMA0. A stable symlink (like the udev rule's) points at the current pty, so an
"unplug" followed by a "replug" gives the client a new device behind the same name.

    python -m controller.devices.emulator [--link /tmp/fourbyfour-treadmill]

prints the device path, then takes commands on stdin: ``reset`` (the local reset button),
``estop`` / ``estop-release``, ``key-out`` / ``key-in``, ``unplug`` / ``replug``, ``status``,
``quit``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import errno
import math
import os
import sys
import threading
import time
import tty
from pathlib import Path
from typing import Any

from controller.core.fwpath import linkcodec as lc
from controller.core.fwpath import load

fw_app = load("app")
simboard = load("simboard")
supervisor = load("supervisor")

DEFAULT_LINK = "/tmp/fourbyfour-treadmill"

STARVED_S = 0.1
"""A poll gap longer than this (the poll period is 2 ms, the host's heartbeat 100 ms) is this
PC starving the emulated board, not anything the host did."""

LATE_GRACE_S = 0.15
"""After a stall with nothing waiting, how long the board waits for the host's frames that the
starved kernel may still deliver (``PtyPort.take_late``)."""


class PtyPort:
    """The firmware's port interface over the master side of a pty; never blocks."""

    def __init__(self) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        os.set_blocking(self.master_fd, False)
        self.path = os.ttyname(self.slave_fd)
        self.bytes_in = 0
        self.deaf_until = 0.0
        self.discarded = bytearray()
        self.mute_until = 0.0
        """Until then what the board sends is lost on the line (``Emulator.mute``)."""
        self._injected = bytearray()
        self.last_rx_s: float | None = None
        self.max_rx_gap_s = 0.0
        """The longest real-time silence of the host on the line so far (what the firmware's
        host-silence rule sees), to within the 2 ms poll."""
        self._held = bytearray()
        """Bytes from a read the kernel held up (see ``_read``): the board was starved in it."""
        self.stall_next_read_s = 0.0
        """The kernel holds the next read this long (tests: what a pty's input work waiting
        for a CPU did under load)."""

    def read_available(self) -> bytes | None:
        injected, self._injected = bytes(self._injected), bytearray()
        return (injected + (self._read() or b"")) or None

    def inject(self, data: bytes) -> None:
        """Bytes the next ``read_available`` returns first (see ``take_waiting``)."""
        self._injected.extend(data)

    def take_waiting(self, stalled_since_s: float) -> list[bytes]:
        """Everything the host wrote while this board was starved, one frame a piece.

        When frames waited, the host's silence is counted only up to ``stalled_since_s`` (the
        board's last poll before its stall): when in the stall they came is unknown, and the
        stall is the board's. When nothing waited, the host was silent all through it."""
        before, self.last_rx_s = self.last_rx_s, None
        while self._read_into_held():
            pass
        data, self._held = bytes(self._held), bytearray()
        if not data:
            self.last_rx_s = before
            return []
        if before is not None:
            self.max_rx_gap_s = max(self.max_rx_gap_s, stalled_since_s - before)
        return [b"\x00" + part + b"\x00" for part in data.split(b"\x00") if part]

    def take_late(self, stalled_since_s: float, grace_s: float,
                  min_heartbeats: int) -> tuple[list[bytes], bytes]:
        """After a stall with nothing waiting: the frames the kernel delivered late.

        Under load the pty's input work is starved with the board: the host's frames of the
        stall reach the pty only just after it (bench-demo beside a second demo, load 13:
        the board's poll gap 1,264 ms, the host's frames 1,279 ms apart, while the host's
        own longest gap between writes was 180 ms). So this waits up to ``grace_s`` for
        them. A host that wrote all through the stall brings its heartbeats at once, one
        per 100 ms; a host that was silent and speaks again sends one (its heartbeat thread
        never sends a burst). Only ``min_heartbeats`` or more count as having waited
        (returned first, as ``take_waiting`` returns them); else what came is returned
        second, to be read after the stall's catch-up, as it came after the silence."""
        before_rx, before_gap = self.last_rx_s, self.max_rx_gap_s
        end = time.monotonic() + grace_s
        decoder = lc.Decoder()
        heartbeats = fed = 0
        while True:
            self._read_into_held()
            new, fed = bytes(self._held[fed:]), len(self._held)
            heartbeats += sum(f.type == lc.T_HEARTBEAT for f in decoder.feed(new))
            if heartbeats >= min_heartbeats or time.monotonic() >= end:
                break
            time.sleep(0.002)
        cut = self._held.rfind(b"\x00") + 1  # a frame still on its way is read later
        data, rest = bytes(self._held[:cut]), bytes(self._held[cut:])
        self._held = bytearray()
        if heartbeats < min_heartbeats:
            return [], data + rest
        self.max_rx_gap_s = before_gap  # the stall is the board's, as in ``take_waiting``
        if before_rx is not None:
            self.max_rx_gap_s = max(self.max_rx_gap_s, stalled_since_s - before_rx)
        self.last_rx_s = None
        return [b"\x00" + part + b"\x00" for part in data.split(b"\x00") if part], rest

    def _read_into_held(self) -> bool:
        """One read for ``take_waiting``: its bytes join the held ones; False when none."""
        data = self._read()
        if data:
            self._held.extend(data)
        return bool(data)

    def _read(self) -> bytes | None:
        """A non-blocking read — which Linux may still hold up: with no byte waiting, a pty's
        read waits for the tty's pending input work (``__flush_work``), and under load that
        work waited 0.58–0.65 s for a CPU (measured). The board was starved *inside* its
        read, and the frames it returns came during that stall: fed now, at the poll's start,
        the catch-up would then run the whole stall without them and latch ``host_silent``
        on a host that wrote every 100 ms (bench-demo, seed 2: the host's longest gap between
        writes 318 ms, the board's 611 ms). So a held read keeps its bytes for
        ``take_waiting``, which spreads them over the stall, as for any starvation."""
        t0 = time.monotonic()
        if self.stall_next_read_s:
            time.sleep(self.stall_next_read_s)
            self.stall_next_read_s = 0.0
        try:
            data = os.read(self.master_fd, 4096)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EIO:
                return None
            raise
        self.bytes_in += len(data)
        now = time.monotonic()
        if now - t0 > STARVED_S and now >= self.deaf_until:
            self._held.extend(data)  # the next poll sees the stall and takes them
            return None
        if self.last_rx_s is not None:
            self.max_rx_gap_s = max(self.max_rx_gap_s, now - self.last_rx_s)
        self.last_rx_s = now
        if now < self.deaf_until:  # line noise swallowed these bytes
            self.discarded.extend(data)
            return None
        return data

    def write(self, data: bytes) -> None:
        if time.monotonic() < self.mute_until:
            return
        with contextlib.suppress(BlockingIOError):
            os.write(self.master_fd, data)

    def close(self) -> None:
        for fd in (self.master_fd, self.slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def real_time_safety(config, time_scale: float):  # type: ignore[no-untyped-def]
    """The firmware's config with its host-silence timeout held in *real* time.

    The belt, tach and incline motor are physics and run on simulated time with the patient
    (``time_scale``); the host timeout is about this PC's scheduling, so simulated time must
    never shrink it: at any speed-up the host may be silent for ≥ 500 ms of real time (the
    firmware's own rule) before the belt stops and a fault latches.
    """
    config = copy.copy(config)
    if time_scale > 1.0:
        config.host_timeout_ms = round(config.host_timeout_ms * time_scale)
    return config


class Emulator:
    """Firmware + simulated board + pty, polled every 2 ms in a background thread.

    ``time_scale`` runs the motor board's physics (and the firmware's ramps, tick and status
    rate) that many times faster than real time; the host-silence timeout stays ≥ 500 ms of
    real time (``real_time_safety``).

    >>> with Emulator() as emu:
    ...     serial_path = emu.link          # open this like /dev/ttyAMA0
    ...     emu.press_reset()               # staff at the treadmill
    """

    def __init__(self, link: str | None = None, *, config: object | None = None,
                 boot_fault: int = lc.F_BOOT, time_scale: float = 1.0,
                 host_in_process: bool = True) -> None:
        self.link = link or f"{DEFAULT_LINK}-{os.getpid()}-{id(self):x}"
        self.host_in_process = host_in_process
        """The host runs in this process (the tests' ``Treadmill`` or spec host): a stall of
        this board's poll thread is the process's, and the host stood still in it too — not
        its silence (see ``_run``). ``EmulatorProcess`` and the command line serve a host in
        another process: False, and the firmware's rule sees what that host did."""
        config = real_time_safety(config or supervisor.Config(), time_scale)
        self.board = simboard.SimBoard(config)
        self._config = config
        self._boot_fault = boot_fault
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.port: PtyPort | None = None
        self.firmware: Any = None
        """``firmware/app.py``'s ``Firmware`` (untyped: it runs on MicroPython too)."""
        self._t0 = time.monotonic()
        self.time_scale = time_scale  # the demo runs simulated time faster
        self.polls = 0
        """Firmware polls so far (a press must last until the firmware has seen it)."""
        self.max_poll_gap_s = 0.0
        """The longest the emulated firmware went unpolled (this PC was busy): a gap between
        host frames no longer than this is the emulator's, not the host's."""
        timeout_ms: float = getattr(config, "host_timeout_ms", 500)
        self._host_timeout_s = timeout_ms / 1000 / max(time_scale, 1.0)
        """The firmware's host timeout in real time (``real_time_safety``)."""
        self.starved_gaps = 0
        self.max_starved_gap_s = 0.0
        """Poll gaps over ``STARVED_S``: the board's own starvation, counted here and never
        blamed on the host (see ``_run``)."""
        self.late_deliveries = 0
        """Stalls after which the host's frames reached the pty only late, all at once
        (``PtyPort.take_late``): counted with the stalls, never blamed on the host."""

    # -- lifecycle --------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000 * self.time_scale)

    def start(self) -> str:
        self.port = PtyPort()
        self._point_link()
        now = self.now_ms()
        self.board.advance(now)
        self.firmware = fw_app.Firmware(self.board, self.port, self._boot_fault, now,
                                        self._config)
        self._thread = threading.Thread(target=self._run, name="emulator", daemon=True)
        self._thread.start()
        return self.link

    def _point_link(self) -> None:
        assert self.port is not None
        tmp = f"{self.link}.new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(self.port.path, tmp)
        os.replace(tmp, self.link)

    def _run(self) -> None:
        """Poll the firmware every 2 ms. When this thread was held up (a busy PC), the board
        catches up in steps of one firmware tick, as a real board would have run on
        meanwhile: the firmware's own timers (tach, incline, overspeed) never see a jump of
        simulated time that a busy PC — not the treadmill — made.

        Nor does the host: a real board reads each frame as it arrives, but a starved one
        finds them all waiting at once. Fed at the start of the catch-up, the firmware then
        ran the rest of the gap without a frame and latched ``host_silent`` on a host that
        wrote every 100 ms. So the frames that waited are spread evenly over the gap (one a
        heartbeat apart when the host kept time), and the stall is counted as the board's
        (``starved_gaps``). A host that really was silent left nothing waiting: the firmware's
        own rule sees the whole gap and latches, as on the real board — unless its frames of
        the stall reach the pty only just after it, all its heartbeats at once (the pty's input
        work starved too: ``PtyPort.take_late``), where a host silent in the stall sends one.
        A host in this very
        process (``host_in_process``) stopped with the board: the stall is excused whatever
        waited, and a host still silent after it is latched 500 ms on, by the same rule."""
        last = time.monotonic()
        sim_ms = self.now_ms()
        while not self._stop.is_set():
            with self._lock:
                # the gap is taken once the lock is held: a stall before it (the lock, or no
                # CPU) is this poll's, else its polls read the frames that waited at a time
                # before the stall and the catch-up ran the stall without them
                now = time.monotonic()
                gap = now - last
                self.max_poll_gap_s = max(self.max_poll_gap_s, gap)
                stalled_since, last = last, now
                target = self.now_ms()
                steps = []
                while sim_ms < target:
                    sim_ms = min(target, sim_ms + fw_app.TICK_MS)
                    steps.append(sim_ms)
                due: dict[int, list[bytes]] = {}
                heard = False
                after_catch_up = b""
                if gap > STARVED_S and isinstance(self.port, PtyPort) and steps:
                    self.starved_gaps += 1
                    self.max_starved_gap_s = max(self.max_starved_gap_s, gap)
                    waiting = self.port.take_waiting(stalled_since)
                    # the host kept within the firmware's rule through the stall when its
                    # frames that waited were that dense: a frozen host leaves one or none
                    heard = bool(waiting) and gap / len(waiting) < self._host_timeout_s
                    if not heard and not self.host_in_process and self.firmware is not None \
                            and self.firmware.sup.last_host_ms is not None:
                        # the host's frames of the stall may reach the pty only just after
                        # it: all its heartbeats at once, where a host that was silent
                        # sends one (``PtyPort.take_late``; only those count)
                        late, after_catch_up = self.port.take_late(
                            stalled_since, LATE_GRACE_S,
                            math.ceil(gap / self._host_timeout_s + 1))
                        now = time.monotonic()  # the grace is part of the stall
                        gap, last, target = now - stalled_since, now, self.now_ms()
                        while sim_ms < target:
                            sim_ms = min(target, sim_ms + fw_app.TICK_MS)
                            steps.append(sim_ms)
                        if late:
                            self.late_deliveries += 1
                            waiting += late
                            heard = gap / len(waiting) < self._host_timeout_s
                    # a host in this process was stopped by the same stall (issue 25.7: the
                    # in-process tests latched host_silent on a loaded machine)
                    heard = heard or self.host_in_process
                    for j, frame in enumerate(waiting):
                        i = max(0, (j + 1) * len(steps) // len(waiting) - 1)
                        due.setdefault(i, []).append(frame)
                for i, step in enumerate(steps):
                    if self.firmware is not None and self.port is not None:
                        if heard:
                            self._host_heard_through(step)
                        for frame in due.get(i, ()):
                            if isinstance(self.port, PtyPort):
                                self.port.inject(frame)
                        self.firmware.poll(step)
                        self.polls += 1
                    else:
                        self.board.advance(step)
                if after_catch_up and isinstance(self.port, PtyPort):
                    self.port.inject(after_catch_up)  # came after the silence: read now
            time.sleep(0.002)

    def _host_heard_through(self, step_ms: int) -> None:
        """The host was heard through this board's own stall (the frames that waited came at
        least one per firmware timeout of the stall): none of the stall is its silence.
        Spread evenly, a few frames (a host writing every 400 ms; the firmware's rule is
        500 ms) left gaps in the firmware's view that the host never made — 1.3 s of
        starvation made a 0.8 s "silence" and latched ``host_silent`` (issue 25.7). A real
        board never stalls; the emulated one keeps the firmware's last-heard time with the
        stall's catch-up. A host that left fewer frames (frozen) or none is not helped."""
        sup = self.firmware.sup
        if sup.last_host_ms is not None:
            sup.last_host_ms = max(sup.last_host_ms, step_ms - fw_app.TICK_MS)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.port is not None:
            self.port.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the physical world -----------------------------------------------------------------

    @property
    def sup(self) -> Any:  # the firmware's Supervisor (untyped: MicroPython code)
        assert self.firmware is not None
        return self.firmware.sup

    def press_reset(self, hold_s: float = 0.1) -> None:
        """A person presses the reset for ``hold_s`` — and longer while this PC holds the
        poll thread up: a press the firmware never polled is a press nobody made."""
        polls = self.polls
        self.board.reset_pressed = True
        time.sleep(hold_s)
        deadline = time.monotonic() + 10.0
        while self.polls < polls + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.board.reset_pressed = False
        time.sleep(0.05)

    def reading(self) -> tuple[float, float, float]:
        """(board time s, belt km/h, incline %), read together: the board's state belongs to
        its own clock, which lags ``now_ms`` while this PC holds the poll thread up (and runs
        ``time_scale`` × real time) — a ramp measured on it is the board's ramp."""
        with self._lock:
            return self.board._now_ms / 1000, self.board.belt_kmh, self.board.incline_pct

    def set_estop(self, tripped: bool) -> None:
        self.board.estop_healthy = not tripped

    def set_key(self, present: bool) -> None:
        self.board.key_present = present

    def deafen(self, seconds: float) -> None:
        """Lose everything the host sends for a while (noise on the line)."""
        assert isinstance(self.port, PtyPort)
        self.port.deaf_until = time.monotonic() + seconds

    def mute(self, seconds: float) -> None:
        """Lose everything the board sends for a while (noise on the line to the host): to
        the host the board is silent, though the device is there and reads what it sends."""
        assert isinstance(self.port, PtyPort)
        self.port.mute_until = time.monotonic() + seconds

    def unplug(self) -> None:
        """Pull the USB/serial cable: the host's device goes away; the firmware runs on."""
        with self._lock:
            assert self.port is not None
            self.port.close()
            self.port = _DeadPort()  # type: ignore[assignment]
            assert self.firmware is not None
            self.firmware.port = self.port
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)

    def replug(self) -> str:
        with self._lock:
            self.port = PtyPort()
            assert self.firmware is not None
            self.firmware.port = self.port
            self._point_link()
        return self.link

    def describe(self) -> str:
        s = self.sup
        return (f"state={lc.STATE_NAMES[s.state]} fault={lc.FAULT_NAMES[s.fault]} "
                f"belt={self.board.belt_kmh:.2f} km/h incline={self.board.incline_pct:.1f} % "
                f"relay={'on' if self.board.relay_on else 'off'}")


class _DeadPort:
    """An unplugged cable: nothing in, nothing out."""

    def read_available(self) -> None:
        return None

    def write(self, data: bytes) -> None:
        return None

    def close(self) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the treadmill firmware behind a pty.")
    ap.add_argument("--link", default=DEFAULT_LINK, help="stable symlink to the current pty")
    a = ap.parse_args(argv)
    emu = Emulator(a.link, host_in_process=False)  # the host is another program
    emu.start()
    print(emu.link, flush=True)
    print(f"# device {Path(emu.link).resolve()}; commands: reset estop estop-release key-out "
          "key-in unplug replug status quit", flush=True)
    actions = {
        "reset": emu.press_reset, "estop": lambda: emu.set_estop(True),
        "estop-release": lambda: emu.set_estop(False), "key-out": lambda: emu.set_key(False),
        "key-in": lambda: emu.set_key(True), "unplug": emu.unplug, "replug": emu.replug,
    }
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "quit":
                break
            if cmd in actions:
                actions[cmd]()
            elif cmd and cmd != "status":
                print(f"# unknown command {cmd!r}", flush=True)
                continue
            print(emu.describe(), flush=True)
        else:
            # stdin closed (e.g. run in the background): keep serving until killed
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
