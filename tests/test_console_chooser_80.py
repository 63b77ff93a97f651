"""Issue 21 (s6rec), the bokmål new-nurse trial at 80×24: the report chooser (`w`) cut
«avsluttet, intervaller hoppet over» at the box's edge, so a nurse could not tell a session
skipped through from one stopped. Every line's status is whole on screen. Through Pilot
keystrokes against the demo's real service (``tests/console_rig.py``)."""

from __future__ import annotations

import datetime as dt

from controller.core.dates import CLINIC_TZ
from tests.console_rig import (
    demo_console,
    realtime,
    run_console,
    start_session,
    stop_session,
    wait_for,
)


def _skipped_through_and_a_test(db) -> None:
    """DEMO-1's earlier sessions: a 4x4 on 27.11.2026 at 18:40 (Oslo) whose intervals
    were all skipped (it ran its plan out: «avsluttet, intervaller hoppet over»), and a
    6-minute test on 20.11.2026 at 09:05 (the longest plan word), recorded by the
    production Session and Store."""
    from controller.app.simdemo import run_session
    from controller.core.plan import six_minute_test
    from controller.protocol import PatientProfile
    from controller.records.store import Store
    from controller.sim import PatientParams, VirtualPatient

    store = Store(db)
    profile = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0,
                             max_incline_pct=15.0, pseudonym="DEMO-1")

    def skip_intervals(session, sp, t):  # type: ignore[no-untyped-def]
        if sp.phase == "interval" and sp.state == "running":
            session.skip()

    for plan, when, on_tick in ((six_minute_test(5.5, 2.0), dt.datetime(2026, 11, 20, 9, 5),
                                 None),
                                (None, dt.datetime(2026, 11, 27, 18, 40), skip_intervals)):
        patient = VirtualPatient(PatientParams(hr_max_bpm=183, hr_rest_bpm=72, vo2max=30,
                                               seed=4))
        run_session(patient, profile, plan, store=store, trace=False, on_tick=on_tick,
                    start_unix_s=when.replace(tzinfo=CLINIC_TZ).timestamp() + 20)
    store.close()


def _box(app) -> list[str]:
    """The chooser's lines as the terminal shows them, inside its border (the console
    beneath it cut away)."""
    from tests.test_console import _screen_lines

    box = app.screen.query_one("#chooser").region
    return [ln[box.x + 1:box.right - 1].strip(" ▊▎┃│▌▐█▆▁▂▃▄▅▇")
            for ln in _screen_lines(app)[box.y + 1:box.bottom - 1]]


@realtime
def test_the_report_chooser_shows_every_status_whole_at_80_columns(tmp_path):
    from controller.app.screens import ReportChooser

    db = tmp_path / "sessions.db"
    _skipped_through_and_a_test(db)

    async def main() -> list[str]:
        async with demo_console(tmp_path, str(db), linger=True) as (app, pilot):
            await start_session(pilot, 60)
            await stop_session(pilot, timeout_s=60)
            await wait_for(lambda: len(app.screen_stack) == 1)
            await pilot.press("w")
            await wait_for(lambda: isinstance(app.screen, ReportChooser), 20)
            await pilot.pause()
            return _box(app)

    shown = run_console(main(), 180, lang="nb")
    text = "\n".join(shown)
    # each session on screen: its date and time, plan and the whole of how it ended, in
    # the box (on its line, or the line under it)
    for day, rest in (("27.11.2026  18:40", "4x4  avsluttet, intervaller hoppet over"),
                      ("20.11.2026  09:05", "6-minutters pulstest  fullført")):
        (i,) = [k for k, ln in enumerate(shown) if ln.startswith(day)] or [None]
        assert i is not None, text
        said = " ".join(" ".join(shown[i:i + 2]).split())
        assert " ".join(f"{day}  {rest}".split()) in said, text
