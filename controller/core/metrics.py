"""How well a session held the zone, interval by interval — one set of rules for all.

The clinic's reading of the 4x4 (shared/reference/4x4.md): reach 85 % HRmax within 2 min in
the first interval and about 1 min in the others, then stay in 85–95 %. An interval is
**ok** when the zone was reached within that allowance, ≥ 90 % of the time after it was in
the zone, and ≤ 2 % of the interval was above 95 %.

The bench (scoring the virtual patient's true heart rate), the demo and the journal (scoring
the gated strap readings) all score through ``interval_metrics`` over one row shape,
``ScoredRow``, so the rules cannot drift apart.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

ALLOWANCE_FIRST_S = 120.0
ALLOWANCE_LATER_S = 60.0
ZONE_LOW_FRAC = 0.85
ZONE_HIGH_FRAC = 0.95


@dataclass(frozen=True)
class ScoredRow:
    """One tick as scored: the heart rate to score (``None``: no reading) and the belt."""

    t_s: float
    phase: str
    interval: int
    hr_bpm: float | None
    speed_kmh: float = 0.0
    incline_pct: float = 0.0
    running: bool = True
    """False while the session was paused or stopping: the belt stood, and the heart rate
    falling then is not time out of the zone (an interval is scored over its running time)."""


@dataclass(frozen=True)
class IntervalMetrics:
    interval: int
    time_to_zone_s: float | None
    in_zone_after_allowance: float
    """Fraction of the readings after the allowance that were in the zone (0 when none)."""
    above_95_frac: float
    rms_to_90_bpm: float
    ok: bool
    readings_after_allowance: int
    in_zone_s: float
    above_95_s: float
    peak_hr_bpm: float | None
    mean_hr_bpm: float | None
    mean_speed_kmh: float | None
    mean_incline_pct: float | None


def _mean(xs: Sequence[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def _running_elapsed(rs: Sequence[ScoredRow], tick_s: float) -> list[float]:
    """Each row's time into its interval counting running time only (a pause stops the
    clock: the allowance and the time to the zone are the interval's, not the wall's)."""
    out, halted = [], 0.0
    t0 = rs[0].t_s
    for r in rs:
        out.append(r.t_s - t0 - halted)
        if not r.running:
            halted += tick_s
    return out


def interval_metrics(rows: Sequence[ScoredRow], hr_max: float) -> list[IntervalMetrics]:
    """Score every interval in ``rows`` (one row per tick, ticks of equal length) over its
    running time: rows not ``running`` (paused, stopping) are left out of every figure."""
    out = []
    lo, hi = ZONE_LOW_FRAC * hr_max, ZONE_HIGH_FRAC * hr_max
    for k in sorted({r.interval for r in rows if r.phase == "interval"}):
        every = [r for r in rows if r.phase == "interval" and r.interval == k]
        tick_s = (every[-1].t_s - every[0].t_s) / (len(every) - 1) if len(every) > 1 else 1.0
        at = _running_elapsed(every, tick_s)
        ran = [(e, r) for e, r in zip(at, every, strict=True) if r.running]
        rs = [r for _e, r in ran]
        allowance = ALLOWANCE_FIRST_S if k == 1 else ALLOWANCE_LATER_S
        valid = [r.hr_bpm for r in rs if r.hr_bpm is not None]
        ttz = next((e for e, r in ran if r.hr_bpm is not None and r.hr_bpm >= lo), None)
        after = [r.hr_bpm for e, r in ran if e >= allowance and r.hr_bpm is not None]
        in_zone = sum(1 for h in after if lo <= h <= hi) / len(after) if after else 0.0
        n_above = sum(1 for h in valid if h > hi)
        above = n_above / len(valid) if valid else 0.0
        rms = math.sqrt(sum((h - 0.9 * hr_max) ** 2 for h in after) / len(after)) if after \
            else float("nan")
        ok = ttz is not None and ttz <= allowance and in_zone >= 0.90 and above <= 0.02
        out.append(IntervalMetrics(
            k, ttz, in_zone, above, rms, ok,
            readings_after_allowance=len(after),
            in_zone_s=sum(1 for h in valid if lo <= h <= hi) * tick_s,
            above_95_s=n_above * tick_s,
            peak_hr_bpm=max(valid) if valid else None,
            mean_hr_bpm=_mean(valid),
            mean_speed_kmh=_mean([r.speed_kmh for r in rs]),
            mean_incline_pct=_mean([r.incline_pct for r in rs])))
    return out
