"""Trial 14, the bokmål nurse at 80×24: the 6-minute test's HRmax proposal put off with esc
read «Foreslått makspuls 142 ± 11 slag/min: ikke avgjort: ikke lagret» (two colons), and no
key in the footer brought the proposal back (t did, unseen). Through Textual's Pilot against
the real control socket and a recorded test."""

import asyncio

import pytest

from controller.core import i18n
from tests.test_console import _footer, _recorded_six_minute_test, at_the_proposal, wait_for


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def test_a_proposal_put_off_is_offered_again_in_the_footer_and_said_plainly(tmp_path, nb):
    from controller.app.screens import HrMaxProposalScreen
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid = _recorded_six_minute_test(store, hr_max=184)

    async def main():
        async with at_the_proposal(tmp_path, rt) as (app, pilot, _screen):
            await pilot.press("escape")  # later
            await wait_for(lambda: not isinstance(app.screen, HrMaxProposalScreen))
            await pilot.pause(0.3)
            footer = _footer(app)
            assert "t Makspulsforslag" in footer, footer
            await pilot.press("t")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.press("j", "j")  # a large change (184 in use) is taken on the second
            await wait_for(lambda: not isinstance(app.screen, HrMaxProposalScreen))
            await pilot.pause(0.3)
            assert "t Makspulsforslag" not in _footer(app), _footer(app)

    asyncio.run(asyncio.wait_for(main(), 60))
    assert Register(store).require("P-42").hr_max_source == "six_minute_test"
    store.close()


def test_a_proposal_not_decided_is_said_with_one_colon(nb):
    """The end summary's line for a proposal put off: «Foreslått makspuls 142 ± 11
    slag/min: ikke avgjort, ikke lagret», one colon (the console and the report say it)."""
    from controller.app.texts import six_minute_summary_lines

    lines = six_minute_summary_lines(None, {"hr_max_bpm": 142, "uncertainty_bpm": 11})
    said = [ln for ln in lines if ln.startswith("Foreslått makspuls")]
    assert said == ["Foreslått makspuls 142 ± 11 slag/min: ikke avgjort, ikke lagret"], lines
