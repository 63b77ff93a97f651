"""Heart-rate sources: ANT+ (openant), Bluetooth LE (bleak, optional) and simulated.

Every source offers one async interface, ``stream()``, yielding ``HrSample`` (bpm, beat time
and count, RR intervals where the strap gives them, source, device, timestamp) and
``SourceStatus`` (searching, connected, stale, lost, stick missing). Every sample goes to the
one gate (``controller.core.hrgate``) with its beat evidence — the session's own, through
``Session.offer_hr``; ``PlausibilityFilter`` applies the same gate outside a session.

ANT+ — what openant does not do, this module does (shared/reference/heart-rate-input.md):
openant reports no failures. A supervisor thread builds openant's ``Node`` and ``HeartRate``
channel, runs ``node.start()`` in a dedicated thread, copies each page's fields inside the
callback and hands them to asyncio with ``call_soon_threadsafe``. A staleness watchdog marks
the source **stale after 3 s** without data and **lost after 10 s**; then, or when openant's
reader thread dies (unplugged stick, a stray byte on a serial stick), the node is torn down
and rebuilt with back-off (0.5 s doubling to 10 s). Once paired, the source stays pinned to
that strap's device number across rebuilds, so it never silently switches to another
patient's strap. The ANT+ network key is imported from openant, never copied here.

The package, by seam: ``source`` (samples, statuses, the interface, shared timings, the gate
outside a session), ``simulated``, ``ant`` (the openant source and its scan), ``_openant_patch``
(every reach into openant's internals, in one guarded module), ``ble`` (bleak), ``straps``
(the strap staff chose). Every name is importable from ``controller.hr`` as before.
"""

from __future__ import annotations

from controller.hr._openant_patch import (
    GuardedDriver,
    StickGone,
    _driver_lock,
    _end_orphan_reader,
    _openant_search,
    _selected_driver_class,
    _wake_on_stop,
    serial_stick_driver,
)
from controller.hr.ant import (
    AntSource,
    StrapSeen,
    _explain,
    ant_extended_id,
    ant_scan_problem,
)
from controller.hr.ble import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    HR_SERVICE_UUID,
    HRM_UUID,
    BleSource,
    BleStrapSeen,
    BleUnavailable,
    HrmMeasurement,
    parse_hrm,
    scan_ble,
)
from controller.hr.simulated import (
    SimulatedSource,
)
from controller.hr.source import (
    ANT_BATTERY_CRITICAL,
    ANT_BATTERY_LOW,
    LOST_AFTER_S,
    LOW_BATTERY_PCT,
    RECONNECT_SILENT_S,
    STALE_AFTER_S,
    STICK_POLL_S,
    UDEV_HINT,
    WATCH_EVERY_S,
    BatteryReport,
    CheckedSample,
    HeartRateSource,
    HrSample,
    PlausibilityFilter,
    SourceState,
    SourceStatus,
    _offer,
    battery_is_low,
    reading_of,
)
from controller.hr.straps import (
    StrapChoice,
    check_strap,
    strap_key,
    strap_label,
)

__all__ = [
    "ANT_BATTERY_CRITICAL",
    "ANT_BATTERY_LOW",
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "HRM_UUID",
    "HR_SERVICE_UUID",
    "LOST_AFTER_S",
    "LOW_BATTERY_PCT",
    "RECONNECT_SILENT_S",
    "STALE_AFTER_S",
    "STICK_POLL_S",
    "UDEV_HINT",
    "WATCH_EVERY_S",
    "AntSource",
    "BatteryReport",
    "BleSource",
    "BleStrapSeen",
    "BleUnavailable",
    "CheckedSample",
    "GuardedDriver",
    "HeartRateSource",
    "HrSample",
    "HrmMeasurement",
    "PlausibilityFilter",
    "SimulatedSource",
    "SourceState",
    "SourceStatus",
    "StickGone",
    "StrapChoice",
    "StrapSeen",
    "_driver_lock",
    "_end_orphan_reader",
    "_explain",
    "_offer",
    "_openant_search",
    "_selected_driver_class",
    "_wake_on_stop",
    "ant_extended_id",
    "ant_scan_problem",
    "battery_is_low",
    "check_strap",
    "parse_hrm",
    "reading_of",
    "scan_ble",
    "serial_stick_driver",
    "strap_key",
    "strap_label",
]
