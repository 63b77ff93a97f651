"""Each of our seven MQTT clients does its job over mutual TLS against a real mosquitto that
requires client certificates and applies ``systemd/mosquitto-acl.example`` (issue 25 item 2):
the telemetry publisher, the central monitor, the strap guard, the records link, the command
listener, the command tool and the records service. A client that is refused, or connects and
then hears or delivers nothing, fails its case.

The other end of each exchange is a plain test client with the certificate of the role the
ACL expects there (monitor, records, oslo/tm-1), so each case proves one client of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import pytest

from controller.app.monitor import CentralMonitor
from controller.net import records_link as rl
from controller.net import remote
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings, connect
from controller.net.publisher import MqttPublisher
from controller.net.records_link import RecordsLink
from controller.net.straps import SiteStraps, watch
from controller.records.clinic_db import SqliteClinicDb
from controller.service.records_server import RecordsServer
from tests.test_mqtt import a_setpoint

KEY = b"k" * 24
SITE, DEVICE = "oslo", "tm-1"

CLIENTS = ["publisher", "monitor", "strap guard", "records link", "command listener",
           "command tool", "records service"]


def settings(broker, cn: str, **kw) -> MqttSettings:
    crt, key = broker.pki.cert(cn)
    return MqttSettings(host="localhost", port=broker.port, tls_ca_file=str(broker.pki.ca),
                        tls_cert_file=str(crt), tls_key_file=str(key), **kw)


async def until(pred, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.05)


def peer(broker, cn: str, name: str):
    """The other end: a test client with the certificate of ``cn``."""
    return connect(settings(broker, cn, site=SITE), f"test.{name}")


async def publisher(b, tmp_path):
    pub = MqttPublisher(settings(b, f"{SITE}/{DEVICE}", site=SITE, device=DEVICE))
    async with peer(b, "monitor", "spy") as spy:
        await spy.subscribe(tm.topic(SITE, DEVICE, "status"), qos=1)
        task = asyncio.create_task(pub.run())
        try:
            async with asyncio.timeout(20):
                async for m in spy.messages:
                    if json.loads(bytes(m.payload))["state"] == "online":
                        return pub.online
        finally:
            task.cancel()


async def monitor(b, tmp_path):
    app = CentralMonitor(settings(b, "monitor", site=SITE))
    async with app.run_test(size=(100, 24)):
        await until(lambda: app.connected)
        async with peer(b, f"{SITE}/{DEVICE}", "tm") as c:
            await c.publish(tm.topic(SITE, DEVICE, "status"),
                            tm.status_payload(True, activity="idle"), qos=1, retain=True)
        await until(lambda: (SITE, DEVICE) in app.fleet.rows)
        return app.fleet.rows[(SITE, DEVICE)].online


async def strap_guard(b, tmp_path):
    me = settings(b, f"{SITE}/{DEVICE}", site=SITE, device=DEVICE)
    model = SiteStraps(SITE, DEVICE)
    task = asyncio.create_task(watch(me, model, proof_s=10.0))
    try:
        await until(lambda: model.subscribed)
        # our own retained status coming back is the proof that the broker lets it read
        async with peer(b, f"{SITE}/{DEVICE}", "tm") as c:
            await c.publish(tm.topic(SITE, DEVICE, "status"),
                            tm.status_payload(True, activity="idle"), qos=1, retain=True)
        await until(lambda: model.problem is None)
        return True
    finally:
        task.cancel()


async def records_link(b, tmp_path):
    pending = ["S1"]

    async def export(sid):
        return {"session": {"id": sid}}

    link = RecordsLink(settings(b, f"{SITE}/{DEVICE}", site=SITE, device=DEVICE),
                       pending=lambda: list(pending), export=export,
                       acked=lambda sid: pending.remove(sid), resend_s=2.0)
    async with peer(b, "records", "records") as srv:
        await srv.subscribe(f"{tm.TOPIC_PREFIX}/+/+/records/session/+", qos=1)
        task = asyncio.create_task(link.run())
        try:
            async with asyncio.timeout(20):
                async for m in srv.messages:
                    site, device, _what, sid = rl.split_records_topic(str(m.topic))
                    await srv.publish(rl.records_topic(site, device, "ack", sid),
                                      rl.encode({"schema": rl.ACK_SCHEMA, "session_id": sid}),
                                      qos=1)
                    await until(lambda: not pending)
                    return link.acks == 1
        finally:
            task.cancel()


async def command_listener(b, tmp_path):
    me = settings(b, f"{SITE}/{DEVICE}", site=SITE, device=DEVICE)
    got: list[tuple[str, str | None]] = []
    task = asyncio.create_task(remote.listen(
        me, remote.Verifier(KEY, site=SITE, device=DEVICE, session_id=lambda: "S1"),
        lambda c, a: got.append((c, a))))
    try:
        async with peer(b, "monitor", "monitor") as mon:
            await mon.subscribe(remote.reply_topic(SITE, DEVICE), qos=1)
            async with asyncio.timeout(20):
                # sent again until the listener is subscribed (a command is not retained)
                while True:
                    await mon.publish(remote.command_topic(SITE, DEVICE), remote.sign(
                        KEY, "stop", site=SITE, device=DEVICE, session_id="S1",
                        nonce="n" * 16), qos=1)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0):
                            async for m in mon.messages:
                                return remote.parse_reply(bytes(m.payload))["ok"] and \
                                    got[:1] == [("stop", None)]
    finally:
        task.cancel()


async def command_tool(b, tmp_path):
    async with peer(b, f"{SITE}/{DEVICE}", "tm") as tm1:
        await tm1.publish(tm.topic(SITE, DEVICE, "session"),
                          tm.session_payload("S1", "P-17", a_setpoint()), qos=1, retain=True)
        await tm1.subscribe(remote.command_topic(SITE, DEVICE), qos=1)

        async def answer():
            async for m in tm1.messages:
                doc = json.loads(bytes(m.payload))
                await tm1.publish(remote.reply_topic(SITE, DEVICE),
                                  remote.reply_payload(doc["nonce"], doc["cmd"], True, ""),
                                  qos=1)

        answering = asyncio.create_task(answer())
        try:
            session, done = await remote.send(settings(b, "monitor", site=SITE), SITE, DEVICE,
                                              KEY, "stop", timeout_s=15)
        finally:
            answering.cancel()
        return session == "S1" and done == "stop done"


async def records_service(b, tmp_path):
    srv = RecordsServer(settings(b, "records", site=SITE),
                        SqliteClinicDb(tmp_path / "clinic.db"))
    ready = asyncio.Event()
    task = asyncio.create_task(srv.run(ready))
    try:
        await until(ready.is_set)
        async with peer(b, f"{SITE}/{DEVICE}", "tm") as tm1:
            await tm1.subscribe(f"{tm.TOPIC_PREFIX}/{SITE}/{DEVICE}/records/profile-reply/+",
                                qos=1)
            await tm1.publish(rl.records_topic(SITE, DEVICE, "profile", "r1"), rl.encode(
                {"schema": rl.PROFILE_REQUEST_SCHEMA, "pseudonym": "P-3"}), qos=1)
            async with asyncio.timeout(20):
                async for m in tm1.messages:
                    reply = rl.decode(bytes(m.payload), rl.PROFILE_REPLY_SCHEMA)
                    return reply.get("pseudonym") == "P-3" and srv.profiles_answered == 1
    finally:
        task.cancel()


PROOFS = {"publisher": publisher, "monitor": monitor, "strap guard": strap_guard,
          "records link": records_link, "command listener": command_listener,
          "command tool": command_tool, "records service": records_service}


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_works_over_mutual_tls_and_the_example_acl(client, mtls_broker, tmp_path):
    assert asyncio.run(asyncio.wait_for(PROOFS[client](mtls_broker, tmp_path), 60)) is True


def test_the_seven_are_every_client_there_is():
    """A client added to the code must be added here too: every ``client_id`` role the code
    asks ``net/mqtt.py`` for is one of the seven (the test clients above use ``test.*``)."""
    import ast
    from pathlib import Path

    roles = set()
    for p in (Path(__file__).resolve().parent.parent / "controller").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                    "client_id", "mqtt_client_id") and node.args and \
                    isinstance(node.args[0], ast.Constant):
                roles.add(node.args[0].value)
    assert roles == {"pub", "monitor", "straps", "records", "cmd", "cmdtool",
                     "records-server"}
    assert len(CLIENTS) == len(roles) == 7


def test_without_its_certificate_every_long_running_client_says_tls_refused(mtls_broker,
                                                                            tmp_path):
    """The six clients that run for hours (publisher, monitor, strap guard, records link,
    command listener, records service) are refused without a client certificate, and each
    says "TLS refused" where staff or the log show it — not "timed out" (the TLS alert that
    paho only logs is what ``mqtt.error_text`` reports)."""
    no_cert = MqttSettings(host="localhost", port=mtls_broker.port, site=SITE, device=DEVICE,
                           tls_ca_file=str(mtls_broker.pki.ca))
    logged: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(f"{record.name}: {record.getMessage()}")

    handler = Keep(logging.WARNING)

    async def main():
        pub = MqttPublisher(no_cert, connect_timeout_s=1.0)
        model = SiteStraps(SITE, DEVICE)
        link = RecordsLink(no_cert, pending=list, export=None, acked=lambda sid: None)
        srv = RecordsServer(no_cert, SqliteClinicDb(tmp_path / "clinic.db"))
        app = CentralMonitor(no_cert)
        tasks = [asyncio.create_task(t) for t in (
            pub.run(), watch(no_cert, model, connect_timeout_s=1.0), link.run(), srv.run(),
            remote.listen(no_cert, remote.Verifier(KEY, site=SITE, device=DEVICE,
                                                   session_id=lambda: "S1"),
                          lambda c, a: None))]
        try:
            async with app.run_test(size=(100, 24)):
                def seen(name: str) -> bool:
                    return any(ln.startswith(name) and "TLS refused" in ln for ln in logged)

                await until(lambda: app.connect_error and pub.last_error and
                            model.problem and seen("controller.net.records_link") and
                            seen("controller.service.records_server") and
                            seen("controller.net.remote"), 30)
                return {"monitor": app.connect_error, "publisher": pub.last_error,
                        "strap guard": model.problem}
        finally:
            for t in tasks:
                t.cancel()

    root = logging.getLogger()
    root.addHandler(handler)
    try:
        shown = asyncio.run(asyncio.wait_for(main(), 60))
    except TimeoutError:
        raise AssertionError("not every client said TLS refused:\n" + "\n".join(
            ln for ln in logged if "mqtt:" not in ln)) from None
    finally:
        root.removeHandler(handler)
    for who, why in shown.items():
        assert "TLS refused" in why or "certificate" in why, (who, why)
