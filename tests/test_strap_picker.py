"""The strap picker's gaps (issue 11, part 1): BLE straps listed by the scan beside ANT+
ones, the battery made to arrive (live list, status line, BLE Battery service), and a strap in
use on another treadmill paired only on purpose. openant's real code on the emulated stick,
bleak's real front classes on a backend that replaces only the radio, real mosquitto."""

import asyncio
import logging
import sys

import pytest

from controller.devices.antstick import Strap
from controller.hr import (
    BatteryReport,
    BleSource,
    BleStrapSeen,
    HrSample,
    scan_ble,
)
from controller.protocol import SessionError
from tests.ble_air import BATTERY_CHAR, BleStrap, client_backend, scanner_backend
from tests.strap_rig import battery_page_due, console_on, press, sim_hub, strap_runtime
from tests.test_runtime import reset_link


def two_ble():
    return [BleStrap("C0:FF:EE:00:00:01", "Polar H10 1A2B3C", lambda t: 125.0, rssi_dbm=-48,
                     battery_pct=90),
            BleStrap("C0:FF:EE:00:00:02", "Garmin HRM-Dual", lambda t: 135.0, rssi_dbm=-66,
                     battery_pct=12)]


def three_ant():
    return [Strap(2000 + i, (lambda b: lambda t: b)(100.0 + 5 * i), rssi_dbm=-44 - 9 * i)
            for i in range(3)]


def mixed_runtime(hub, ble, tm_link, **kw):
    """A session waiting for a strap: ANT+ on ``hub``, Bluetooth ``ble`` (tests.strap_rig)."""
    return strap_runtime(hub, tm_link, ble=ble, **kw)


async def until(pred, timeout_s=20.0):
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.05)


# -- 1. BLE straps are listed by the scan too ---------------------------------------------


def test_ble_scan_lists_heart_rate_straps_with_signal_and_name():
    air = [*two_ble(), BleStrap("AA:00:00:00:00:09", "kitchen scale", lambda t: 0.0,
                                rssi_dbm=-30, hr_service=False)]
    seen = asyncio.run(scan_ble(1.0, backend=scanner_backend(air)))
    assert seen == [BleStrapSeen("C0:FF:EE:00:00:01", "Polar H10 1A2B3C", -48),
                    BleStrapSeen("C0:FF:EE:00:00:02", "Garmin HRM-Dual", -66)]


def test_two_ble_and_three_ant_straps_are_listed_together_and_a_ble_strap_pairs():
    ant, ble = three_ant(), two_ble()
    hub = sim_hub(ant)

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, ble, tmc)
            run = asyncio.create_task(rt.run())
            rows = await rt.scan(2.5)
            assert rt.scan_note is None
            # strongest first, whatever the kind
            assert [(r["kind"], r.get("device_number") or r.get("address"), r["rssi_dbm"])
                    for r in rows] == [
                ("ant", 2000, -44), ("ble", "C0:FF:EE:00:00:01", -48), ("ant", 2001, -53),
                ("ant", 2002, -62), ("ble", "C0:FF:EE:00:00:02", -66)]
            assert [r["hr_bpm"] for r in rows if r["kind"] == "ant"] == [100, 105, 110]
            assert rows[1]["name"] == "Polar H10 1A2B3C"
            choice = {"kind": "ble", "address": "C0:FF:EE:00:00:02"}
            assert rt.pair(choice) == choice
            await until(lambda: rt.snapshot.hr_live_bpm is not None)
            assert rt.snapshot.hr_live_bpm == 135.0
            assert not rt.started and rt.snapshot.setpoint is None
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            await asyncio.sleep(0.5)

    asyncio.run(asyncio.wait_for(main(), 90))


def test_without_bleak_the_scan_lists_ant_straps_and_says_ble_is_unavailable(
        monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "bleak", None)  # as without the 'ble' extra
    hub = sim_hub(three_ant()[:2])

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, [], tmc)
            rt.ble_scanner = scan_ble  # bleak's own platform backend: not importable
            return await rt.scan(2.0), rt.scan_note

    with caplog.at_level(logging.DEBUG):
        rows, note = asyncio.run(asyncio.wait_for(main(), 60))
    assert [r["device_number"] for r in rows] == [2000, 2001]
    assert note is not None and "\n" not in note and "Bluetooth" in note
    assert not any(r.exc_info for r in caplog.records)


