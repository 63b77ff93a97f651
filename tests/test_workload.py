import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.core.control import allocate
from controller.core.workload import WorkloadPath, vo2_cost


def test_acsm_walking_and_running_costs():
    # 6 km/h = 100 m/min at 10 %: 3.5 + 10 + 18 = 31.5
    assert vo2_cost(6.0, 10.0) == pytest.approx(31.5)
    # 9 km/h = 150 m/min at 0 %: running 3.5 + 30 = 33.5
    assert vo2_cost(9.0, 0.0) == pytest.approx(33.5)
    assert vo2_cost(0.0, 10.0) == 3.5


def test_cost_is_monotone_in_speed_across_the_walk_run_blend():
    costs = [vo2_cost(s / 10, 5.0) for s in range(10, 140)]
    assert all(b >= a for a, b in itertools.pairwise(costs))


PATH = WorkloadPath(1.5, 5.0, 6.0, 5.0, 15.0, 15.0)


@given(st.floats(min_value=0, max_value=60), st.floats(min_value=0, max_value=15))
def test_allocation_stays_on_the_patients_caps(vo2, incline_now):
    speed, incline = allocate(vo2, PATH, incline_now)
    assert PATH.min_speed_kmh - 1e-9 <= speed <= PATH.max_speed_kmh + 1e-9
    assert PATH.min_incline_pct <= incline <= PATH.max_incline_pct
    assert incline * 2 == round(incline * 2) or incline == incline_now


def test_walkers_climb_rather_than_run():
    speed, incline = allocate(vo2_cost(5.0, 12.0), PATH, 5.0)
    assert speed <= 5.6 and incline >= 11.0


def _reference_cost(speed_kmh: float, incline_pct: float) -> float:
    """The ACSM cost as first written (walk, run, blend), to hold the fast one to the bit."""
    def walk(s: float, i: float) -> float:
        m = s * 1000.0 / 60.0
        return 3.5 + 0.1 * m + 1.8 * m * i / 100.0

    def run(s: float, i: float) -> float:
        m = s * 1000.0 / 60.0
        return 3.5 + 0.2 * m + 0.9 * m * i / 100.0

    if speed_kmh <= 0.0:
        return 3.5
    incline_pct = max(incline_pct, 0.0)
    if speed_kmh <= 7.0:
        return walk(speed_kmh, incline_pct)
    if speed_kmh >= 8.0:
        return max(run(speed_kmh, incline_pct), walk(7.0, incline_pct))
    w = (speed_kmh - 7.0) / (8.0 - 7.0)
    lo = walk(7.0, incline_pct)
    return lo + w * (max(run(8.0, incline_pct), lo) - lo)


def _reference_speed(vo2: float, incline_pct: float, lo: float, hi: float) -> float:
    if _reference_cost(lo, incline_pct) >= vo2:
        return lo
    if _reference_cost(hi, incline_pct) <= vo2:
        return hi
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if _reference_cost(mid, incline_pct) < vo2:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@given(st.floats(min_value=-1, max_value=25), st.floats(min_value=-3, max_value=25))
def test_the_fast_cost_is_the_acsm_cost_to_the_last_bit(speed, incline):
    assert repr(vo2_cost(speed, incline)) == repr(_reference_cost(speed, incline))


@given(st.floats(min_value=3.5, max_value=70), st.floats(min_value=-1, max_value=20),
       st.floats(min_value=0.5, max_value=9), st.floats(min_value=0, max_value=9))
def test_the_fast_speed_search_finds_the_same_speed_to_the_last_bit(vo2, incline, lo, span):
    from controller.core.workload import speed_for_cost

    hi = lo + span
    assert repr(speed_for_cost(vo2, incline, lo, hi)) == \
        repr(_reference_speed(vo2, incline, lo, hi))
