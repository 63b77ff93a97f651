"""Issue 21, the bokmål new-nurse trial: `w` wrote only the latest session's report, in a
file named by the session's raw id (``DEMO-1-a1724f9c1d22.pdf``). Now `w` lists the chosen
patient's sessions (the newest first, each by its date and time in Europe/Oslo, its plan
and how it ended), Enter on the newest is the quick path, Esc cancels; the files are named as
a nurse knows the session, and a second report of a session never overwrites the first with
different content. Stop works while the list is open (the safety rule). Through Textual
Pilot keystrokes against the demo's real service (``tests.test_console.start_service``)."""

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from textual.widgets import OptionList

from controller.app.console import StaffConsole
from controller.core import i18n
from controller.core.dates import CLINIC_TZ
from tests.test_console import realtime, start_service, wait_for
from tests.test_console_trial import footer


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


NAME = re.compile(r"^DEMO-1_(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})_([A-Za-z0-9-]+?)(-\d+)?"
                  r"\.(pdf|csv)$")


def _earlier_sessions(db):
    """DEMO-1's earlier sessions in the store: a 6-minute test on 20.11.2026 at 09:05 and a
    4x4 on 27.11.2026 at 18:40 (Oslo), recorded by the production Session and Store."""
    from controller.app.simdemo import run_session
    from controller.core.plan import six_minute_test
    from controller.protocol import PatientProfile
    from controller.records.store import Store
    from controller.sim import PatientParams, VirtualPatient
    from tests.test_runtime import SHORT

    store = Store(db)
    profile = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0,
                             max_incline_pct=15.0, pseudonym="DEMO-1")
    for plan, when in ((six_minute_test(5.5, 2.0), dt.datetime(2026, 11, 20, 9, 5)),
                       (SHORT, dt.datetime(2026, 11, 27, 18, 40))):
        patient = VirtualPatient(PatientParams(hr_max_bpm=183, hr_rest_bpm=72, vo2max=30,
                                               seed=4))
        run_session(patient, profile, plan, store=store, trace=False,
                    start_unix_s=when.replace(tzinfo=CLINIC_TZ).timestamp() + 20)
    store.close()


def _lines(app) -> list[str]:
    found = app.screen.query_one("#sessions", OptionList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


def _exports(tmp_path) -> list[str]:
    out = tmp_path / "exports"
    return sorted(f.name for f in out.iterdir() if not f.name.startswith(".")) \
        if out.exists() else []


@realtime
def test_w_chooses_among_the_patients_sessions_newest_first_and_names_files_for_a_nurse(
        tmp_path, nb):
    from controller.app.screens import ReportChooser

    db = tmp_path / "sessions.db"
    _earlier_sessions(db)

    async def main():
        service, sock = await start_service(tmp_path, str(db), linger=True)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.press("x", "j")
            await wait_for(lambda: app.state.get("state") == "done", 60)
            await wait_for(lambda: len(app.screen_stack) == 1)
            await pilot.press("w")
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.pause()
            lines = _lines(app)
            assert len(lines) == 3, lines
            # the newest first: today's (stopped), then 27.11 18:40, then the test on 20.11
            # stopped is «avsluttet», as the belt screen and the report say (issue 21)
            assert lines[0].endswith("avsluttet"), lines
            assert lines[1] == "27.11.2026  18:40  short  fullført", lines
            assert lines[2] == "20.11.2026  09:05  6-minutters pulstest  fullført", lines
            assert app.screen.query_one("#sessions", OptionList).highlighted == 0
            await pilot.press("escape")  # cancels: nothing written, and said so
            await wait_for(lambda: len(app.screen_stack) == 1)
            await pilot.pause(0.5)
            assert _exports(tmp_path) == [] and "Ingen rapport" in app.message, app.message
            await pilot.press("w")  # the quick path: Enter on the newest
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.press("enter")
            await wait_for(lambda: "Rapporten er lagret" in app.message, 30)
            today = _exports(tmp_path)
            assert len(today) == 2 and all(NAME.match(f) for f in today), today
            assert all(f in app.message for f in today), app.message
            day, hh, mm, plan, again, _ = NAME.match(today[0]).groups()
            assert (plan, again) == ("short", None), today
            # the clinic's clock, not UTC (the store's start of today's session)
            from controller.records.store import Store

            store = Store(db, readonly=True)
            start = dt.datetime.fromtimestamp(
                store.session(app.state["session_id"]).started_unix_s, CLINIC_TZ)
            store.close()
            assert (day, hh, mm) == (start.strftime("%Y-%m-%d"), start.strftime("%H"),
                                     start.strftime("%M")), (today, start)
            app.say("")
            await pilot.press("w")  # an earlier one: the 6-minute test, two lines down
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.press("down", "down", "enter")
            await wait_for(lambda: "Rapporten er lagret" in app.message, 30)
            test = sorted(set(_exports(tmp_path)) - set(today))
            assert test == ["DEMO-1_2026-11-20_09-05_6-minutters-pulstest.csv",
                            "DEMO-1_2026-11-20_09-05_6-minutters-pulstest.pdf"], test
            assert all(" " not in f for f in _exports(tmp_path))
            # the same ended session again: the same content, its files (not a copy)
            app.say("")
            await pilot.press("w")
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.press("enter")
            await wait_for(lambda: "Rapporten er lagret" in app.message, 30)
            assert len(_exports(tmp_path)) == 4, _exports(tmp_path)
            assert all(f in app.message for f in today), app.message
        service.cancel()
        await asyncio.gather(service, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 180))