def test_the_remembered_strap_can_be_a_ble_strap():
    hub = sim_hub(three_ant())

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, two_ble(), tmc)
            rt.profile_strap = {"kind": "ble", "address": "C0:FF:EE:00:00:02"}
            rows = await rt.scan(2.0)
            assert rows[0]["address"] == "C0:FF:EE:00:00:02" and rows[0]["remembered"]
            assert sum(r["remembered"] for r in rows) == 1

    asyncio.run(asyncio.wait_for(main(), 60))


# -- 2. the battery arrives ---------------------------------------------------------------


def battery_soon(n, pct, status=2, after_msgs=16):
    """A strap whose battery page (7, in the 4th block of background pages, messages
    256–259 of every 260) is due after ``after_msgs`` messages (~4 per second)."""
    return Strap(n, lambda t: 120.0, rssi_dbm=-50, battery_pct=pct, battery_status=status,
                 _msg_count=256 - after_msgs)


def test_the_scan_keeps_a_battery_reading_once_its_page_arrived():
    strap = Strap(3000, lambda t: 120.0, rssi_dbm=-50, battery_pct=64)  # page 7 after ~60 s
    hub = sim_hub([strap])

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, [], tmc)
            rt.ble_scanner = None
            first = await rt.scan(2.0)
            assert first[0]["battery_pct"] is None
            battery_page_due(hub, strap, after_msgs=2)  # in the second scan
            second = await rt.scan(2.5)
            assert second[0]["battery_pct"] == 64 and not second[0]["battery_low"]
            third = await rt.scan(1.0)  # no page 7 now: the reading stays
            assert third[0]["battery_pct"] == 64

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize(("pct", "status", "low"), [(80, 2, False), (15, 3, True),
                                                     (45, 4, True), (45, 5, True)])
def test_after_pairing_the_ant_battery_page_reaches_the_status(pct, status, low):
    hub = sim_hub([battery_soon(3100, pct, status, after_msgs=6)])

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, [], tmc)
            run = asyncio.create_task(rt.run())
            rt.pair({"kind": "ant", "device_number": 3100})
            await until(lambda: rt.snapshot.hr_battery_pct is not None)
            assert (rt.snapshot.hr_battery_pct, rt.snapshot.hr_battery_low) == (pct, low)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            await asyncio.sleep(0.5)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_battery_stays_in_the_status_once_the_session_runs():
    hub = sim_hub([battery_soon(3200, 55, after_msgs=6)])

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, [], tmc)
            rt.pair({"kind": "ant", "device_number": 3200})
            run = asyncio.create_task(rt.run())
            await until(lambda: rt.snapshot.hr_battery_pct is not None)
            rt.start()
            await until(lambda: rt.snapshot.setpoint is not None, 30)
            await asyncio.sleep(1.0)  # several ticks
            assert rt.snapshot.hr_battery_pct == 55 and rt.snapshot.events is not None
            rt.stop()
            await asyncio.wait_for(run, 60)

    asyncio.run(asyncio.wait_for(main(), 120))


def test_a_ble_strap_battery_is_read_once_after_connect():
    ble = [*two_ble(), BleStrap("C0:FF:EE:00:00:03", "no battery service", lambda t: 99.0,
                                battery_pct=None)]
    backend = client_backend(ble, period_s=0.025)  # the subject is the read, not the rate

    async def first_items(address, n):
        items = []
        async for item in BleSource(address, backend=backend).stream():
            items.append(item)
            if sum(isinstance(i, HrSample) for i in items) >= n:
                return items

    items = asyncio.run(asyncio.wait_for(first_items("C0:FF:EE:00:00:02", 6), 20))
    reports = [i for i in items if isinstance(i, BatteryReport)]
    assert [(r.battery_pct, r.low) for r in reports] == [(12, True)]
    assert backend.reads == [BATTERY_CHAR]
    items = asyncio.run(asyncio.wait_for(first_items("C0:FF:EE:00:00:03", 3), 20))
    assert not any(isinstance(i, BatteryReport) for i in items)
    assert backend.reads == [BATTERY_CHAR]


