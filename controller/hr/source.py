"""What every heart-rate source yields (samples, statuses, battery reports), the interface, the
timings the sources share, and the gate for callers outside a session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.core.hrgate import HrGate, HrReading

STALE_AFTER_S = 3.0
STICK_POLL_S = 0.5
"""While no ANT+ stick is plugged in, look for one this often (a cheap USB lookup)."""
RECONNECT_SILENT_S = 8.0
"""A BLE strap connected but silent this long is disconnected and connected afresh."""
LOST_AFTER_S = 10.0
WATCH_EVERY_S = 0.2
"""How often the ANT+ supervisor looks at the data's age, on the source's clock."""
UDEV_HINT = ("install the udev rule (systemd/99-fourbyfour.rules, vendor 0fcf) and re-plug "
             "the stick, or add this user to the 'plugdev' group")


class SourceState(StrEnum):
    SEARCHING = "searching"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost"
    STICK_MISSING = "stick_missing"


@dataclass(frozen=True)
class HrSample:
    hr_bpm: float
    now_s: float
    source: str
    device_id: int | None = None
    beat_time_s: float | None = None
    beat_count: int | None = None
    rr_ms: tuple[float, ...] = ()
    contact: bool | None = None
    """BLE sensor-contact bits: False = the strap says no skin contact; None = unknown."""


@dataclass(frozen=True)
class BatteryReport:
    """The strap's battery, when it says: ANT+ background page 7 (about once a minute), or
    BLE's Battery Level (0x2A19) read once after connecting. ``low`` warns staff before
    Start: under ``LOW_BATTERY_PCT`` or the strap's own "low"/"critical" status."""

    battery_pct: int | None
    low: bool
    now_s: float


LOW_BATTERY_PCT = 20
ANT_BATTERY_LOW, ANT_BATTERY_CRITICAL = 4, 5
"""ANT+ common battery status (page 7, byte 3 bits 4–6): 1 new, 2 good, 3 ok, 4 low,
5 critical, 6 charging, 7 invalid."""


def battery_is_low(battery_pct: int | None, ant_status: int | None = None) -> bool:
    """Whether to warn staff: the percentage under 20 or the strap's own low/critical."""
    if ant_status in (ANT_BATTERY_LOW, ANT_BATTERY_CRITICAL):
        return True
    return battery_pct is not None and battery_pct < LOW_BATTERY_PCT


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    message: str
    now_s: float
    device_id: int | None = None


def reading_of(s: HrSample) -> HrReading:
    """What the gate needs from a sample: the value and its beat evidence."""
    value_only = s.source == "ble" and not s.rr_ms and s.beat_count is None
    return HrReading(s.now_s, s.hr_bpm, s.beat_count, s.beat_time_s, s.rr_ms, s.contact,
                     value_only)


@dataclass(frozen=True)
class CheckedSample:
    sample: HrSample
    valid: bool
    reason: str

    @property
    def hr_bpm(self) -> float | None:
        return self.sample.hr_bpm if self.valid else None


class PlausibilityFilter:
    """The one gate (``controller.core.hrgate``) applied to a source's samples, for callers
    that watch a strap outside a session (the strap check before Start, benchmarks). A
    session gates its own samples (``Session.offer_hr``): never run both in series."""

    def __init__(self) -> None:
        self.gate = HrGate()

    def check(self, s: HrSample) -> CheckedSample:
        v = self.gate.update(reading_of(s))
        return CheckedSample(s, v.valid, v.reason)


class HeartRateSource:
    """The interface: ``async for item in source.stream(): ...``."""

    def stream(self) -> AsyncIterator[  # pragma: no cover
            HrSample | SourceStatus | BatteryReport]:
        raise NotImplementedError


def _offer(q: asyncio.Queue[Any], item: object) -> None:
    """Bounded hand-over: when the consumer lags, the oldest item goes, never the newest."""
    if q.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            q.get_nowait()
    q.put_nowait(item)

