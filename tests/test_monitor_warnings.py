"""Issue 21 (bokmål new-nurse trial): the strap's missing-beats hint is a warning (the store,
MQTT and the report say so), but the central monitor drew it as an alarm — red, ⚠, the bell —
because it is held for acknowledgement. Through the monitor as rendered (Textual Pilot, 80×24,
in both languages): a warning is amber with a "!", sorted below alarms, rings no bell, and is
still acknowledged; a real alarm is still red with ⚠ and the bell, whatever an event says."""

import asyncio
import dataclasses

import pytest
from textual.widgets import DataTable

from controller.app.monitor import REDRAW_S, CentralMonitor
from controller.core import i18n
from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings
from controller.protocol import STRAP_ALARM, Event
from tests.console_rig import run_console
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

    order, seen, rings, status, question, table = run_console(main(), 60, lang)
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


# -- issue 21 (h21mon): one severity, from the session to the monitor ------------------------

def footer_keys(app) -> dict[str, str]:
    """The footer as rendered on the top screen: key → its words."""
    from textual.widgets._footer import FooterKey

    return {k.key_display: k.description for k in app.screen.query(FooterKey)}


def payload(kind, alarms, severity=None, version=2, session="S1", seq=1):
    """A treadmill's telemetry or session document holding ``alarms``; ``severity`` (a dict)
    is its ``alarm_severity``; version 1 is an older treadmill's (no severity at all)."""
    import json

    sp = dataclasses.replace(a_setpoint(), alarms=tuple(alarms))
    doc = json.loads(tm.telemetry_payload(session, seq, sp, 3.0, 5.0) if kind == "telemetry"
                     else tm.session_payload(session, "P-1", sp))
    if version == 1:
        doc.pop("alarm_severity", None)
        doc["schema"] = f"fourbyfour.{kind}/1"
    elif severity is not None:
        doc["alarm_severity"] = severity
    return json.dumps(doc).encode()


class Ringing(CentralMonitor):
    rings = 0

    def bell(self):
        self.rings += 1
        super().bell()


async def publish_rows(port, rows):
    """``rows``: device → (alarms, severity, version), published as a running treadmill."""
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port) as c:
        for dev, (alarms, severity, version) in rows.items():
            sid = "S" + dev[-1]
            await c.publish(tm.topic("oslo", dev, "status"),
                            tm.status_payload(True, activity="running"), qos=1)
            await c.publish(tm.topic("oslo", dev, "session"),
                            payload("session", alarms, severity, version, sid), qos=1)
            await c.publish(tm.topic("oslo", dev, "telemetry"),
                            payload("telemetry", alarms, severity, version, sid), qos=1)


