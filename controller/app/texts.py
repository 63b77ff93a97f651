"""Words for the UIs: the shared tables live in ``controller.core.words`` (the records use
them too); here are the service's refusals, which only the UIs show."""

from __future__ import annotations

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
    ("pseudonym only", N_("Pseudonym only: the clinic's code (P-17, OUS-0042), never a name.")),
    ("the session has started", N_("The session has started: patient and plan are fixed.")),
    ("the session has already started", N_("The session has already started.")),
    ("no session is being recorded", N_("No session is being recorded: start it first.")),
    ("no recorded session", N_("No recorded session for this patient yet.")),
    ("no patient chosen", N_("No patient chosen: press n and choose the patient first.")),
    ("no HRmax from this test", N_("No HRmax from this test: the Borg rating and the heart "
                                   "rate do not fit what the method can use. The HRmax in "
                                   "use is kept.")),
]


def error_text(error: str) -> str:
    """A refusal from the service, in the UI's language when it is a known one."""
    if language() == "en":
        return error
    for prefix, text in ERRORS:
        if error.startswith(prefix):
            return _(text)
    return error
