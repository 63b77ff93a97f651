"""A demo history keeps a clinic's calendar (trial 13): the year's sessions fell on Sundays
and Thursdays, on Christmas Day and New Year's Day, and moved an hour with summer time. They
are on Monday and Thursday afternoons on the clinic's wall clock, from the Monday after the
6-minute test, and none on a Norwegian public holiday."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

from controller.app.simdemo import history, training_course
from controller.core.dates import (
    CLINIC_TZ,
    clinic_open,
    easter_sunday,
    local_datetime,
    public_holidays,
)
from controller.protocol import PatientProfile
from controller.records.store import Store
from controller.sim import PatientParams

# a Wednesday afternoon: 20 weeks over Christmas, New Year, Easter and summer time (2026)
TEST_AT = dt.datetime(2025, 11, 26, 14, 0, tzinfo=CLINIC_TZ).timestamp()


def test_easter_and_the_public_holidays() -> None:
    assert [easter_sunday(y) for y in (2024, 2025, 2026, 2027, 2038)] == [
        dt.date(2024, 3, 31), dt.date(2025, 4, 20), dt.date(2026, 4, 5), dt.date(2027, 3, 28),
        dt.date(2038, 4, 25)]
    assert sorted(public_holidays(2026)) == [
        dt.date(2026, 1, 1), dt.date(2026, 4, 2), dt.date(2026, 4, 3), dt.date(2026, 4, 5),
        dt.date(2026, 4, 6), dt.date(2026, 5, 1), dt.date(2026, 5, 14), dt.date(2026, 5, 17),
        dt.date(2026, 5, 24), dt.date(2026, 5, 25), dt.date(2026, 12, 25),
        dt.date(2026, 12, 26)]
    assert not clinic_open(dt.date(2025, 12, 25)) and not clinic_open(dt.date(2026, 12, 6))
    assert clinic_open(dt.date(2026, 12, 7))


def test_a_history_keeps_the_clinics_calendar(tmp_path) -> None:
    params = PatientParams(vo2max=27, hr_max_bpm=185, hr_rest_bpm=68, seed=5)
    profile = PatientProfile.from_age(40, hr_rest=68, max_speed_kmh=7.0, pseudonym="P-5")
    course = training_course(random.Random(5), params.vo2max, 20, miss_p=0.0,
                             illness_p=0.0, drop_out_p=0.0)
    store = Store(tmp_path / "h.db")
    try:
        history(store, params, profile, weeks=20, seed=5, start_unix_s=TEST_AT, course=course)
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "h.db")
    starts = [local_datetime(t) for (t,) in
              db.execute("SELECT started_unix_s FROM sessions ORDER BY started_unix_s")]
    db.close()
    test, sessions = starts[0], starts[1:]
    assert test.date() == dt.date(2025, 11, 26)
    assert sessions[0].date() == dt.date(2025, 12, 1)  # the Monday after the test
    assert {s.strftime("%A") for s in sessions} == {"Monday", "Thursday"}
    for s in sessions:  # 14:00 ± 30 min on the wall clock, winter time and summer time alike
        minutes = s.hour * 60 + s.minute
        assert 13 * 60 + 30 <= minutes <= 14 * 60 + 30, s
    days = {s.date() for s in sessions}
    closed = {dt.date(2025, 12, 25), dt.date(2026, 1, 1), dt.date(2026, 4, 2),
              dt.date(2026, 4, 6)}  # Thursdays and Mondays the clinic is closed
    assert not days & closed
    # every Monday and Thursday of the 20 weeks but those four (nothing missed, no illness)
    assert len(sessions) == 40 - len(closed)
