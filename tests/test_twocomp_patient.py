"""Issue 26 item 4: the third virtual-patient family behaves as its published model says."""

from bench.two_session import perturbed
from bench.twocomp_patient import RANGES, TwoCompPatient, twocomp_cohort


def _patient(**kw):
    d = dict(hr_rest=70.0, hr_max=185.0, vo2max=30.0, cost_factor=1.0, vagal_frac=0.2,
             tau_vagal_s=8.0, tau_symp_s=90.0, tau_symp_off_s=150.0, dead_time_s=12.0,
             tau_vo2_s=30.0, drift_bpm_per_min=0.0, hrv_rms=0.0, hrv_corr_s=30.0, rsa_bpm=0.0,
             dropouts_per_h=0.0, artefacts_per_h=0.0, seed=1)
    d.update(kw)
    return TwoCompPatient(**d)


def _run(p, seconds, speed, incline):
    for _ in range(seconds):
        p.step(1.0, speed, incline)
    return p.true_hr_bpm


def test_the_fast_vagal_phase_dominates_from_rest_and_is_spent_at_interval_intensity():
    # from rest: within 20 s (before the sympathetic dead time has passed far) a clear rise
    p = _patient()
    rest = _run(p, 5, 0.0, 0.0)
    early = _run(p, 20, 4.0, 0.0)
    assert early - rest >= 0.5 * 0.2 * 0.35 * (185 - 70) * 0.6
    # from a warm-up to an interval: the vagal part is spent, the first 20 s barely move
    q = _patient()
    warm = _run(q, 900, 5.0, 4.0)
    after = _run(q, 20, 6.5, 10.0)
    total = _run(q, 600, 6.5, 10.0) - warm
    assert total > 20.0
    assert after - warm < 0.15 * total  # only the slow compartment is left to move


def test_heart_rate_saturates_near_hrmax_and_recovers_more_slowly():
    p = _patient(vo2max=25.0)
    hi = _run(p, 1500, 7.0, 15.0)
    assert 0.93 * 185 < hi <= 185 + 2
    up_half = _patient()
    base = _run(up_half, 600, 4.0, 0.0)
    t_up = next(t for t in range(1, 900) if _run(up_half, 1, 6.0, 10.0) - base > 0.5 * (
        up_half.steady_hr_bpm(6.0, 10.0) - base))
    top = _run(up_half, 900, 6.0, 10.0)
    t_down = next(t for t in range(1, 900) if top - _run(up_half, 1, 4.0, 0.0) > 0.5 * (
        top - up_half.steady_hr_bpm(4.0, 0.0)))
    assert t_down > t_up


def test_the_cohort_spans_the_published_ranges_with_a_wrong_hrmax():
    people = twocomp_cohort(60, seed=3)
    taus = [p.tau_symp_s for p, _ in people]
    dead = [p.dead_time_s for p, _ in people]
    assert min(taus) < 45 and max(taus) > 140
    assert RANGES["dead_time_s"] == (2.0, 20.0) and min(dead) < 5 and max(dead) > 16
    for p, prof in people:
        assert p.tau_symp_off_s > p.tau_symp_s
        assert 5.5 <= abs(prof.hr_max - p.hr_max) <= 10.5  # rounded to whole bpm
    # day 2 is the same patient: resting HR within 3 bpm, VO2max within 3 %
    import random
    p, _ = people[0]
    d2 = perturbed(p, random.Random(1), 5)
    assert abs(d2.hr_rest - p.hr_rest) <= 3 and abs(d2.vo2max / p.vo2max - 1) <= 0.03
    assert d2.tau_symp_s == p.tau_symp_s and d2.seed != p.seed
