"""Words for the UIs: the shared tables live in ``controller.core.words`` (the records use
them too); here are the service's refusals, which only the UIs show."""

from __future__ import annotations

import re

from controller.core.i18n import N_, _, language
from controller.core.words import (  # noqa: F401  (the UIs' one import for words)
    EVENTS,
    LINKS,
    PHASES,
    SEVERITIES,
    SOURCES,
    STATES,
    event_text,
    word,
)

ERRORS = [  # refusals from the service, by how they begin (the service speaks English)
    ("cannot resume: the motor board has a latched fault",
     N_("Cannot resume: the motor board has a latched fault. Release the e-stop or insert "
        "the key, then press the reset on the treadmill, then resume.")),
    ("cannot resume: the treadmill link is down",
     N_("Cannot resume: the treadmill link is down.")),
    ("pseudonym only", N_("Pseudonym only (1–32 letters, digits, - or _), never a name.")),
    ("the session has started", N_("The session has started: patient and plan are fixed.")),
    ("the session has already started", N_("The session has already started.")),
    ("no session is being recorded", N_("No session is being recorded: start it first.")),
    ("no recorded session", N_("No recorded session for this patient yet.")),
]


def error_text(error: str) -> str:
    """A refusal from the service, in the UI's language when it is a known one."""
    if language() == "en":
        return error
    for prefix, text in ERRORS:
        if error.startswith(prefix):
            return _(text)
    return error


def _detail(e: BaseException | str) -> str:
    """The technical detail, kept for the technician but shown second (and never as
    markup)."""
    from rich.markup import escape

    return " (" + escape(str(e)) + ")"


def service_unreachable_text(e: BaseException) -> str:
    """Why the console cannot reach the control service, in the UI's language, with what
    to do; the OS's own English (``[Errno 111] Connection refused``) only as the detail."""
    if isinstance(e, (FileNotFoundError, ConnectionRefusedError)):
        text = _("The control service is not running or is still starting: the console "
                 "tries again every second. If this lasts, ask the technician to check "
                 "'systemctl status fourbyfour'.")
    elif isinstance(e, PermissionError):
        text = _("The console may not open the control service's socket: the technician "
                 "must add this user to the fourbyfour group.")
    else:
        text = _("The control service does not answer: the console tries again every "
                 "second.")
    return text + _detail(e)


BELT_NOT_SERVED = re.compile(r"belt screen not served on (?P<host>\S+):(?P<port>\d+): "
                             r"(?P<detail>.*)")


def belt_screen_problem_text(port: int | str, detail: str) -> str:
    """The patient's screen could not start (best effort: the session runs without it)."""
    if "[Errno 98]" in detail or "address already in use" in detail.lower():
        text = _("The belt screen could not start: port {port} is in use by another "
                 "program. The session runs without it; close that program, or the "
                 "technician chooses another port for the belt screen in the config.")
    else:
        text = _("The belt screen could not start on port {port}. The session runs "
                 "without it; tell the technician.")
    return text.format(port=port) + _detail(detail)
