"""The clinic's calendar: people see Europe/Oslo days and times, data keep UTC instants.

Why one place: a session at 00:30 Oslo summer time is 22:30 UTC the day before. The register,
the outcome, the reports, the hand-over and the CLI must put it on the same day — the day
the patient trained — so every date a person reads comes from ``local_day`` /
``local_datetime``, and every stored value stays a Unix instant (UTC).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CLINIC_TZ = ZoneInfo("Europe/Oslo")


def local_datetime(unix_s: float) -> dt.datetime:
    """The instant as the clinic's wall clock shows it (aware, Europe/Oslo)."""
    return dt.datetime.fromtimestamp(unix_s, CLINIC_TZ)


def local_day(unix_s: float) -> dt.date:
    """The clinic's calendar day of an instant."""
    return local_datetime(unix_s).date()


def day_start_unix_s(day: dt.date) -> float:
    """The instant the clinic's ``day`` begins (00:00 Europe/Oslo)."""
    return dt.datetime.combine(day, dt.time(), CLINIC_TZ).timestamp()


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of ``year`` (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def public_holidays(year: int) -> frozenset[dt.date]:
    """Norway's public holidays on weekdays and Sundays alike (helligdager and 1 and 17
    May): the days a clinic is closed besides the weekend."""
    easter = easter_sunday(year)
    moving = (-3, -2, 0, 1, 39, 49, 50)  # skjærtorsdag … 2. pinsedag
    fixed = ((1, 1), (5, 1), (5, 17), (12, 25), (12, 26))
    return frozenset([easter + dt.timedelta(days=k) for k in moving]
                     + [dt.date(year, m, d) for m, d in fixed])


def clinic_open(day: dt.date) -> bool:
    """A weekday that is not a public holiday: the days the clinic trains patients."""
    return day.weekday() < 5 and day not in public_holidays(day.year)
