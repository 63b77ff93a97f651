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
import select
import threading
import time

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
