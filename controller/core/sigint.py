"""Ctrl-C and the processes the control process starts.

The terminal's Ctrl-C (SIGINT) reaches its whole process group: the control process and the
emulated board's and the worker's ``spawn`` children. The control process makes the
controlled stop and then ends its children; a child must not take the interrupt itself. A
child ignores SIGINT from its target's first line, but a ``spawn`` child first starts Python
and imports the package (about a second on the Pi): a Ctrl-C then was a KeyboardInterrupt
traceback from the child, or "the emulated motor board's process ended at start" (the
trial). A child started while SIGINT is blocked keeps it blocked through ``exec`` from its
first instruction.

The command line's own process takes Ctrl-C from its first line of ours (``controller``'s
``__init__`` for ``fourbyfour`` and ``python -m controller``; ``note_ctrl_c`` adopts what it
noted): until a command takes Ctrl-C
itself, a Ctrl-C is *noted*, never raised as a KeyboardInterrupt in the middle of an import
(the trial: a traceback, or "Exception ignored in … _get_module_lock" and the demo ran on);
the entry point or the command then ends with the one line and exit status 130.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

_noted: list[int] = []
"""The Ctrl-Cs noted while nothing could take them yet (this process's, from its start)."""


def _note(signum: int, frame: FrameType | None) -> None:
    _noted.append(signum)


def note_ctrl_c() -> None:
    """From now on a Ctrl-C is only noted (``ctrl_c_noted``): Python's own handler would
    raise a KeyboardInterrupt wherever the interpreter is, mid-import too. The main thread
    only (``signal.signal`` elsewhere raises); a process that ignores SIGINT keeps ignoring
    it (a ``spawn`` child)."""
    try:
        now = signal.getsignal(signal.SIGINT)
        early = getattr(now, "noted", None)  # ``controller``'s ``__init__`` noted until now
        if now in (signal.default_int_handler, signal.SIG_DFL) or isinstance(early, list):
            signal.signal(signal.SIGINT, _note)
            if isinstance(early, list):
                _noted.extend(early)  # after the swap: none is lost between
    except ValueError:  # not the main thread
        pass


def ctrl_c_noted() -> bool:
    """Whether a Ctrl-C came while it was only noted."""
    return bool(_noted)


def hand_over_ctrl_c() -> None:
    """A command that takes Ctrl-C as Python does (a KeyboardInterrupt) starts: Python's
    handler again, and a Ctrl-C noted before is raised here, at this safe point (the entry
    point says the one line)."""
    if signal.getsignal(signal.SIGINT) is _note:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _noted:
        raise KeyboardInterrupt


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
