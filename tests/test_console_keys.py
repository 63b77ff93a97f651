"""Issue 21, the bokmål trial's lost keys (h21keys): every key press staff make at the
console counts or says why not. Through Textual Pilot keystrokes against the demo's real
service on the emulated firmware (``tests.test_console.start_service``), each seen failing
first."""

import asyncio

import pytest

from controller.app.console import StaffConsole
from controller.core import i18n
from tests.test_console import realtime, start_service, wait_for


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


async def _six_minute_test(pilot, app, pace="5", max_speed="8"):
    """Choose P-61 for a 6-minute test at ``pace`` km/h and skip its warm-up (k, j)."""
    await pilot.press("n")
    form = app.screen
    form.query_one("#pseudonym").value = "P-61"
    form.query_one("#hr_max").value = "171"
    form.query_one("#source").value = "tanaka"
    form.query_one("#max_speed").value = max_speed
    form.query_one("#max_incline").value = "10"
    form.query_one("#plan").value = "six_minute_test"
    form.query_one("#pace").value = pace
    await pilot.press("ctrl+s")
    await wait_for(lambda: app.state.get("plan") == "6-minute test")
    await pilot.press("s")
    await wait_for(lambda: app.state.get("phase") == "warmup", 30)
    await pilot.press("k", "j")
    await wait_for(lambda: app.state.get("phase") == "test", 30)


@realtime
def test_a_burst_of_speed_keys_counts_every_press(tmp_path, nb):
    """Trial: "+++" within a second raised the 6-minute test's speed 5,0 → 6,0 km/t, not
    6,5, and nothing said a press was ignored (the session takes one load change per 2 s).
    Every press counts: the console keeps the requested speed and sets it on the belt step
    by step (still one change per 2 s), and says so."""
    async def main():
        service, sock = await start_service(tmp_path, speedup=1, choose_patient=True)
        app = StaffConsole(sock)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.state.get("session_id"))
            await _six_minute_test(pilot, app)
            await pilot.press("plus", "plus", "plus")
            # said at once: the speed asked for, and that the belt follows step by step
            await wait_for(lambda: "6,5 km/t" in app.message, 5)
            await wait_for(lambda: (app.state.get("test_load") or [0])[0] == 6.5, 20)
            await asyncio.sleep(3)  # and no more than that
            assert app.state["test_load"][0] == 6.5
            await pilot.press("minus", "minus")
            await wait_for(lambda: (app.state.get("test_load") or [0])[0] == 5.5, 20)
            kinds = [e["kind"] for e in app.state.get("event_list", [])]
            assert "adjust" in kinds
        service.cancel()
        await asyncio.gather(service, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 150))
