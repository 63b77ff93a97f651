"""Issue 21, the last trial's monitor findings: the monitor as rendered (Pilot), a real
mosquitto where MQTT is involved."""

import asyncio

import pytest

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


def _console_links_of_the_demo_service(tmp_path, config: str | None) -> str:
    """The console demo's way: the headless demo service as a subprocess (the command the
    console demo runs, ``demo_service_command``), the staff console on its socket (Pilot);
    the console's status line once the service has said its MQTT state."""
    import argparse
    import os
    import subprocess

    from textual.widgets import Static

    from controller.app.commands.demo_console import demo_service_command
    from controller.app.console import StaffConsole
    from tests.console_rig import wait_for

    sock = str(tmp_path / "control.sock")
    args = argparse.Namespace(speed=5.0, seed=2, category="typical", config=config,
                              lang="nb", patient=None)
    cmd = demo_service_command(args, sock, str(tmp_path / "sessions.db"))
    with open(tmp_path / "service.log", "wb") as out:
        service = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        async def main() -> str:
            await wait_for(lambda: os.path.exists(sock), 60)
            app = StaffConsole(sock)
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_for(lambda: app.state.get("session_id"), 30)
                await asyncio.sleep(2.0)  # the publisher has tried (and failed) by now
                await pilot.pause()
                return str(app.query_one("#links", Static).render())

        i18n.set_language("nb")
        try:
            return asyncio.run(asyncio.wait_for(main(), 120))
        finally:
            i18n.set_language("en")
    finally:
        service.terminate()
        service.wait(30)


def test_the_demo_without_a_broker_says_nothing_alarming_about_mqtt(tmp_path):
    """The trial: «MQTT frakoblet» in every demo, which has no broker unless one is asked for.
    No broker configured: the console says central monitoring is not in use."""
    shown = _console_links_of_the_demo_service(tmp_path, None)
    assert "frakoblet" not in shown and "offline" not in shown, shown
    assert "sentral overvåking: ikke i bruk" in " ".join(shown.split()), shown


def test_a_configured_broker_out_of_reach_is_said_in_glossary_words(tmp_path):
    """A broker configured and out of reach: still said, in the glossary's words
    («MQTT-serveren», «mistet kontakt»/«ingen kontakt»), not «MQTT frakoblet»."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "clinic.toml"
    cfg.write_text(f'language = "nb"\n\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n\n'
                   '[belt_view]\nport = 0\n')
    shown = " ".join(_console_links_of_the_demo_service(tmp_path, str(cfg)).split())
    assert "frakoblet" not in shown, shown
    assert "ingen kontakt med MQTT-serveren" in shown, shown


PHASE_PARAMS = {"phase": "interval", "interval": 2, "total": 4, "duration_s": 240.0,
                "zone_low_bpm": 156.0, "zone_high_bpm": 174.0}


def test_mqtt_events_carry_their_params_and_the_monitor_renders_them_from_the_catalog(broker):
    """The trial: the console renders an event from its code and params (the catalog), the
    monitor got only the code and the English message. A treadmill's event (real mosquitto)
    now carries its params; the bokmål monitor says it in the catalog's words with them."""
    import aiomqtt  # noqa: F401  (the broker's client, as the monitor's)

    from controller.app.monitor import CentralMonitor
    from controller.core.words import event_text
    from controller.net import telemetry as tm
    from controller.net.publisher import MqttPublisher, MqttSettings
    from controller.protocol import Event
    from tests.test_monitor import rendered
    from tests.test_mqtt import a_setpoint

    sp = a_setpoint()
    event = Event(12.0, "phase", "interval 2 of 4 begins", "info", dict(PHASE_PARAMS))

    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-1"))
        task = asyncio.create_task(pub.run())
        pub.set_activity("running")
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        app = CentralMonitor(MqttSettings(port=broker.port))
        try:
            async with app.run_test(size=(100, 24)) as pilot:
                async with asyncio.timeout(20):
                    while not app.fleet.rows.get(("oslo", "tm-1")):
                        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
                        await asyncio.sleep(0.2)
                pub.offer_event(tm.event_payload("S1", 0, event))  # events are not retained
                async with asyncio.timeout(20):
                    while not app.fleet.rows[("oslo", "tm-1")].events:
                        await asyncio.sleep(0.1)
                await settle(pilot, app)
                return (app.fleet.rows[("oslo", "tm-1")].events[-1],
                        str(app.query_one("#status").render()), rendered(app))
        finally:
            task.cancel()

    i18n.set_language("nb")
    try:
        doc, status, _table = asyncio.run(asyncio.wait_for(main(), 60))
        said = event_text("phase", event.message, PHASE_PARAMS)
    finally:
        i18n.set_language("en")
    assert doc["params"] == PHASE_PARAMS, doc
    assert "2 av 4" in said and "156–174" in said, said  # the catalog's words, with params
    assert said in " ".join(status.split()), status
    assert "interval 2 of 4 begins" not in status, status


