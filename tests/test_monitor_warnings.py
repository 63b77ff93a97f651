"""Issue 21 (bokmål new-nurse trial): the strap's missing-beats hint is a warning (the store,
MQTT and the report say so), but the central monitor drew it as an alarm — red, ⚠, the bell —
because it is held for acknowledgement. Through the monitor as rendered (Textual Pilot, 80×24,
in both languages): a warning is amber with a "!", sorted below alarms, rings no bell, and is
still acknowledged; a real alarm is still red with ⚠ and the bell, whatever an event says."""

import asyncio
import dataclasses

import pytest
from textual.widgets import DataTable

from controller.app.monitor import CentralMonitor
from controller.core import i18n
from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings
from controller.protocol import STRAP_ALARM, Event
from tests.test_monitor import T0, Offline, rendered, running, settle
from tests.test_mqtt import a_setpoint

WORDS = {"en": {"strap": "unreliable chest strap readings", "alarm": "heart rate lost",
                "ack": "Acknowledge the warning", "count": "with alarms: 1"},
         "nb": {"strap": "usikre målinger fra pulsbeltet", "alarm": "finner ikke pulsen",
                "ack": "advarselen", "count": "med alarm: 1"}}


def event(app, device, session, seq, kind, severity):
    app.feed("oslo", device, "event",
             tm.event_payload(session, seq, Event(0.0, kind, "x", severity), T0))


def row_y(app, device: str) -> int:
    return next(y for y, line in enumerate(rendered(app)) if f" {device}" in line)


def backgrounds(app, device: str) -> set[str]:
    table = app.query_one(DataTable)
    return {str(seg.style.bgcolor) for seg in table.render_line(row_y(app, device))
            if seg.text.strip() and seg.style and seg.style.bgcolor}


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_a_strap_warning_is_amber_below_alarms_with_no_bell_and_still_acknowledged(lang):
    words = WORDS[lang]

    async def main():
        app = Offline(lambda: T0, command_key=lambda site, device: b"k" * 32)
        async with app.run_test(size=(80, 24)) as pilot:
            # tm-1: the strap's hint, its event heard as a warning; tm-4: the same hint,
            # its event not heard (the monitor started later); tm-2: a real alarm, and a
            # forged "warning" event for it changes nothing; tm-3: running, nothing held
            running(app, "oslo", "tm-1", now=T0, session="S1", alarms=(STRAP_ALARM,))
            event(app, "tm-1", "S1", 0, STRAP_ALARM, "warning")
            running(app, "oslo", "tm-4", now=T0, session="S4", alarms=(STRAP_ALARM,))
            running(app, "oslo", "tm-3", now=T0, session="S3")
            running(app, "oslo", "tm-2", now=T0, session="S2", alarms=("hr_lost",))
            event(app, "tm-2", "S2", 0, "hr_lost", "warning")
            await settle(pilot, app)
            lines = [ln for ln in rendered(app) if " tm-" in ln]
            order = [next(d for d in ("tm-1", "tm-2", "tm-3", "tm-4") if d in ln)
                     for ln in lines]
            status = str(app.query_one("#status").render())
            seen = {d: (backgrounds(app, d), rendered(app)[row_y(app, d)])
                    for d in ("tm-1", "tm-2", "tm-4")}
            rings = app.rings
            table = app.query_one(DataTable)
            table.move_cursor(row=order.index("tm-1"))
            await pilot.press("a")
            await pilot.pause()
            question = " ".join(str(w.render()) for w in app.screen.query("Static"))
            await pilot.press("n")
            await pilot.pause()
            return order, seen, rings, status, question, "\n".join(rendered(app))

    i18n.set_language(lang)
    try:
        order, seen, rings, status, question, table = asyncio.run(
            asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")
    assert order[0] == "tm-2" and order[-1] == "tm-3", (order, table)  # alarm first
    alarm_bg, alarm_line = seen["tm-2"]
    assert "⚠" in alarm_line and any("red" in c for c in alarm_bg), (alarm_line, alarm_bg)
    assert words["alarm"] in " ".join(table.split()), table
    for device in ("tm-1", "tm-4"):
        bg, line = seen[device]
        assert "⚠" not in line and line.lstrip().startswith("!"), (device, line)
        assert bg and not any("red" in c for c in bg), (device, bg)
        assert any("orange" in c for c in bg), (device, bg)
    assert words["strap"] in " ".join(table.split()), table
    assert rings == 1, rings  # the alarm rang; the warnings did not
    assert words["count"] in status, status
    assert words["ack"] in question and words["strap"] in question, question


class AlarmAndWarning(CentralMonitor):
    """A real alarm and the strap's warning side by side (the trial's dropout): the alarm
    first, red with ⚠; the warning below it, amber with "!"; a quiet treadmill last."""

    def listen(self):
        f = self.fleet
        for dev, alarms in (("tm-1", (STRAP_ALARM,)), ("tm-2", ("hr_lost",)), ("tm-3", ())):
            sp = dataclasses.replace(a_setpoint(), alarms=alarms)
            f.apply(tm.topic("oslo", dev, "status"),
                    tm.status_payload(True, activity="running"), 0.0)
            f.apply(tm.topic("oslo", dev, "session"),
                    tm.session_payload(f"S{dev[-1]}", f"P-{dev[-1]}", sp), 0.0)
            f.apply(tm.topic("oslo", dev, "telemetry"),
                    tm.telemetry_payload(f"S{dev[-1]}", 1, sp, 3.0, 5.0), 0.0)
        f.apply(tm.topic("oslo", "tm-1", "event"),
                tm.event_payload("S1", 0, Event(0, STRAP_ALARM, "x", "warning")), 0.0)
        f.apply(tm.topic("oslo", "tm-2", "event"),
                tm.event_payload("S2", 0, Event(0, "hr_lost", "x", "alarm")), 0.0)
        self.connected = True
        self.redraw()


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


def test_monitor_with_an_alarm_and_a_warning(snap_compare, lang):
    assert snap_compare(AlarmAndWarning(MqttSettings(), clock=lambda: 1.0),
                        terminal_size=(80, 24))
