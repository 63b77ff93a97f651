"""Logging for the services: journald's priorities and fields under systemd, plain text else.

Under systemd, stdout and stderr are a stream whose every line journald files as priority
"info" — an e-stop and a console connecting looked alike. systemd says where the stream goes
(``JOURNAL_STREAM`` = device:inode of it); when stderr is that stream and the journal's
native socket is there, each record is sent as one datagram of journald's native protocol
(``MESSAGE``, ``PRIORITY`` from the level, ``SYSLOG_IDENTIFIER``, ``LOGGER``, and
``SESSION_ID`` while a session runs: ``journalctl SESSION_ID=…`` shows one session). Without
the socket, lines get the ``<N>`` priority prefix journald reads from a stream. Outside
systemd nothing changes: ``LEVEL logger: message`` on stderr.

No line names the patient: session lines carry the session's id, never the pseudonym.

    setup_logging()                       # once, in the service's main
    set_session("4f3a…") / set_session(None)   # the runtime, as a session begins and ends
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import TextIO

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "fourbyfour"

_session_id: str | None = None


def set_session(session_id: str | None) -> None:
    """Lines logged from now on carry ``SESSION_ID`` (None: no session runs)."""
    global _session_id
    _session_id = session_id


def priority(levelno: int) -> int:
    """syslog priority of a logging level (3 err, 4 warning, 5 notice, 6 info, 7 debug)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def _field(key: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" in data:  # the protocol's binary form: name, newline, u64 length, value
        return key.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
    return key.encode() + b"=" + data + b"\n"


class JournalHandler(logging.Handler):
    """One datagram per record to journald's native socket."""

    def __init__(self, path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            fields = [_field("MESSAGE", message),
                      _field("PRIORITY", str(priority(record.levelno))),
                      _field("SYSLOG_IDENTIFIER", IDENTIFIER),
                      _field("LOGGER", record.name),
                      _field("CODE_FILE", record.pathname),
                      _field("CODE_LINE", str(record.lineno)),
                      _field("CODE_FUNC", record.funcName)]
            if _session_id:
                fields.append(_field("SESSION_ID", _session_id))
            self.sock.sendto(b"".join(fields), self.path)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.sock.close()
        super().close()


class PrefixFormatter(logging.Formatter):
    """``<N>`` before each line: journald reads it as the line's priority."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        p = f"<{priority(record.levelno)}>"
        return "\n".join(p + line for line in text.splitlines())


def under_journal(stream: TextIO | None = None) -> bool:
    """Is ``stream`` (stderr) the journal stream systemd connected (``JOURNAL_STREAM``)?"""
    want = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return want == f"{st.st_dev}:{st.st_ino}"


def setup_logging(level: int = logging.INFO) -> logging.Handler:
    """Configure the root logger once for a service process; returns the handler."""
    handler: logging.Handler
    path = os.environ.get("FOURBYFOUR_JOURNAL_SOCKET", JOURNAL_SOCKET)
    if under_journal() and os.path.exists(path):
        handler = JournalHandler(path)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    elif under_journal():
        handler = logging.StreamHandler()
        handler.setFormatter(PrefixFormatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
