"""The patient's strap: staff pair one, the scan lists ANT+ and Bluetooth LE straps with the
site's "in use" marks and the last battery seen. A collaborator of ``Runtime``, which keeps the
heart-rate input itself (``_use``, ``_hr_input``: the safety group)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from controller.hr import (
    BleStrapSeen,
    HeartRateSource,
    StrapChoice,
    StrapSeen,
    check_strap,
    strap_key,
    strap_label,
)

if TYPE_CHECKING:
    from controller.service.runtime import Runtime

_log = logging.getLogger("controller.service.runtime")  # the runtime's, as before the split


class StrapPairing:
    def __init__(self, rt: Runtime, *,
                 source_for: Callable[[StrapChoice], HeartRateSource] | None,
                 scanner: Callable[[float], list[StrapSeen]] | None,
                 straps_in_use: Callable[[], dict[int | str, str]] | None,
                 ble_scanner: Callable[[float], Awaitable[list[BleStrapSeen]]] | None
                 ) -> None:
        self.rt = rt
        self.source_for = source_for
        self.scanner = scanner
        self.straps_in_use = straps_in_use
        """Straps other treadmills of the site have paired (``strap_key`` → treadmill)."""
        self.ble_scanner = ble_scanner
        """Bluetooth LE straps in range (``controller.hr.scan_ble``), listed beside ANT+."""
        self.scan_note: str | None = None
        """Why the last scan could not list every kind (Bluetooth unavailable), or None."""
        self.straps_guard: Callable[[], str | None] | None = None
        """Why the "in use on another treadmill" marks cannot be trusted now (the guard is not
        connected, or the broker lets it read nothing), or None; shown with every scan."""
        self._batteries: dict[int | str, tuple[int, bool]] = {}
        """Battery readings seen by scans, kept: ANT+ sends one about once a minute."""
        self.profile_strap: StrapChoice | None = None
        """The strap this patient wore last time (offered first by ``scan``)."""

    def pair(self, strap: object, *, confirm_in_use: bool = False) -> StrapChoice:
        """Staff chose the patient's strap: it is the only one this session listens to, from
        now (its heart rate shows before Start) until the session ends. A strap another
        treadmill of the site has paired is refused unless staff confirm it
        (``confirm_in_use``): pairing a neighbour's strap by accident puts this patient's
        belt on someone else's heart."""
        from controller.protocol import refused

        rt = self.rt
        if rt.started:
            raise refused("strap_fixed")
        choice = check_strap(strap)
        if self.source_for is None:
            raise refused("cannot_pair")
        other = (self.straps_in_use() if self.straps_in_use else {}).get(strap_key(choice))
        if other is not None and not confirm_in_use:
            raise refused("strap_in_use", strap=strap_label(choice), treadmill=other)
        rt._use(self.source_for(choice), choice)
        return choice

    async def scan(self, seconds: float = 4.0) -> list[dict[str, Any]]:
        """The straps in range, ANT+ and Bluetooth LE together, for staff to choose from:
        strongest first, this patient's remembered strap before all, each marked when another
        treadmill of the site uses it, with the last battery reading any scan saw. The stick
        is needed for the scan, so a strap paired before is released. When Bluetooth cannot
        be scanned, ``scan_note`` says why in one sentence and the ANT+ straps are listed;
        when ANT+ cannot (no stick, no permission …), it says so and what to do, and the
        Bluetooth straps are listed (issue 22)."""
        from controller.hr import BleUnavailable, ant_extended_id, ant_scan_problem
        from controller.protocol import refused

        rt = self.rt
        if rt.started:
            raise refused("strap_fixed")
        if self.scanner is None and self.ble_scanner is None:
            raise refused("cannot_scan")
        if rt.hr_source is not None:
            rt._use(None, None)
            await rt._released.wait()

        notes: dict[str, str] = {}

        async def ble() -> list[BleStrapSeen]:
            if self.ble_scanner is None:
                return []
            try:
                return await self.ble_scanner(seconds)
            except BleUnavailable as e:
                notes["ble"] = str(e)
                return []

        async def ant() -> list[StrapSeen]:
            """One radio's failure is said, not the whole scan's (issue 22)."""
            if self.scanner is None:
                return []
            try:
                return await asyncio.to_thread(self.scanner, seconds)
            except Exception as e:
                _log.warning("ANT+ scan failed: %s: %s", type(e).__name__, e)
                notes["ant"] = ant_scan_problem(e)
                return []

        self.scan_note = None
        ant_seen, ble_seen = await asyncio.gather(ant(), ble())
        self.scan_note = " ".join(notes[k] for k in ("ant", "ble") if k in notes) or None
        in_use = self.straps_in_use() if self.straps_in_use else {}
        remembered = strap_key(self.profile_strap) if self.profile_strap else None
        rows: list[dict[str, Any]] = []
        for s in ant_seen:
            key = ant_extended_id(s.device_number, s.transmission_type)  # the full id
            if s.battery_pct is not None:
                self._batteries[key] = (s.battery_pct, s.battery_low)
            pct, low = self._batteries.get(key, (None, False))
            rows.append({"kind": "ant", "device_number": s.device_number,
                         "transmission_type": s.transmission_type, "ant_id": key,
                         "rssi_dbm": s.rssi_dbm, "hr_bpm": s.hr_bpm, "battery_pct": pct,
                         "battery_low": low,
                         "in_use_by": in_use.get(key, in_use.get(s.device_number)),
                         "remembered": remembered in (key, s.device_number)})
        for b in ble_seen:
            address = b.address.upper()
            pct, low = self._batteries.get(address, (None, False))
            rows.append({"kind": "ble", "address": b.address, "name": b.name,
                         "rssi_dbm": b.rssi_dbm, "hr_bpm": None, "battery_pct": pct,
                         "battery_low": low, "in_use_by": in_use.get(address),
                         "remembered": address == remembered})
        blind = self.straps_guard() if self.straps_guard else None
        if blind:
            self.scan_note = f"{self.scan_note} {blind}" if self.scan_note else blind
        rows.sort(key=lambda r: (not r["remembered"],
                                 -(r["rssi_dbm"] if r["rssi_dbm"] is not None else -999)))
        return rows
