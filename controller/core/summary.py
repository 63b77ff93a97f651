"""Per-session summary for the journal, computed from the recorded per-second samples.

Per interval, over its running time (a pause is not time out of the zone): time to zone
(85 % HRmax), % of time in zone after the allowance (120 s in the first interval, 60 s
later), seconds above 95 %, peak and mean heart rate, mean speed and incline. Per recovery:
the heart-rate drop over its first minute (a fitness sign). For the session: alarms raised
and total seconds in zone across the intervals (``metrics.session_in_zone_s``: the one
figure of time in the zone that the console, belt screen, report and hand-over show).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from controller.core.metrics import (
    ScoredRow,
    interval_metrics,
    session_in_zone_s,
    whole_seconds,
)


def _round1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _round0(x: float | None) -> int | None:
    return None if x is None else round(x)


def summarise(samples: Sequence[dict[str, Any]], hr_max: float,
              events: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``samples``: dicts with t_s, phase, interval, hr_bpm, speed_kmh, incline_pct (1 Hz)
    and (as recorded) state."""
    ms = interval_metrics([ScoredRow.of_sample(s) for s in samples], hr_max)
    intervals = [{
        "interval": m.interval,
        "time_to_zone_s": _round0(m.time_to_zone_s),
        "in_zone_after_allowance_pct": round(100.0 * m.in_zone_after_allowance, 1)
        if m.readings_after_allowance else None,
        "above_95_s": whole_seconds(m.above_95_s),
        "in_zone_s": whole_seconds(m.in_zone_s),
        "ran_s": whole_seconds(m.ran_s),
        "peak_hr_bpm": _round0(m.peak_hr_bpm),
        "mean_hr_bpm": _round1(m.mean_hr_bpm),
        "mean_speed_kmh": _round1(m.mean_speed_kmh),
        "mean_incline_pct": _round1(m.mean_incline_pct),
    } for m in ms]
    recoveries = []
    for k in sorted({s["interval"] for s in samples if s["phase"] == "recovery"}):
        rec = [s for s in samples if s["phase"] == "recovery" and s["interval"] == k
                and s["hr_bpm"] is not None]
        if not rec:
            continue
        t0 = rec[0]["t_s"]
        at_60 = [s["hr_bpm"] for s in rec if 55.0 <= s["t_s"] - t0 <= 65.0]
        recoveries.append({"after_interval": k,
                           "hr_drop_first_minute_bpm": round(rec[0]["hr_bpm"] - at_60[-1])
                           if at_60 else None})
    out = {
        "hr_max_bpm": hr_max,
        "intervals": intervals,
        "recoveries": recoveries,
        "total_in_zone_s": session_in_zone_s(ms),  # the intervals' whole seconds, added
        "alarms": [e["kind"] for e in events if e.get("severity") == "alarm"],
    }
    test = six_minute_measures([(s["t_s"], s["phase"], s["speed_kmh"], s["hr_bpm"])
                          for s in samples])
    if test is not None:  # a 6-minute test: what it measured (it has no intervals)
        out["test"] = test
    return out


TEST_GAP_CAP_S = 10.0
"""A gap between two recorded ticks counts at most this long towards the test's distance
(a late tick: the belt ran on; a longer silence is not counted as walked)."""


def six_minute_measures(ticks: Sequence[tuple[float, str, float | None, float | None]]
                  ) -> dict[str, Any] | None:
    """What a 6-minute test measured, from its ticks (t_s, phase, belt speed km/h, heart
    rate): the distance on the belt in the test phase (each tick's speed until the next
    tick) and the highest accepted heart rate in it; None without a test phase. The test's
    end summary says these, not zone figures (issue 21: a 6-minute test has no zone)."""
    metres, peak, seen = 0.0, None, False
    for i, (t_s, phase, speed_kmh, hr_bpm) in enumerate(ticks):
        if phase != "test":
            continue
        seen = True
        dt_s = ticks[i + 1][0] - t_s if i + 1 < len(ticks) else 1.0
        metres += (speed_kmh or 0.0) / 3.6 * min(max(dt_s, 0.0), TEST_GAP_CAP_S)
        if hr_bpm is not None:
            peak = hr_bpm if peak is None else max(peak, hr_bpm)
    if not seen:
        return None
    return {"distance_m": round(metres), "peak_hr_bpm": _round0(peak)}
