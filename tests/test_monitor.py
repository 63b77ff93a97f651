"""The central monitor's view on a real mosquitto: rows appear, go stale, go offline."""

import asyncio
import subprocess
import sys

from textual.widgets import DataTable

from controller.app.monitor import CentralMonitor
from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher, MqttSettings
from controller.protocol import Event
from tests.test_mqtt import PUBLISHER_SCRIPT, a_setpoint


def cells(app, key):
    table = app.query_one(DataTable)
    return [str(c) for c in table.get_row(key)]


async def wait_for(pred, timeout_s=20.0):
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.1)


def test_monitor_shows_every_treadmill_and_marks_stale_and_offline(broker):
    sp = a_setpoint()
    now = [0.0]

    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-1"))
        task = asyncio.create_task(pub.run())
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
        pub.offer_event(tm.event_payload("S1", 0, Event(0.0, "hr_lost", "no HR", "alarm")))
        other = subprocess.Popen([sys.executable, "-c", PUBLISHER_SCRIPT, str(broker.port)],
                                 stdout=subprocess.PIPE, text=True)
        assert other.stdout.readline().strip() == "online"
        app = CentralMonitor(MqttSettings(port=broker.port), clock=lambda: now[0])
        try:
            async with app.run_test(size=(100, 24)):
                table = app.query_one(DataTable)
                await wait_for(lambda: "oslo/tm-1" in table.rows and "oslo/tm-9" in table.rows)
                await wait_for(lambda: cells(app, "oslo/tm-1")[5] != "—")
                row = cells(app, "oslo/tm-1")
                assert row[1] == "online" and row[2] == "P-17" and row[3] == "warm-up"
                assert row[5].startswith("100")
                now[0] = 30.0  # no telemetry for 30 s
                app.redraw()
                assert cells(app, "oslo/tm-1")[1] == "stale"
                other.kill()  # the other treadmill's service dies: its will says offline
                await wait_for(lambda: (app.redraw() or True) and
                               cells(app, "oslo/tm-9")[1] == "offline")
        finally:
            other.kill()
            other.wait()
            task.cancel()

    asyncio.run(asyncio.wait_for(main(), 60))
