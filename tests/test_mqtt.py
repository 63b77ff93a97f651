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