def test_the_monitor_takes_each_alarms_severity_from_the_treadmills_documents(broker):
    """The severity is in the data (``alarm_severity``, version 2), not in the monitor's own
    list: a name the monitor has never heard of that the treadmill calls a warning is amber
    with no bell; the strap's hint the treadmill raised to an alarm is red with the bell; an
    older treadmill's version-1 documents (no severity) are still read, by the core's one
    list. Real mosquitto, the monitor as rendered (Pilot)."""
    from controller.net.publisher import MqttSettings as Settings

    rows = {"tm-1": (["strap_checkup"], {"strap_checkup": "warning"}, 2),
            "tm-2": ([STRAP_ALARM], {STRAP_ALARM: "alarm"}, 2),
            "tm-3": ([STRAP_ALARM], None, 1),
            "tm-4": (["hr_lost"], None, 1),
            "tm-5": (["hr_lost", STRAP_ALARM], {"hr_lost": "alarm", STRAP_ALARM: "warning"},
                     2)}

    async def main():
        app = Ringing(Settings(port=broker.port, site="oslo"),
                      command_key=lambda site, device: b"k" * 32)
        async with app.run_test(size=(120, 30)) as pilot:
            async with asyncio.timeout(20):
                while not app.connected:
                    await asyncio.sleep(0.05)
            rang = []
            for part in (("tm-1", "tm-3"), ("tm-2", "tm-4", "tm-5")):  # warnings first
                await publish_rows(broker.port, {d: rows[d] for d in part})
                async with asyncio.timeout(20):
                    while not all(("oslo", d) in app.fleet.rows and
                                  app.fleet.rows[("oslo", d)].alarms for d in part) \
                            and not app.fleet.ignored:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(2 * REDRAW_S)
                await settle(pilot, app)
                rang.append(app.rings)
            seen = {d: (backgrounds(app, d), rendered(app)[row_y(app, d)]) for d in rows}
            return seen, rang, app.fleet.ignored, app.fleet.last_error

    seen, rings, ignored, why = asyncio.run(asyncio.wait_for(main(), 60))
    assert ignored == 0, why  # every document read, the version-1 ones too
    for dev in ("tm-1", "tm-3"):  # warnings: amber, "!"
        bg, line = seen[dev]
        assert line.lstrip().startswith("!") and not any("red" in c for c in bg), (dev, line)
    for dev in ("tm-2", "tm-4", "tm-5"):  # alarms: red, ⚠
        bg, line = seen[dev]
        assert "⚠" in line and any("red" in c for c in bg), (dev, line, bg)
    assert rings[0] == 0 and rings[1] >= 1, rings  # the warnings rang no bell; alarms did


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_a_key_says_warning_on_a_warning_row(lang):
    """Trial: the footer said «a Kvitter alarm» with the strap's amber hint selected. It says
    what a acknowledges on the selected row: the warning's word there, the alarm's on an alarm
    row (and the question after it says the same)."""
    words = {"nb": ("Kvitter advarsel", "Kvitter alarm", "advarselen"),
             "en": ("Acknowledge warning", "Acknowledge alarm", "the warning")}[lang]

    async def main():
        app = Offline(lambda: T0, command_key=lambda site, device: b"k" * 32)
        async with app.run_test(size=(80, 24)) as pilot:
            running(app, "oslo", "tm-1", now=T0, session="S1", alarms=("hr_lost",))
            running(app, "oslo", "tm-2", now=T0, session="S2", alarms=(STRAP_ALARM,))
            await settle(pilot, app)
            table = app.query_one(DataTable)
            said = []
            for dev in ("tm-2", "tm-1", "tm-2"):
                order = [ln for ln in rendered(app) if " tm-" in ln]
                table.move_cursor(row=next(i for i, ln in enumerate(order) if dev in ln))
                for _ in range(3):
                    await pilot.pause()
                said.append(footer_keys(app).get("a"))
            await pilot.press("a")
            await pilot.pause()
            question = " ".join(str(w.render()) for w in app.screen.query("Static"))
            await pilot.press("n")
            return said, question

    said, question = run_console(main(), 60, lang)
    assert said == [words[0], words[1], words[0]], said
    assert words[2] in question, question


def test_the_one_list_of_warnings_is_what_the_session_holds_as_warnings():
    """``protocol.WARNING_ALARMS`` is what a reader of an older document falls back on: it
    names exactly the names the session holds as warnings (``Session._hold`` calls)."""
    import ast
    import inspect

    from controller import protocol

    held = {}
    for node in ast.walk(ast.parse(inspect.getsource(protocol))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "_hold" \
                and len(node.args) == 3 and isinstance(node.args[2], ast.Constant):
            first = node.args[0]
            name = first.value if isinstance(first, ast.Constant) else \
                getattr(protocol, first.id, None) if isinstance(first, ast.Name) else None
            if isinstance(name, str):
                held[name] = node.args[2].value
    warnings = {n for n, severity in held.items() if severity == "warning"}
    assert warnings and warnings == set(protocol.WARNING_ALARMS), (held,
                                                                   protocol.WARNING_ALARMS)
