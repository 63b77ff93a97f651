"""The restart's 3-2-1 is part of the pause: after `r` the belt stands still for
``RESTART_COUNTDOWN_S`` (the belt page counts it down, the console says «båndet starter om
N s»), and the part's clock stood still with it only until the resume: an interval lost up
to 3 s of work to the countdown. Pure session, simulated time."""

import math

import pytest

from controller.core.plan import default_4x4
from controller.protocol import RESTART_COUNTDOWN_S, PatientProfile, Session
from controller.sim import Belt
from tests.helpers import drive

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0, max_incline_pct=15.0)


def _paused_in_interval_1() -> tuple[Session, Belt, float]:
    """A 4x4 100 s into its first interval, paused and come to a standstill; the time."""
    s, belt = Session(PROFILE, default_4x4()), Belt()
    sps = drive(s, lambda t: 150.0, 700, belt=belt)
    assert sps[-1].phase == "interval" and sps[-1].interval == 1
    s.pause()
    sps = drive(s, lambda t: 140.0, 40, t0=701, belt=belt)
    assert sps[-1].state == "paused" and belt.speed_kmh == 0.0
    return s, belt, 742.0


def test_the_parts_clock_stands_during_the_restart_countdown():
    s, belt, t = _paused_in_interval_1()
    before = s.step(t, 140.0, belt.speed_kmh, belt.incline_pct)
    s.resume()
    counting = []
    t += 0.5
    while True:
        sp = s.step(t, 140.0, belt.speed_kmh, belt.incline_pct)
        belt.step(0.5, sp.speed_kmh, sp.incline_pct)
        if s.restart_at_s is None:
            break
        counting.append(sp)
        t += 0.5
    assert len(counting) >= 2 * RESTART_COUNTDOWN_S - 1, counting  # the 3-2-1 was held
    assert all(c.speed_kmh == 0.0 for c in counting)
    # neither the time run nor the time left moved while the belt stood
    assert {c.phase_elapsed_s for c in counting} == {before.phase_elapsed_s}, counting
    assert {c.phase_remaining_s for c in counting} == {before.phase_remaining_s}
    # from the moment the belt may set off, the clock runs again, second for second
    later = drive(s, lambda t: 150.0, 20, t0=t + 0.5, dt_s=0.5, belt=belt)
    assert later[-1].phase_elapsed_s == pytest.approx(before.phase_elapsed_s + 20.5, abs=0.51)
    assert later[-1].speed_kmh > 1.0


def test_an_interval_paused_and_resumed_still_runs_its_whole_length_of_work():
    """The interval's 4 minutes are 4 minutes of belt that may move: the countdown is
    added to its end, not taken from it."""
    s, belt, t = _paused_in_interval_1()
    s.resume()
    sps = drive(s, lambda t: 150.0, 300, t0=t, belt=belt)
    ran_before_pause_s = 100  # 600..700 s: the pause froze it there
    first_after = next(sp.now_s for sp in sps if sp.speed_kmh > 0.0)
    end = next(sp.now_s for sp in sps if sp.phase == "recovery")
    assert first_after - t >= RESTART_COUNTDOWN_S
    assert end - first_after == pytest.approx(240 - ran_before_pause_s, abs=1.0), \
        (first_after, end)


def test_the_belt_page_holds_the_parts_time_between_ticks_of_the_3_2_1():
    """The belt page counts the part's time down between the session's ticks on the
    runtime's clock: during the resume's 3-2-1 it held still at the tick but ran between
    them. A part paused at a half second, the page read 0,6 s after a tick of the count."""
    from controller.service.beltview import belt_doc
    from controller.service.runtime import Runtime
    from controller.treadmill import Treadmill

    s, belt = Session(PROFILE, default_4x4()), Belt()
    drive(s, lambda t: 150.0, 700, belt=belt)
    s.step(700.5, 150.0, belt.speed_kmh, belt.incline_pct)  # paused at a half second
    s.pause()
    drive(s, lambda t: 140.0, 40, t0=701, belt=belt)
    assert belt.speed_kmh == 0.0
    s.resume()
    now = [742.0]
    sp = s.step(now[0], 140.0, belt.speed_kmh, belt.incline_pct)
    assert s.restart_at_s is not None and sp.speed_kmh == 0.0
    frozen = sp.phase_remaining_s
    assert frozen != round(frozen)  # the page's ceil would hide a whole second
    rt = Runtime(PROFILE, None, hr_source=None, treadmill=Treadmill("/dev/null"),
                 clock=lambda: now[0])
    rt.session, rt.session_id = s, "S9"
    rt._start.set()
    rt.snapshot.setpoint = sp
    seen = []
    for gone_s in (0.0, 0.3, 0.6, 0.9):
        now[0] = sp.now_s + gone_s
        seen.append(belt_doc(rt, "nb")["remaining_s"])
    assert seen == [math.ceil(frozen)] * 4, (frozen, seen)
