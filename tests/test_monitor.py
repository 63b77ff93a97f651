"""The central monitor as a nurse sees it: what is rendered (not the cell data), on a real
mosquitto where the network matters."""

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time

import aiomqtt
import pytest
from textual.widgets import DataTable

from controller.app.monitor import CentralMonitor
from controller.core import i18n
from controller.net import telemetry as tm
from controller.net.fleet import Fleet
from controller.net.publisher import MqttPublisher, MqttSettings
from controller.net.remote import Verifier, listen
from controller.protocol import Event
from tests.test_mqtt import PUBLISHER_SCRIPT, a_setpoint

T0 = 1_790_000_000.0
KEY = b"k" * 24


class Offline(CentralMonitor):
    """No broker: the test feeds messages the way the listener would."""

    def __init__(self, clock, **kw):
        super().__init__(MqttSettings(port=1), clock=clock, **kw)
        self.rings = 0

    def listen(self):
        self.connected = True

    def bell(self):
        self.rings += 1
        super().bell()

    def feed(self, site, device, kind, payload, retained=False):
        self.on_message(tm.topic(site, device, kind), payload, retained)


def rendered(app) -> list[str]:
    """The monitor's table as drawn on the terminal, line by line."""
    table = app.query_one(DataTable)
    return [table.render_line(y).text for y in range(table.size.height)]


def rendered_row(app, name):
    return next(line for line in rendered(app) if f" {name} " in line)


def running(app, site, device, *, now, session="S1", patient="P-17", **sp_changes):
    sp = dataclasses.replace(a_setpoint(), **sp_changes)
    app.feed(site, device, "status", tm.status_payload(True, now, activity="running"))
    app.feed(site, device, "session", tm.session_payload(session, patient, sp, None, now))
    app.feed(site, device, "telemetry", tm.telemetry_payload(session, 1, sp, 3.0, 5.0, now))


async def settle(pilot, app):
    app.redraw()
    await pilot.pause()


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 60))


def test_whole_values_at_80_and_160_columns():
    """181 bpm is shown as 181, 'interval 2' whole, alarm names whole — also after the first
    content of a column was a narrow '—' (the old monitor kept that width)."""
    now = [T0]

    async def main():
        for size, n in (((80, 24), 6), ((160, 48), 24)):
            app = Offline(lambda: now[0])
            async with app.run_test(size=size) as pilot:
                app.feed("oslo", "tm-1", "status", tm.status_payload(True, now[0]))
                await settle(pilot, app)  # the first content is "—" everywhere
                for i in range(1, n + 1):
                    alarms = ("hr_lost", "hrmax_underestimated") if i == 1 else ()
                    running(app, "oslo", f"tm-{i}", now=now[0], session=f"S{i}",
                            patient=f"P-{100 + i}", hr_bpm=181.0, phase="interval",
                            interval=2, zone_low_bpm=156.0, zone_high_bpm=174.0,
                            phase_remaining_s=151.0, alarms=alarms)
                await settle(pilot, app)
                lines = rendered(app)
                text = "\n".join(lines)
                for i in range(1, n + 1):
                    row = rendered_row(app, f"tm-{i}")
                    for whole in (f"P-{100 + i}", "interval 2", "181 ↑", " 2:31"):
                        assert whole in row, (size, whole, row)
                words = " ".join(text.split())  # an alarm may wrap between its words
                assert "heart rate lost" in words and "HRmax likely too low" in words, text
                assert all(len(line) <= size[0] for line in lines)
                if size[0] >= 160:
                    assert "156–174" in rendered_row(app, "tm-2")

    run(main())


def test_alarm_rows_come_first_in_colour_with_a_symbol_and_the_bell():
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            running(app, "oslo", "tm-1", now=now[0])
            running(app, "oslo", "tm-9", now=now[0], session="S9", alarms=("hr_lost",))
            await settle(pilot, app)
            lines = [ln for ln in rendered(app) if "tm-" in ln]
            assert "tm-9" in lines[0] and "⚠" in lines[0] and "heart rate lost" in lines[0]
            assert "⚠" not in lines[1]
            table = app.query_one(DataTable)
            colours = {str(seg.style.bgcolor) for seg in table.render_line(1)
                       if seg.text.strip() and seg.style and seg.style.bgcolor}
            assert any("red" in c for c in colours), colours
            assert app.rings == 1
            await settle(pilot, app)
            assert app.rings == 1  # the same alarm rings once
            running(app, "oslo", "tm-1", now=now[0], alarms=("hr_implausible",))
            await settle(pilot, app)
            assert app.rings == 2

    run(main())


