"""A small sd_notify writer: READY=1, WATCHDOG=1, STATUS=… to systemd's $NOTIFY_SOCKET.

Why in-tree: it is ten lines, and the control service must ping the watchdog only from its
own loop while its health checks pass — a library thread pinging on its own would hide a
stuck loop from systemd.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if addr.startswith("@"):
            addr = "\0" + addr[1:]  # the abstract namespace
        self.address = addr or None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields; False when not run by systemd (or it is gone)."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(self.address)
                s.sendall("\n".join(fields).encode())
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")


def watchdog_interval_s() -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), or None when there is none."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    return int(usec) / 1e6 / 2
