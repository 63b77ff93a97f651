"""Issue 21 (new-nurse trial): refusals that still reached a bokmål console with code
"invalid" and an English sentence — a profile or plan the session cannot use, a malformed
strap, a Borg rating outside 6–20. Each travels as a code with parameters and is rendered
from the catalog, in the console's language. Through the control socket of a running
service, as the console sends them."""

from __future__ import annotations

import asyncio

import pytest

from controller.app.texts import reply_text
from controller.core import i18n
from controller.core.refusals import refusal_text
from controller.service.control_socket import ControlClient
from tests.test_console import start_service, wait_for

ENGLISH = ("must", "got", "max_speed_kmh", "hr_max", "phase", "strap", "number", "kind",
           "Borg rating is")


def _nb(reply: dict) -> str:
    i18n.set_language("nb")
    try:
        return reply_text(reply)
    finally:
        i18n.set_language("en")


@pytest.mark.realtime
def test_refusals_of_profile_plan_strap_and_borg_reach_staff_as_codes_in_bokmal(tmp_path):
    async def main() -> dict[str, dict]:
        service, sock = await start_service(tmp_path, store_path=str(tmp_path / "s.db"))
        client = ControlClient(sock)
        await client.connect()
        loop = asyncio.get_running_loop()
        drain = loop.create_task(_drain(client))
        good = {"pseudonym": "P-17", "hr_max": 183, "hr_max_source": "measured",
                "max_speed_kmh": 6.0, "max_incline_pct": 12.0}
        replies = {
            "hr_max": await client.command("setup", profile=dict(good, hr_max=300)),
            "hr_rest": await client.command("setup", profile=dict(good, hr_rest=160)),
            "speed_cap": await client.command("setup", profile=dict(good,
                                                                     max_speed_kmh=65)),
            "test_speed": await client.command("setup", profile=good, plan={
                "name": "six_minute_test", "speed_kmh": 7.5, "incline_pct": 2.0}),
            "test_zero": await client.command("setup", profile=good, plan={
                "name": "six_minute_test", "speed_kmh": 0, "incline_pct": 0}),
            "strap": await client.command("setup", profile=dict(good, strap={"kind": "ant"})),
        }
        ok = await client.command("setup", profile=good)
        assert ok["ok"], ok
        started = await client.command("start")
        assert started["ok"], started
        await wait_for(lambda: True)
        replies["borg"] = await client.command("borg", interval=0, borg=25)
        await client.command("stop")
        drain.cancel()
        service.cancel()
        return replies

    replies = asyncio.run(asyncio.wait_for(main(), 120))
    said = {k: _nb(r) for k, r in replies.items()}
    for name, reply in replies.items():
        assert not reply["ok"], (name, reply)
        assert reply["code"] != "invalid", (name, reply)
        assert not any(w in said[name] for w in ENGLISH), (name, said[name])
    assert said["hr_max"] == "Makspuls må være 100–230 slag/min (ikke 300).", said
    assert said["speed_cap"] == "Maks fart må være 2–20 km/t (ikke 65).", said
    assert said["hr_rest"] == "Hvilepuls må være 30–130 slag/min (ikke 160).", said
    assert said["test_speed"] == ("Delen «6-minutters pulstest» går med 7,5 km/t, over "
                                  "pasientens fartsgrense på 6 km/t."), said
    assert said["test_zero"].startswith("Farten i delen «oppvarming» må være 0,5–20 km/t"), said
    assert said["strap"] == refusal_text("strap_ant_number", {}, "nb"), said
    assert said["borg"] == "Borg-skåren er et helt tall 6–20.", said


async def _drain(client: ControlClient) -> None:
    try:
        async for _ in client.updates():
            pass
    except Exception:
        pass


@pytest.mark.realtime
def test_caps_above_the_treadmills_own_limits_are_refused_at_setup(tmp_path):
    """Trial: a top speed of 18 km/h was accepted for a treadmill that stops at 16 km/h (the
    form allows 2–20): the session would have driven into the link's refusal mid-interval.
    Refused when staff save the patient, in words, naming the treadmill's limit."""
    async def main() -> list[dict]:
        service, sock = await start_service(tmp_path, store_path=str(tmp_path / "s.db"))
        client = ControlClient(sock)
        await client.connect()
        drain = asyncio.get_running_loop().create_task(_drain(client))
        good = {"pseudonym": "P-17", "hr_max": 183, "hr_max_source": "measured",
                "max_speed_kmh": 6.0, "max_incline_pct": 12.0}
        out = [await client.command("setup", profile=dict(good, max_speed_kmh=18)),
               await client.command("setup", profile=dict(good, max_incline_pct=15.5)),
               await client.command("setup", profile=good)]
        drain.cancel()
        service.cancel()
        return out

    speed, incline, ok = asyncio.run(asyncio.wait_for(main(), 120))
    assert ok["ok"], ok
    assert not speed["ok"] and speed["code"] == "cap_above_treadmill", speed
    assert _nb(speed) == "Maks fart 18 km/t er over tredemøllens grense på 16 km/t.", speed
    assert not incline["ok"] and incline["code"] == "cap_above_treadmill", incline
    assert _nb(incline) == ("Maks stigning 15,5 % er over tredemøllens grense på 15 %."), \
        incline