@realtime
def test_pause_and_stop_work_while_the_report_chooser_is_open(tmp_path, nb):
    """The safety rule: Stop works from every screen (like the Borg prompt, the note, the
    history). With the session list of `w` open mid-session, p pauses, x asks and j stops;
    the list is still there after, and Enter writes the newest (the running session)."""
    from controller.app.screens import Confirm, ReportChooser

    async def main():
        service, sock = await start_service(tmp_path, str(tmp_path / "sessions.db"),
                                            linger=True)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.press("w")
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            assert _lines(app)[0].endswith("pågår"), _lines(app)
            await pilot.pause()
            # its footer: the keys that work here (the console's k or q do nothing here)
            keys = footer(app)
            assert ("x", "Stopp") in keys and ("p", "Pause") in keys, keys
            assert not {k for k, _d in keys} & {"k", "q", "n", "m"}, keys
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused", 20)
            assert isinstance(app.screen, ReportChooser)
            await pilot.press("x")
            await wait_for(lambda: isinstance(app.screen, Confirm))
            await pilot.press("j")
            await wait_for(lambda: app.state.get("state") in ("stopping", "done"), 20)
            await wait_for(lambda: isinstance(app.screen, ReportChooser))
            await pilot.press("enter")
            await wait_for(lambda: "Rapporten er lagret" in app.message, 30)
            assert len(_exports(tmp_path)) == 2
        service.cancel()
        await asyncio.gather(service, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 150))


def test_a_second_report_of_a_session_that_went_on_never_overwrites_the_first(tmp_path):
    """The rule for two reports of one session (`w` mid-session, then after it): same
    name only for the same content (`w` twice on an ended session: one pair of files);
    different content gets the next number (``-2``) and the first files stay as they were."""
    from controller.protocol import PatientProfile, Session
    from controller.records import jobs
    from controller.records.store import Store
    from controller.sim import Belt
    from tests.test_runtime import SHORT

    db = tmp_path / "sessions.db"
    start = dt.datetime(2026, 12, 6, 18, 40, 30, tzinfo=CLINIC_TZ).timestamp()
    clock = [start]
    store = Store(db, clock=lambda: clock[0])
    profile = PatientProfile(hr_max=171, hr_rest=62, max_speed_kmh=6.5, max_incline_pct=12,
                             pseudonym="P-17")
    session = Session(profile, SHORT)
    store.begin_session("s1", profile, SHORT.to_dict())
    belt = Belt()

    def run(seconds, t0):
        for t in range(t0, t0 + seconds):
            clock[0] = start + t
            sp = session.step(float(t), 120.0, belt.speed_kmh, belt.incline_pct)
            belt.step(1.0, sp.speed_kmh, sp.incline_pct)
            store.record("s1", sp, belt.speed_kmh, belt.incline_pct)
        store._commit()  # what the service's writer does before the worker reads (flush)

    run(30, 0)
    first = jobs.export_last(str(db), "P-17", "en", "s1")
    assert [p.rsplit("/", 1)[1] for p in first] == ["P-17_2026-12-06_18-40_short.pdf",
                                                    "P-17_2026-12-06_18-40_short.csv"]
    kept = [Path(p).read_bytes() for p in first]
    run(30, 30)
    second = jobs.export_last(str(db), "P-17", "en", "s1")
    assert [p.rsplit("/", 1)[1] for p in second] == ["P-17_2026-12-06_18-40_short-2.pdf",
                                                     "P-17_2026-12-06_18-40_short-2.csv"]
    assert [Path(p).read_bytes() for p in first] == kept  # the first, untouched
    assert jobs.export_last(str(db), "P-17", "en", "s1") == second  # same content: same files
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == sorted(
        p.rsplit("/", 1)[1] for p in first + second)  # no copy, no leftover
    store.close()
