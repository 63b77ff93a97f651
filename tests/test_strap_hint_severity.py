"""Issue 21: the strap's "missing beats" hint is a warning to staff (the console labels it
ADVARSEL), but the service recorded and published it with severity "alarm". Through the
demo's service (emulated board, a strap that halves, a real broker, the store): the stored
event, the MQTT event and the session's summary all say warning; staff still see it on the
console (its line to acknowledge) until they acknowledge it."""

import asyncio
import dataclasses
import json

import aiomqtt

from controller.app.demo import run_demo
from controller.net.publisher import MqttSettings
from controller.protocol import STRAP_ALARM
from controller.records.store import Store
from controller.service.config import load
from tests.test_runtime import BRIEF


def test_the_missing_beats_hint_is_stored_and_published_as_a_warning(broker, tmp_path):
    cfg = dataclasses.replace(load(None), plan=BRIEF,
                              mqtt=MqttSettings(port=broker.port, site="t", device="tm-1"))
    db = tmp_path / "s.db"
    held = []
    runtime = []
    console_said = []  # the control socket's alarm list while the hint is held

    def on_ready(rt, _emu):
        runtime.append(rt)

    def on_tick(snap, _row):
        if STRAP_ALARM in snap.setpoint.alarms:
            held.append(snap.setpoint.now_s)
            if runtime:
                from collections import deque

                from controller.service.control_socket import snapshot_doc

                doc = snapshot_doc(runtime[0], snap, deque())
                console_said.extend(a.get("severity") for a in doc["alarm_list"]
                                    if a["kind"] == STRAP_ALARM)

    telemetry = []

    async def main():
        got = []
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.subscribe("clinic/v1/t/tm-1/event", qos=1)
            await c.subscribe("clinic/v1/t/tm-1/telemetry", qos=0)

            async def listen():
                async for m in c.messages:
                    doc = json.loads(m.payload)
                    if str(m.topic).endswith("/telemetry"):
                        telemetry.append(doc)
                    else:
                        got.append(doc)

            listener = asyncio.create_task(listen())
            rt, _rows = await asyncio.wait_for(
                run_demo(cfg, speedup=30, seed=3, category="strap_trouble",
                         store_path=str(db), on_tick=on_tick, on_ready=on_ready), 150)
            async with asyncio.timeout(10):
                while not any(d["kind"] == "done" for d in got):
                    await asyncio.sleep(0.05)
            listener.cancel()
        return rt, got

    rt, got = asyncio.run(main())
    published = [d["severity"] for d in got if d["kind"] == STRAP_ALARM]
    assert published, "the strap never missed beats in this run"
    assert set(published) == {"warning"}, published
    store = Store(db)
    try:
        stored = [e for e in store.events(rt.session_id) if e["kind"] == STRAP_ALARM]
        assert stored and {e["severity"] for e in stored} == {"warning"}, stored
        summary = store.session(rt.session_id).summary or {}
        assert STRAP_ALARM not in (summary.get("alarms") or []), summary
    finally:
        store.close()
    assert held, "the hint was not held for staff to see and acknowledge"
    # issue 21 (one severity): the held hint says it is a warning on the way to the monitor
    # (telemetry version 2) and to the console (the control socket's alarm list)
    with_hint = [d for d in telemetry if STRAP_ALARM in d["alarms"]]
    assert with_hint, "no telemetry held the hint"
    assert {d["schema"] for d in with_hint} == {"fourbyfour.telemetry/2"}, with_hint[0]
    assert {d["alarm_severity"].get(STRAP_ALARM) for d in with_hint} == {"warning"}, \
        with_hint[0]
    assert console_said and set(console_said) == {"warning"}, console_said
