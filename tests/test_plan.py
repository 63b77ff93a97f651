import pytest

from controller.core.plan import PhaseKind, PhaseSpec, Plan, PlanError, default_4x4, six_minute_test


def test_default_4x4_matches_the_clinic_prescription():
    plan = default_4x4()
    kinds = [p.kind for p in plan.phases]
    assert kinds == [PhaseKind.WARMUP] + [PhaseKind.INTERVAL, PhaseKind.RECOVERY] * 3 + [
        PhaseKind.INTERVAL, PhaseKind.COOLDOWN]
    assert plan.phases[0].duration_s == 600
    intervals = [p for p in plan.phases if p.kind is PhaseKind.INTERVAL]
    assert all(p.duration_s == 240 and p.zone_low_frac == 0.85 and p.zone_high_frac == 0.95
               and p.min_incline_pct >= 5 for p in intervals)
    assert all(p.duration_s == 180 and p.target_frac == 0.70
               for p in plan.phases if p.kind is PhaseKind.RECOVERY)
    assert plan.phases[-1].duration_s == 300
    assert plan.total_s == 40 * 60


def test_warmup_length_is_editable_within_5_to_10_minutes():
    assert default_4x4(warmup_s=300).total_s == 35 * 60


def test_plan_round_trips_through_plain_data():
    plan = default_4x4()
    assert Plan.from_dict(plan.to_dict()) == plan
    test = six_minute_test(5.5, 2.0)
    assert Plan.from_dict(test.to_dict()) == test


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration_s": 10}, "duration_s must be 30–3600"),
        ({"min_incline_pct": 2.0}, "min_incline_pct must be ≥ 5"),
        ({"zone_low_frac": 0.96}, "zone_low_frac < target_frac"),
        ({"zone_low_frac": 0.5, "target_frac": 0.6, "zone_high_frac": 0.7},
         "below 75 % HRmax is not an interval"),
        ({"target_frac": None}, "need a target_frac"),
    ],
)
def test_a_bad_interval_is_refused_with_a_clear_message(change, message):
    with pytest.raises(PlanError, match=message) as info:
        default_4x4().with_phase(1, **change)
    assert "phase 2 (interval)" in str(info.value)


def test_structural_nonsense_is_refused():
    iv = PhaseSpec(PhaseKind.INTERVAL, 240, 0.9, 0.85, 0.95, min_incline_pct=5)
    cd = PhaseSpec(PhaseKind.COOLDOWN, 300, 0.6, 0.45, 0.7)
    wu = PhaseSpec(PhaseKind.WARMUP, 600, 0.65, 0.6, 0.72)
    rec = PhaseSpec(PhaseKind.RECOVERY, 180, 0.7, 0.62, 0.77)
    with pytest.raises(PlanError, match="must follow a warm-up"):
        Plan("x", (iv, cd))
    with pytest.raises(PlanError, match="must end with a cool-down"):
        Plan("x", (wu, iv))
    with pytest.raises(PlanError, match="recovery must follow an interval"):
        Plan("x", (wu, rec, iv, cd))
    with pytest.raises(PlanError, match="warm-up cannot come after"):
        Plan("x", (wu, iv, wu, cd))
    with pytest.raises(PlanError, match="at least 3 min"):
        Plan("x", (PhaseSpec(PhaseKind.WARMUP, 60, 0.65, 0.6, 0.72), iv, cd))
    with pytest.raises(PlanError, match="no phases"):
        Plan("x", ())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a table"),
        ({"phases": []}, "non-empty list"),
        ({"phases": [{"kind": "sprint", "duration_s": 60}]}, "kind must be one of"),
        ({"phases": [{"kind": "warmup"}]}, "duration_s is required"),
        ({"phases": [{"kind": "warmup", "duration_s": "ten"}]}, "must be a number"),
        ({"phases": [{"kind": "warmup", "duration_s": 60, "colour": 1}]}, "unknown field"),
    ],
)
def test_plan_from_data_names_the_bad_field(data, message):
    with pytest.raises(PlanError, match=message):
        Plan.from_dict(data)
