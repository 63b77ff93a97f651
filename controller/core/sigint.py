"""Ctrl-C and the processes the control process starts.

The terminal's Ctrl-C (SIGINT) reaches its whole process group: the control process and the
emulated board's and the worker's ``spawn`` children. The control process makes the
controlled stop and then ends its children; a child must not take the interrupt itself. A
child ignores SIGINT from its target's first line, but a ``spawn`` child first starts Python
and imports the package (about a second on the Pi): a Ctrl-C then was a KeyboardInterrupt
traceback from the child, or "the emulated motor board's process ended at start" (the
trial). A child started while SIGINT is blocked keeps it blocked through ``exec`` from its
first instruction.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Start child processes inside this: they start with Ctrl-C blocked (kept through
    ``exec``; they never take it); this thread takes a Ctrl-C that came meanwhile as soon as
    they have started (it waits, pending: none is lost). multiprocessing's resource tracker
    unblocks SIGINT after starting its own process: it is started first, outside."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
