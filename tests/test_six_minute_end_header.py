"""Issue 21, the bokmål trial of the 6-minute test (new nurse, fresh clone, 80×24): after `e`
saved a makspuls at the test's end (staff typed their own in the proposal screen), the header
in the finished state showed no patient line at all, though the docs promise the new makspuls
is shown there. The finished header keeps the patient line: pseudonym, the makspuls saved and
its source. Through the console (Textual's Pilot) on the real control service over a runtime
holding a recorded test (``tests.test_console_six_minute_desk``); seen failing first."""

import asyncio

import pytest

from controller.core import i18n
from tests.console_rig import console_on_runtime, wait_for
from tests.test_console_six_minute_desk import _header, _test_runtime


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def test_the_finished_header_shows_the_patient_and_the_makspuls_saved_with_e(tmp_path, nb):
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid, _belt = _test_runtime(store)  # the test has ended: the finished state

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await wait_for(lambda: app.state.get("phase") == "done")
            await pilot.press("1", "5", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.press("e")
            await wait_for(lambda: app.screen.query("#edit"))
            await pilot.pause()
            await pilot.press("ctrl+u", *"170", "enter")
            await wait_for(lambda: "lagret" in app.message)
            await wait_for(lambda: len(app.screen_stack) == 1)
            want = "P-57 · makspuls 170 (pulstest, endret)"
            try:
                await wait_for(lambda: want in " ".join(_header(app).split()), 5)
            except TimeoutError:
                raise AssertionError(_header(app)) from None
            assert "176" not in _header(app), _header(app)

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize("part", ["warmup", "test"])
def test_a_skip_inside_the_test_is_an_interrupted_test_with_no_proposal(tmp_path, nb, part):
    """Trial: `k` (skip) 2 minutes into the test part still ended with a makspuls proposal,
    though the six minutes the method rests on were not walked. A test skipped in its test
    part is interrupted like a stopped one: «Testen ble avbrutt etter 2 min …: ikke noe
    forslag til makspuls», nothing to accept, and staff can still type their own with `e`.
    A skip of the warm-up walk leaves the test whole: its proposal is made."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records.register import Register
    from controller.records.store import Store
    from tests.test_console import _screen_lines
    from tests.test_console_trial import footer

    def skip(session, sp):
        if sp.phase == part and sp.phase_elapsed_s >= (120 if part == "test" else 30) and \
                sp.state == "running":
            session.skip()

    store = Store(tmp_path / "sessions.db")
    rt, sid, _belt = _test_runtime(store, hook=skip)

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("1", "5", "enter")
            try:
                await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            except TimeoutError:
                raise AssertionError(app.message) from None
            await pilot.pause()
            shown = " ".join(" ".join(_screen_lines(app)).split())
            if part == "warmup":
                assert "Foreslått makspuls" in shown, shown
                assert "avbrutt" not in shown, shown
                return
            assert "Testen ble avbrutt etter 2 min" in shown, shown
            assert "ikke noe forslag til makspuls" in shown, shown
            assert "Foreslått makspuls" not in shown, shown
            keys = footer(app)
            assert not any(k in ("j", "y") for k, _d in keys), keys
            assert ("e", "Skriv makspuls") in keys, keys
            await pilot.press("e")
            await wait_for(lambda: app.screen.query("#edit"))
            await pilot.pause()
            await pilot.press(*"170", "enter")
            await wait_for(lambda: "lagret" in app.message)

    asyncio.run(asyncio.wait_for(main(), 60))
    if part == "test":
        rec = Register(store).require("P-57")
        # staff's own number: no proposal was edited (issue 21: «pulstest, endret»)
        assert (rec.hr_max_bpm, rec.hr_max_source) == (170, "staff_entered")
        decision = next(e for e in store.events(sid) if e["kind"] == "hrmax_decision")
        assert decision["params"]["proposed_bpm"] is None
        assert 115 <= decision["params"]["interrupted_after_s"] <= 125, decision
