"""The one rule for patient pseudonyms, used everywhere a pseudonym enters or leaves.

Only the pseudonym identifies a patient on the treadmill, in the store, in exports, on the
clinic's records server and on MQTT (retained messages stay on the broker), so a value that
could be a person must be refused wherever it comes from: the console, the config file, the
command line, an import, a payload. ``check_pseudonym`` (raises) and ``pseudonym_problem``
(returns the reason) are that rule; every entry point calls one of them.

The rule is the clinic's own code, not a free text: **a site prefix of 1–4 capital letters,
a hyphen, and 1–6 digits** — ``P-17``, ``OUS-0042``, ``AHUS-000123`` (``PSEUDONYM_RE``). The
clinic hands them out from a list (a sequence per site), so nothing a person would type about
themselves fits:

* a name in any case or spelling (``kari-nordmann``, ``KARI_NORDMANN``, ``KariNordmann``)
  has letters where the digits go, or more than four of them;
* a date of birth or a national identity number: the digits must not read as a date
  (six digits as ddmmyy, ``120348``) or as a year of birth (four digits 1900–2099: ``OLA-1948``
  would be a name and a birth year); eleven digits never fit;
* separators other than the one hyphen, spaces, lower case, other alphabets.

What the rule cannot see: a prefix of four capitals could still be a short first name
(``KARI-17``). The clinic's site prefixes are short codes chosen once per site, and staff
never type a patient's name there; the form shows the rule.
"""

from __future__ import annotations

import datetime as dt
import re

from controller.core.i18n import _

MAX_LEN = 11
PSEUDONYM_RE = re.compile(r"([A-Z]{1,4})-([0-9]{1,6})")
"""The clinic's pseudonym: site prefix, hyphen, number (``P-17``, ``OUS-0042``); use
``fullmatch``."""
PSEUDONYM_PATTERN = "^" + PSEUDONYM_RE.pattern + "$"
"""The same, for JSON schemas and other validators."""


class PseudonymError(ValueError):
    """A pseudonym that cannot be used; the message says why (never echoing it in logs)."""


def _is_date(day: int, month: int, year: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _digits_read_as_a_person(digits: str) -> bool:
    """A year of birth (4 digits 1900–2099) or a date of birth (6 digits ddmmyy, as the
    Norwegian identity number begins)."""
    if len(digits) == 4:
        return 1900 <= int(digits) <= 2099
    if len(digits) == 6:
        return _is_date(int(digits[:2]), int(digits[2:4]), 1900 + int(digits[4:]))
    return False


def pseudonym_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable pseudonym, or None when it is."""
    if not isinstance(value, str):
        return _("A pseudonym must be text, not {kind}.").format(kind=type(value).__name__)
    m = PSEUDONYM_RE.fullmatch(value)
    if m is None:
        if re.search(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[.-]\d{1,2}[.-]\d{2,4}", value):
            return _("A pseudonym must not contain a date.")
        return _("A pseudonym is the clinic's code: 1–4 capital letters, a hyphen and 1–6 "
                 "digits (P-17, OUS-0042), never a name or a date.")
    if _digits_read_as_a_person(m.group(2)):
        # the digits named, and why (trial 15: «OUS-2001» was refused as «a date»; 2001 is
        # none, and the nurse could not tell what to change)
        return _("The digits «{digits}» read as a year or a date of birth: choose another "
                 "number (P-17, OUS-0042).").format(digits=m.group(2))
    return None


def is_pseudonym(value: object) -> bool:
    """True when ``value`` passes the rule (``pseudonym_problem`` says why not)."""
    return pseudonym_problem(value) is None


def check_pseudonym(value: object, where: str = "pseudonym") -> str:
    """``value`` if it is an acceptable pseudonym; ``PseudonymError`` naming ``where``."""
    why = pseudonym_problem(value)
    if why is not None:
        raise PseudonymError(f"{where}: {why}")
    assert isinstance(value, str)
    return value
