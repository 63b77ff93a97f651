"""Per-session summary for the journal, computed from the recorded per-second samples.

Per interval: time to zone (85 % HRmax), % of time in zone after the allowance (120 s in the
first interval, 60 s later), seconds above 95 %, peak and mean heart rate, mean speed and
incline. Per recovery: the heart-rate drop over its first minute (a fitness sign). For the
session: alarms raised and total seconds in zone across the intervals.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from controller.core.metrics import ALLOWANCE_FIRST_S, ALLOWANCE_LATER_S


def _mean(xs: list[float]) -> float | None:
    return round(statistics.fmean(xs), 1) if xs else None


def summarise(samples: Sequence[dict[str, Any]], hr_max: float,
              events: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``samples``: dicts with t_s, phase, interval, hr_bpm, speed_kmh, incline_pct (1 Hz)."""
    lo, hi = 0.85 * hr_max, 0.95 * hr_max
    intervals = []
    total_in_zone_s = 0.0
    for k in sorted({s["interval"] for s in samples if s["phase"] == "interval"}):
        rows = [s for s in samples if s["phase"] == "interval" and s["interval"] == k]
        t0 = rows[0]["t_s"]
        dt = (rows[-1]["t_s"] - t0) / max(len(rows) - 1, 1) if len(rows) > 1 else 1.0
        allowance = ALLOWANCE_FIRST_S if k == 1 else ALLOWANCE_LATER_S
        hrs = [s["hr_bpm"] for s in rows if s["hr_bpm"] is not None]
        ttz = next((s["t_s"] - t0 for s in rows if s["hr_bpm"] is not None
                    and s["hr_bpm"] >= lo), None)
        after = [s["hr_bpm"] for s in rows if s["t_s"] - t0 >= allowance and
                 s["hr_bpm"] is not None]
        in_zone = sum(1 for h in hrs if lo <= h <= hi)
        total_in_zone_s += in_zone * dt
        intervals.append({
            "interval": k,
            "time_to_zone_s": None if ttz is None else round(ttz),
            "in_zone_after_allowance_pct": round(100.0 * sum(1 for h in after if lo <= h <= hi)
                                                 / len(after), 1) if after else None,
            "above_95_s": round(sum(1 for h in hrs if h > hi) * dt),
            "peak_hr_bpm": round(max(hrs)) if hrs else None,
            "mean_hr_bpm": _mean(hrs),
            "mean_speed_kmh": _mean([s["speed_kmh"] for s in rows]),
            "mean_incline_pct": _mean([s["incline_pct"] for s in rows]),
        })
    recoveries = []
    for k in sorted({s["interval"] for s in samples if s["phase"] == "recovery"}):
        rows = [s for s in samples if s["phase"] == "recovery" and s["interval"] == k
                and s["hr_bpm"] is not None]
        if not rows:
            continue
        t0 = rows[0]["t_s"]
        at_60 = [s["hr_bpm"] for s in rows if 55.0 <= s["t_s"] - t0 <= 65.0]
        recoveries.append({"after_interval": k,
                           "hr_drop_first_minute_bpm": round(rows[0]["hr_bpm"] - at_60[-1])
                           if at_60 else None})
    return {
        "hr_max_bpm": hr_max,
        "intervals": intervals,
        "recoveries": recoveries,
        "total_in_zone_s": round(total_in_zone_s),
        "alarms": [e["kind"] for e in events if e.get("severity") == "alarm"],
    }
