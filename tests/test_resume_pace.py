"""After a stop of the belt or a pause, the belt comes back at the earlier pace (issue 21,
h21safe #2).

The trial: after a belt stop at 2.7 km/h, "r Fortsett" ramped 0 → 3.5 km/h in ~14 s and on
to 5.6; a staff pause in an active pause at 1.5 km/h resumed to 3.5 km/h within ~10 s. The
belt ramps back (rate-limited) to at most the set-point it had before, then the controller
continues from there.
"""

from __future__ import annotations

import pytest

from controller.core.plan import default_4x4
from controller.protocol import RESTART_COUNTDOWN_S, RESUME_HOLD_S, PatientProfile, Session
from controller.sim import Belt, PatientParams, VirtualPatient

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0, max_incline_pct=15.0)


def _drive(s: Session, vp: VirtualPatient, belt: Belt, t0: float, t1: float,
           *, belt_dead: bool = False) -> list:
    """Step 1 Hz from ``t0`` to ``t1`` (exclusive); ``belt_dead``: the belt stands whatever
    it is asked (a latched fault); return the set-points."""
    out, t = [], t0
    while t < t1:
        reading = getattr(vp, "last_reading", 90.0)
        sp = s.step(t, reading, belt.speed_kmh, belt.incline_pct)
        out.append(sp)
        belt.step(1.0, 0.0 if belt_dead else sp.speed_kmh, sp.incline_pct)
        vp.last_reading = vp.step(1.0, belt.speed_kmh, belt.incline_pct)  # type: ignore[attr-defined]
        t += 1.0
    return out


def _came_back_no_faster(before_kmh: float, after: list) -> None:
    """The belt sets off after the 3-2-1 and ramps back (rate-limited) to at most
    ``before_kmh``, where it stays at most for ``RESUME_HOLD_S`` once there."""
    assert any(sp.speed_kmh >= 0.5 for sp in after[:int(RESTART_COUNTDOWN_S) + 4])
    window = int(RESTART_COUNTDOWN_S + before_kmh / 0.25 + RESUME_HOLD_S)
    over = [(k, round(sp.speed_kmh, 2)) for k, sp in enumerate(after[:window])
            if sp.speed_kmh > before_kmh + 1e-6]
    assert over == [], f"came back faster than {before_kmh:.2f} km/h: {over}"


@pytest.mark.parametrize("pause_at_s", [440.0, 470.0, 900.0])
def test_a_staff_pause_in_an_active_pause_resumes_at_the_earlier_pace(pause_at_s):
    s = Session(PROFILE, plan=default_4x4(warmup_s=180.0))
    vp, belt = VirtualPatient(PatientParams(seed=3, cost_factor=1.25)), Belt()
    sps = _drive(s, vp, belt, 0.0, pause_at_s)
    assert sps[-1].phase == "recovery"
    before = sps[-1].speed_kmh
    s.pause()
    _drive(s, vp, belt, pause_at_s, pause_at_s + 60.0)
    assert belt.speed_kmh < 0.1
    s.resume()
    after = _drive(s, vp, belt, pause_at_s + 60.0, pause_at_s + 120.0)
    _came_back_no_faster(before, after)


@pytest.mark.parametrize("how", ["fault", "watch"])
def test_after_a_belt_stop_resume_comes_back_at_the_earlier_pace(how):
    s = Session(PROFILE, plan=default_4x4(warmup_s=180.0))
    vp, belt = VirtualPatient(PatientParams(seed=5, cost_factor=1.25)), Belt()
    sps = _drive(s, vp, belt, 0.0, 450.0)
    before = sps[-1].speed_kmh
    if how == "fault":
        s.belt_fault("overcurrent")
    # the board stopped the belt: it stands whatever we ask (the watch sees it after 5 s)
    _drive(s, vp, belt, 450.0, 480.0, belt_dead=True)
    assert s.run_state == "paused"
    s.resume()
    after = _drive(s, vp, belt, 480.0, 540.0)
    _came_back_no_faster(before, after)


def test_the_incline_comes_down_while_the_belt_stands_in_a_pause_and_back_gently():
    """h21safe #5: the belt screen showed "0,0 km/t · 5,0 %" in a pause. While the belt
    stands in a pause the incline comes down (rate-limited); a resume brings it back gently
    to at most where it was."""
    s = Session(PROFILE, plan=default_4x4(warmup_s=180.0))
    vp, belt = VirtualPatient(PatientParams(seed=3, cost_factor=1.25)), Belt()
    sps = _drive(s, vp, belt, 0.0, 300.0)
    assert sps[-1].phase == "interval"
    incline_before = sps[-1].incline_pct
    assert incline_before >= 5.0
    s.pause()
    paused = _drive(s, vp, belt, 300.0, 360.0)
    assert paused[-1].incline_pct == 0.0 and belt.incline_pct < 0.1, paused[-1]
    prev = incline_before
    for sp in paused:
        assert prev - sp.incline_pct <= 0.5 + 1e-9  # the incline motor's pace, no lurch
        prev = sp.incline_pct
    s.resume()
    after = _drive(s, vp, belt, 360.0, 420.0)
    prev = 0.0
    for sp in after:
        assert sp.incline_pct - prev <= 0.5 + 1e-9
        prev = sp.incline_pct
    assert all(sp.incline_pct <= incline_before + 1e-9 for sp in after[:20])
    assert after[-1].incline_pct >= 5.0  # the interval's climb is back
