"""BLE 0x2A37 parsing, BLE reconnect through bleak with a fake backend, the plausibility
filter on recorded artefact patterns, and the simulated source."""

import asyncio
import contextlib
import itertools
import struct
from typing import ClassVar

import pytest
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

from controller.hr import (
    BleSource,
    HrSample,
    PlausibilityFilter,
    SimulatedSource,
    SourceState,
    SourceStatus,
    parse_hrm,
)
from tests.ble_air import RadioClient


@pytest.mark.parametrize("flags", range(32))
def test_parse_every_flag_combination(flags):
    hr = 300 if flags & 0x01 else 150
    data = bytes([flags]) + (struct.pack("<H", hr) if flags & 0x01 else bytes([hr]))
    if flags & 0x08:
        data += struct.pack("<H", 1234)
    rr_raw = [1024, 512]
    if flags & 0x10:
        data += b"".join(struct.pack("<H", r) for r in rr_raw)
    m = parse_hrm(data)
    assert m.hr_bpm == hr
    assert m.contact_detected == bool(flags & 0x02)
    assert m.contact_supported == bool(flags & 0x04)
    assert m.energy_kj == (1234 if flags & 0x08 else None)
    assert m.rr_ms == ((1000.0, 500.0) if flags & 0x10 else ())


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x01\x50", b"\x08\x50\x01",
                                  b"\x10\x50\x00\x04\x01"])
def test_malformed_measurements_are_refused(data):
    with pytest.raises(ValueError):
        parse_hrm(data)


class FakeStrapBackend(RadioClient):
    """A bleak backend with one HRM characteristic; the class-level script decides what
    each connection does (fail, notify some values, then drop)."""

    script: ClassVar[list] = []
    connections = 0

    def __init__(self, address, **kwargs):
        super().__init__(address, **kwargs)
        self._connected = False
        self._task = None

    async def connect(self, pair=False, **kwargs):
        FakeStrapBackend.connections += 1
        plan = FakeStrapBackend.script.pop(0) if FakeStrapBackend.script else "hang"
        if plan == "fail":
            raise OSError("le-connection-abort-by-local")
        self._plan = plan
        coll = BleakGATTServiceCollection()
        svc = BleakGATTService(None, 1, "0000180d-0000-1000-8000-00805f9b34fb")
        coll.add_service(svc)
        coll.add_characteristic(BleakGATTCharacteristic(
            None, 2, "00002a37-0000-1000-8000-00805f9b34fb", ["notify"], lambda: 20, svc))
        self.services = coll
        self._connected = True

    async def disconnect(self):
        self._connected = False

    @property
    def is_connected(self):
        return self._connected

    async def start_notify(self, characteristic, callback, **kwargs):
        if self._plan == "silent":  # connected, notifying nothing, never dropping
            return

        async def run():
            for item in self._plan:
                flags, hr = item if isinstance(item, tuple) else (0x10, item)
                await asyncio.sleep(0.01)
                rr = struct.pack("<H", round(60 * 1024 / hr)) if flags & 0x10 else b""
                callback(bytearray([flags, hr]) + rr)
            await asyncio.sleep(0.05)
            self._connected = False
            if self._disconnected_callback:
                self._disconnected_callback()
        self._task = asyncio.create_task(run())


def test_ble_reconnects_after_a_drop_and_a_failed_attempt():
    FakeStrapBackend.script = [[100, 101, 102], "fail", [120, 121]]
    FakeStrapBackend.connections = 0
    src = BleSource("AA:BB:CC:DD:EE:FF", backend=FakeStrapBackend, max_backoff_s=0.05)

    async def main():
        items = []
        async for item in src.stream():
            items.append(item)
            if isinstance(item, HrSample) and item.hr_bpm == 121:
                return items

    items = asyncio.run(asyncio.wait_for(main(), 20))
    hrs = [i.hr_bpm for i in items if isinstance(i, HrSample)]
    assert hrs == [100, 101, 102, 120, 121]
    rr = [i.rr_ms for i in items if isinstance(i, HrSample)]
    assert all(abs(r[0] - 60000 / h) < 1.0 for r, h in zip(rr, hrs, strict=True))
    st = [i.state for i in items if isinstance(i, SourceStatus)]
    assert st.count(SourceState.CONNECTED) == 2 and SourceState.LOST in st
    assert FakeStrapBackend.connections == 3 and src.connects == 2


def _tracked(backend, clients):
    class Tracked(backend):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            clients.append(self)
    return Tracked


@pytest.mark.parametrize("how", ["cancel", "aclose"])
def test_ble_source_disconnects_when_its_stream_is_cancelled(how):
    # issue 22.3: the strap stayed connected and notifying for the life of the process
    from tests.ble_air import BleStrap, client_backend
    clients = []
    backend = _tracked(client_backend([BleStrap("AA:BB:CC:DD:EE:01", "HRM", lambda t: 120.0)],
                                      period_s=0.05), clients)
    src = BleSource("AA:BB:CC:DD:EE:01", backend=backend)

    async def main():
        got = asyncio.Event()
        gen = src.stream()

        async def consume():
            async for item in gen:
                if isinstance(item, HrSample):
                    got.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(got.wait(), 5)
        if how == "cancel":  # re-scan, re-pair, end of session: the task is cancelled
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await gen.aclose()

    asyncio.run(asyncio.wait_for(main(), 10))
    assert clients and not any(c.is_connected for c in clients)


