"""Issue 21 (c3con), the bokmål trial at the console: ``p`` while the session is paused did
nothing and said nothing (the footer showed «r Fortsett»). It now says on the message line
that the session is already paused and how to go on. Pilot against the real service."""

from __future__ import annotations

from tests.console_rig import (
    demo_console,
    realtime,
    run_console,
    start_session,
    wait_for,
)


@realtime
def test_p_while_paused_says_the_session_is_already_paused(tmp_path):
    async def main() -> None:
        async with demo_console(tmp_path) as (app, pilot):
            await start_session(pilot, 60)
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused", 20)
            await pilot.pause(0.3)
            before = app.message
            await pilot.press("p")
            await wait_for(lambda: app.message != before, 5)
            assert "Økten er allerede på pause – trykk r for å fortsette" in app.message
            assert app.state.get("state") == "paused"  # nothing else changed
            await pilot.press("r")  # r still resumes
            await wait_for(lambda: app.state.get("state") != "paused", 20)

    run_console(main(), 120, lang="nb")
