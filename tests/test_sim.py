import itertools
import math
import random

import pytest

from controller.protocol import PatientProfile, Session
from controller.sim import (
    CATEGORIES,
    Belt,
    PatientParams,
    VirtualPatient,
    cohort,
    make_patient,
    simulate,
)

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0, max_incline_pct=15.0)


def test_same_seed_same_trace():
    truth = PatientParams(seed=5, dropouts_per_h=20, artefacts_per_h=20)
    a = simulate(VirtualPatient(truth), PROFILE)
    b = simulate(VirtualPatient(truth), PROFILE)
    assert [(r.hr_bpm, r.speed_kmh, r.incline_pct) for r in a.rows] == \
        [(r.hr_bpm, r.speed_kmh, r.incline_pct) for r in b.rows]
    c = simulate(VirtualPatient(PatientParams(seed=6, dropouts_per_h=20)), PROFILE)
    assert [r.hr_bpm for r in a.rows] != [r.hr_bpm for r in c.rows]


def test_trace_covers_the_whole_session_per_second():
    tr = simulate(VirtualPatient(PatientParams(seed=1)), PROFILE)
    ts = [r.t_s for r in tr.rows]
    assert ts[0] == 0 and all(b - a == 1.0 for a, b in itertools.pairwise(ts))
    assert tr.rows[-1].phase == "done" and tr.rows[-1].speed_kmh == 0.0
    assert 2400 <= ts[-1] <= 2460
    assert {r.phase for r in tr.rows} == {"warmup", "interval", "recovery", "cooldown", "done"}


def test_steady_state_follows_acsm_and_hrr():
    p = PatientParams(hr_rest_bpm=75, hr_max_bpm=183, vo2max=32, cost_factor=1.0,
                      hrv_rms_bpm=0.0, drift_bpm_per_min=0.0)
    vp = VirtualPatient(p)
    for _ in range(900):
        vp.step(1.0, 5.0, 5.0)
    # ACSM walking at 83.3 m/min, 5 %: 3.5 + 8.33 + 7.5 = 19.33 ml/kg/min → %VO2R 0.5556
    expected = 75 + (183 - 75) * (19.333 - 3.5) / (32 - 3.5)
    assert vp.true_hr_bpm == pytest.approx(expected, abs=2.0)


def test_first_order_kinetics_with_dead_time():
    p = PatientParams(hrv_rms_bpm=0.0, drift_bpm_per_min=0.0, dead_time_s=8.0, fast_frac=0.0,
                      tau_slow_s=60.0, seed=2)
    vp = VirtualPatient(p)
    hrs = []
    for _ in range(300):
        vp.step(1.0, 5.0, 5.0)
        hrs.append(vp.true_hr_bpm)
    final = p.steady_hr_bpm(5.0, 5.0)
    assert hrs[6] == pytest.approx(p.hr_rest_bpm, abs=2.0)  # still in the dead time
    # one τ after the dead time: 63 % of the way
    frac = (hrs[8 + 60 - 1] - p.hr_rest_bpm) / (final - p.hr_rest_bpm)
    assert frac == pytest.approx(1 - math.exp(-1), abs=0.05)


def test_off_kinetics_are_slower_than_on():
    p = PatientParams(hrv_rms_bpm=0.0, drift_bpm_per_min=0.0, tau_off_ratio=1.5, seed=3)
    up, down = VirtualPatient(p), VirtualPatient(p)
    for _ in range(600):
        down.step(1.0, 6.0, 10.0)
    start = down.true_hr_bpm
    for _ in range(60):
        up.step(1.0, 6.0, 10.0)
        down.step(1.0, 0.0, 0.0)
    rise = up.true_hr_bpm - p.hr_rest_bpm
    fall = start - down.true_hr_bpm
    assert fall < rise


def test_drift_raises_hr_at_constant_hard_load():
    p = PatientParams(hrv_rms_bpm=0.0, drift_bpm_per_min=1.5, vo2max=30, cost_factor=1.0, seed=4)
    vp = VirtualPatient(p)
    hr = []
    for _ in range(1200):
        vp.step(1.0, 5.0, 8.0)
        hr.append(vp.true_hr_bpm)
    assert hr[-1] - hr[400] > 5.0


def test_strap_dropouts_and_artefacts_appear():
    p = PatientParams(dropouts_per_h=120, artefacts_per_h=300, seed=8)
    vp = VirtualPatient(p)
    readings = [(vp.step(1.0, 5.0, 5.0), vp.true_hr_bpm) for _ in range(3600)]
    assert any(r is None for r, _ in readings)
    assert any(r is not None and abs(r - t) > 20 for r, t in readings)


def test_a_researchers_own_patient_model_can_be_plugged_in():
    class Minimal:
        """Any object with step(dt_s, speed_kmh, incline_pct) -> float | None."""

        def __init__(self):
            self.hr = 70.0

        def step(self, dt_s, speed_kmh, incline_pct):
            goal = 60 + 12 * speed_kmh + 4 * incline_pct
            self.hr += (goal - self.hr) * dt_s / 40.0
            return self.hr

    tr = simulate(Minimal(), PROFILE)
    assert tr.rows[-1].phase == "done"
    assert tr.rows[0].hr_true_bpm is None
    in_interval = [r.hr_bpm for r in tr.rows if r.phase == "interval"]
    assert max(in_interval) > 0.85 * 183


def test_belt_follows_at_limited_rates():
    b = Belt(accel_kmh_per_s=0.5, incline_pct_per_s=0.5)
    b.step(1.0, 10.0, 10.0)
    assert b.speed_kmh == 0.5 and b.incline_pct == 0.5


def test_cohort_is_reproducible_and_spans_the_categories():
    a, b = cohort(48, seed=9), cohort(48, seed=9)
    assert a == b
    assert {t.category for t, _ in a} == set(CATEGORIES)
    vo2 = [t.vo2max for t, _ in a]
    taus = [t.tau_slow_s for t, _ in a]
    assert min(vo2) < 24 and max(vo2) > 42
    assert min(taus) < 45 and max(taus) > 80
    assert any(p.walk_only for _, p in a)
    assert any(t.beta_blocked for t, _ in a)
    truth, prof = make_patient(random.Random(1), "beta_blocked", 1)
    assert truth.beta_blocked and prof.hr_max == round(truth.hr_max_bpm)


def test_session_is_injectable():
    s = Session(PROFILE)
    tr = simulate(VirtualPatient(PatientParams(seed=1)), PROFILE, session=s)
    assert s.run_state == "done" and tr.plan is s.plan


def test_the_virtual_patient_answers_borg_from_its_own_state():
    from controller.sim import PatientParams, VirtualPatient

    vp = VirtualPatient(PatientParams(vo2max=30, seed=3))
    assert vp.borg_rpe() in (6, 7)  # at rest
    for _ in range(400):
        vp.step(1.0, 6.0, 8.0)
    hard = vp.borg_rpe()
    vp2 = VirtualPatient(PatientParams(vo2max=30, seed=3))
    for _ in range(400):
        vp2.step(1.0, 4.0, 0.0)
    assert 6 <= vp2.borg_rpe() < hard <= 20