def test_ble_reconnects_a_strap_that_stays_connected_but_silent():
    # issue 22.3: connected but silent was only ever "stale", never reconnected
    FakeStrapBackend.script = ["silent", [120, 121]]
    FakeStrapBackend.connections = 0
    clients = []
    src = BleSource("AA:BB:CC:DD:EE:FF", backend=_tracked(FakeStrapBackend, clients),
                    max_backoff_s=0.05, reconnect_silent_s=1.0)

    async def main():
        items = []
        async for item in src.stream():
            items.append(item)
            if isinstance(item, HrSample) and item.hr_bpm == 121:
                return items

    items = asyncio.run(asyncio.wait_for(main(), 10))
    assert [i.hr_bpm for i in items if isinstance(i, HrSample)] == [120, 121]
    assert FakeStrapBackend.connections == 2 and not clients[0].is_connected


def test_ble_readings_of_an_old_connection_are_not_yielded_after_the_new_one():
    # issue 22.7: readings queued by the old connection came after the new one's
    FakeStrapBackend.script = [[100 + i for i in range(20)], [150, 151]]
    FakeStrapBackend.connections = 0
    src = BleSource("AA:BB:CC:DD:EE:FF", backend=FakeStrapBackend, max_backoff_s=0.05)

    async def main():
        items = []
        async for item in src.stream():
            items.append(item)
            if len(items) == 3:
                await asyncio.sleep(1.0)  # a slow consumer: the first connection drops
            if isinstance(item, HrSample) and item.hr_bpm == 151:
                return items

    items = asyncio.run(asyncio.wait_for(main(), 10))
    second = [i for i, x in enumerate(items) if isinstance(x, SourceStatus)
              and x.state is SourceState.CONNECTED][1]
    after = [x.hr_bpm for x in items[second:] if isinstance(x, HrSample)]
    assert after == [150, 151]


def feed(values, rr=None, dt=0.25):
    f = PlausibilityFilter()
    out = []
    for i, v in enumerate(values):
        rrs = (rr[i],) if rr and rr[i] else ()
        out.append(f.check(HrSample(v, i * dt, "test", rr_ms=rrs)))
    return out


def test_filter_recorded_artefact_patterns():
    # a strap losing contact: doubled for 2 s, then a spike, then halved, then fine again
    steady = [150.0] * 12
    pattern = steady + [300.0, 301.0] * 4 + [150.0] * 4 + [210.0] + [150.0] * 4 + \
        [75.0] * 8 + [151.0] * 8
    out = feed(pattern)
    reasons = [c.reason for c in out]
    assert all(c.valid for c in out[:12])
    assert set(reasons[12:20]) == {"out_of_range"}
    assert reasons[24] == "jump"
    assert set(reasons[29:37]) == {"halved"}
    assert all(c.valid for c in out[37:])
    assert all(c.hr_bpm is None for c in out if not c.valid)


def test_filter_zero_means_no_reading():
    assert feed([0.0])[0].reason == "no_reading"


def test_filter_rr_cross_check():
    ok = feed([120.0] * 6, rr=[500.0] * 6)
    assert all(c.valid for c in ok)
    bad = feed([120.0] * 4 + [160.0], rr=[500.0] * 4 + [500.0])
    assert bad[-1].reason == "rr_mismatch" and not bad[-1].valid


def test_simulated_source_reports_samples_and_loss():
    clock = itertools.count(0.0, 0.25).__next__
    src = SimulatedSource(lambda t: 130.0 if t < 5 else None, rate_hz=1000, clock=clock)

    async def main():
        items = []
        async for item in src.stream():
            items.append(item)
            if isinstance(item, SourceStatus) and item.state is SourceState.LOST:
                return items

    items = asyncio.run(asyncio.wait_for(main(), 10))
    st = [(i.state, i.now_s) for i in items if isinstance(i, SourceStatus)]
    assert [s for s, _ in st] == [SourceState.SEARCHING, SourceState.CONNECTED,
                                  SourceState.STALE, SourceState.LOST]
    last = max(i.now_s for i in items if isinstance(i, HrSample))
    assert st[2][1] - last == pytest.approx(3.0, abs=0.3)
    assert st[3][1] - last == pytest.approx(10.0, abs=0.3)


def test_filter_frozen_strap():
    f = PlausibilityFilter()
    out = [f.check(HrSample(120.0, i * 0.25, "ant+", beat_count=7)) for i in range(30)]
    assert all(c.valid for c in out[:20]) and out[-1].reason == "frozen"
    f2 = PlausibilityFilter()
    same = [f2.check(HrSample(120.0, i * 0.25, "ble")) for i in range(100)]
    assert same[40].valid and same[-1].reason == "frozen"
    wobble = PlausibilityFilter()
    ok = [wobble.check(HrSample(120.0 + (i // 8) % 2, i * 0.25, "ble")) for i in range(200)]
    assert all(c.valid for c in ok)


def test_ble_sensor_contact_bits_reach_the_gate():
    # issue 11: "no contact" readings counted as valid
    FakeStrapBackend.script = [[(0x16, 120), (0x16, 121), (0x14, 122), (0x10, 123)]]
    src = BleSource("AA:BB:CC:DD:EE:FF", backend=FakeStrapBackend, max_backoff_s=0.05)

    async def main():
        items = []
        async for item in src.stream():
            if isinstance(item, HrSample):
                items.append(item)
                if len(items) == 4:
                    return items

    got = asyncio.run(asyncio.wait_for(main(), 20))
    assert [s.contact for s in got] == [True, True, False, None]
    f = PlausibilityFilter()
    assert [f.check(s).reason for s in got][2] == "no_contact"