def test_the_monitor_says_hold_and_slow_in_the_consoles_words_in_bokmal():
    """A nurse at the monitor and one at the console read one lost-pulse step in the same
    words (the monitor said «senker farten» for the slow, the console «finner ikke pulsen –
    senker til rolig gange»)."""
    from controller.core.words import STATES, word

    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(120, 24)) as pilot:
            for dev, state in (("tm-3", "hr_hold"), ("tm-4", "hr_slow")):
                running(app, "oslo", dev, now=now[0], session=dev, state=state)
            await settle(pilot, app)
            return rendered_row(app, "tm-3"), rendered_row(app, "tm-4")

    i18n.set_language("nb")
    try:
        hold, slow = asyncio.run(asyncio.wait_for(main(), 60))
        assert "venter på puls – holder farten" in hold, hold
        assert word(STATES, "hr_slow") in slow, slow
        assert "finner ikke pulsen – senker til rolig gange" in slow, slow
    finally:
        i18n.set_language("en")


def test_paused_hold_and_slow_down_are_visible():
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            for dev, state in (("tm-1", "running"), ("tm-2", "paused"), ("tm-3", "hr_hold"),
                               ("tm-4", "hr_slow")):
                running(app, "oslo", dev, now=now[0], session=dev, state=state)
            await settle(pilot, app)
            assert "running" in rendered_row(app, "tm-1")
            assert "paused" in rendered_row(app, "tm-2")
            assert "HR hold" in rendered_row(app, "tm-3")
            assert "slowing (no heart rate)" in rendered_row(app, "tm-4")
            order = [ln.split()[0] for ln in rendered(app) if "tm-" in ln]
            assert order.index("tm-1") == 3  # those needing a look come first

    run(main())


def test_idle_running_stale_and_offline_are_told_apart():
    f = Fleet()
    now = T0
    sp = a_setpoint()
    f.apply(tm.topic("o", "idle", "status"), tm.status_payload(True, now, activity="idle"), now)
    f.apply(tm.topic("o", "run", "status"), tm.status_payload(True, now, activity="running"),
            now)
    f.apply(tm.topic("o", "run", "telemetry"), tm.telemetry_payload("S", 1, sp, 1, 0, now), now)
    f.apply(tm.topic("o", "gone", "status"), tm.status_payload(False, now, cause="will"), now)
    # a retained "online" from a Pi that hung an hour ago
    f.apply(tm.topic("o", "hung", "status"),
            tm.status_payload(True, now - 3600, activity="idle"), now, retained=True)
    row = f.rows
    assert row[("o", "idle")].link(now + 1) == "idle"
    assert row[("o", "run")].link(now + 1) == "running"
    assert row[("o", "gone")].link(now + 1) == "offline"
    assert row[("o", "hung")].link(now + 1) == "stale"
    # idle stays idle while its heartbeat comes; the running one is stale 6 s after telemetry
    f.apply(tm.topic("o", "idle", "status"), tm.status_payload(True, now + 10), now + 10)
    assert row[("o", "idle")].link(now + 12) == "idle"
    assert row[("o", "run")].link(now + 12) == "stale"
    assert row[("o", "idle")].link(now + 10 + 3 * tm.HEARTBEAT_S + 1) == "stale"
    assert row[("o", "run")].age_s(now + 12) == 12


BAD = [
    ("telemetry", {"hr_bpm": "abc"}),
    ("telemetry", {"phase_remaining_s": "soon"}),
    ("telemetry", {"interval": "two"}),
    ("telemetry", {"zone_low_bpm": "low", "hr_bpm": 150}),
    ("session", {"alarms": "hr_lost"}),
    ("session", {"pseudonym": 17}),
    ("telemetry", {"hr_bpm": 1e308}),
    ("status", {"state": "online", "heartbeat_s": "often"}),
]


