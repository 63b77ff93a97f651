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

import itertools
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

    @property
    def min_vo2(self) -> float:
        return vo2_cost(self.min_speed_kmh, self.min_incline_pct)

    @property
    def max_vo2(self) -> float:
        return vo2_cost(self.max_speed_kmh, self.max_incline_pct)

    def point(self, vo2: float) -> tuple[float, float]:
        """(speed_kmh, incline_pct) on the path whose cost is ``vo2`` (clipped to the path)."""
        pts = self.corners()
        if vo2 <= vo2_cost(*pts[0]):
            return pts[0]
        for (s0, i0), (s1, i1) in itertools.pairwise(pts):
            c1 = vo2_cost(s1, i1)
            if vo2 <= c1:
                return _bisect_segment(s0, i0, s1, i1, vo2)
        return pts[-1]


def _bisect_segment(s0: float, i0: float, s1: float, i1: float, vo2: float) -> tuple[float, float]:
    lo, hi = 0.0, 1.0
    ds, di = s1 - s0, i1 - i0
    cost = vo2_cost
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if cost(s0 + mid * ds, i0 + mid * di) < vo2:
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
    for _ in range(30):
        mid = 0.5 * (lo + hi)
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