# -- 3. a strap in use on another treadmill ------------------------------------------------


def test_a_strap_in_use_on_another_treadmill_needs_a_confirmation(broker):
    """Two treadmills of one site on the real broker: tm-a pairs a strap, tm-b sees it in
    use and pairs it only when staff confirm."""
    from controller.net.publisher import MqttPublisher, MqttSettings
    from controller.net.straps import SiteStraps, watch

    hub_a, hub_b = sim_hub(three_ant()), sim_hub(three_ant())  # the same straps, two sticks
    ble = two_ble()

    async def main():
        async with reset_link() as (_emu, tm_a), reset_link() as (_emu2, tm_b):
            pub = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-a"))
            pub_task = asyncio.create_task(pub.run())
            a = mixed_runtime(hub_a, ble, tm_a, publisher=pub)
            site = SiteStraps("oslo", "tm-b")
            watching = asyncio.create_task(watch(
                MqttSettings(port=broker.port, site="oslo", device="tm-b"), site))
            b = mixed_runtime(hub_b, ble, tm_b, straps_in_use=site.in_use)
            a.pair({"kind": "ant", "device_number": 2001})
            await until(lambda: site.in_use())
            rows = {r.get("device_number") or r.get("address"): r for r in await b.scan(2.0)}
            assert rows[2001]["in_use_by"] == "tm-a" and rows[2000]["in_use_by"] is None
            with pytest.raises(SessionError, match="in use on treadmill tm-a"):
                b.pair({"kind": "ant", "device_number": 2001})
            assert b.strap is None
            b.pair({"kind": "ant", "device_number": 2000})  # a free strap: no question
            assert b.pair({"kind": "ant", "device_number": 2001}, confirm_in_use=True) == \
                {"kind": "ant", "device_number": 2001}
            # a BLE strap is marked the same way
            a.pair({"kind": "ble", "address": "C0:FF:EE:00:00:01"})
            await until(lambda: "C0:FF:EE:00:00:01" in site.in_use())
            with pytest.raises(SessionError, match="in use on treadmill tm-a"):
                b.pair({"kind": "ble", "address": "C0:FF:EE:00:00:01"})
            watching.cancel()
            pub_task.cancel()

    asyncio.run(asyncio.wait_for(main(), 90))


# -- the console: one list, live, and a second keypress for a neighbour's strap -----------


def test_console_lists_ble_and_ant_live_and_asks_twice_for_a_strap_in_use(tmp_path):
    from textual.widgets import Digits, Static

    from controller.app.screens import StrapScreen
    from tests.test_console import text, wait_for

    battery_later = Strap(2003, lambda t: 120.0, rssi_dbm=-50, battery_pct=64)
    hub = sim_hub([*three_ant(), battery_later])

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, two_ble(), tmc,
                               straps_in_use=lambda: {2001: "tm-2"})
            async with console_on(rt, str(tmp_path / "control.sock")) as (app, _pilot):
                await wait_for(lambda: app.state.get("session_id"))
                press(app, "b")
                await wait_for(lambda: isinstance(app.screen, StrapScreen))
                screen = app.screen

                def listed():  # "" until the screen has composed its list
                    found = screen.query("#straps")
                    return str(found.first(Static).render()) if found else ""

                await wait_for(lambda: "Press 1–6" in listed())
                rows = listed().splitlines()
                assert rows[0].startswith("1) ANT+ strap #2000") and "100 bpm" in rows[0]
                assert rows[1].startswith("2) BLE strap Polar H10 1A2B3C  signal -48 dBm")
                assert rows[3].startswith("4) ANT+ strap #2001") and \
                    "(in use on tm-2)" in rows[3]
                assert "battery —" in rows[2]  # #2003's page 7 has not come yet
                battery_page_due(hub, battery_later, after_msgs=2)
                await wait_for(lambda: "#2003  signal -50 dBm  120 bpm  battery 64 %"
                               in listed())
                assert listed().splitlines()[2].startswith("3) ANT+ strap #2003")
                press(app, "4")
                await wait_for(lambda: "in use on treadmill tm-2: press 4 again" in listed())
                scans = rt.scanner.done  # the scan in flight ends, then a whole one
                await wait_for(lambda: rt.scanner.done >= scans + 2)
                assert app.screen is screen and rt.strap is None
                press(app, "4")
                await wait_for(lambda: (app.state.get("paired_strap") or {}).get(
                    "device_number") == 2001)
                await wait_for(lambda: app.query_one("#hr", Digits).value == "105")
                # a BLE strap with a low battery: paired, its bpm shows, staff are warned
                press(app, "b")
                await wait_for(lambda: isinstance(app.screen, StrapScreen) and
                               app.screen is not screen)
                screen = app.screen
                await wait_for(lambda: "Press 1–6" in listed())
                assert "6) BLE strap Garmin HRM-Dual" in listed()
                press(app, "6")
                await wait_for(lambda: (app.state.get("paired_strap") or {}).get(
                    "address") == "C0:FF:EE:00:00:02")
                await wait_for(lambda: app.query_one("#hr", Digits).value == "135")
                await wait_for(lambda: "battery 12 %" in text(app, "#links"))
                assert "strap battery low" in text(app, "#countdown")
                assert not app.state["started"]

    asyncio.run(asyncio.wait_for(main(), 150))


