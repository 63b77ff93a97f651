"""Translations: bokmål (``nb``) and English (``en``) from gettext message catalogs.

Every user-facing string is a whole sentence wrapped in ``_()`` with named placeholders —
never built from fragments, because Norwegian word order differs:

    from controller.core.i18n import _, ngettext
    _("Interval {n} of {total}").format(n=2, total=4)

Catalogs live in ``controller/core/locale/<lang>/LC_MESSAGES/fourbyfour.po`` (edited by
people) and ``.mo`` (compiled by Babel: ``./run i18n`` extracts, updates and compiles);
``tests/test_i18n.py`` fails when a wrapped string has no translation or the ``.mo`` is stale.
English is the source language. Numbers, dates and times are formatted for the language with
Babel (``format_number``, ``format_date``, ``format_datetime``).

The language is process-wide (``set_language``), chosen once from the config; a view that
must speak another language than the process (a belt screen in nb beside an English log)
asks for ``translations(lang)`` explicitly. Reading the small catalog files is the only I/O.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
from functools import cache
from pathlib import Path

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal

from controller.core.metrics import shown_decimal

DOMAIN = "fourbyfour"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "en"

_state = {"lang": DEFAULT_LANGUAGE}


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``; English is the source language and needs none."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, [lang])


def set_language(lang: str) -> None:
    """Choose the process's language (``nb`` or ``en``); an unknown one is refused."""
    translations(lang)
    _state["lang"] = lang


def language() -> str:
    return _state["lang"]


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(_state["lang"]).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_state["lang"]).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog where it is defined; ``_()`` translates it where
    it is shown (tables of labels, event texts made before the language is known)."""
    return message


def _locale(lang: str | None) -> str:
    return lang or _state["lang"]


NUMBER = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")
"""A number as staff type it: digits with a decimal comma or point."""


def parse_number(text: str) -> float | None:
    """``6,5`` or ``6.5`` → 6.5; empty → None; anything else ValueError."""
    text = text.strip()
    if not text:
        return None
    if not NUMBER.match(text):
        raise ValueError(text)
    return float(text.replace(",", "."))


def format_number(x: float, decimals: int = 1, lang: str | None = None) -> str:
    """``1234.5`` → ``1 234,5`` in bokmål, ``1,234.5`` in English."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    # rounded as every place rounds (half up, ``metrics.shown_decimal``), not babel's half
    # to even: the CSVs and the hand-over's differences show the same tenth
    return format_decimal(shown_decimal(x, max(decimals, 0)), format=pattern,
                          locale=_locale(lang))


def format_signed(x: float, decimals: int = 2, lang: str | None = None) -> str:
    """A change with its sign: ``+0,12`` / ``−0,25`` in bokmål, ``+0.12`` / ``-0.25`` in
    English (a trend per week)."""
    sign = "+" if shown_decimal(x, decimals) >= 0 else ("−" if _locale(lang) == "nb" else "-")
    return sign + format_number(abs(x), decimals, lang)


def format_speed(kmh: float, decimals: int = 1, lang: str | None = None) -> str:
    """``5,5 km/t`` in bokmål, ``5.5 km/h`` in English."""
    return translations(_locale(lang)).gettext(N_("{value} km/h")).format(
        value=format_number(kmh, decimals, lang))


def sentence_case(text: str) -> str:
    """A column header as every table and spreadsheet of ours writes it: the first letter
    capital, the rest as the catalog has it ("Siste økt", "VO2maks", "Makspuls"), so a header
    row never mixes "pseudonym" with "Makspuls"."""
    return text[:1].upper() + text[1:]


def format_duration(seconds: int, lang: str | None = None) -> str:
    """Whole seconds as people say them, ``6 min 6 s``, ``16 min`` or ``45 s`` (a time in
    the zone on the belt screen and in the report; the console's lines say ``6:06``).
    Round with ``metrics.whole_seconds`` first: one rounding rule everywhere."""
    tr = translations(_locale(lang)).gettext
    if seconds >= 60 and seconds % 60 == 0:  # "16 min", not "16 min 0 s"
        return tr(N_("{minutes} min")).format(minutes=seconds // 60)
    if seconds >= 60:
        return tr(N_("{minutes} min {seconds} s")).format(minutes=seconds // 60,
                                                           seconds=seconds % 60)
    return tr(N_("{seconds} s")).format(seconds=seconds)


def format_percent(pct: float, decimals: int = 1, lang: str | None = None) -> str:
    """``7,5 %`` in bokmål, ``7.5 %`` in English (a no-break space keeps the sign with the
    number; kept out of message ids, where ``% s`` would read as a printf format)."""
    return format_number(pct, decimals, lang) + "\u00a0%"


def format_points(delta_pct: float, lang: str | None = None) -> str:
    """A change of incline in percentage points: ``1 prosentpoeng``, ``1,5 prosentpoeng``
    (glossary: never "1,0 % brattere": a change of a percentage is not a percentage); a
    decimal only when the change has one."""
    delta = round(abs(float(delta_pct)), 1)
    number = format_number(delta, 0 if delta.is_integer() else 1, lang)
    t = translations(_locale(lang)).gettext
    return (t(N_("{points} percentage point")) if delta == 1 else
            t(N_("{points} percentage points"))).format(points=number)


def format_date(day: dt.date, lang: str | None = None) -> str:
    """``27.11.2026`` in bokmål, ``Nov 27, 2026`` in English."""
    return _babel_date(day, format="medium" if _locale(lang) == "en" else "dd.MM.yyyy",
                       locale=_locale(lang))


def format_datetime(when: dt.datetime, lang: str | None = None) -> str:
    """Local wall-clock date and time, e.g. ``27.11.2026 14:05``."""
    fmt = "dd.MM.yyyy HH:mm" if _locale(lang) == "nb" else "yyyy-MM-dd HH:mm"
    return _babel_datetime(when, format=fmt, locale=_locale(lang))
