"""The nurse's console, trial s9: the makspuls proposal answers a key it does not take (as
the yes/no question does). Through the console (Textual's Pilot) against the real control
service over a runtime holding a recorded 6-minute test; each seen failing first."""

import asyncio

import pytest

from controller.core import i18n
from tests.console_rig import console_on_runtime, wait_for
from tests.test_console_six_minute_desk import _test_runtime


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def test_the_makspuls_proposal_says_which_keys_it_takes(tmp_path, nb):
    """The yes/no question answers a key it does not take with «Trykk j for ja, n for nei.»
    and stays open (trial 10); the makspuls proposal after a 6-minute test shares its j/n
    footer but ignored such a key without a word. It says the same, stores nothing, and the
    proposal's own keys still answer."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid, _belt = _test_runtime(store, until="cooldown")

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("1", "5", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.pause()
            screen = app.screen
            await pilot.press("k")
            await pilot.pause()
            said = str(screen.query_one("#refused").render())
            assert app.screen is screen, app.screen
            assert said == "Trykk j for ja, n for nei.", said
            assert Register(store).require("P-57").hr_max_bpm == 176
            await pilot.press("escape")  # its own keys still answer: later
            await wait_for(lambda: len(app.screen_stack) == 1)

    asyncio.run(asyncio.wait_for(main(), 60))

