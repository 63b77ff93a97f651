"""The treadmill link never polls the serial port from the event loop: it reads on a thread of
its own, and writes without waiting.

Why: Linux's tty poll (``n_tty_poll``) waits for the tty's pending input work
(``tty_buffer_flush_work``) whenever no byte is waiting. The headless demo with two CPU hogs
caught the control loop's ``epoll_wait`` in exactly that wait (kernel stack ``__flush_work`` ←
``n_tty_poll`` ← ``do_epoll_wait``, state D) for 250 ms to 2.6 s: no heartbeat went out and
the firmware latched ``host_silent`` (3 of 10 runs of ``./run bench-demo --speed 30``). A
real UART or USB-serial port goes through the same tty code on the Pi. So the loop only
writes; a reader thread does the blocking reads and hands the bytes to the loop. And a
write must not wait either: pyserial with a write timeout polls the port after every write
(``select`` → ``n_tty_poll`` → the same wait; caught there too, in the heartbeat's write).
"""

import asyncio
import fcntl
import select
import termios
import threading
import time

from controller.core.fwpath import linkcodec as lc
from controller.devices.emulator import Emulator
from controller.treadmill import Treadmill


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "treadmill-reader"]


def test_the_control_loop_never_polls_the_serial_port():
    async def main():
        with Emulator() as emu:
            async with Treadmill(emu.link) as tm:
                st = await tm.wait_status(lambda s: s.fault == "boot", 5)
                assert st.reset_needed
                fd = tm._ser.fileno()
                # remove_reader says whether the loop was watching the fd
                assert not asyncio.get_running_loop().remove_reader(fd)
                emu.press_reset()  # statuses still arrive, through the reader thread
                await tm.wait_status(lambda s: s.state == "idle", 5)
                assert len(_readers()) == 1
            t0 = time.monotonic()
            while _readers() and time.monotonic() - t0 < 2.0:
                await asyncio.sleep(0.02)
            assert not _readers(), "the reader thread outlived the link"

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_write_never_polls_the_serial_port_from_the_loop(monkeypatch):
    polled: list[set[int]] = []
    real_select = select.select

    def spy(r, w, x, *timeout):
        if threading.current_thread() is threading.main_thread():
            polled.append({f if isinstance(f, int) else f.fileno() for f in (*r, *w, *x)})
        return real_select(r, w, x, *timeout)

    async def main():
        with Emulator() as emu:
            async with Treadmill(emu.link) as tm:
                await tm.wait_status(lambda s: s.fault == "boot", 5)
                monkeypatch.setattr(select, "select", spy)
                emu.press_reset()
                await tm.wait_status(lambda s: s.state == "idle", 5)
                await tm.arm()  # a command and its answer
                await asyncio.sleep(0.5)  # and five heartbeats
                fd = tm._ser.fileno()
                assert emu.board.relay_on
            return fd

    fd = asyncio.run(asyncio.wait_for(main(), 30))
    assert not [p for p in polled if fd in p], "the event loop polled the serial port"


