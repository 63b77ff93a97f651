"""Network commands: off by default; stop and acknowledge only, signed for one session on one
treadmill, fresh, not replayed (even across a restart), never before Start."""

import asyncio
import json
import logging
import subprocess
import sys

import aiomqtt
import pytest

from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings
from controller.net.remote import CommandError, Verifier, command_topic, listen, sign
from controller.service.config import load
from tests.test_mqtt import a_setpoint

SECRET = b"0123456789abcdef0123"
NOW = 1_000_000.0


def verifier(session="S1", device="tm-1", site="oslo", **kw):
    return Verifier(SECRET, site=site, device=device, session_id=lambda: session,
                    clock=kw.pop("clock", lambda: NOW), **kw)


def signed(cmd="stop", *, site="oslo", device="tm-1", session="S1", now_s=NOW, nonce,
           secret=SECRET, alarm=None):
    return sign(secret, cmd, site=site, device=device, session_id=session, now_s=now_s,
                nonce=nonce, alarm=alarm)


def test_commands_are_off_by_default():
    assert load(None).command_secret is None


def test_only_fresh_signed_stop_and_ack_pass():
    v = verifier()
    assert v.check(signed(nonce="n" * 16)) == ("stop", None)
    assert v.check(signed("ack", alarm="hr_lost", nonce="m" * 16)) == ("ack", "hr_lost")
    cases = [
        (signed(nonce="n" * 16), "replayed"),
        (signed(secret=b"x" * 20, nonce="a" * 16), "bad signature"),
        (signed(now_s=NOW - 60, nonce="b" * 16), "too old"),
        (signed("start", nonce="c" * 16), "not allowed"),
        (signed("resume", nonce="d" * 16), "not allowed"),
        (signed("ack", nonce="e" * 16), "needs the alarm"),
        (b"{nope", "not JSON"),
        (json.dumps({"cmd": "stop"}).encode(), "not a fourbyfour.command"),
    ]
    for payload, why in cases:
        with pytest.raises(CommandError, match=why):
            v.check(payload)


def test_a_stop_sent_before_start_is_refused_and_cannot_end_the_next_session():
    running: list[str | None] = [None]
    v = Verifier(SECRET, site="oslo", device="tm-1", session_id=lambda: running[0],
                 clock=lambda: NOW)
    early = signed(session="S1", nonce="f" * 16)
    with pytest.raises(CommandError, match="no session is running"):
        v.check(early)
    running[0] = "S2"  # the next patient starts: the old stop names another session
    with pytest.raises(CommandError, match="not the running one"):
        v.check(signed(session="S1", nonce="g" * 16))
    assert v.check(signed(session="S2", nonce="h" * 16)) == ("stop", None)


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), float("-inf"), True, "soon"])
def test_non_finite_or_wrong_typed_timestamps_are_refused(ts):
    with pytest.raises(CommandError):
        verifier().check(signed(now_s=ts, nonce="i" * 16))


def test_a_stop_signed_for_one_treadmill_does_nothing_on_another_with_the_same_key():
    for_tm1 = signed(device="tm-1", nonce="j" * 16)
    with pytest.raises(CommandError, match="not this treadmill"):
        verifier(device="tm-2").check(for_tm1)
    with pytest.raises(CommandError, match="not this treadmill"):
        verifier(site="bergen").check(for_tm1)


def test_a_retained_command_is_never_acted_on():
    with pytest.raises(CommandError, match="retained"):
        verifier().check(signed(nonce="k" * 16), retained=True)


def test_replay_memory_survives_a_restart(tmp_path):
    f = tmp_path / "nonces.txt"
    payload = signed(nonce="l" * 16)
    assert verifier(replay_file=f).check(payload) == ("stop", None)
    with pytest.raises(CommandError, match="replayed"):
        verifier(replay_file=f).check(payload)  # a new process, the same file


def test_signed_stops_reach_two_sites_same_device_name_and_a_start_never_does(broker, caplog):
    """Two sites' treadmill-1 listen at once (client ids carry the site, so neither knocks
    the other off the broker); each gets only its own stop."""
    async def main():
        got = {"oslo": [], "bergen": []}
        tasks = [asyncio.create_task(listen(
            MqttSettings(port=broker.port, site=site, device="treadmill-1"),
            verifier(site=site, device="treadmill-1"),
            lambda c, a, site=site: got[site].append((c, a)))) for site in got]
        await asyncio.sleep(1.0)
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            for site in got:
                topic = command_topic(site, "treadmill-1")
                await c.publish(topic, signed("start", site=site, device="treadmill-1",
                                              nonce=site + "s" * 16), qos=1)
                await c.publish(topic, signed(secret=b"y" * 20, site=site,
                                              device="treadmill-1", nonce=site + "t" * 16),
                                qos=1)
                await c.publish(topic, signed(site=site, device="treadmill-1",
                                              nonce=site + "u" * 16), qos=1)
        async with asyncio.timeout(10):
            while not (got["oslo"] and got["bergen"]):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for t in tasks:
            t.cancel()
        return got

    got = asyncio.run(main())
    assert got == {"oslo": [("stop", None)], "bergen": [("stop", None)]}
    assert "not allowed from the network" in caplog.text and "bad signature" in caplog.text


def test_the_listener_logs_when_it_cannot_reach_the_broker(caplog):
    from tests.conftest import free_port

    async def main():
        task = asyncio.create_task(listen(MqttSettings(port=free_port(), site="oslo",
                                                       device="tm-1"), verifier(), print))
        await asyncio.sleep(1.0)
        task.cancel()

    with caplog.at_level(logging.WARNING, logger="controller.net.remote"):
        asyncio.run(main())
    assert "cannot reach the broker" in caplog.text


def test_the_command_tool_sends_a_signed_stop_to_the_running_session(broker, tmp_path):
    key = tmp_path / "tm.key"
    key.write_bytes(SECRET)

    async def main():
        got = []
        v = Verifier(SECRET, site="oslo", device="tm-1", session_id=lambda: "S7")
        task = asyncio.create_task(listen(MqttSettings(port=broker.port, site="oslo",
                                                       device="tm-1"), v,
                                          lambda c, a: got.append((c, a))))
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.publish(tm.topic("oslo", "tm-1", "session"),
                            tm.session_payload("S7", "P-1", a_setpoint()), qos=1, retain=True)
        await asyncio.sleep(0.5)
        tool = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller", "command", "ack", "--alarm", "hr_lost",
            "--site", "oslo", "--device", "tm-1", "--key-file", str(key),
            "--port", str(broker.port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = await tool.communicate()
        async with asyncio.timeout(10):
            while not got:
                await asyncio.sleep(0.05)
        task.cancel()
        return tool.returncode, out.decode(), got

    rc, out, got = asyncio.run(main())
    assert rc == 0, out
    assert "session S7" in out
    assert got == [("ack", "hr_lost")]


def test_keys_per_treadmill_or_per_monitor(tmp_path):
    from controller.service.config import from_dict

    keys = tmp_path / "keys"
    (keys / "oslo").mkdir(parents=True)
    (keys / "oslo" / "tm-1.key").write_bytes(b"a" * 20 + b"\n")
    one = tmp_path / "monitor.key"
    one.write_bytes(b"m" * 20)
    cfg = from_dict({"monitor": {"command_keys_dir": str(keys), "command_key_file": str(one)}},
                    "t.toml")
    assert cfg.monitor_key("oslo", "tm-1") == b"a" * 20
    assert cfg.monitor_key("oslo", "tm-2") == b"m" * 20
    assert from_dict({}, "t.toml").monitor_key("oslo", "tm-1") is None
