"""During a staff pause the belt stands and its incline comes down (the session commands
speed 0 and, once the belt stands, the incline to 0 at the incline's pace; the emulated board
reports it coming down). The console shows the board's report of this moment
(«stigning 3,9 % (satt …)»); the belt page showed a copy from the session's last tick, an
older moment (the trial: the two screens disagreed on the incline during a pause). Both now
show the board's report. The real runtime on the emulated board; the belt page's text model
(``belt_doc``) and the console's state document, read at the same instant."""

import asyncio
import collections

from controller.core import i18n
from controller.core.metrics import shown_round
from tests.console_rig import armed_treadmill


def _numbers(load: str) -> tuple[float, float]:
    """(km/h, %) from the page's «2,9 km/t · 3,9 %»."""
    speed, incline = load.split(" · ")
    return float(speed.split()[0].replace(",", ".")), float(incline.split()[0].replace(",", "."))


def test_the_belt_page_and_the_console_show_the_same_belt_during_a_pause():
    from controller.core.plan import six_minute_test
    from controller.devices.emulator import Emulator
    from controller.hr import SimulatedSource
    from controller.protocol import PatientProfile
    from controller.service.beltview import belt_doc
    from controller.service.control_socket import snapshot_doc
    from controller.service.runtime import Runtime
    from controller.service.simclock import ScaledClock

    async def main() -> list[tuple[tuple[float, float], tuple[float, float], str]]:
        speed = 5.0
        clock = ScaledClock(speed)
        with Emulator(time_scale=speed) as emu:
            tm = await armed_treadmill(emu)
            # the 6-minute test walks at 4 %: an incline to come down in the pause
            rt = Runtime(PatientProfile(hr_max=183.0, max_speed_kmh=8.0, age_years=45,
                                        pseudonym="P-7"),
                         six_minute_test(5.5, 4.0), treadmill=tm, clock=clock,
                         tick_s=1.0 / speed,
                         hr_source=SimulatedSource(lambda t: 120.0, rate_hz=4.0 * speed,
                                                   clock=clock))
            run = asyncio.create_task(rt.run())
            try:
                await tm.wait_status(lambda s: s.state in ("idle", "armed"), 10)
                rt.start()
                await asyncio.sleep(0.5)
                rt.skip()  # into the test part: 5.5 km/h at 4 %
                await tm.wait_status(lambda s: s.incline_pct >= 3.5, 60)
                rt.pause()
                seen = []
                async with asyncio.timeout(60):
                    while True:
                        await asyncio.sleep(0.03)
                        # the same instant: no await between the two reads
                        page = belt_doc(rt, "nb")["load"]
                        console = snapshot_doc(rt, rt.snapshot, collections.deque())
                        seen.append((_numbers(page),
                                     # as the console shows them (half up on the
                                     # decimal; round() took 0,85 to 0,8, run 14)
                                     (shown_round(console["speed_kmh"], 1),
                                      shown_round(console["incline_pct"], 1)),
                                     console["state"]))
                        if console["state"] == "paused" and console["incline_pct"] == 0.0 \
                                and console["speed_kmh"] == 0.0:
                            break
                return seen
            finally:
                rt.stop()
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)

    i18n.set_language("nb")
    try:
        seen = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        i18n.set_language("en")
    inclines = {console[1] for _page, console, _state in seen}
    assert len(inclines) >= 5, inclines  # the pause brought the incline down, and was seen
    differ = [(page, console) for page, console, _s in seen if page != console]
    assert not differ, differ[:10]
