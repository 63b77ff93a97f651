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