def bad_payload(kind, change):
    sp = a_setpoint()
    good = {"telemetry": tm.telemetry_payload("S1", 1, sp, 3.0, 5.0, T0),
            "session": tm.session_payload("S1", "P-1", sp, None, T0),
            "status": tm.status_payload(True, T0)}[kind]
    return json.dumps({**json.loads(good), **change}).encode()


def test_wrong_typed_fields_are_counted_and_shown_never_fatal():
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            running(app, "oslo", "tm-1", now=now[0])
            for kind, change in BAD:
                app.feed("oslo", "tm-1", kind, bad_payload(kind, change))
            app.feed("oslo", "tm-1", "telemetry", b'{"schema": "fourbyfour.telemetry/1", '
                     b'"hr_bpm": NaN}')
            await settle(pilot, app)
            assert app.fleet.ignored == len(BAD) + 1
            assert f"{len(BAD) + 1} bad messages" in rendered_row(app, "tm-1")
            status = str(app.query_one("#status").render())
            assert f"bad messages: {len(BAD) + 1}" in status

    run(main())


def headless_monitor(port, tmp_path, extra=""):
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(f"[mqtt]\nport = {port}\n{extra}")
    return subprocess.Popen([sys.executable, "-m", "controller", "monitor", "--headless",
                             "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "TERM": "dumb"})


def test_a_retained_bad_message_does_not_take_the_monitor_down(broker, tmp_path):
    async def publish():
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            for i, (kind, change) in enumerate(BAD):
                await c.publish(tm.topic("oslo", f"tm-{i}", kind), bad_payload(kind, change),
                                qos=1, retain=True)

    asyncio.run(publish())
    proc = headless_monitor(broker.port, tmp_path)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(5)  # still running with every bad message retained
    finally:
        proc.kill()
        proc.wait()


def test_a_monitor_crash_exits_non_zero(tmp_path):
    junk = tmp_path / "ca.crt"
    junk.write_text("not a certificate\n")
    proc = headless_monitor(1, tmp_path, f'tls_ca_file = "{junk}"\n')
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0, out


def test_stop_and_acknowledge_from_the_selected_row_after_confirmation(broker):
    sp = dataclasses.replace(a_setpoint(), alarms=("hr_lost",))

    async def main():
        got = []
        s = MqttSettings(port=broker.port, site="oslo", device="tm-1")
        v = Verifier(KEY, site="oslo", device="tm-1", session_id=lambda: "S1")
        lst = asyncio.create_task(listen(s, v, lambda c, a: got.append((c, a))))
        pub = MqttPublisher(s)
        task = asyncio.create_task(pub.run())
        pub.set_activity("running")
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
        app = CentralMonitor(MqttSettings(port=broker.port, site="oslo"),
                             command_key=lambda site, dev: KEY if dev == "tm-1" else None)
        try:
            async with app.run_test(size=(100, 24)) as pilot:
                async with asyncio.timeout(20):
                    while not any("heart rate lost" in ln for ln in rendered(app)):
                        await asyncio.sleep(0.1)
                await pilot.press("s")
                await pilot.press("n")  # cancelled: nothing sent
                await asyncio.sleep(1.0)
                assert got == []
                await pilot.press("a")
                await pilot.press("y")
                await pilot.press("s")
                await pilot.press("y")
                async with asyncio.timeout(10):
                    while len(got) < 2:
                        await asyncio.sleep(0.1)
                assert got == [("ack", "hr_lost"), ("stop", None)]
        finally:
            lst.cancel()
            task.cancel()

    run(main())


def test_norwegian_when_the_config_says_so():
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            running(app, "oslo", "tm-1", now=now[0], state="paused")
            app.feed("oslo", "tm-2", "status", tm.status_payload(True, now[0]))
            await settle(pilot, app)
            return "\n".join(rendered(app))

    i18n.set_language("nb")
    try:
        text = asyncio.run(main())
    finally:
        i18n.set_language("en")
    assert "pause" in text.lower() and "i ro" in text and "pasient" in text, text


def test_monitor_shows_every_treadmill_and_marks_stale_and_offline(broker):
    sp = a_setpoint()
    offset = [0.0]

    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-1"))
        task = asyncio.create_task(pub.run())
        pub.set_activity("running")
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
        pub.offer_event(tm.event_payload("S1", 0, Event(0.0, "hr_lost", "no HR", "alarm")))
        other = subprocess.Popen([sys.executable, "-c", PUBLISHER_SCRIPT, str(broker.port)],
                                 stdout=subprocess.PIPE, text=True)
        assert other.stdout.readline().strip() == "online"
        app = CentralMonitor(MqttSettings(port=broker.port), clock=lambda: time.time() + offset[0])
        try:
            async with app.run_test(size=(100, 24)) as pilot:
                async with asyncio.timeout(20):
                    while not any("tm-1" in ln and "100" in ln for ln in rendered(app)) or \
                            not any("tm-9" in ln for ln in rendered(app)):
                        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
                        await asyncio.sleep(0.2)
                row = rendered_row(app, "tm-1")
                assert "running" in row and "P-17" in row and "warm-up" in row
                assert "idle" in rendered_row(app, "tm-9")
                offset[0] = 30.0  # no telemetry for 30 s
                await settle(pilot, app)
                assert "stale" in rendered_row(app, "tm-1")
                other.kill()  # the other treadmill's service dies: its will says offline
                async with asyncio.timeout(20):
                    while "offline" not in rendered_row(app, "tm-9"):
                        await settle(pilot, app)
                        await asyncio.sleep(0.2)
        finally:
            other.kill()
            other.wait()
            task.cancel()

    run(main())


def test_bokmal_monitor_says_hold_and_alarms_in_glossary_words():
    """Was "pulsstopp" (read as cardiac arrest) for the heart-rate hold and the raw key
    ``hr_lost`` in the row and in the acknowledge question."""
    now = [T0]

    async def main():
        # with command keys (network commands on): stop and acknowledge are offered
        app = Offline(lambda: now[0], command_key=lambda site, device: b"k" * 32)
        async with app.run_test(size=(120, 30)) as pilot:
            running(app, "oslo", "tm-3", now=now[0], session="S3", state="hr_hold")
            running(app, "oslo", "tm-9", now=now[0], session="S9", state="hr_slow",
                    alarms=("hr_lost",))
            await settle(pilot, app)
            table = "\n".join(rendered(app))
            footer = [b.binding.description for b in app.active_bindings.values()]
            assert "Stopp tredemølle" in footer, footer  # was English in a bokmål monitor
            app.query_one(DataTable).move_cursor(row=0)
            await pilot.press("a")
            await pilot.pause()
            question = " ".join(str(w.render()) for w in app.screen.query("Static"))
            await pilot.press("n")
            return table, question

    i18n.set_language("nb")
    try:
        table, question = asyncio.run(main())
    finally:
        i18n.set_language("en")
    assert "venter på puls" in table and "pulsstopp" not in table, table
    assert "hr_lost" not in table and "finner ikke pulsen" in table, table
    assert "hr_lost" not in question and "finner ikke pulsen" in question, question
    assert "Trykk j" in question, question


def test_a_count_before_a_noun_takes_its_number_in_the_monitors_notes():
    """'1 ugyldige meldinger' / '1 hendelser mistet' were the plural for one (issue 21)."""
    from controller.app.monitor import row_cells
    from controller.core.i18n import set_language
    from controller.net.fleet import TreadmillRow

    set_language("nb")
    one = " ".join(row_cells(TreadmillRow("oslo", "tm-1", missed_events=1, bad_messages=1),
                             0.0, False).values)
    two = " ".join(row_cells(TreadmillRow("oslo", "tm-1", missed_events=2, bad_messages=2),
                             0.0, False).values)
    assert "1 hendelse mistet" in one and "1 ugyldig melding" in one, one
    assert "2 hendelser mistet" in two and "2 ugyldige meldinger" in two, two
