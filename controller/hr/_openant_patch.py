"""Every place where we reach into openant's internals, in one module: the driver selector
in its ``drivers`` list, its own stick search without it, the stop that wakes its dispatcher,
the reader thread its ``Ant()`` leaves behind when the reset fails, the guard around the
driver it reads from, and its serial driver pointed at a path. Each patch looks for what it
changes and leaves another openant as it is (``_wake_on_stop``); openant is imported only
inside the functions, so importing ``controller.hr`` never needs it."""

from __future__ import annotations

import array
import contextlib
import threading
from collections.abc import Callable
from typing import Any

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

