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
