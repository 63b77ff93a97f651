"""Network commands: off by default; stop and acknowledge only, signed, fresh, not replayed."""

import asyncio
import json

import aiomqtt
import pytest

from controller.net.publisher import MqttSettings
from controller.net.remote import CommandError, Verifier, listen, sign
from controller.service.config import load

SECRET = b"0123456789abcdef0123"


def test_commands_are_off_by_default():
    assert load(None).command_secret is None


def test_only_fresh_signed_stop_and_ack_pass():
    now = [1_000_000.0]
    v = Verifier(SECRET, clock=lambda: now[0])
    assert v.check(sign(SECRET, "stop", now_s=now[0], nonce="n" * 16)) == ("stop", None)
    assert v.check(sign(SECRET, "ack", alarm="hr_lost", now_s=now[0], nonce="m" * 16)) == \
        ("ack", "hr_lost")
    cases = [
        (sign(SECRET, "stop", now_s=now[0], nonce="n" * 16), "replayed"),
        (sign(b"x" * 20, "stop", now_s=now[0], nonce="a" * 16), "bad signature"),
        (sign(SECRET, "stop", now_s=now[0] - 60, nonce="b" * 16), "too old"),
        (sign(SECRET, "start", now_s=now[0], nonce="c" * 16), "not allowed"),
        (sign(SECRET, "resume", now_s=now[0], nonce="d" * 16), "not allowed"),
        (sign(SECRET, "ack", now_s=now[0], nonce="e" * 16), "needs the alarm"),
        (b"{nope", "not JSON"),
        (json.dumps({"cmd": "stop"}).encode(), "not a fourbyfour.command"),
    ]
    for payload, why in cases:
        with pytest.raises(CommandError, match=why):
            v.check(payload)


def test_a_signed_stop_arrives_over_mqtt_and_a_start_never_does(broker, caplog):
    async def main():
        s = MqttSettings(port=broker.port, site="oslo", device="tm-4")
        got = []
        task = asyncio.create_task(listen(s, Verifier(SECRET), lambda c, a: got.append((c, a))))
        await asyncio.sleep(0.5)
        topic = "clinic/v1/oslo/tm-4/command"
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.publish(topic, sign(SECRET, "start", nonce="s" * 16), qos=1)
            await c.publish(topic, sign(b"y" * 20, "stop", nonce="t" * 16), qos=1)
            await c.publish(topic, sign(SECRET, "stop", nonce="u" * 16), qos=1)
        async with asyncio.timeout(10):
            while not got:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        task.cancel()
        return got

    got = asyncio.run(main())
    assert got == [("stop", None)]
    assert "not allowed from the network" in caplog.text and "bad signature" in caplog.text
