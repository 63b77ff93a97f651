"""Treadmill workload as oxygen cost, and how one workload is split into speed and incline.

Why oxygen cost: heart rate follows metabolic demand (%HRR ≈ %VO2R, Swain 1997), and the
ACSM equations turn any (speed, incline) pair into that demand. The controller therefore
decides *how much work* (ml/kg/min) and this module decides *how*: a fixed, monotone path
through (speed, incline) space that a clinic would recognise —

1. walk faster up to a brisk, comfortable walking pace at the phase's minimum incline,
2. then climb (uphill walking is how unfit patients reach the zone without running),
3. then, if the patient may run, go faster at that incline,
4. and finally use the rest of the incline the patient tolerates.

Walk-only patients and those at their speed cap therefore reach the zone by incline.
The walk–run transition is a step in the ACSM cost; between ``WALK_MAX_KMH`` and
``RUN_MIN_KMH`` the two equations are blended so the map stays continuous and monotone.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

REST_VO2 = 3.5
"""Resting oxygen uptake, ml/kg/min (1 MET)."""

WALK_MAX_KMH = 7.0
"""Above this the ACSM walking equation is no longer used alone."""

RUN_MIN_KMH = 8.0
"""From this speed on the running equation applies; in between the two are blended."""


def _walk_vo2(speed_kmh: float, incline_pct: float) -> float:
    s_m_min = speed_kmh * 1000.0 / 60.0
    return REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * incline_pct / 100.0


def _run_vo2(speed_kmh: float, incline_pct: float) -> float:
    s_m_min = speed_kmh * 1000.0 / 60.0
    return REST_VO2 + 0.2 * s_m_min + 0.9 * s_m_min * incline_pct / 100.0


def vo2_cost(speed_kmh: float, incline_pct: float) -> float:
    """ACSM oxygen cost in ml/kg/min of moving at ``speed_kmh`` up ``incline_pct``.

    A standing patient (speed 0) costs the resting 3.5 ml/kg/min.
    """
    # ``_walk_vo2`` and ``_run_vo2`` written out (the same arithmetic in the same order):
    # the bisections below call this ~70 times a control tick
    if speed_kmh <= 0.0:
        return REST_VO2
    if incline_pct < 0.0:  # max(incline_pct, 0.0)
        incline_pct = 0.0
    if speed_kmh <= WALK_MAX_KMH:
        s_m_min = speed_kmh * 1000.0 / 60.0
        return REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * incline_pct / 100.0
    s_m_min = WALK_MAX_KMH * 1000.0 / 60.0
    walk_top = REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * incline_pct / 100.0
    if speed_kmh >= RUN_MIN_KMH:
        s_m_min = speed_kmh * 1000.0 / 60.0
        run = REST_VO2 + 0.2 * s_m_min + 0.9 * s_m_min * incline_pct / 100.0
        return walk_top if walk_top > run else run
    w = (speed_kmh - WALK_MAX_KMH) / (RUN_MIN_KMH - WALK_MAX_KMH)
    s_m_min = RUN_MIN_KMH * 1000.0 / 60.0
    run = REST_VO2 + 0.2 * s_m_min + 0.9 * s_m_min * incline_pct / 100.0
    hi = walk_top if walk_top > run else run
    return walk_top + w * (hi - walk_top)


@dataclass(frozen=True)
class WorkloadPath:
    """The ordered (speed, incline) path one workload value maps onto.

    ``min_speed_kmh`` is the slowest active walk; ``walk_speed_kmh`` the brisk walking pace
    where climbing starts; ``climb_incline_pct`` the incline used before speeding up further.
    """

    min_speed_kmh: float
    walk_speed_kmh: float
    max_speed_kmh: float
    min_incline_pct: float
    climb_incline_pct: float
    max_incline_pct: float

    def corners(self) -> list[tuple[float, float]]:
        """Vertices of the path, in increasing workload."""
        return [
            (self.min_speed_kmh, self.min_incline_pct),
            (self.walk_speed_kmh, self.min_incline_pct),
            (self.walk_speed_kmh, self.climb_incline_pct),
            (self.max_speed_kmh, self.climb_incline_pct),
            (self.max_speed_kmh, self.max_incline_pct),
        ]

    @functools.cached_property
    def min_vo2(self) -> float:
        return vo2_cost(self.min_speed_kmh, self.min_incline_pct)

    @functools.cached_property
    def max_vo2(self) -> float:
        return vo2_cost(self.max_speed_kmh, self.max_incline_pct)

    @functools.cached_property
    def _corner_costs(self) -> tuple[list[tuple[float, float]], list[float]]:
        """``corners()`` and their costs, once per path (``point`` runs every tick)."""
        pts = self.corners()
        return pts, [vo2_cost(s, i) for s, i in pts]

    def point(self, vo2: float) -> tuple[float, float]:
        """(speed_kmh, incline_pct) on the path whose cost is ``vo2`` (clipped to the path)."""
        pts, costs = self._corner_costs
        if vo2 <= costs[0]:
            return pts[0]
        for k in range(1, len(pts)):
            if vo2 <= costs[k]:
                (s0, i0), (s1, i1) = pts[k - 1], pts[k]
                return _bisect_segment(s0, i0, s1, i1, vo2)
        return pts[-1]


ROOT_BAND_KMH = 1e-10
ROOT_BAND_PCT = 1e-9
"""The bisections below give the same answer as before to the last bit, in a fraction of the
time (they computed ~60 costs a control tick): a midpoint farther than this from the cost's
root (solved in closed form, branch by branch) is decided without computing its cost — the
cost there is at least ~1e-11 ml/kg/min from the target, some 1000 times the rounding error
of its computation, so the comparison comes out as computing it would. Within the band the
cost is computed as before."""

MIN_ROOT_SLOPE = 0.1
"""ml/kg/min per km/h: below this slope (a walk–run blend that is nearly flat, steep inclines)
the band would not be wide enough in cost, so the bisection computes every cost as before."""


def _speed_root(vo2: float, inc: float) -> float | None:
    """The speed whose cost at incline ``inc`` (≥ 0) is ``vo2``, from ``vo2_cost``'s branches;
    None where the cost is (nearly) flat in speed somewhere (see ``MIN_ROOT_SLOPE``)."""
    walk_coef = 0.1 + 1.8 * inc / 100.0
    walk_top = REST_VO2 + WALK_MAX_KMH * 1000.0 / 60.0 * walk_coef
    run_coef = 0.2 + 0.9 * inc / 100.0
    run_low = REST_VO2 + RUN_MIN_KMH * 1000.0 / 60.0 * run_coef
    if run_low - walk_top < MIN_ROOT_SLOPE * (RUN_MIN_KMH - WALK_MAX_KMH):
        return None
    if vo2 <= walk_top:
        return (vo2 - REST_VO2) / walk_coef * 60.0 / 1000.0
    if vo2 <= run_low:
        return WALK_MAX_KMH + (vo2 - walk_top) / (run_low - walk_top) * (RUN_MIN_KMH
                                                                          - WALK_MAX_KMH)
    return (vo2 - REST_VO2) / run_coef * 60.0 / 1000.0


def _root_band_t(s0: float, i0: float, ds: float, di: float, vo2: float
                 ) -> tuple[float, float]:
    """The band (``ROOT_BAND_KMH``) of the segment parameter t around the cost's root; an empty
    band (every cost computed) where the shortcut does not apply."""
    if ds > 0.0 and di == 0.0 and s0 > 0.0:
        r = _speed_root(vo2, i0 if i0 > 0.0 else 0.0)
        if r is not None:
            t, half = (r - s0) / ds, ROOT_BAND_KMH / ds
            return t - half, t + half
    elif ds == 0.0 and di > 0.0 and 0.0 < s0 <= WALK_MAX_KMH and i0 >= 0.0:
        s_m_min = s0 * 1000.0 / 60.0
        incline = ((vo2 - REST_VO2) / s_m_min - 0.1) * 100.0 / 1.8
        t, half = (incline - i0) / di, ROOT_BAND_PCT / di
        return t - half, t + half
    return -math.inf, math.inf


def _bisect_segment(s0: float, i0: float, s1: float, i1: float, vo2: float) -> tuple[float, float]:
    lo, hi = 0.0, 1.0
    ds, di = s1 - s0, i1 - i0
    cost = vo2_cost
    below, above = _root_band_t(s0, i0, ds, di, vo2)
    # the midpoints are exact multiples of 2^-n: when no multiple of 2^-30 lies in the band,
    # every one of them is decided by the root, and the bisection ends at the last multiple
    # of 2^-30 below it
    k = math.floor(below * 1073741824.0) if -1.0 < below < 2.0 else -1
    if 0 <= k < 1073741824 and (k + 1) / 1073741824.0 > above:
        t = (2 * k + 1) / 2147483648.0
        return s0 + t * (s1 - s0), i0 + t * (i1 - i0)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if mid < below:  # decided without its cost (``ROOT_BAND_KMH``)
            lo = mid
            continue
        if mid > above:
            hi = mid
            continue
        speed, incline = s0 + mid * ds, i0 + mid * di
        # every control tick: ``vo2_cost``'s walking branch written out (the same arithmetic
        # in the same order), the rest through the function
        if 0.0 < speed <= WALK_MAX_KMH:
            if incline < 0.0:
                incline = 0.0
            s_m_min = speed * 1000.0 / 60.0
            c = REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * incline / 100.0
        else:
            c = cost(speed, incline)
        if c < vo2:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return s0 + t * (s1 - s0), i0 + t * (i1 - i0)


def speed_for_cost(vo2: float, incline_pct: float, lo_kmh: float, hi_kmh: float) -> float:
    """The speed in [lo_kmh, hi_kmh] whose cost at ``incline_pct`` is closest to ``vo2``."""
    if vo2_cost(lo_kmh, incline_pct) >= vo2:
        return lo_kmh
    if vo2_cost(hi_kmh, incline_pct) <= vo2:
        return hi_kmh
    # the bisection runs every control tick: ``vo2_cost`` at this incline written out (the
    # same arithmetic in the same order, so the same speed to the last bit)
    inc = 0.0 if incline_pct < 0.0 else incline_pct
    s_m_min = WALK_MAX_KMH * 1000.0 / 60.0
    walk_top = REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * inc / 100.0
    s_m_min = RUN_MIN_KMH * 1000.0 / 60.0
    run_low = REST_VO2 + 0.2 * s_m_min + 0.9 * s_m_min * inc / 100.0
    blend_top = walk_top if walk_top > run_low else run_low
    lo, hi = lo_kmh, hi_kmh
    below, above = -math.inf, math.inf
    root = _speed_root(vo2, inc) if lo_kmh > 0.0 else None
    if root is not None:  # see ``ROOT_BAND_KMH``
        below, above = root - ROOT_BAND_KMH, root + ROOT_BAND_KMH
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if mid < below:
            lo = mid
            continue
        if mid > above:
            hi = mid
            continue
        if mid <= 0.0:
            cost = REST_VO2
        elif mid <= WALK_MAX_KMH:
            s_m_min = mid * 1000.0 / 60.0
            cost = REST_VO2 + 0.1 * s_m_min + 1.8 * s_m_min * inc / 100.0
        elif mid >= RUN_MIN_KMH:
            s_m_min = mid * 1000.0 / 60.0
            run = REST_VO2 + 0.2 * s_m_min + 0.9 * s_m_min * inc / 100.0
            cost = walk_top if walk_top > run else run
        else:
            w = (mid - WALK_MAX_KMH) / (RUN_MIN_KMH - WALK_MAX_KMH)
            cost = walk_top + w * (blend_top - walk_top)
        if cost < vo2:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
