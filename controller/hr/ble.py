"""Bluetooth LE straps through bleak (optional 'ble' extra): the scan, the Heart Rate
Measurement parser and the source that reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from controller.core.i18n import _
from controller.hr.source import (
    RECONNECT_SILENT_S,
    STALE_AFTER_S,
    BatteryReport,
    HeartRateSource,
    HrSample,
    SourceState,
    SourceStatus,
    _offer,
    battery_is_low,
)

_log = logging.getLogger("controller.hr")  # one logger for the package, as before the split



@dataclass(frozen=True)
class BleStrapSeen:
    """A Bluetooth LE strap advertising the Heart Rate service (its adverts carry no bpm)."""

    address: str
    name: str | None
    rssi_dbm: int | None

# -- Bluetooth LE ---------------------------------------------------------------------------

HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
HR_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class BleUnavailable(RuntimeError):
    """Bluetooth LE cannot be used here (no 'ble' extra, no adapter, no BlueZ): one sentence
    for staff, never a traceback."""


async def scan_ble(seconds: float = 4.0, *, backend: type | None = None
                   ) -> list[BleStrapSeen]:
    """Bluetooth LE straps in range that advertise the Heart Rate service (0x180D), with
    their name and signal strength, strongest first. ``backend`` is bleak's scanner seam
    (``BleakScanner(..., backend=...)``); raises ``BleUnavailable`` with the reason."""
    try:
        from bleak import BleakScanner
    except ImportError as e:
        raise BleUnavailable(_("Bluetooth straps are not listed: the 'ble' extra (bleak) is "
                               "not installed.")) from e
    try:
        found = await BleakScanner.discover(seconds, return_adv=True,
                                            service_uuids=[HR_SERVICE_UUID],
                                            backend=backend)  # type: ignore[call-overload]
    except Exception as e:  # BleakError, D-Bus errors, no adapter: all say "not here"
        raise BleUnavailable(_("Bluetooth straps are not listed: {error}").format(
            error=str(e) or type(e).__name__)) from e
    seen = [BleStrapSeen(dev.address, adv.local_name or dev.name, adv.rssi)
            for dev, adv in found.values()
            if HR_SERVICE_UUID in [u.lower() for u in adv.service_uuids]]
    return sorted(seen, key=lambda s: -(s.rssi_dbm if s.rssi_dbm is not None else -999))


@dataclass(frozen=True)
class HrmMeasurement:
    hr_bpm: int
    contact_supported: bool
    contact_detected: bool
    energy_kj: int | None
    rr_ms: tuple[float, ...]


def parse_hrm(data: bytes) -> HrmMeasurement:
    """Parse a Heart Rate Measurement (0x2A37) notification; ValueError if malformed."""
    if len(data) < 2:
        raise ValueError("heart rate measurement shorter than 2 bytes")
    flags = data[0]
    i = 1
    if flags & 0x01:
        if len(data) < 3:
            raise ValueError("uint16 heart rate flagged but missing")
        hr = data[1] | (data[2] << 8)
        i = 3
    else:
        hr = data[1]
        i = 2
    energy = None
    if flags & 0x08:
        if len(data) < i + 2:
            raise ValueError("energy expended flagged but missing")
        energy = data[i] | (data[i + 1] << 8)
        i += 2
    rr: list[float] = []
    if flags & 0x10:
        if (len(data) - i) % 2:
            raise ValueError("RR intervals have an odd number of bytes")
        for j in range(i, len(data), 2):
            rr.append((data[j] | (data[j + 1] << 8)) * 1000.0 / 1024.0)
    return HrmMeasurement(hr, bool(flags & 0x04), bool(flags & 0x02), energy, tuple(rr))


class BleSource(HeartRateSource):
    """A Bluetooth LE strap (Heart Rate Service) via bleak, reconnecting with back-off.

    ``backend`` is bleak's own seam (``BleakClient(..., backend=...)``): tests pass a fake.
    After each connect the Battery Level (0x2A19) is read once when the strap has the
    Battery service, and reported as a ``BatteryReport``.
    """

    def __init__(self, address: str, *, backend: type | None = None,
                 max_backoff_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 reconnect_silent_s: float = RECONNECT_SILENT_S) -> None:
        self.address = address
        self.backend = backend
        self.max_backoff_s = max_backoff_s
        self.reconnect_silent_s = reconnect_silent_s
        self.clock = clock
        self.connects = 0

    async def _read_battery(self, client: Any) -> BatteryReport | None:
        """Battery Level, once: None when the strap has no Battery service or the read
        fails (a strap without a battery reading still works)."""
        if client.services.get_service(BATTERY_SERVICE_UUID) is None:
            return None
        try:
            data = await asyncio.wait_for(client.read_gatt_char(BATTERY_LEVEL_UUID), 5.0)
        except Exception as e:
            _log.info("BLE strap %s: battery not read (%s)", self.address, e)
            return None
        if not data or data[0] > 100:
            return None
        return BatteryReport(data[0], battery_is_low(data[0]), self.clock())

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus | BatteryReport]:
        """Connect, notify, reconnect. Every connection is released in every path — a drop,
        silence, an error, or the consumer cancelling or closing the stream (re-scan,
        re-pair, end of session) — so the strap is free for the next scan and for another
        treadmill. Each connection has its own queue: nothing an old connection sent is
        yielded after the new one's."""
        try:
            from bleak import BleakClient
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise RuntimeError("Bluetooth LE needs the 'ble' extra: pip install "
                               "'fourbyfour[ble]'") from e
        backoff = 0.5
        while True:
            q: asyncio.Queue[HrSample | SourceStatus] = asyncio.Queue(maxsize=256)
            gone = asyncio.Event()
            client = BleakClient(self.address,
                                 disconnected_callback=lambda _c, g=gone: g.set(),  # type: ignore[misc]
                                 backend=self.backend)
            yield SourceStatus(SourceState.SEARCHING, f"connecting to {self.address}",
                               self.clock())
            silent = False
            try:
                try:
                    await client.connect()

                    def on_notify(_char: object, data: bytearray, q: asyncio.Queue = q
                                  ) -> None:
                        try:
                            m = parse_hrm(bytes(data))
                        except ValueError as e:
                            _log.warning("bad heart rate measurement from %s: %s",
                                         self.address, e)
                            return
                        contact = m.contact_detected if m.contact_supported else None
                        _offer(q, HrSample(float(m.hr_bpm), self.clock(), "ble", None, None,
                                           None, m.rr_ms, contact))

                    await client.start_notify(HRM_UUID, on_notify)
                    battery = await self._read_battery(client)
                except Exception as e:
                    yield SourceStatus(SourceState.LOST, f"BLE strap {self.address}: {e}",
                                       self.clock())
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                self.connects += 1
                backoff = 0.5
                yield SourceStatus(SourceState.CONNECTED,
                                   f"BLE strap {self.address} connected", self.clock())
                if battery is not None:
                    yield battery
                now = asyncio.get_running_loop().time  # silence in the loop's seconds
                last_s = now()
                stale_told = False
                while not gone.is_set():
                    quiet_s = now() - last_s
                    if quiet_s >= self.reconnect_silent_s:
                        silent = True  # connected but silent: connect afresh
                        break
                    wait_s = (self.reconnect_silent_s - quiet_s) if stale_told else \
                        min(STALE_AFTER_S - quiet_s, self.reconnect_silent_s - quiet_s)
                    get = asyncio.ensure_future(q.get())
                    lost = asyncio.ensure_future(gone.wait())
                    try:
                        done, _pending = await asyncio.wait(
                            {get, lost}, timeout=max(wait_s, 0.0),
                            return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        get.cancel()
                        lost.cancel()
                    if get in done:
                        last_s = now()
                        stale_told = False
                        yield get.result()
                        continue
                    if not done and not stale_told and \
                            now() - last_s >= STALE_AFTER_S - 1e-3:
                        stale_told = True
                        yield SourceStatus(SourceState.STALE, "no BLE heart-rate notification "
                                           f"for {STALE_AFTER_S:g} s", self.clock())
            finally:
                await self._release(client)
            why = f"silent for {self.reconnect_silent_s:g} s: reconnecting" if silent \
                else "disconnected"
            yield SourceStatus(SourceState.LOST, f"BLE strap {self.address} {why}",
                               self.clock())

    async def _release(self, client: Any) -> None:
        """Stop notifying and disconnect, whatever state the connection is in; bounded, so
        a cancelled stream never waits long for a radio that does not answer."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(client.disconnect(), 5.0)
