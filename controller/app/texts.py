"""Words for the UIs: the shared tables live in ``controller.core.words`` (the records use
them too); here the service's refusals (rendered from their codes) and the OS's errors, as
staff read them."""

from __future__ import annotations

import re
from typing import Any

from controller.core.i18n import _
from controller.core.refusals import REFUSALS, refusal_text
from controller.core.words import (  # noqa: F401  (the UIs' one import for words)
    EVENTS,
    FAULTS,
    LINKS,
    PHASES,
    SEVERITIES,
    SOURCES,
    STATES,
    event_text,
    word,
)


def reply_text(reply: dict[str, Any]) -> str:
    """Why the service refused a command, in the UI's language: rendered from the reply's
    refusal ``code`` and ``params`` (``controller.core.refusals``); a reply without a known
    code (an older service, a check with no code yet) shows its ``error`` as sent. Text
    from the service is data: never markup."""
    from rich.markup import escape

    code, params = reply.get("code"), reply.get("params")
    if isinstance(code, str) and code in REFUSALS:
        return escape(refusal_text(code, params if isinstance(params, dict) else {}))
    return escape(str(reply.get("error") or ""))


def error_text(error: str) -> str:
    """A refusal that reached a screen as text (the patient form): shown as it is. Refusals
    are rendered from their codes by ``reply_text``; no sentence is recognised here."""
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
