"""The workload bisections' shortcuts (issue 23) give the plain bisection's answer to the last
bit: the reference here is the bisection as it was written before, cost by cost."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.workload import WorkloadPath, speed_for_cost, vo2_cost


def _plain_segment(s0: float, i0: float, s1: float, i1: float, vo2: float
                   ) -> tuple[float, float]:
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if vo2_cost(s0 + mid * (s1 - s0), i0 + mid * (i1 - i0)) < vo2:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return s0 + t * (s1 - s0), i0 + t * (i1 - i0)


def _plain_point(path: WorkloadPath, vo2: float) -> tuple[float, float]:
    pts = path.corners()
    if vo2 <= vo2_cost(*pts[0]):
        return pts[0]
    for (s0, i0), (s1, i1) in itertools.pairwise(pts):
        if vo2 <= vo2_cost(s1, i1):
            return _plain_segment(s0, i0, s1, i1, vo2)
    return pts[-1]


def _plain_speed(vo2: float, incline_pct: float, lo_kmh: float, hi_kmh: float) -> float:
    if vo2_cost(lo_kmh, incline_pct) >= vo2:
        return lo_kmh
    if vo2_cost(hi_kmh, incline_pct) <= vo2:
        return hi_kmh
    lo, hi = lo_kmh, hi_kmh
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if vo2_cost(mid, incline_pct) < vo2:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


paths = st.builds(
    WorkloadPath,
    min_speed_kmh=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
    walk_speed_kmh=st.sampled_from([3.5, 4.0, 5.0, 6.0]),
    max_speed_kmh=st.sampled_from([6.0, 7.0, 7.5, 8.0, 11.6, 14.0]),
    min_incline_pct=st.sampled_from([0.0, 1.0, 2.0, 5.0]),
    climb_incline_pct=st.sampled_from([5.0, 8.0, 15.0, 16.7, 20.0]),
    max_incline_pct=st.sampled_from([10.0, 15.0, 20.0, 25.0]),
)


@settings(max_examples=1500, deadline=None)
@given(paths, st.floats(0.0, 1.0), st.booleans())
def test_point_is_the_plain_bisection_to_the_last_bit(path: WorkloadPath, frac: float,
                                                      rounded: bool) -> None:
    vo2 = path.min_vo2 - 1.0 + frac * (path.max_vo2 - path.min_vo2 + 2.0)
    if rounded:  # targets on round numbers hit costs exactly
        vo2 = round(vo2, 1)
    assert path.point(vo2) == _plain_point(path, vo2)


@settings(max_examples=1500, deadline=None)
@given(st.floats(0.3, 14.0), st.floats(0.0, 2.0), st.floats(0.0, 25.0),
       st.floats(-0.1, 1.1), st.booleans())
def test_speed_for_cost_is_the_plain_bisection_to_the_last_bit(
        lo: float, width: float, incline: float, frac: float, rounded: bool) -> None:
    hi = lo + width
    c_lo, c_hi = vo2_cost(lo, incline), vo2_cost(hi, incline)
    vo2 = c_lo + frac * (c_hi - c_lo)
    if rounded:
        vo2 = round(vo2, 1)
    assert speed_for_cost(vo2, incline, lo, hi) == _plain_speed(vo2, incline, lo, hi)


def test_point_on_every_round_target_of_the_demo_patients_path() -> None:
    path = WorkloadPath(1.5, 5.0, 11.6, 0.0, 8.0, 10.0)
    for tenth in range(int(path.min_vo2 * 10) - 5, int(path.max_vo2 * 10) + 5):
        assert path.point(tenth / 10) == _plain_point(path, tenth / 10)
