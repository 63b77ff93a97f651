"""How well a session held the zone, interval by interval — one set of rules for all.

The clinic's reading of the 4x4 (shared/reference/4x4.md): reach 85 % HRmax within 2 min in
the first interval and about 1 min in the others, then stay in 85–95 %. An interval is
**ok** when the zone was reached within that allowance, ≥ 90 % of the time after it was in
the zone, and ≤ 2 % of the interval was above 95 %.

The bench (scoring the virtual patient's true heart rate), the demo and the journal (scoring
the gated strap readings) all score through ``interval_metrics`` over one row shape,
``ScoredRow``, so the rules cannot drift apart.

One result, one number (issue 21, the bokmål trial: the console said 6 min 6 s in the zone,
the belt screen 7, the report 6,8): the seconds in the zone of an interval are
``IntervalMetrics.in_zone_s`` — a heart rate is in the zone by ``in_zone``, the belt screen's
rule on the numbers it shows — over the session's recorded ticks, said in whole seconds by
``whole_seconds``; the session's time in the zone is ``session_in_zone_s`` (the sum of the
intervals' whole seconds, so the parts add up to the total shown); an interval's running time
is ``IntervalMetrics.ran_s``. The console, the belt screen (``IntervalTally``, fed the same
ticks the store records), the report and the hand-over read these and nothing else.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from controller.core.fastinit import frozen_init

ALLOWANCE_FIRST_S = 120.0
ALLOWANCE_LATER_S = 60.0
ZONE_LOW_FRAC = 0.85
ZONE_HIGH_FRAC = 0.95
OK_IN_ZONE_FRAC = 0.90
"""An interval counts as held in the zone ("ok") with at least this share of its readings after
the allowance in the zone, the zone reached within the allowance, and ..."""
OK_ABOVE_FRAC = 0.02
"""... at most this share of its readings above the zone."""


def shown_bpm(bpm: float) -> int:
    """A heart rate or zone edge as every place shows it: half up, never banker's rounding
    (makspuls 150: 95 % is 142.5, shown 143 on the console, the belt, the monitor and in the
    report alike). Rounded to a millionth first, so a float's noise (0.7 × 165 is
    115.49999999999999) rounds as the decimal it stands for (115.5 → 116)."""
    return math.floor(round(bpm, 6) + 0.5)


def shown_decimal(x: float, decimals: int) -> Decimal:
    """A number as every place shows it to ``decimals`` places: half up (away from zero), on
    the decimal the float stands for, the rule ``shown_bpm`` keeps for heart rates. One rule
    for the text, the CSVs and the hand-over (issue 23: 4.45 km/h was «4,4» in `fremgang`,
    half to even, and «4,5» in its CSV, the float's round()).

    >>> str(shown_decimal(4.45, 1)), str(shown_decimal(5.35, 1)), str(shown_decimal(-0.25, 1))
    ('4.5', '5.4', '-0.3')
    """
    return Decimal(repr(round(float(x), 6))).quantize(Decimal(1).scaleb(-decimals),
                                                      rounding=ROUND_HALF_UP)


def shown_round(x: float, decimals: int) -> float:
    """``shown_decimal`` as a float: the value a CSV cell or a difference is made of.

    >>> shown_round(4.45, 1), shown_round(4.58, 1) - shown_round(4.45, 1) < 0.15
    (4.5, True)
    """
    return float(shown_decimal(x, decimals))


def zone_of(hr_shown: int, low_shown: int, high_shown: int) -> str:
    """below / in / above on the shown numbers, edges inclusive."""
    return "below" if hr_shown < low_shown else "above" if hr_shown > high_shown else "in"


def in_zone(hr_bpm: float, low_bpm: float, high_bpm: float) -> bool:
    """The one rule for "in the zone": on the numbers shown, edges inclusive (168 beside
    "Mål 168–188" is in it), for the belt screen's word and every figure of time in zone."""
    return zone_of(shown_bpm(hr_bpm), shown_bpm(low_bpm), shown_bpm(high_bpm)) == "in"


def above_zone(hr_bpm: float, high_bpm: float) -> bool:
    """Above the zone on the numbers shown (``in_zone``'s upper edge)."""
    return shown_bpm(hr_bpm) > shown_bpm(high_bpm)


def reached_zone(hr_bpm: float, low_bpm: float) -> bool:
    """At or above the zone's lower edge on the numbers shown (``in_zone``'s lower edge):
    the moment the screen first says "in the zone" is the time to the zone."""
    return shown_bpm(hr_bpm) >= shown_bpm(low_bpm)


def whole_seconds(seconds: float) -> int:
    """A duration in whole seconds as every place shows it (half up): one rounding rule, so
    2:46.5 is 2:47 on the belt screen, in the console and in the report alike."""
    return math.floor(seconds + 0.5)


@frozen_init  # a row per recorded second, scored four times at a session's end (issue 23)
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

    @classmethod
    def of_sample(cls, s: dict[str, Any]) -> ScoredRow:
        """A recorded sample (the store's row: t_s, phase, interval, hr_bpm, speed_kmh,
        incline_pct, state) as scored: paused or stopping is not running."""
        return cls(s["t_s"], s["phase"], s["interval"], s["hr_bpm"], s["speed_kmh"],
                   s["incline_pct"], s.get("state") not in ("paused", "stopping"))


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
    ran_s: float = 0.0
    """How long the interval ran (its running ticks; a pause or a stop not counted)."""


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
    by_interval: dict[int, list[ScoredRow]] = {}  # each interval's rows in order, one pass
    for r in rows:
        if r.phase == "interval":
            by_interval.setdefault(r.interval, []).append(r)
    for k in sorted(by_interval):
        every = by_interval[k]
        tick_s = (every[-1].t_s - every[0].t_s) / (len(every) - 1) if len(every) > 1 else 1.0
        at = _running_elapsed(every, tick_s)
        ran = [(e, r) for e, r in zip(at, every, strict=True) if r.running]
        rs = [r for _e, r in ran]
        allowance = ALLOWANCE_FIRST_S if k == 1 else ALLOWANCE_LATER_S
        valid = [r.hr_bpm for r in rs if r.hr_bpm is not None]
        ttz = next((e for e, r in ran if r.hr_bpm is not None and reached_zone(r.hr_bpm, lo)),
                   None)
        after = [r.hr_bpm for e, r in ran if e >= allowance and r.hr_bpm is not None]
        in_frac = sum(1 for h in after if in_zone(h, lo, hi)) / len(after) if after else 0.0
        n_above = sum(1 for h in valid if above_zone(h, hi))
        above = n_above / len(valid) if valid else 0.0
        rms = math.sqrt(sum((h - 0.9 * hr_max) ** 2 for h in after) / len(after)) if after \
            else float("nan")
        ok = (ttz is not None and ttz <= allowance and in_frac >= OK_IN_ZONE_FRAC
              and above <= OK_ABOVE_FRAC)
        out.append(IntervalMetrics(
            k, ttz, in_frac, above, rms, ok,
            readings_after_allowance=len(after),
            in_zone_s=sum(1 for h in valid if in_zone(h, lo, hi)) * tick_s,
            above_95_s=n_above * tick_s,
            peak_hr_bpm=max(valid) if valid else None,
            mean_hr_bpm=_mean(valid),
            mean_speed_kmh=_mean([r.speed_kmh for r in rs]),
            mean_incline_pct=_mean([r.incline_pct for r in rs]),
            ran_s=len(rs) * tick_s))
    return out


def session_in_zone_s(ms: Sequence[IntervalMetrics]) -> int:
    """The session's time in the zone: the sum of its intervals' whole seconds
    (``whole_seconds``), so the intervals shown add up to the total shown."""
    return sum(whole_seconds(m.in_zone_s) for m in ms)


@dataclass
class IntervalTally:
    """The session's ticks as the store records them, scored while it runs: the belt
    screen's counter and its line after an interval read ``interval_metrics`` over the same
    rows the journal's summary reads afterwards, so the numbers cannot differ.

    >>> tally = IntervalTally(hr_max=183.0)
    >>> tally.add(ScoredRow(now_s, "interval", 1, 160.0, 6.0, 5.0, True))  # every tick
    >>> tally.in_zone_s(1)    # whole seconds so far, None before the interval began
    """

    hr_max: float
    _rows: dict[int, list[ScoredRow]] = field(default_factory=dict)
    _scored: dict[int, tuple[int, IntervalMetrics | None]] = field(default_factory=dict)

    def add(self, row: ScoredRow) -> None:
        if row.phase == "interval" and row.interval > 0:
            self._rows.setdefault(row.interval, []).append(row)

    def metrics(self, interval: int) -> IntervalMetrics | None:
        rows = self._rows.get(interval)
        if not rows:
            return None
        kept = self._scored.get(interval)
        if kept is None or kept[0] != len(rows):  # scored again only after a new tick
            ms = interval_metrics(rows, self.hr_max)
            kept = (len(rows), ms[0] if ms else None)
            self._scored[interval] = kept
        return kept[1]

    def in_zone_s(self, interval: int) -> int | None:
        m = self.metrics(interval)
        return None if m is None else whole_seconds(m.in_zone_s)

    def total_in_zone_s(self) -> int:
        """The session's time in the zone so far (``session_in_zone_s``)."""
        return session_in_zone_s([m for k in self._rows
                                  if (m := self.metrics(k)) is not None])
