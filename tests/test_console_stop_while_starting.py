"""Stop (x) pressed on the question that starts the 4x4 after a 6-minute test (trial 12):
with no session running the question's Stop key was off, so `x` did nothing and said
nothing, and the nurse's `j` after it answered the start question: the warm-up began. Stop
works from every screen: on a question to start something, x means do not start it."""

from __future__ import annotations

import asyncio

from tests.console_rig import realtime, run_console, wait_for


@realtime
def test_stop_pressed_while_the_4x4_after_a_test_is_set_up_keeps_the_belt_still(tmp_path):
    from controller.app.screens import Confirm
    from controller.app.screens.confirm import yes_key
    from tests.console_rig import (
        choose_for_a_six_minute_test,
        demo_service,
        open_console,
        second_client,
    )

    async def main():
        async with demo_service(tmp_path, str(tmp_path / "s.db"), linger=True) as (
                _service, sock), open_console(sock) as (app, pilot):
            async with second_client(sock) as client:
                await choose_for_a_six_minute_test(client)
                assert (await client.command("start"))["ok"]
                await wait_for(lambda: app.state.get("phase") == "warmup", 60)
                for phase in ("test", "cooldown"):  # the test interrupted: a makspuls typed
                    assert (await client.command("skip"))["ok"]
                    await wait_for(lambda p=phase: app.state.get("phase") == p, 60)
                assert (await client.command("rpe", rpe=11))["ok"]
                await wait_for(lambda: app.state.get("hrmax_proposal") is not None, 30)
                reply = await client.command("hrmax", decision="edited", hr_max_bpm=170)
                assert reply["ok"], reply
                await client.command("skip")  # the cool-down
                await wait_for(lambda: app.state.get("state") == "done", 60)
            while len(app.screen_stack) > 1:  # the test's own questions, answered above
                await pilot.press("escape")
                await pilot.pause()
            await wait_for(lambda: app.check_action("start_4x4", ()), 30)
            first = app.state["session_id"]
            await pilot.press("s")
            await wait_for(lambda: isinstance(app.screen, Confirm), 20)
            assert "4x4" in str(app.screen.query_one("#question").render())
            await pilot.press("x", yes_key())  # Stop, and the j meant for Stop's question
            await asyncio.sleep(6.0)  # a start and its 3-2-1 would be over
            await pilot.pause()
            moving = (app.state.get("session_id") != first and app.state.get("started")
                      and app.state.get("state") not in ("stopping", "done"))
            return moving, app.message, dict(app.state)

    moving, message, state = run_console(main(), 240, lang="nb")
    assert not moving, (message, {k: state.get(k) for k in ("plan", "phase", "state",
                                                            "started")})
    assert message == "Start avbrutt", message
