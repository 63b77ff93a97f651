"""The one rule for patient pseudonyms, used everywhere a pseudonym enters or leaves.

Only the pseudonym identifies a patient on the treadmill, in the store, in exports and on
MQTT (retained messages stay on the broker), so a value that looks like a person must be
refused wherever it comes from: the console, the config file, the command line, an import, a
payload. ``check_pseudonym`` is that rule; every entry point calls it.

Accepted: 1–32 ASCII letters, digits, ``-`` and ``_`` (``P-17``, ``oslo_0042``). Refused,
because they look like a person rather than a code:

* two capitalised words, joined or not (``KariNordmann``, ``Kari_Nordmann``),
* a date: six digits that read as ddmmyy, eight as ddmmyyyy or yyyymmdd, or ``yyyy-mm-dd``,
* an 11-digit number (a Norwegian national identity number or D-number).
"""

from __future__ import annotations

import datetime as dt
import re

from controller.core.i18n import _

MAX_LEN = 32
_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TWO_NAMES = re.compile(r"[A-Z][a-z]{1,}[-_]?[A-Z][a-z]{1,}")
_DIGIT_RUNS = re.compile(r"\d+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class PseudonymError(ValueError):
    """A pseudonym that cannot be used; the message says why (never echoing it in logs)."""


def _is_date(day: int, month: int, year: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _looks_like_date(run: str) -> bool:
    if len(run) == 6:
        return _is_date(int(run[:2]), int(run[2:4]), 1900 + int(run[4:]))
    if len(run) == 8:
        return (_is_date(int(run[:2]), int(run[2:4]), int(run[4:])) and
                1900 <= int(run[4:]) <= 2100) or \
            (_is_date(int(run[6:]), int(run[4:6]), int(run[:4])) and
             1900 <= int(run[:4]) <= 2100)
    return False


def pseudonym_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable pseudonym, or None when it is."""
    if not isinstance(value, str):
        return _("A pseudonym must be text, not {kind}.").format(kind=type(value).__name__)
    if not _CHARS.match(value):
        return _("A pseudonym is 1–{n} letters (A–Z), digits, '-' or '_', never a "
                 "name.").format(n=MAX_LEN)
    if _TWO_NAMES.search(value):
        return _("A pseudonym must not look like a name (two capitalised words).")
    if _ISO_DATE.search(value) and any(
            _is_date(int(d), int(m), int(y)) for y, m, d in _ISO_DATE.findall(value)):
        return _("A pseudonym must not contain a date.")
    for run in _DIGIT_RUNS.findall(value):
        if len(run) == 11:
            return _("A pseudonym must not contain an 11-digit identity number.")
        if _looks_like_date(run):
            return _("A pseudonym must not contain a date.")
    return None


def check_pseudonym(value: object, where: str = "pseudonym") -> str:
    """``value`` if it is an acceptable pseudonym; ``PseudonymError`` naming ``where``."""
    why = pseudonym_problem(value)
    if why is not None:
        raise PseudonymError(f"{where}: {why}")
    assert isinstance(value, str)
    return value
