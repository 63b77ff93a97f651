"""Issue 21, the last trial's monitor findings: the monitor as rendered (Pilot), a real
mosquitto where MQTT is involved."""

import asyncio

from controller.core import i18n
from tests.test_monitor import T0, Offline, rendered_row, running, settle


def test_no_pulse_number_beside_a_held_lost_pulse_on_the_monitor():
    """The trial: the monitor showed the telemetry's 150 beside «finner ikke pulsen …» while the
    console and the belt page showed none (core.pulse: no number while the session holds or
    slows for a lost heart rate). Once the session runs again the number is back."""
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(140, 24)) as pilot:
            for dev, state in (("tm-3", "hr_hold"), ("tm-4", "hr_slow"), ("tm-5", "running")):
                running(app, "oslo", dev, now=now[0], session=dev, state=state,
                        hr_bpm=150.0, zone_low_bpm=140.0, zone_high_bpm=160.0,
                        alarms=("hr_lost",))
            await settle(pilot, app)
            return [rendered_row(app, d) for d in ("tm-3", "tm-4", "tm-5")]

    i18n.set_language("nb")
    try:
        hold, slow, runs = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")
    for row in (hold, slow):
        assert "finner ikke pulsen" in row, row
        assert "150" not in row, row
    assert "150 ✓" in runs, runs
