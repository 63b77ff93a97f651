"""Issue 21, trial 9: after `r` the console's header said «går» while the belt page counted
3-2-1 and the belt stood still (the session holds it for ``RESTART_COUNTDOWN_S`` before it
moves, so nobody is surprised by a lurch). Staff at the desk are told the same: «båndet
starter om 3 s», then «går». Through Textual's Pilot against the real runtime on the
emulated board."""

import asyncio

import pytest
from rich.text import Text
from textual.widgets import Static

from controller.core import i18n
from tests.console_rig import console_in_warmup, realtime, run_console, wait_for


def _header(app) -> str:
    return Text.from_markup(str(app.query_one("#phase", Static).render())).plain


@realtime
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_header_counts_the_restart_down_as_the_belt_page_does(tmp_path, lang):
    from controller.service.simclock import ScaledClock

    speed = 2.0  # the 3 s countdown lasts 1.5 s: the console's states come every 0.5 s
    clock = ScaledClock(speed)
    counting = {"nb": "båndet starter om", "en": "belt starts in"}[lang]
    running = {"nb": "går", "en": "running"}[lang]

    async def main() -> list[tuple[float | None, str, float | None]]:
        async with console_in_warmup(tmp_path, speed, clock, lambda t: 110.0) as (
                _rt, app, pilot):
            await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) > 0.5, 60)
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused"
                           and (app.state.get("speed_kmh") or 0.0) == 0.0, 60)
            await pilot.press("r")
            looks = []
            async with asyncio.timeout(30):
                while True:
                    await asyncio.sleep(0.05)
                    looks.append((app.doc.restart_in_s, _header(app), app.doc.speed_kmh))
                    if app.doc.state == "running" and app.doc.restart_in_s is None \
                            and (app.doc.speed_kmh or 0.0) > 0.3:
                        break
            await pilot.pause()
            looks.append((app.doc.restart_in_s, _header(app), app.doc.speed_kmh))
            return looks

    looks = run_console(main(), 120, lang)
    counted = [header for left, header, _v in looks if left is not None]
    assert counted, looks  # the service says the countdown
    assert all(counting in h and running not in h.split("·")[-1] for h in counted), counted
    seconds = {int(h.split(counting)[1].split()[0]) for h in counted}
    assert seconds <= {1, 2, 3} and len(seconds) >= 2, seconds  # it counts down
    assert running in looks[-1][1] and counting not in looks[-1][1], looks[-1]


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_countdown_fits_the_header_at_80_columns_in_every_phase(lang):
    from tests.test_console import _Stepped, tmp_sock
    from tests.test_console_alarm_lines import _settled

    said = {"nb": "båndet starter om 3 s", "en": "belt starts in 3 s"}[lang]
    # on the active pause's line at 80 columns the whole does not fit (53 of 48 in bokmål):
    # the countdown without «båndet» there, not on a line of its own (brief s10ack)
    short = {"nb": "· starter om 3 s", "en": "· starts in 3 s"}[lang]

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for phase, n in (("warmup", 0), ("interval", 4), ("recovery", 1), ("cooldown", 4)):
                app.feed(phase=phase, interval=n, state="running", restart_in_s=2.2)
                await pilot.pause()
                lines = await _settled(pilot, app, "#phase")
                assert any(said in line or short in line for line in lines[:-1]), \
                    (phase, lines)
                assert len(lines) == 2 and "P-17" in lines[-1], lines

    i18n.set_language(lang)
    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")


@realtime
def test_the_parts_time_stands_while_the_belt_starts_again(tmp_path):
    """After `p` and `r` the header says «båndet starter om N s» and the belt stands: the
    part's time left, on the console and on the belt page, stood still only until `r` and
    ran on through the 3-2-1 (an interval lost up to 3 s of work). It stands until the belt
    may move, then runs again."""
    from controller.service.beltview import belt_doc
    from controller.service.simclock import ScaledClock

    speed = 2.0  # the 3 s countdown lasts 1.5 s; the console's states come every 0.5 s
    clock = ScaledClock(speed)

    def shown(app):
        return Text.from_markup(str(app.query_one("#countdown", Static).render())).plain

    async def main():
        async with console_in_warmup(tmp_path, speed, clock, lambda t: 110.0) as (
                rt, app, pilot):
            await wait_for(lambda: (app.state.get("speed_kmh") or 0.0) > 0.5, 60)
            await pilot.press("p")
            await wait_for(lambda: app.state.get("state") == "paused"
                           and (app.state.get("speed_kmh") or 0.0) == 0.0, 60)
            await pilot.pause()
            paused = (shown(app), belt_doc(rt, "nb")["remaining_s"])
            await pilot.press("r")
            looks = []
            async with asyncio.timeout(30):
                while True:
                    await asyncio.sleep(0.05)
                    looks.append((app.doc.restart_in_s, shown(app),
                                  belt_doc(rt, "nb")["remaining_s"]))
                    if app.doc.state == "running" and app.doc.restart_in_s is None \
                            and (app.doc.speed_kmh or 0.0) > 0.3:
                        break
            # and it runs again once the belt moves
            await wait_for(lambda: shown(app) != paused[0], 30)
            return paused, looks

    paused, looks = run_console(main(), 120, "nb")
    counting = [(c, b) for left, c, b in looks if left is not None]
    assert len(counting) >= 3, looks
    assert {c for c, _b in counting} == {paused[0]}, (paused, counting)
    assert {b for _c, b in counting} == {paused[1]}, (paused, counting)
