"""Issue 21: in the 4x4 only one put-off Borg rating was kept — esc at interval 1's end and
again at interval 2's end left only interval 2 to give later. Every rating put off is kept per
interval, b gives them one by one (the earliest first, its own interval named), and the
service stores each against its interval. Pilot keystrokes against the real service."""

import asyncio

import pytest

from controller.core import i18n
from controller.core.plan import PhaseKind, PhaseSpec, Plan
from tests.console_rig import demo_console, realtime, wait_for
from tests.test_console_desk import _open_form, _source, _type

TWO = Plan("two", (PhaseSpec(PhaseKind.WARMUP, 180, 0.65, 0.6, 0.72),
                   PhaseSpec(PhaseKind.INTERVAL, 60, 0.9, 0.85, 0.95, min_incline_pct=5),
                   PhaseSpec(PhaseKind.RECOVERY, 60, 0.7, 0.62, 0.77, min_incline_pct=5),
                   PhaseSpec(PhaseKind.INTERVAL, 60, 0.9, 0.85, 0.95, min_incline_pct=5),
                   PhaseSpec(PhaseKind.COOLDOWN, 60, 0.6, 0.45, 0.7)))
"""Two intervals, the shortest phases the rules allow."""


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


@realtime
def test_two_borg_ratings_put_off_are_both_kept_and_given_later_for_their_intervals(
        tmp_path, nb):
    from controller.app.screens import BorgScreen
    from controller.records.store import Store
    from tests.test_console_trial import footer

    db = tmp_path / "sessions.db"

    async def main():
        async with demo_console(tmp_path, str(db), choose_patient=True,
                                plan=TWO) as (app, pilot):
            form = await _open_form(pilot, app)
            await pilot.press(*"P-61", "tab", *"45")
            await _source(pilot, form, 4)
            await _type(pilot, form, "max_speed", "8")
            await _type(pilot, form, "max_incline", "12")
            await pilot.press("ctrl+s")
            await wait_for(lambda: app.state.get("pseudonym") == "P-61", 20)
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            for n in (1, 2):
                await pilot.press("k", "j")  # to interval n
                try:
                    await wait_for(lambda n=n: app.state.get("phase") == "interval"
                                   and app.state.get("interval") == n, 60)
                except TimeoutError:
                    raise AssertionError((n, app.state.get("phase"), app.state.get("interval"),
                                          app.message, app.screen)) from None
                # interval n runs to its end (a minute of session time): its Borg prompt
                # (one skipped in its first minute asks none: test_console_keys)
                await wait_for(lambda: isinstance(app.screen, BorgScreen), 90)
                assert app.screen.interval == n
                await pilot.press("escape")  # not now
                await wait_for(lambda: len(app.screen_stack) == 1)
                await pilot.pause()
                assert ("b", "Borg-skår") in footer(app), footer(app)
            assert "Borg-skår for intervall 1, 2 er ikke gitt" in app.message, app.message
            assert ("b", "Borg-skår") in footer(app), footer(app)
            await pilot.press("b")
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            for n, borg in ((1, "14"), (2, "16")):
                # since h21form the prompt b opened moves on to the next rating owed
                assert app.screen.interval == n, (n, app.screen.interval)
                await pilot.press(*borg, "enter")
                await wait_for(lambda n=n: str(n) in (app.state.get("ratings") or {}), 20)
                await pilot.pause()
            await wait_for(lambda: len(app.screen_stack) == 1)
            await pilot.pause()
            assert ("b", "Borg-skår") not in footer(app), footer(app)
            assert app.state["ratings"] == {"1": 14, "2": 16}, app.state["ratings"]
            await pilot.press("x", "j")
            await wait_for(lambda: app.state.get("state") in ("stopping", "done"), 30)
            session_id = app.state["session_id"]
        return session_id

    session_id = asyncio.run(asyncio.wait_for(main(), 240))
    store = Store(db)
    try:
        assert store.ratings(session_id) == {1: 14, 2: 16}
    finally:
        store.close()
