"""The control service's worker process: everything slow or CPU-heavy runs there.

The control loop sends the motor board a heartbeat every 100 ms and the firmware stops the
belt and latches a fault after 500 ms of silence, so nothing may hold that loop for more than
a few milliseconds. Reports (matplotlib), exports, progression and session summaries
(``controller.records.jobs``) go to one worker process instead. It is started with ``spawn``
(a fresh interpreter: matplotlib is never imported by the control process, and no lock or
thread of the control process is inherited), on first use, at the lowest scheduling priority
(``nice`` 10: it competes with the hogs, not with the control loop); a worker that dies is
replaced, and a job that fails raises its exception in the caller, as a local call would.
The worker ends when the control process is gone (``kill -9``, a crash): it watches its
parent, so no orphan (and no resource tracker of its) keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from controller.core.sigint import sigint_held

_log = logging.getLogger(__name__)
T = TypeVar("T")

WORKER_NICE = 10
PARENT_CHECK_S = 0.5
"""How often the worker looks whether the control process is still there."""


def _end_with(parent_pid: int) -> None:
    """A daemon thread of the worker: exit when the parent is gone (re-parented)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _worker_init(parent_pid: int) -> None:
    # Ctrl-C reaches the terminal's whole process group, SIGTERM the group from `timeout`
    # and systemd's stop: the control process makes the controlled stop and then ends this
    # one (a KeyboardInterrupt here was a traceback; a SIGTERM a worker restarted mid-stop),
    # and a control process that is gone ends it too (``_end_with``)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # a platform without nice: as it is
        os.nice(WORKER_NICE)
    threading.Thread(target=_end_with, args=(parent_pid,), name="parent-watch",
                     daemon=True).start()


class Worker:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_init,
                                             initargs=(os.getpid(),))
        return self._pool

    def start(self) -> None:
        """Start the process now (the first job then waits for no interpreter start)."""
        self._submit(int)

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """The pool starts its process on a submit: with Ctrl-C held (``core.sigint``)."""
        with sigint_held():
            return self._executor().submit(fn, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker: a module-level function, picklable arguments."""
        for attempt in (1, 2):
            try:
                return await asyncio.wrap_future(self._submit(fn, *args))
            except BrokenProcessPool:
                _log.error("the worker process died; starting a new one")
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_shared: Worker | None = None


def shared() -> Worker:
    """The process's one worker (runtime and control socket share it)."""
    global _shared
    if _shared is None:
        _shared = Worker()
    return _shared
