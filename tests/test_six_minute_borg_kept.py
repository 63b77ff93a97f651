"""Issue 21, the bokmål trial of the 6-minute test (`./run demo --plan pulstest`): the nurse typed
Borg 16 at the end of the test and the console said «Borg-skåren ble avvist: Ingen makspuls fra
denne testen …», then «Borg-skår ikke gitt ennå … (t)»: a valid score the patient gave was
thrown away (not in the record), and asked for again as if none was given. A valid score is an
observation: it is kept (the store's borg event, the report) even where the HRmax method cannot
use it with the heart rate measured; the screen says there is no proposal from it and why,
never «avvist», with `t` in its footer to correct it. Through the console (Textual's Pilot) on
the real control service over a runtime holding a recorded test, in which Borg 12 and the
last minute's heart rate make an estimate outside what the method can use (228 bpm)."""

import asyncio

import pytest

from controller.core import i18n
from tests.console_rig import console_on_runtime, wait_for
from tests.test_console import _screen_lines
from tests.test_console_six_minute_desk import _test_runtime
from tests.test_console_trial import footer


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def _shown(app) -> str:
    return " ".join(" ".join(_screen_lines(app)).split())


async def _rate_twelve_at_the_end(app, pilot) -> None:
    """The Borg prompt at the test's end, 12 typed: the proposal screen (no proposal: 12 gives
    228 bpm here, outside what the method accepts); the console's message if it never comes."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen

    await wait_for(lambda: isinstance(app.screen, BorgScreen))
    await wait_for(lambda: app.state.get("phase") == "done")
    await pilot.press("1", "2", "enter")
    try:
        await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
    except TimeoutError:
        raise AssertionError(app.message) from None


def test_a_borg_score_that_makes_no_proposal_is_kept_and_not_asked_again(tmp_path, nb):
    from controller.app.screens import HrMaxProposalScreen
    from controller.records import jobs
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, sid, _belt = _test_runtime(store)  # the test has ended: the finished state
    rt.summary = jobs.summary(str(store.path), sid, 176)  # as the recording makes it

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await _rate_twelve_at_the_end(app, pilot)
            await pilot.pause()
            shown = _shown(app)
            assert "Ingen forslag til makspuls fra Borg-skår 12" in shown, shown
            assert "avvist" not in shown, shown
            assert "Foreslått makspuls" not in shown, shown
            keys = footer(app)
            assert ("t", "Borg-skår på nytt") in keys, keys  # correct the score
            assert not any(k in ("j", "y") for k, _d in keys), keys  # nothing to accept
            # esc: later; the summary under it does not ask for the score as if not given
            await pilot.press("escape")
            await wait_for(lambda: len(app.screen_stack) == 1)
            try:  # the summary follows the state pushed
                await wait_for(lambda: "Borg-skår ved slutten: 12" in _shown(app), 5)
            except TimeoutError:
                raise AssertionError(_shown(app)) from None
            shown = _shown(app)
            assert "ikke gitt" not in shown, shown
            assert "Borg-skår ved slutten: 12" in shown, shown
            assert "avvist" not in shown, shown
            try:  # the footer follows the state pushed
                await wait_for(lambda: "t" in [k for k, _d in footer(app)], 5)
            except TimeoutError:
                raise AssertionError(footer(app)) from None
            # t opens it again; n keeps the makspuls in use, said once
            await pilot.press("t")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.press("n")
            await wait_for(lambda: len(app.screen_stack) == 1)
            try:
                await wait_for(lambda: "beholdes" in _shown(app), 5)
            except TimeoutError:
                raise AssertionError(_shown(app)) from None
            await pilot.pause()
            shown = _shown(app)
            assert shown.lower().count("makspulsen i bruk beholdes") == 1, shown

    asyncio.run(asyncio.wait_for(main(), 60))
    borg = [e["params"]["rpe"] for e in store.events(sid) if e["kind"] == "borg"]
    assert borg == [12], borg  # the score the patient gave is in the record
    decision = next(e for e in store.events(sid) if e["kind"] == "hrmax_decision")
    assert decision["params"]["decision"] == "rejected"
    assert Register(store).require("P-57").hr_max_bpm == 176  # nothing changed
    # the report, as printed, says the score and that it made no proposal
    from controller.records import report

    i18n.set_language("nb")
    text = " ".join(" ".join(report.report_lines(store, report.session_facts(store, sid)))
                    .split())
    assert "Borg-skår ved slutten: 12" in text, text
    assert "Ingen forslag til makspuls fra denne Borg-skåren" in text, text
    assert "ikke gitt" not in text, text


def test_a_refused_score_line_goes_once_a_later_score_makes_a_proposal(tmp_path, nb):
    """The trial: «Borg-skåren ble avvist …» stayed on the message line after a later score
    was accepted. With the score kept the refusal no longer comes for a valid score; the
    correction `t` from the no-proposal screen makes a proposal, and the end summary, the
    report's source, says the corrected score."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, sid, _belt = _test_runtime(store)

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await _rate_twelve_at_the_end(app, pilot)
            await pilot.press("t")
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("1", "6", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen)
                           and not app.screen.proposal.get("no_estimate"))
            await pilot.pause()
            shown = _shown(app)
            assert "Foreslått makspuls" in shown, shown
            assert "avvist" not in shown, shown
            assert "avvist" not in app.message, app.message

    asyncio.run(asyncio.wait_for(main(), 60))
    borg = [e["params"]["rpe"] for e in store.events(sid) if e["kind"] == "borg"]
    assert borg == [12, 16], borg
