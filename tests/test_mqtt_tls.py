"""Mutual TLS for every client (publisher, command listener, monitor, command tool) against a
mosquitto that requires client certificates, with the example ACL; half TLS configs refused."""

import asyncio
import contextlib
import dataclasses
import json

import aiomqtt
import pytest

from controller.app.monitor import CentralMonitor
from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher, MqttSettings
from controller.net.remote import Verifier, command_topic, listen, sign
from controller.net.tls import TlsConfigError, client_context
from controller.service.config import ConfigError, from_dict
from tests.test_monitor import rendered
from tests.test_mqtt import a_setpoint

KEY = b"k" * 24


def settings(broker, cn, **kw):
    crt, key = broker.pki.cert(cn)
    return MqttSettings(host="localhost", port=broker.port, tls_ca_file=str(broker.pki.ca),
                        tls_cert_file=str(crt), tls_key_file=str(key), **kw)


async def until(pred, timeout_s=15.0):
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.05)


def test_half_tls_configs_are_refused_with_a_clear_error(tmp_path):
    f = tmp_path / "x.pem"
    f.write_text("x")
    with pytest.raises(ConfigError, match="no tls_ca_file"):
        from_dict({"mqtt": {"tls_cert_file": str(f), "tls_key_file": str(f)}}, "t.toml")
    with pytest.raises(ConfigError, match="go together"):
        from_dict({"mqtt": {"tls_ca_file": str(f), "tls_cert_file": str(f)}}, "t.toml")
    with pytest.raises(TlsConfigError, match="no tls_ca_file"):
        client_context(MqttSettings(tls_cert_file=str(f), tls_key_file=str(f)))


def test_publisher_needs_its_certificate(mtls_broker):
    async def attempt(s, connect_timeout_s=5.0):
        pub = MqttPublisher(s, connect_timeout_s=connect_timeout_s)
        task = asyncio.create_task(pub.run())
        for _ in range(100):
            if pub.online or pub.last_error:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        return pub

    good = asyncio.run(attempt(settings(mtls_broker, "oslo/tm-1", site="oslo", device="tm-1")))
    assert good.online
    no_cert = MqttSettings(host="localhost", port=mtls_broker.port, site="oslo", device="tm-1",
                           tls_ca_file=str(mtls_broker.pki.ca))
    # the broker drops the handshake without a word (TLS 1.3: it asks for the certificate
    # after the client's Finished), so the client learns it from its connect timeout:
    # 1 s here, not the publisher's 5 s (the good attempt above connects in ~0.1 s)
    bad = asyncio.run(attempt(no_cert, connect_timeout_s=1.0))
    assert not bad.online and bad.last_error


def test_monitor_listener_and_acl_over_mutual_tls(mtls_broker):
    """The monitor (CN monitor) sees tm-1 and stops it through the listener (CN oslo/tm-1);
    the ACL keeps tm-1 from writing tm-2's status and the monitor from writing status."""
    sp = a_setpoint()

    async def main():
        tm1 = settings(mtls_broker, "oslo/tm-1", site="oslo", device="tm-1")
        pub = MqttPublisher(tm1)
        task = asyncio.create_task(pub.run())
        pub.set_activity("running")
        pub.set_retained("session", tm.session_payload("S1", "P-17", sp))
        got = []
        lst = asyncio.create_task(listen(tm1, Verifier(KEY, site="oslo", device="tm-1",
                                                       session_id=lambda: "S1"),
                                         lambda c, a: got.append((c, a))))
        mon = settings(mtls_broker, "monitor", site="oslo")
        app = CentralMonitor(mon, command_key=lambda site, dev: KEY)
        try:
            async with app.run_test(size=(100, 24)) as pilot:
                await until(lambda: ("oslo", "tm-1") in app.fleet.rows and
                            app.fleet.rows[("oslo", "tm-1")].session)
                # forgeries: tm-1 writes tm-2's status; the monitor writes tm-1's status
                async with aiomqtt.Client("localhost", mtls_broker.port,
                                          tls_context=client_context(tm1)) as c:
                    await c.publish(tm.topic("oslo", "tm-2", "status"),
                                    tm.status_payload(True), qos=1)
                async with aiomqtt.Client("localhost", mtls_broker.port,
                                          tls_context=client_context(mon)) as c:
                    await c.publish(tm.topic("oslo", "tm-1", "status"),
                                    tm.status_payload(False, cause="normal"), qos=1)
                for _ in range(20):
                    pub.offer_telemetry(tm.telemetry_payload("S1", 1, sp, 2.0, 0.0))
                    await asyncio.sleep(0.1)
                assert ("oslo", "tm-2") not in app.fleet.rows
                assert app.fleet.rows[("oslo", "tm-1")].online
                assert any("tm-1" in ln and "running" in ln for ln in rendered(app))
                await pilot.press("s")
                await pilot.press("y")
                await until(lambda: got)
                assert got == [("stop", None)]
        finally:
            lst.cancel()
            task.cancel()

    asyncio.run(asyncio.wait_for(main(), 90))


def test_a_treadmill_cannot_read_another_treadmills_commands(mtls_broker):
    async def main():
        tm2 = settings(mtls_broker, "oslo/tm-2", site="oslo", device="tm-2")
        seen = []
        async with aiomqtt.Client("localhost", mtls_broker.port,
                                  tls_context=client_context(tm2)) as spy:
            await spy.subscribe("clinic/v1/oslo/+/command", qos=1)
            mon = settings(mtls_broker, "monitor")
            async with aiomqtt.Client("localhost", mtls_broker.port,
                                      tls_context=client_context(mon)) as c:
                for dev in ("tm-1", "tm-2"):
                    await c.publish(command_topic("oslo", dev),
                                    sign(KEY, "stop", site="oslo", device=dev, session_id="S",
                                         nonce="n" * 16), qos=1)
            # the monitor published tm-1's command first, from one connection at QoS 1: had
            # the ACL let it through, it would reach the spy before tm-2's (MQTT keeps a
            # publisher's order); a short quiet spell after tm-2's catches a late one too
            quiet_from = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10) as deadline:
                    async for m in spy.messages:
                        seen.append(json.loads(m.payload)["device"])
                        if quiet_from is None and "tm-2" in seen:
                            quiet_from = asyncio.get_running_loop().time()
                            deadline.reschedule(quiet_from + 0.5)
        return seen

    assert asyncio.run(main()) == ["tm-2"]


def test_settings_dataclass_keeps_tls_files():
    s = MqttSettings(tls_ca_file="a", tls_cert_file="b", tls_key_file="c")
    assert dataclasses.replace(s, port=1).tls_cert_file == "b"