def test_an_event_without_params_is_still_version_1_and_an_old_document_is_read():
    """Old readers keep working: an event with no params is published as version 1 (what an
    older monitor reads), and a version-1 document is read by this one."""
    import json

    from controller.net import telemetry as tm
    from controller.net.fleet import Fleet
    from controller.protocol import Event

    plain = tm.event_payload("S1", 0, Event(1.0, "hr_lost", "no HR", "alarm"))
    assert json.loads(plain)["schema"] == "fourbyfour.event/1"
    with_params = tm.event_payload("S1", 1, Event(2.0, "phase", "x", "info", PHASE_PARAMS))
    assert json.loads(with_params)["schema"] == "fourbyfour.event/2"
    fleet = Fleet()
    topic = tm.topic("oslo", "tm-1", "event")
    assert fleet.apply(topic, plain, 1.0) and fleet.apply(topic, with_params, 2.0)
    assert fleet.ignored == 0


HOSTILE_PARAMS = [
    {"phase": "\x1b[2J\x1b[31minterval"},       # an escape sequence as a value
    {"interval": {"nested": 1}},                  # not a plain value
    {"interval": [1, 2]},
    {"Interval\x07": 1},                          # a name that is not a key
    {f"k{i}": i for i in range(40)},              # too many
    {"phase": "x" * 300},                         # free text, not a key
    {"interval": 1e300},                          # beyond any count
    "interval 2 of 4",                            # not an object
]


def test_a_hostile_params_value_is_refused_and_counted_never_drawn():
    """Text from the network is data: a params value that is not a small map of plain
    values and keys is refused and counted as other hostile fields are
    (tests/test_hostile_net.py), its reason shown without a control character; the monitor
    (Pilot) carries on and draws no event from it."""
    import json

    from controller.net import telemetry as tm
    from controller.protocol import Event
    from tests.test_hostile_net import control_chars
    from tests.test_monitor import rendered

    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            running(app, "oslo", "tm-1", now=now[0])
            for i, params in enumerate(HOSTILE_PARAMS):
                doc = json.loads(tm.event_payload("S1", i, Event(1.0, "phase", "x", "info",
                                                                   {"phase": "warmup"})))
                doc["params"] = params
                app.feed("oslo", "tm-1", "event", json.dumps(doc).encode())
            await settle(pilot, app)
            row = app.fleet.rows[("oslo", "tm-1")]
            return (app.fleet.ignored, row.bad_messages, row.events, rendered(app),
                    str(app.query_one("#status").render()), app.is_running)

    ignored, bad, events, lines, status, alive = asyncio.run(asyncio.wait_for(main(), 60))
    assert alive and ignored == len(HOSTILE_PARAMS) and bad == len(HOSTILE_PARAMS), (
        ignored, status)
    assert events == [], events
    shown = [*lines, *status.split("\n")]
    assert not any(control_chars(ln) for ln in shown), shown


def test_the_monitor_bridges_a_short_gap_and_no_more_as_the_console_does():
    """core.pulse's rule whole: through a gap shorter than KEEP_S the last believed heart
    rate stays (the console and the belt page keep it); after it, none."""
    from controller.core.pulse import KEEP_S

    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        seen = []
        async with app.run_test(size=(140, 24)) as pilot:
            for t_s, hr in ((10.0, 150.0), (12.0, None), (10.0 + KEEP_S + 0.5, None)):
                running(app, "oslo", "tm-1", now=now[0], state="running", now_s=t_s,
                        hr_bpm=hr, zone_low_bpm=140.0, zone_high_bpm=160.0)
                await settle(pilot, app)
                seen.append(rendered_row(app, "tm-1"))
        return seen

    first, gap, after = asyncio.run(asyncio.wait_for(main(), 60))
    assert "150 ✓" in first and "150 ✓" in gap, (first, gap)
    assert "150" not in after, after


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_no_broker_with_a_long_strap_and_a_fault_still_fits_80_columns(lang):
    """«sentral overvåking: ikke i bruk» is longer than «MQTT av»: with a BLE strap's battery
    and every fault of the treadmill, the status never wraps: the MQTT link's words go with
    the treadmill when the strap's line is full, or on a line of their own."""
    from rich.cells import cell_len
    from rich.text import Text
    from textual.widgets import Static

    from controller.core.words import FAULTS
    from tests.test_console import _Stepped, tmp_sock
    from tests.test_snapshots import HOST_SILENT

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for fault in FAULTS:
                app.feed(**dict(HOST_SILENT, treadmill=f"fault: {fault}", mqtt=None,
                                paired_strap={"kind": "ble", "address": "C0:FF:EE:00:00:02"},
                                strap_battery_pct=12))
                await pilot.pause()
                box = app.query_one("#links", Static)
                lines = Text.from_markup(str(box.render())).plain.split("\n")
                width = box.content_size.width
                assert all(cell_len(line) <= width for line in lines), (fault, lines)
                assert box.size.height == len(lines) <= 3, (fault, lines)
                said = " ".join(" ".join(lines).split())
                assert ("sentral overvåking: ikke i bruk" if lang == "nb" else
                        "central monitoring: not in use") in said, said

    i18n.set_language(lang)
    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")