def test_a_read_held_for_1_5_s_does_not_hold_the_heartbeat(monkeypatch):
    # issue 25.7: under load the host's read of its pty stalled 0.5–2.8 s (the kernel's wait
    # for the tty's input work, which waited for a CPU) while the emulated board was not
    # starved; the host took the missing status for a lost link and closed and reopened the
    # port — and sent no heartbeat meanwhile: the firmware rightly latched host_silent. Here
    # the reader thread's wait for input is held 1.5 s, as the kernel held it: the heartbeat
    # must go on (the firmware's own 500 ms rule sees a host that never went silent), the
    # port must stay open, and what waited in the port is read after.
    hold = threading.Event()
    held: list[float] = []
    real_select, real_poll = select.select, select.poll

    def stall() -> None:
        if threading.current_thread().name == "treadmill-reader" and hold.is_set():
            hold.clear()
            held.append(time.monotonic())
            time.sleep(1.5)

    def select_spy(*args):  # pyserial's read waits here
        stall()
        return real_select(*args)

    class PollSpy:
        def __init__(self) -> None:
            self._poll = real_poll()

        def register(self, *args):
            return self._poll.register(*args)

        def poll(self, *args):
            stall()
            return self._poll.poll(*args)

    monkeypatch.setattr(select, "select", select_spy)
    monkeypatch.setattr(select, "poll", PollSpy)

    async def main():
        with Emulator() as emu:
            async with Treadmill(emu.link) as tm:
                await tm.wait_status(lambda s: s.fault == "boot", 5)
                emu.press_reset()
                await tm.wait_status(lambda s: s.state == "idle", 5)
                await tm.arm()
                emu.port.max_rx_gap_s = 0.0
                hold.set()
                t0 = time.monotonic()
                await tm.wait_status(lambda s: s.received_s > t0 + 1.6, 5)  # heard again
                assert held, "the reader was never held"
                assert tm.reconnects == 0 and tm.connected
                # the board heard the host's heartbeat all through (every 100 ms)
                assert emu.port.max_rx_gap_s < 0.4, emu.port.max_rx_gap_s
                assert emu.sup.fault == lc.F_NONE and emu.sup.state == lc.S_ARMED

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_reader_never_asks_the_tty_how_much_waits(monkeypatch):
    # ``in_waiting`` is the TIOCINQ ioctl, which takes the tty's termios lock for writing:
    # it waits behind the tty's input work (which holds the lock for reading, and under load
    # waited for a CPU), and every write to the port — the heartbeat's — queues behind it
    # (drivers/tty/n_tty.c: n_tty_ioctl, n_tty_write). The reader reads what came instead.
    asked: list[str] = []
    real_ioctl = fcntl.ioctl

    def spy(fd, request, *args):
        if request == termios.TIOCINQ:
            asked.append(threading.current_thread().name)
        return real_ioctl(fd, request, *args)

    async def main():
        with Emulator() as emu:
            async with Treadmill(emu.link) as tm:
                monkeypatch.setattr(fcntl, "ioctl", spy)
                await tm.wait_status(lambda s: s.fault == "boot", 5)
                emu.press_reset()
                await tm.wait_status(lambda s: s.state == "idle", 5)
                await tm.arm()
                await asyncio.sleep(0.3)

    asyncio.run(asyncio.wait_for(main(), 30))
    assert not asked, f"TIOCINQ asked by {sorted(set(asked))}"


def test_an_empty_read_after_poll_said_input_does_not_drop_the_link(monkeypatch):
    """bench-demo under load: poll said POLLIN, the raw tty (VMIN 0) then gave 0 bytes, and
    the reader took the board for unplugged: the link dropped and the session paused at
    00:25 with nothing unplugged. The kernel's race cannot be made on demand, so the reader's
    os.read answers "nothing" a few times in a row, as the tty did; the link stays up and
    statuses go on arriving. (A device that went away still says so: EIO, or the hang-up
    flag, or a second of nothing but empty reads — test_link_log's unplug tests.)"""
    import os

    import controller.treadmill as t

    real_read = os.read
    hiccups = {"left": 0}

    def read(fd, n):
        if threading.current_thread().name == "treadmill-reader" and hiccups["left"] > 0:
            hiccups["left"] -= 1
            return b""
        return real_read(fd, n)

    monkeypatch.setattr(t.os, "read", read)

    async def main():
        with Emulator() as emu:
            async with Treadmill(emu.link) as tm:
                await tm.wait_status(lambda s: s.fault == "boot", 5)
                hiccups["left"] = 5
                emu.press_reset()
                await tm.wait_status(lambda s: s.state == "idle", 5)
                await asyncio.sleep(0.5)
                assert hiccups["left"] == 0
                kinds = []
                while not tm.events.empty():
                    kinds.append(tm.events.get_nowait().kind)
                assert "disconnected" not in kinds and tm.connected, kinds
                assert tm.reconnects == 0

    asyncio.run(asyncio.wait_for(main(), 30))
