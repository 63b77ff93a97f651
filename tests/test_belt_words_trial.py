"""Issue 21, the bokmål new-nurse trial: the belt page's words, as the patient reads them in
chromium (a real runtime on the emulated firmware, the page served by ``BeltView``)."""

import asyncio
import re

from tests.test_beltview import _phase, _run, _text, _to_interval, _until, belt_rig

CLOCK = re.compile(r"^[1-9]?[0-9]:[0-5][0-9]$")
"""A running clock or countdown: m:ss, minutes without a leading zero (3:05, 0:42)."""
DURATION = re.compile(r"^(\d+ min( \d+ s)?|\d+ s)$")
"""An amount of time told after the fact: 5 min 3 s, 16 min, 45 s."""


def test_the_active_pause_and_the_staffs_pause_are_told_apart_on_the_belt(tmp_path):
    """Trial (15): the recovery is "aktiv pause"; the staff's hold said "Pause – båndet står
    stille", the same word for another thing. The hold says what happened: staff paused the
    session."""

    async def main() -> None:
        async with belt_rig(tmp_path) as rig:
            await _to_interval(rig)
            rig.rt.skip()
            await _phase(rig.page, "Aktiv pause etter intervall 1 av 4")
            assert (await _text(rig.page, "#guidance")).startswith("Aktiv pause")
            rig.rt.pause()
            await _until(rig.page, "document.body.textContent.includes('økten på pause')")
            guidance = await _text(rig.page, "#guidance")
            assert not guidance.startswith("Pause"), guidance
            assert guidance == "Personalet har satt økten på pause – båndet står stille"

    _run(main())


def test_the_6_minute_test_tells_the_patient_the_belt_sets_the_speed(tmp_path):
    """Trial (12): in the 6-minute test the page said "Hold en jevn fart du klarer å holde";
    the belt sets the speed (staff choose it), so the patient is told to go with the belt and
    to tell staff if it is too hard."""
    from controller.core.plan import six_minute_test

    async def main() -> None:
        async with belt_rig(tmp_path, plan=six_minute_test(5.0)) as rig:
            rig.rt.start()
            await _phase(rig.page, "Oppvarming")
            rig.rt.skip()
            await _phase(rig.page, "6-minutters pulstest")
            guidance = await _text(rig.page, "#guidance")
            assert "jevn fart" not in guidance and "klarer å holde" not in guidance, guidance
            assert guidance == ("Følg farten til båndet – si fra til personalet hvis det "
                                "blir for tungt"), guidance

    _run(main())


def test_clocks_are_m_ss_and_amounts_of_time_are_min_and_s_on_the_belt(tmp_path):
    """Trial (16): the same kind of figure in two formats ("03:05" and "3:05", "5 min 3 s").
    The rule: a running clock or countdown is m:ss (3:05); an amount of time told after the
    fact is "5 min 3 s"."""

    async def main() -> None:
        async with belt_rig(tmp_path) as rig:
            rig.hr[0] = 175.0  # in the zone (168–188) once it has climbed
            await _to_interval(rig)
            countdown = await _text(rig.page, "#countdown")
            assert CLOCK.match(countdown), countdown
            await _until(rig.page, "/i sonen/.test(document.getElementById('counter')"
                                   ".textContent)", 60)
            counter = (await _text(rig.page, "#counter")).removesuffix(" i sonen")
            assert CLOCK.match(counter), counter
            await asyncio.sleep(0.5)
            rig.rt.skip()
            await _phase(rig.page, "Aktiv pause etter intervall 1 av 4")
            await _until(rig.page, "/^Intervall 1/.test(document.getElementById('summary')"
                                   ".textContent)")
            summary = await _text(rig.page, "#summary")
            m = re.match(r"^Intervall 1: (.*) i sonen$", summary)
            assert m and DURATION.match(m.group(1)), summary
            countdown = await _text(rig.page, "#countdown")
            assert CLOCK.match(countdown), countdown

    _run(main())