# -- issue 22.5: one radio's failure does not fail the scan ---------------------------------

def test_without_the_ant_stick_the_ble_straps_are_listed_and_bokmal_says_what_to_do():
    # issue 22.5: "Scan refused: DriverNotFound: " (no hint) and no BLE strap listed either
    from controller.core import i18n
    hub = sim_hub(three_ant())
    hub.unplug()

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, two_ble(), tmc)
            return await rt.scan(2.0), rt.scan_note

    i18n.set_language("nb")
    try:
        rows, note = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")
    assert [r["address"] for r in rows] == ["C0:FF:EE:00:00:01", "C0:FF:EE:00:00:02"]
    assert note == ("Fant ingen ANT+-pinne, så bare Bluetooth-pulsbelter vises: sett "
                    "ANT+-pinnen i en USB-port på Pi-en og søk igjen.")


def test_a_stick_that_refuses_lib_config_still_lists_straps_without_signal_strength():
    # issue 22.5: a stick that refuses LIB_CONFIG (RSSI) failed the scan outright
    from tests.strap_rig import ant_source
    hub = sim_hub(three_ant())
    hub.stick.refuse_lib_config = True
    seen = ant_source(hub).scan(2.0)
    assert seen and all(s.rssi_dbm is None for s in seen)
    assert {s.device_number for s in seen} <= {2000, 2001, 2002}


def test_console_without_the_ant_stick_lists_ble_straps_and_says_what_to_do(tmp_path):
    # issue 22.5: staff saw "Scan refused: DriverNotFound: " and no strap at all
    from textual.widgets import Static

    from controller.app.screens import StrapScreen
    from tests.test_console import wait_for

    hub = sim_hub(three_ant())
    hub.unplug()

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = mixed_runtime(hub, two_ble(), tmc)
            async with console_on(rt, str(tmp_path / "control.sock")) as (app, _pilot):
                await wait_for(lambda: app.state.get("session_id"))
                press(app, "b")
                await wait_for(lambda: isinstance(app.screen, StrapScreen))
                screen = app.screen

                def listed():
                    found = screen.query("#straps")
                    return str(found.first(Static).render()) if found else ""

                await wait_for(lambda: "Press 1–2" in listed())
                text = listed()
                assert "Scan refused" not in text
                assert text.splitlines()[0].startswith("1) BLE strap Polar H10 1A2B3C")
                assert "No ANT+ stick found, so only Bluetooth straps are listed: put the " \
                    "ANT+ stick in a USB port on the Pi and scan again." in " ".join(
                        text.split())

    asyncio.run(asyncio.wait_for(main(), 90))
