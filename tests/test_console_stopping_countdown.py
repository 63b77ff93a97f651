"""Trial 15: after Stop the console said «1:26 igjen av denne delen» beside «båndet står
stille»: a stopped session has no part left to run, while it slows to a stop and once the
belt is at rest. Pilot keystrokes against the demo's real service on the emulated
firmware, in bokmål."""

from __future__ import annotations

from textual.widgets import Static

from tests.console_rig import demo_console, realtime, run_console, skip_to, start_session, wait_for


@realtime
def test_a_stopped_session_says_no_time_left_of_its_part(tmp_path):
    async def main() -> list[str]:
        seen: list[str] = []
        async with demo_console(tmp_path) as (app, pilot):
            await start_session(pilot)
            await skip_to(pilot, "interval")
            await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) > 2.0, 60)
            said = str(app.query_one("#countdown", Static).render())
            assert "igjen av denne delen" in said, said  # a running part says its time
            await pilot.press("x", "j")
            await wait_for(lambda: app.state.get("state") == "stopping")
            while app.state.get("state") == "stopping":  # slowing, then at rest
                await pilot.pause(0.1)
                if app.state.get("state") == "stopping":
                    seen.append(str(app.query_one("#countdown", Static).render()))
            await wait_for(lambda: app.state.get("state") == "done", 60)
        return seen

    seen = run_console(main(), 180, "nb")
    assert seen, "the console never showed the stopping session"
    assert not [s for s in seen if "igjen" in s], seen
