"""An orderly end on SIGTERM (systemd's stop) as on Ctrl-C: the main task is cancelled, so
every ``finally`` runs — the belt stops, the publisher drains its outbox and says offline."""

from __future__ import annotations

import asyncio
import contextlib
import signal


def stop_on_sigterm() -> None:
    """Call from the main task: SIGTERM cancels it."""
    task = asyncio.current_task()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
