"""MQTT with a real mosquitto: runtime payloads → broker → monitor model."""

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import aiomqtt
import jsonschema
import pytest

from controller.net import telemetry as tm
from controller.net.fleet import Fleet
from controller.net.publisher import MqttPublisher, MqttSettings
from controller.protocol import Event, PatientProfile, Session

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def schema(kind):
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text())


def a_setpoint():
    s = Session(PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0))
    for t in range(5):
        sp = s.step(float(t), 100.0, 0.0, 0.0)
    return sp


async def gather_messages(port, until, timeout_s=20.0, **kw):
    got = []
    async with aiomqtt.Client("127.0.0.1", port, **kw) as c:
        await c.subscribe("clinic/v1/#", qos=1)
        async with asyncio.timeout(timeout_s):
            async for m in c.messages:
                got.append((str(m.topic), bytes(m.payload), m.retain))
                if until(got):
                    return got
    return got


def test_payloads_match_their_json_schemas():
    sp = a_setpoint()
    docs = {
        "status": tm.status_payload(True, 1.0), "meta": tm.meta_payload("s", "d", "0.1", "4x4"),
        "session": tm.session_payload("abc", "P-17", sp, {"intervals_ok": 4}),
        "telemetry": tm.telemetry_payload("abc", 3, sp, 2.5, 0.0),
        "event": tm.event_payload("abc", 9, Event(1.0, "hr_lost", "no heart rate", "alarm")),
    }
    for kind, payload in docs.items():
        jsonschema.validate(json.loads(payload), schema(kind))
        assert tm.parse(tm.topic("s", "d", kind), payload)[2] == kind
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": "fourbyfour.telemetry/1"}, schema("telemetry"))
    # the paired strap (optional, issue 11) in the retained meta
    for strap in ({"kind": "ant", "device_number": 4242}, {"kind": "ble", "address": "AA:BB"}):
        jsonschema.validate(json.loads(tm.meta_payload("s", "d", "0.1", "4x4", strap)),
                            schema("meta"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(tm.meta_payload("s", "d", "0.1", "4x4",
                                                       {"kind": "ant", "device_number": 0})),
                            schema("meta"))


def test_state_flows_publisher_to_broker_to_monitor(broker):
    sp = a_setpoint()

    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-3"))
        task = asyncio.create_task(pub.run())
        pub.set_retained("meta", tm.meta_payload("oslo", "tm-3", "0.1", "4x4"))
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        for i in range(3):
            pub.offer_event(tm.event_payload("S1", i, Event(float(i), "phase", f"e{i}")))
        pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 1.0, 0.0))
        fleet = Fleet()

        def done(got):
            for t, p, _ in got[len(done.seen):]:
                fleet.apply(t, p, 0.0)
            done.seen = got[:]
            row = fleet.rows.get(("oslo", "tm-3"))
            return row is not None and row.last_event_seq == 2 and row.telemetry and row.meta
        done.seen = []
        got = await gather_messages(broker.port, done)
        task.cancel()
        return fleet, got

    fleet, got = asyncio.run(main())
    row = fleet.rows[("oslo", "tm-3")]
    assert row.online and row.meta["plan"] == "4x4" and row.session["pseudonym"] == "P-17"
    assert [e["seq"] for e in row.events] == [0, 1, 2] and row.missed_events == 0
    for t, p, _ in got:
        kind = t.rsplit("/", 1)[1]
        jsonschema.validate(json.loads(p), schema(kind))


PUBLISHER_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from controller.net.publisher import MqttPublisher, MqttSettings
    async def main():
        pub = MqttPublisher(MqttSettings(port=int(sys.argv[1]), site="oslo", device="tm-9"))
        t = asyncio.create_task(pub.run())
        while not pub.online:
            await asyncio.sleep(0.05)
        print("online", flush=True)
        await t
    asyncio.run(main())
