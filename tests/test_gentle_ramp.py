"""After the pulse comes back and after a skip into a harder part, the belt rises gently
(issue 21, h21ramp).

The bokmål new-nurse trial: after the heart rate came back from a loss (the session had held,
then slowed the belt to an easy walk) and after staff skipped the warm-up, the belt ramped up
at exactly the documented limits, 3,0 → 4,25 km/h and 0 → 2,5 % within 5 s, felt as a lurch.
For 30 s after the pulse is accepted again following a hold/slow, and for 30 s after a skip
into a harder part, the upward limits are half (0.125 km/h/s, 0.25 %/s); lowering keeps its
rate and a stop still stops at once. Driven here with the real control law and a virtual
patient at 1 Hz, as the runtime steps it.
"""

from __future__ import annotations

import pytest

from controller.core.plan import default_4x4
from controller.protocol import PatientProfile, Session, Setpoint
from controller.sim import Belt, PatientParams, VirtualPatient

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0, max_incline_pct=15.0)
GENTLE_SPEED_KMH_PER_S = 0.125
GENTLE_INCLINE_PCT_PER_S = 0.25
WINDOW_S = 30.0


class Drive:
    """A session, a virtual patient and a belt stepped together at 1 Hz."""

    def __init__(self, seed: int, warmup_s: float = 180.0) -> None:
        self.s = Session(PROFILE, plan=default_4x4(warmup_s=warmup_s))
        self.vp = VirtualPatient(PatientParams(seed=seed, cost_factor=1.25))
        self.belt = Belt()
        self.t = 0.0
        self.reading: float | None = 90.0
        self.rows: list[tuple[float, float, float, Setpoint]] = []
        """(t, speed set-point before, incline set-point before, set-point) per tick."""

    def run(self, seconds: float, *, pulse: bool = True) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            before = (self.rows[-1][3].speed_kmh, self.rows[-1][3].incline_pct) \
                if self.rows else (0.0, 0.0)
            sp = self.s.step(self.t, self.reading if pulse else None, self.belt.speed_kmh,
                             self.belt.incline_pct)
            self.rows.append((self.t, before[0], before[1], sp))
            self.belt.step(1.0, sp.speed_kmh, sp.incline_pct)
            self.reading = self.vp.step(1.0, self.belt.speed_kmh, self.belt.incline_pct)
            self.t += 1.0

    def when(self, kind: str, after_s: float) -> float:
        return next(sp.now_s for _, _, _, sp in self.rows if sp.now_s >= after_s
                    and any(e.kind == kind for e in sp.events))

    def rises(self, from_s: float, seconds: float) -> tuple[float, float]:
        """The largest upward step of speed and incline per tick in [from_s, from_s + s)."""
        window = [(sp.speed_kmh - v0, sp.incline_pct - i0) for t, v0, i0, sp in self.rows
                  if from_s <= t < from_s + seconds]
        assert len(window) == int(seconds)
        return max(dv for dv, _ in window), max(di for _, di in window)


def _gentle(rises: tuple[float, float]) -> bool:
    return rises[0] <= GENTLE_SPEED_KMH_PER_S + 1e-9 and \
        rises[1] <= GENTLE_INCLINE_PCT_PER_S + 1e-9


@pytest.mark.parametrize(("lost_at_s", "seed"), [(240.0, 1), (300.0, 2), (470.0, 3),
                                                 (650.0, 4), (900.0, 5)])
def test_after_a_20_s_pulse_loss_the_belt_rises_gently_for_30_s(lost_at_s, seed):
    d = Drive(seed)
    d.run(lost_at_s)
    d.run(20.0, pulse=False)  # hold at 5 s, an easy walk on the level from 15 s
    assert d.rows[-1][3].state == "hr_slow"
    d.run(WINDOW_S + 30.0)
    back = d.when("hr_restored", lost_at_s)
    assert back <= lost_at_s + 22.0  # the gate believed the first good readings
    rises = d.rises(back, WINDOW_S)
    assert _gentle(rises), f"rose {rises[0]:.3f} km/h and {rises[1]:.2f} % in one second " \
        f"within {WINDOW_S:g} s after the pulse came back at {back:g} s"


def test_the_trial_case_climbs_at_most_half_as_far_in_5_s():
    """The trial's numbers: from the easy walk (3 km/h, level) the belt may climb at most
    0.625 km/h and 1.25 % in the first 5 s after the pulse is back (it was 1.25 and 2.5)."""
    d = Drive(1)
    d.run(240.0)
    d.run(20.0, pulse=False)
    d.run(10.0)
    back = d.when("hr_restored", 240.0)
    at = {t: sp for t, _, _, sp in d.rows}
    start, five = at[back - 1.0], at[back + 4.0]  # the set-point before it, 5 ticks on
    assert five.speed_kmh - start.speed_kmh <= 5 * GENTLE_SPEED_KMH_PER_S + 1e-9
    assert five.incline_pct - start.incline_pct <= 5 * GENTLE_INCLINE_PCT_PER_S + 1e-9
    assert five.speed_kmh > start.speed_kmh  # the law does take the load back up


@pytest.mark.parametrize(("skip_at_s", "seed"), [(60.0, 1), (120.0, 2), (300.0, 3)])
def test_after_a_skip_from_the_warm_up_into_interval_1_the_belt_rises_gently_for_30_s(
        skip_at_s, seed):
    d = Drive(seed, warmup_s=600.0)
    d.run(skip_at_s)
    assert d.rows[-1][3].phase == "warmup"
    d.s.skip()
    d.run(WINDOW_S + 30.0)
    assert d.rows[-int(WINDOW_S) - 30][3].phase == "interval"
    rises = d.rises(skip_at_s, WINDOW_S)
    assert _gentle(rises), f"rose {rises[0]:.3f} km/h and {rises[1]:.2f} % in one second " \
        f"within {WINDOW_S:g} s after the skip at {skip_at_s:g} s"
    assert d.rows[-1][3].speed_kmh > d.rows[-int(WINDOW_S) - 31][3].speed_kmh  # it climbs


def test_a_stop_in_the_gentle_window_still_stops_at_once():
    d = Drive(1, warmup_s=600.0)
    d.run(120.0)
    d.s.skip()
    d.run(10.0)
    v0 = d.rows[-1][3].speed_kmh
    d.s.stop()
    d.run(3.0)
    assert [round(v0 - sp.speed_kmh, 6) for _, _, _, sp in d.rows[-3:]] == \
        pytest.approx([0.6, 1.2, 1.8])


def test_a_skip_while_paused_rises_gently_once_the_belt_sets_off_again():
    """A skip into interval 1 during a pause: the 30 s count from the first tick the belt may
    move after the resume's 3-2-1, not from the skip (the belt stood meanwhile)."""
    d = Drive(2, warmup_s=600.0)
    d.run(120.0)
    d.s.pause()
    d.run(30.0)
    assert d.belt.speed_kmh < 0.1
    d.s.skip()
    d.run(20.0)
    d.s.resume()
    resumed_s = d.t
    d.run(WINDOW_S + 40.0)
    moving = next(t for t, _, _, sp in d.rows if t >= resumed_s and sp.speed_kmh > 0.0)
    assert moving == resumed_s + 3.0  # after the 3-2-1
    rises = d.rises(moving, WINDOW_S)
    assert _gentle(rises), rises
    assert rises[0] == pytest.approx(GENTLE_SPEED_KMH_PER_S)
