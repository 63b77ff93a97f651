"""Bluetooth LE straps in the air, behind bleak's own backend interfaces (its ``backend=``
seam): ``scanner_backend(straps)`` for ``BleakScanner`` and ``client_backend(straps)`` for
``BleakClient``. bleak's real front classes run on top (service filtering, the discovered
devices map, characteristic resolution); only the radio is replaced."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

HR_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HRM_CHAR = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_CHAR = "00002a19-0000-1000-8000-00805f9b34fb"


@dataclass
class BleStrap:
    """A strap advertising the Heart Rate service (or, with ``hr_service=False``, some other
    gadget in range); ``battery_pct=None``: it has no Battery service."""

    address: str
    name: str | None
    hr_of: Callable[[float], float]
    rssi_dbm: int = -60
    battery_pct: int | None = 90
    hr_service: bool = True


def scanner_backend(straps: list[BleStrap]) -> type[BaseBleakScanner]:
    class AirScanner(BaseBleakScanner):
        def __init__(self, detection_callback, service_uuids, scanning_mode="active",
                     **kwargs):
            super().__init__(detection_callback, service_uuids)
            self._task: asyncio.Task | None = None

        async def start(self) -> None:
            self.seen_devices = {}
            self._task = asyncio.create_task(self._advertise())

        async def _advertise(self) -> None:
            while True:
                for s in straps:
                    uuids = [HR_SERVICE] if s.hr_service else \
                        ["0000fe9f-0000-1000-8000-00805f9b34fb"]
                    adv = AdvertisementData(s.name, {}, {}, uuids, None, s.rssi_dbm, ())
                    if not self.is_allowed_uuid(adv.service_uuids):
                        continue
                    dev = self.create_or_update_device(s.address, s.address, s.name, None, adv)
                    self.call_detection_callbacks(dev, adv)
                await asyncio.sleep(0.1)

        async def stop(self) -> None:
            if self._task is not None:
                self._task.cancel()

    return AirScanner


class RadioClient(BaseBleakClient):
    """What every fake strap client answers alike: bleak's client interface beyond connect,
    notify and (for a battery) read — the parts our BleSource never uses raise."""

    async def stop_notify(self, characteristic):
        return None

    async def pair(self, *a, **k):
        return None

    async def unpair(self):
        return None

    async def read_gatt_char(self, characteristic, **kwargs):
        raise NotImplementedError

    async def read_gatt_descriptor(self, *a, **k):
        raise NotImplementedError

    async def write_gatt_char(self, *a, **k):
        raise NotImplementedError

    async def write_gatt_descriptor(self, *a, **k):
        raise NotImplementedError

    @property
    def mtu_size(self):
        return 23


def client_backend(straps: list[BleStrap], period_s: float = 0.25) -> type[BaseBleakClient]:
    """Straps that notify every ``period_s`` real seconds (shorter for a session on
    simulated time)."""
    by_address = {s.address: s for s in straps}

    class AirClient(RadioClient):
        reads: list[str] = []  # noqa: RUF012 - per backend class, on purpose

        def __init__(self, address, **kwargs):
            super().__init__(address, **kwargs)
            self._connected = False
            self._task: asyncio.Task | None = None
            self._strap = by_address.get(address)

        async def connect(self, pair=False, **kwargs):
            if self._strap is None:
                raise OSError(f"le-connection-abort-by-local: {self.address} not in range")
            coll = BleakGATTServiceCollection()
            hr = BleakGATTService(None, 1, HR_SERVICE)
            coll.add_service(hr)
            coll.add_characteristic(BleakGATTCharacteristic(
                None, 2, HRM_CHAR, ["notify"], lambda: 20, hr))
            if self._strap.battery_pct is not None:
                bat = BleakGATTService(None, 10, BATTERY_SERVICE)
                coll.add_service(bat)
                coll.add_characteristic(BleakGATTCharacteristic(
                    None, 11, BATTERY_CHAR, ["read", "notify"], lambda: 20, bat))
            self.services = coll
            self._connected = True

        async def disconnect(self):
            self._connected = False
            if self._task is not None:
                self._task.cancel()
            return True

        @property
        def is_connected(self):
            return self._connected

        async def start_notify(self, characteristic, callback, **kwargs):
            strap = self._strap

            async def run() -> None:
                while self._connected:
                    hr = round(strap.hr_of(time.monotonic()))
                    rr = struct.pack("<H", round(60 * 1024 / hr))
                    callback(bytearray([0x16, hr]) + rr)
                    await asyncio.sleep(period_s)

            self._task = asyncio.create_task(run())

        async def read_gatt_char(self, characteristic, **kwargs):
            AirClient.reads.append(characteristic.uuid)
            if characteristic.uuid == BATTERY_CHAR:
                return bytearray([self._strap.battery_pct])
            raise OSError(f"read of {characteristic.uuid} not permitted")

    return AirClient