""")


def test_last_will_says_offline_when_the_process_is_killed(broker):
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER_SCRIPT, str(broker.port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "online"

        async def main():
            def seen_offline(got):
                return any(t.endswith("tm-9/status") and json.loads(p)["state"] == "offline"
                           for t, p, _ in got)
            first = await gather_messages(broker.port, lambda got: any(
                t.endswith("tm-9/status") for t, _, _ in got))
            assert json.loads(first[-1][1])["state"] == "online"
            proc.kill()  # kill -9: no goodbye
            await gather_messages(broker.port, seen_offline, 15)
            # a monitor that connects later finds the will retained
            return await gather_messages(broker.port, lambda got: any(
                t.endswith("tm-9/status") for t, _, _ in got))

        got = asyncio.run(main())
        status = [(p, r) for t, p, r in got if t.endswith("tm-9/status")]
        assert json.loads(status[-1][0])["state"] == "offline" and status[-1][1]
    finally:
        proc.kill()
        proc.wait()


def test_broker_restart_mid_session_loses_no_events(broker):
    async def main():
        # a monitor with a persistent session, so it is owed what it missed
        sub_kw = dict(identifier="monitor-1", clean_session=False)
        async with aiomqtt.Client("127.0.0.1", broker.port, **sub_kw) as c:
            await c.subscribe("clinic/v1/+/+/event", qos=1)
        pub = MqttPublisher(MqttSettings(port=broker.port), max_backoff_s=1.0)
        task = asyncio.create_task(pub.run())
        for i in range(10):
            pub.offer_event(tm.event_payload("S1", i, Event(float(i), "tick", str(i))))
        while pub.sent_events < 10:
            await asyncio.sleep(0.05)
        broker.stop()
        for i in range(10, 30):  # the session goes on while the broker is down
            pub.offer_event(tm.event_payload("S1", i, Event(float(i), "tick", str(i))))
            await asyncio.sleep(0.05)
        assert not pub.online
        broker.start()
        seqs = []
        async with aiomqtt.Client("127.0.0.1", broker.port, **sub_kw) as c:
            await c.subscribe("clinic/v1/+/+/event", qos=1)
            async with asyncio.timeout(20):
                async for m in c.messages:
                    seqs.append(json.loads(m.payload)["seq"])
                    if len(set(seqs)) == 30:
                        break
        task.cancel()
        return seqs, pub

    seqs, pub = asyncio.run(main())
    assert sorted(set(seqs)) == list(range(30))
    assert pub.sent_events == 30 and pub.dropped == 0


def test_malformed_and_oversized_payloads_are_ignored_with_a_log_line(broker, caplog):
    async def main():
        fleet = Fleet()
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.subscribe("clinic/v1/#")
            await c.publish("clinic/v1/oslo/tm-1/telemetry", b"{not json")
            await c.publish("clinic/v1/oslo/tm-1/telemetry", b"x" * (tm.MAX_PAYLOAD_BYTES + 1))
            await c.publish("clinic/v1/oslo/tm-1/event", b'{"schema": "other/1"}')
            await c.publish("clinic/v1/oslo/tm-1/status", b'[1, 2]')
            await c.publish("clinic/v1/oslo/tm-1/status", tm.status_payload(True))
            n = 0
            async with asyncio.timeout(10):
                async for m in c.messages:
                    fleet.apply(str(m.topic), bytes(m.payload), 0.0)
                    n += 1
                    if n == 5:
                        break
        return fleet

    with caplog.at_level(logging.WARNING, logger="controller.net.fleet"):
        fleet = asyncio.run(main())
    assert fleet.ignored == 4
    assert fleet.rows[("oslo", "tm-1")].online
    text = caplog.text
    assert "not JSON" in text and "over the" in text and "schema" in text and "object" in text


def _tls_material(d: Path) -> tuple[Path, Path, Path]:
    def run(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=fourbyfour test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.crt", d / "server.crt", d / "server.key"


def test_tls_and_password_from_the_settings(tmp_path, make_broker):
    ca, crt, key = _tls_material(tmp_path)
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw), "tm", "s3cret"], check=True,
                   capture_output=True)
    pw.chmod(0o600)
    b = make_broker(f"allow_anonymous false\npassword_file {pw}\n"
                    f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\n")

    async def attempt(password):
        pub = MqttPublisher(MqttSettings(host="localhost", port=b.port, username="tm",
                                         password=password, tls_ca_file=str(ca)))
        task = asyncio.create_task(pub.run())
        for _ in range(60):
            if pub.online or pub.last_error:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        return pub

    good = asyncio.run(attempt("s3cret"))
    assert good.online
    bad = asyncio.run(attempt("wrong"))
    assert not bad.online and "authoriz" in bad.last_error.lower()


def retained_status(port, device):
    async def main():
        got = await gather_messages(port, lambda g: any(t.endswith(f"{device}/status")
                                                        for t, _, _ in g), 10)
        return next(json.loads(p) for t, p, _ in got if t.endswith(f"{device}/status"))
    return asyncio.run(main())


def test_every_document_carries_utc_wall_clock_time():
    import time
    sp = a_setpoint()
    before = time.time()
    for kind, payload in (("status", tm.status_payload(True)),
                          ("meta", tm.meta_payload("s", "d", "0.1", "4x4")),
                          ("session", tm.session_payload("S", "P-1", sp)),
                          ("telemetry", tm.telemetry_payload("S", 1, sp, 1.0, 0.0)),
                          ("event", tm.event_payload("S", 1, Event(0.0, "x", "y")))):
        doc = tm.parse(tm.topic("s", "d", kind), payload)[3]
        assert before - 1 <= doc["time_unix_s"] <= time.time() + 1, kind


def test_close_drains_the_outbox_then_says_offline(broker):
    """The final summary of a session (behind a queue of events) reaches the broker before
    the process ends, then the retained status says offline with the cause."""
    sp = a_setpoint()

    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-5"))
        task = asyncio.create_task(pub.run())
        while not pub.online:
            await asyncio.sleep(0.02)
        for i in range(300):
            pub.offer_event(tm.event_payload("S1", i, Event(float(i), "phase", f"e{i}")))
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp, {"intervals_ok": 4}))
        ok = await pub.close(task, "normal")  # at once: nothing may be lost
        return ok, pub

    ok, pub = asyncio.run(main())
    assert ok and pub.pending == 0 and pub.sent_events == 300

    async def check():
        got = await gather_messages(broker.port, lambda g: sum(
            t.endswith(("tm-5/session", "tm-5/status")) for t, _, _ in g) >= 2, 10)
        return {t.rsplit("/", 1)[1]: json.loads(p) for t, p, _ in got}

    docs = asyncio.run(check())
    assert docs["session"]["summary"] == {"intervals_ok": 4}
    assert docs["status"]["state"] == "offline" and docs["status"]["cause"] == "normal"


def test_close_is_bounded_when_the_broker_is_gone(broker):
    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-6"))
        task = asyncio.create_task(pub.run())
        while not pub.online:
            await asyncio.sleep(0.02)
        broker.stop()
        await asyncio.sleep(0.5)
        pub.offer_event(tm.event_payload("S1", 0, Event(0.0, "phase", "e")))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ok = await pub.close(task, "normal", timeout_s=1.0)
        return ok, loop.time() - t0

    ok, took = asyncio.run(main())
    assert not ok and took < 5.0


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_the_demo_says_offline_on_ctrl_c_and_sigterm(broker, tmp_path, sig):
    import signal
    import time
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[site]\nname = "oslo"\ndevice = "demo-{sig}"\n[mqtt]\nport = {broker.port}\n')
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--headless",
                             "--config", str(cfg), "--speed", "5", "--lang", "en"],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if "MQTT online" in line or time.monotonic() > deadline:
                break
        assert retained_status(broker.port, f"demo-{sig}")["state"] == "online"
        proc.send_signal(getattr(signal, sig))
        proc.wait(30)
    finally:
        proc.kill()
        proc.wait()
    doc = retained_status(broker.port, f"demo-{sig}")
    assert doc["state"] == "offline" and doc["cause"] == "signal", doc


def test_the_status_heartbeat_tells_idle_from_running(broker):
    async def main():
        pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-7"))
        pub.heartbeat_s = 0.3
        task = asyncio.create_task(pub.run())
        got = []
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.subscribe("clinic/v1/oslo/tm-7/status")
            async with asyncio.timeout(10):
                async for m in c.messages:
                    doc = json.loads(m.payload)
                    got.append(doc)
                    if len(got) == 3:
                        pub.set_activity("running")
                    if doc.get("activity") == "running":
                        break
        task.cancel()
        return got

    got = asyncio.run(main())
    assert [d["activity"] for d in got[:3]] == ["idle"] * 3
    assert got[-1]["activity"] == "running" and got[0]["heartbeat_s"] == 0.3


def test_a_publisher_cancelled_as_it_is_woken_is_cancelled(broker):
    """At shutdown ``close`` cancels the publisher's run task when the broker did not take
    the last messages in time, and waits for it. Python 3.11's ``asyncio.wait_for`` returns
    the publisher's wake-up (something queued) and drops a cancel arriving in the same loop
    step (as in the link's commands: tests/test_treadmill_link.py): the task goes on, and
    ``close`` — the service's stop — waits for it for ever. Made certain here: the cancel
    rides on the wake-up itself (a done-callback on what the publisher's event hands out)."""
    async def main():
        for _ in range(3):
            pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-1"))
            task = asyncio.create_task(pub.run())
            try:
                async with asyncio.timeout(20):  # connected, all sent: waiting to be woken
                    while not (pub.online and pub._idle.is_set() and pub._wake._waiters):
                        await asyncio.sleep(0.01)
                (woken,) = pub._wake._waiters
                woken.add_done_callback(lambda _, t=task: t.cancel())
                pub._wake.set()  # something to send … and the cancel in the same step
                done, _ = await asyncio.wait({task}, timeout=3.0)
                assert done and task.cancelled(), "the publisher went on after its cancel"
            finally:
                task.cancel()
                await asyncio.wait({task}, timeout=3.0)

    asyncio.run(main())
