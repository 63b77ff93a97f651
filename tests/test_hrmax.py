import pytest

from controller.core.hrmax import (
    HrMaxSource,
    estimate_from_six_minute_test,
    hr_max_keteyian,
    hr_max_nes,
    hr_max_tanaka,
    rpe_to_hrmax_fraction,
)
from controller.protocol import PatientProfile, ProfileError


def test_published_formulas():
    assert hr_max_tanaka(40) == pytest.approx(180.0)
    assert hr_max_nes(40) == pytest.approx(185.4)
    assert hr_max_keteyian(40, 60) == pytest.approx(129.0)
    with pytest.raises(ValueError, match="age_years"):
        hr_max_tanaka(5)


def test_profile_records_where_its_max_came_from():
    p = PatientProfile.from_age(40, "nes", max_speed_kmh=6.0)
    assert p.hr_max == 185 and p.hr_max_source is HrMaxSource.NES and p.age_years == 40
    assert PatientProfile.from_age(40).hr_max_source is HrMaxSource.TANAKA
    with pytest.raises(ProfileError, match="needs hr_rest"):
        PatientProfile.from_age(40, "keteyian")
    with pytest.raises(ProfileError, match="unknown HRmax formula"):
        PatientProfile.from_age(40, "fox")


def test_six_minute_test_estimate_from_borg_rating():
    trace = [100.0] * 120 + [150.0] * 240  # plateau at 150 bpm in the last minutes
    est = estimate_from_six_minute_test(trace, rpe=15)
    frac = rpe_to_hrmax_fraction(15)
    assert est.hr_max_bpm == round(150 / frac)
    assert est.source is HrMaxSource.SIX_MINUTE_TEST
    assert "Borg 15" in est.explanation


def test_six_minute_test_never_proposes_below_the_peak_seen():
    trace = [100.0] * 300 + [190.0] + [150.0] * 59
    est = estimate_from_six_minute_test(trace, rpe=20)
    assert est.hr_max_bpm == 195
    assert "peak seen" in est.explanation


def test_six_minute_test_falls_back_to_age_and_refuses_thin_data():
    est = estimate_from_six_minute_test([120.0] * 360, age_years=50)
    assert est.hr_max_bpm == 173
    with pytest.raises(ValueError, match="Borg rating"):
        estimate_from_six_minute_test([120.0] * 360)
    with pytest.raises(ValueError, match="less than 2 minutes"):
        estimate_from_six_minute_test([None] * 300 + [120.0] * 60, rpe=13)
    with pytest.raises(ValueError, match="Borg RPE must be 6–20"):
        estimate_from_six_minute_test([120.0] * 360, rpe=25)


def test_without_a_borg_rating_no_estimate_is_labelled_as_the_tests():
    est = estimate_from_six_minute_test([120.0] * 360, age_years=50)
    assert est.source is HrMaxSource.TANAKA and est.uncertainty_bpm == 11
    with_rpe = estimate_from_six_minute_test([100.0] * 120 + [150.0] * 240, rpe=15)
    assert with_rpe.source is HrMaxSource.SIX_MINUTE_TEST
    assert with_rpe.uncertainty_bpm == round(0.08 * with_rpe.hr_max_bpm)
    assert "Borg" in with_rpe.method


def test_the_estimate_stays_within_what_the_borg_relation_supports():
    """Issue 21.7: Borg 6–7 at 150 bpm gave 280–300 bpm. A rating below 11 proposes nothing
    from the test (the age formula with an age); an estimate outside 120–220 bpm is refused."""
    trace = [100.0] * 120 + [150.0] * 240
    for rpe in (6, 7, 10):
        with pytest.raises(ValueError, match="too light"):
            estimate_from_six_minute_test(trace, rpe=rpe)
        est = estimate_from_six_minute_test(trace, rpe=rpe, age_years=50)
        assert est.source is HrMaxSource.TANAKA and est.hr_max_bpm == 173
    with pytest.raises(ValueError, match="do not fit"):
        estimate_from_six_minute_test(trace, rpe=11)  # 150 / 0.68 = 221
    for rpe in range(11, 21):
        for hr in range(90, 200, 5):
            try:
                est = estimate_from_six_minute_test([hr * 1.0] * 360, rpe=rpe)
            except ValueError:
                continue
            assert 120 <= est.hr_max_bpm <= 220, (rpe, hr, est)
