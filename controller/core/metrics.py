"""How well a session held the zone, interval by interval.

The clinic's reading of the 4x4 (shared/reference/4x4.md): reach 85 % HRmax within 2 min in
the first interval and about 1 min in the others, then stay in 85–95 %. An interval is
**ok** when the zone was reached within that allowance, ≥ 90 % of the time after it was in
the zone, and ≤ 2 % of the interval was above 95 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

ALLOWANCE_FIRST_S = 120.0
ALLOWANCE_LATER_S = 60.0


class _Row(Protocol):
    t_s: float
    phase: str
    interval: int
    hr_bpm: float | None
    hr_true_bpm: float | None
    zone_low_bpm: float | None
    zone_high_bpm: float | None


@dataclass(frozen=True)
class IntervalMetrics:
    interval: int
    time_to_zone_s: float | None
    in_zone_after_allowance: float
    above_95_frac: float
    rms_to_90_bpm: float
    ok: bool


def interval_metrics(rows: Sequence[_Row], hr_max: float, *, use_true_hr: bool = True
                     ) -> list[IntervalMetrics]:
    """Score every interval in ``rows`` (one row per tick, ticks of equal length)."""
    out = []
    intervals = sorted({r.interval for r in rows if r.phase == "interval"})
    for k in intervals:
        rs = [r for r in rows if r.phase == "interval" and r.interval == k]
        t0 = rs[0].t_s
        allowance = ALLOWANCE_FIRST_S if k == 1 else ALLOWANCE_LATER_S

        def hr_of(r: _Row) -> float | None:
            if use_true_hr and r.hr_true_bpm is not None:
                return r.hr_true_bpm
            return r.hr_bpm

        lo, hi = 0.85 * hr_max, 0.95 * hr_max
        ttz = next((r.t_s - t0 for r in rs if (h := hr_of(r)) is not None and h >= lo), None)
        after = [h for r in rs if r.t_s - t0 >= allowance and (h := hr_of(r)) is not None]
        valid = [h for r in rs if (h := hr_of(r)) is not None]
        in_zone = sum(1 for h in after if lo <= h <= hi) / len(after) if after else 0.0
        above = sum(1 for h in valid if h > hi) / len(valid) if valid else 0.0
        rms = math.sqrt(sum((h - 0.9 * hr_max) ** 2 for h in after) / len(after)) if after \
            else float("nan")
        ok = ttz is not None and ttz <= allowance and in_zone >= 0.90 and above <= 0.02
        out.append(IntervalMetrics(k, ttz, in_zone, above, rms, ok))
    return out
