"""Pairing the patient's strap (issue 11, part 1): staff scan, choose, and see its heart rate
before Start; the strap is pinned for one session and released after it; straps paired on
the site's other treadmills are marked. openant's real code against the emulated stick."""

import asyncio
import json
import threading

import aiomqtt
import pytest

from controller.devices.antstick import Strap
from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings
from controller.net.straps import SiteStraps, watch
from controller.protocol import SessionError
from controller.service.config import load
from tests.strap_rig import sim_hub, strap_runtime
from tests.test_runtime import reset_link


def five_straps():
    return [Strap(1000 + i, (lambda b: lambda t: b)(90.0 + 10 * i), rssi_dbm=-45 - 7 * i)
            for i in range(5)]


def supervisors():
    return [t for t in threading.enumerate() if t.name == "ant-supervisor" and t.is_alive()]


@pytest.mark.parametrize("n", [2, 5])
def test_staff_scan_choose_and_see_the_straps_heart_rate_before_start(n):
    straps = five_straps()[:n]
    hub = sim_hub(straps)
    chosen = straps[-1]  # the weakest signal: never what "the strongest" would pick

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = strap_runtime(hub, tmc)
            run = asyncio.create_task(rt.run())
            with pytest.raises(SessionError, match="No strap is paired"):
                rt.start()
            rows = await rt.scan(2.5)
            assert [(r["device_number"], r["rssi_dbm"], r["hr_bpm"]) for r in rows] == \
                [(s.device_number, s.rssi_dbm, round(s.hr_of(0))) for s in straps]
            assert rt.pair({"kind": "ant", "device_number": chosen.device_number}) == \
                {"kind": "ant", "device_number": chosen.device_number}
            for _ in range(100):
                if rt.snapshot.hr_live_bpm is not None:
                    break
                await asyncio.sleep(0.1)
            assert rt.snapshot.hr_live_bpm == chosen.hr_of(0)
            assert not rt.started and rt.snapshot.setpoint is None
            # scanning again lets go of the paired strap (the stick is needed) and lists all
            rows = await rt.scan(2.5)
            assert len(rows) == n and rt.strap is None
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            await asyncio.sleep(0.5)

    asyncio.run(asyncio.wait_for(main(), 90))


def test_the_strap_is_pinned_for_one_session_and_released_after_it():
    straps = five_straps()[:2]
    hub = sim_hub(straps)

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = strap_runtime(hub, tmc)
            rt.pair({"kind": "ant", "device_number": 1001})
            run = asyncio.create_task(rt.run())
            for _ in range(100):
                if rt.snapshot.hr_live_bpm is not None:
                    break
                await asyncio.sleep(0.1)
            rt.start()
            with pytest.raises(SessionError, match="strap is fixed"):
                rt.pair({"kind": "ant", "device_number": 1000})
            with pytest.raises(SessionError, match="strap is fixed"):
                await rt.scan(1.0)
            for _ in range(100):
                if rt.snapshot.setpoint is not None:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # five ticks of the session with the strap's beats
            assert rt.snapshot.setpoint.hr_bpm == 100.0
            rt.stop()
            await asyncio.wait_for(run, 60)
            assert rt.strap is None
            for _ in range(50):
                if not supervisors():
                    break
                await asyncio.sleep(0.1)
            assert not supervisors()  # nothing listens for a strap between sessions

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_patients_remembered_strap_is_offered_first():
    hub = sim_hub(five_straps())

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = strap_runtime(hub, tmc, straps_in_use=lambda: {1001: "tm-2"})
            rt.profile_strap = {"kind": "ant", "device_number": 1003}
            rows = await rt.scan(2.5)
            assert rows[0]["device_number"] == 1003 and rows[0]["remembered"]
            by_n = {r["device_number"]: r for r in rows}
            assert by_n[1001]["in_use_by"] == "tm-2" and by_n[1000]["in_use_by"] is None

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_store_keeps_the_strap_and_returns_the_last_one(tmp_path):
    from controller.records.store import Store

    store = Store(str(tmp_path / "s.db"))
    profile = load(None).profile
    assert store.last_strap(profile.pseudonym) is None
    store.begin_session("a", profile, {}, {"kind": "ant", "device_number": 12})
    store.begin_session("b", profile, {})
    assert store.last_strap(profile.pseudonym) == {"kind": "ant", "device_number": 12}
    store.close()


def test_straps_of_the_sites_other_treadmills_are_marked_in_use(broker):
    settings = MqttSettings(port=broker.port, site="oslo", device="tm-1")
    model = SiteStraps("oslo", "tm-1")

    async def main():
        task = asyncio.create_task(watch(settings, model))
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            for dev, site, n in (("tm-2", "oslo", 4242), ("tm-1", "oslo", 1),
                                 ("tm-3", "bergen", 777)):
                await c.publish(tm.topic(site, dev, "meta"),
                                tm.meta_payload(site, dev, "0.1.0", "4x4",
                                                {"kind": "ant", "device_number": n}),
                                qos=1, retain=True)
            for _ in range(50):
                if model.in_use():
                    break
                await asyncio.sleep(0.1)
            assert model.in_use() == {4242: "tm-2"}
            # tm-2's session ends: its meta no longer names a strap
            await c.publish(tm.topic("oslo", "tm-2", "meta"),
                            tm.meta_payload("oslo", "tm-2", "0.1.0", "4x4"), qos=1,
                            retain=True)
            for _ in range(50):
                if not model.in_use():
                    break
                await asyncio.sleep(0.1)
            assert model.in_use() == {}
        task.cancel()

    asyncio.run(asyncio.wait_for(main(), 30))
    doc = json.loads(tm.meta_payload("oslo", "tm-1", "0.1.0", "4x4",
                                     {"kind": "ant", "device_number": 5}))
    assert doc["strap"] == {"kind": "ant", "device_number": 5}
