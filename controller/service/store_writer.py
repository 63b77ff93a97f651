"""The store's writer: one thread owns the session store, so no SQLite call runs on the
control loop.

The control loop sends the motor board a heartbeat every 100 ms and the firmware latches a
fault after 500 ms of silence; a commit that waits on a slow SD card (or on another process
holding the database's lock) must never hold that loop. So the service's ``Store`` lives on
one thread of its own (its sqlite connection is opened there and used only there) and runs
what it is handed in order:

* ``record`` — the session's per-tick sample — is fire-and-forget; the writer commits the
  open batch at least every ``commit_every_s`` (and when it has nothing else to do);
* every other call (``call``) returns an awaitable with the result or the exception, so
  staff still get "refused: …" for a bad Borg rating or note;
* ``flush`` commits what is queued: a job in the worker process that must see the latest
  rows (a report mid-session) reads the store file by path after a flush (SQLite WAL: a
  second connection sees every committed row).

A write that fails is logged, counted (``failures``, ``last_error`` for the staff's status)
and loses no other row: each job runs on its own, and the batch is committed around it.

``StoreWriter.inline(store)`` runs the same calls at once on the caller's thread, for tools
and tests that hand the runtime a ``Store`` they opened themselves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from controller.protocol import Setpoint
from controller.records.store import Store

_log = logging.getLogger(__name__)
T = TypeVar("T")

COMMIT_EVERY_S = 1.0
"""The per-tick samples are committed at least this often (a power cut loses at most this)."""

_FLUSH = object()
_CLOSE = object()


class StoreWriter:
    def __init__(self, path: str | Path, *, write_delay_s: float = 0.0,
                 commit_every_s: float = COMMIT_EVERY_S) -> None:
        """Open the store at ``path`` on the writer's own thread (StoreError if it cannot
        be used). ``write_delay_s``: a slow disk — the writer sleeps this long before every
        commit (benches and tests; 0 in the service)."""
        self.path = Path(path)
        self.write_delay_s = write_delay_s
        self.commit_every_s = commit_every_s
        self.failures = 0
        """Writes that failed since the writer started (logged each time)."""
        self.last_error: str | None = None
        self._store: Store | None = None
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._inline = False
        opened: concurrent.futures.Future[Store] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(opened,), daemon=True,
                                        name="store-writer")
        self._thread.start()
        self._store = opened.result()  # re-raises StoreError from the thread

    @classmethod
    def inline(cls, store: Store) -> StoreWriter:
        """The same calls, run at once on the caller's thread on a store opened there."""
        w = cls.__new__(cls)
        w.path, w.write_delay_s, w.commit_every_s = store.path, 0.0, COMMIT_EVERY_S
        w.failures, w.last_error = 0, None
        w._store, w._inline, w._thread = store, True, None  # type: ignore[assignment]
        return w

    @property
    def store(self) -> Store:
        """The store itself: only for an inline writer (the threaded one's store belongs to
        its thread)."""
        if not self._inline or self._store is None:
            raise RuntimeError("the store belongs to the writer's thread: use call()")
        return self._store

    # -- the caller's side ------------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(store, *args)`` on the writer, in order; the future has its result."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._inline:
            try:
                fut.set_result(fn(self._store, *args))
            except Exception as e:
                fut.set_exception(e)
            return fut
        self._q.put((fn, args, fut))
        return fut

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``await writer.call(fn, *args)``: ``fn(store, *args)`` on the writer thread."""
        return asyncio.wrap_future(self.submit(fn, *args))

    def record(self, session_id: str, sp: Setpoint, speed_kmh: float,
               incline_pct: float) -> None:
        """The tick's sample: queued, never waited for (a failure is logged and counted)."""
        if self._inline:
            self._run_one(Store.record, (session_id, sp, speed_kmh, incline_pct), None)
        else:
            self._q.put((Store.record, (session_id, sp, speed_kmh, incline_pct), None))

    def flush(self) -> asyncio.Future[None]:
        """Commit everything queued before this call."""
        return self.call(_commit)

    def close(self) -> None:
        """Write what is queued, commit, close the store (blocks: the service's last step)."""
        if self._inline:
            return  # the caller opened the store and closes it
        if self._thread.is_alive():
            self._q.put(_CLOSE)
            self._thread.join(timeout=30)

    # -- the writer's thread ----------------------------------------------------------------

    def _run(self, opened: concurrent.futures.Future[Store]) -> None:
        try:
            store = Store(self.path, recover=True)  # the service's start: recovery
        except BaseException as e:
            opened.set_exception(e)
            return
        self._store = store
        opened.set_result(store)
        while True:
            if store.db.in_transaction:  # a batch is open: commit it in time
                wait_s = store._last_commit + self.commit_every_s - time.monotonic()
                try:
                    job = self._q.get(timeout=max(0.0, wait_s))
                except queue.Empty:
                    job = _FLUSH
            else:
                job = self._q.get()
            if job is _CLOSE:
                self._commit_batch(store)
                store.close()
                return
            if job is not _FLUSH:
                fn, args, fut = job
                if fn is not Store.record:  # these commit inside: the disk is as slow
                    self._slow_disk()
                self._run_one(fn, args, fut)
            if job is _FLUSH or time.monotonic() - store._last_commit >= self.commit_every_s:
                self._commit_batch(store)

    def _slow_disk(self) -> None:
        if self.write_delay_s > 0:
            time.sleep(self.write_delay_s)

    def _commit_batch(self, store: Store) -> None:
        if not store.db.in_transaction:
            return
        self._slow_disk()
        try:
            _commit(store)
        except Exception as e:
            self._failed("commit", e)

    def _run_one(self, fn: Callable[..., Any], args: tuple[Any, ...],
                 fut: concurrent.futures.Future[Any] | None) -> None:
        try:
            result = fn(self._store, *args)
        except Exception as e:
            if fut is None:
                self._failed(f"{getattr(fn, '__name__', fn)} {args[0]!r}", e)
            else:
                fut.set_exception(e)
            return
        if fut is not None:
            fut.set_result(result)

    def _failed(self, what: str, e: Exception) -> None:
        self.failures += 1
        self.last_error = f"{what}: {type(e).__name__}: {e}"
        _log.error("session store: %s failed (%s: %s); the other rows are kept", what,
                   type(e).__name__, e)


def _commit(store: Store) -> None:
    store._commit()
