"""Baseline control laws, written from the published behaviour of today's products.

They plug into the same ``Session`` as our controller (same plan, caps, rate limits and
fail-safes), so the bench compares control laws and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.control import AdaptiveController, ControlDecision, ControlInput, ModelParams
from controller.core.workload import REST_VO2
from controller.sim import PatientParams


@dataclass
class DeadBandStepper:
    """Open-source HR-zone modes (e.g. qdomyos-zwift): ±0.2 km/h every 10 s outside the zone.

    Incline stays at the phase minimum (the 4x4's 5 % in intervals); only speed is stepped.
    """

    period_s: float = 10.0
    step_kmh: float = 0.2
    _next_s: float = 0.0
    _speed: float | None = None

    def update(self, inp: ControlInput) -> ControlDecision:
        if self._speed is None:
            self._speed = max(inp.path.min_speed_kmh, 3.0)
        if inp.now_s >= self._next_s and inp.hr_bpm is not None:
            self._next_s = inp.now_s + self.period_s
            if inp.hr_bpm < inp.zone_low_bpm:
                self._speed += self.step_kmh
            elif inp.hr_bpm > inp.zone_high_bpm:
                self._speed -= self.step_kmh
        self._speed = min(max(self._speed, inp.path.min_speed_kmh), inp.path.max_speed_kmh)
        return ControlDecision(self._speed, inp.path.min_incline_pct)


@dataclass
class GainScheduledStepper:
    """A medical treadmill's cardio mode (h/p/cosmos): up slowly, down fast, by error size.

    Up +0.2 … +1.0 km/h every 22 s (20–25 s), down −0.3 … −2.0 km/h every 10 s (7–12 s),
    towards the target heart rate; incline at the phase minimum.
    """

    _next_up_s: float = 0.0
    _next_down_s: float = 0.0
    _speed: float | None = None

    def update(self, inp: ControlInput) -> ControlDecision:
        if self._speed is None:
            self._speed = max(inp.path.min_speed_kmh, 3.0)
        if inp.hr_bpm is not None:
            err = inp.target_bpm - inp.hr_bpm
            if err > 2.0 and inp.now_s >= self._next_up_s:
                self._speed += min(max(0.2 + 0.8 * (err - 2.0) / 20.0, 0.2), 1.0)
                self._next_up_s = inp.now_s + 22.0
            elif err < -2.0 and inp.now_s >= self._next_down_s:
                self._speed -= min(max(0.3 + 1.7 * (-err - 2.0) / 18.0, 0.3), 2.0)
                self._next_down_s = inp.now_s + 10.0
        self._speed = min(max(self._speed, inp.path.min_speed_kmh), inp.path.max_speed_kmh)
        return ControlDecision(self._speed, inp.path.min_incline_pct)


@dataclass
class FixedPlan:
    """What a physiotherapist programs without feedback: each phase's workload from the
    population-average patient (VO2max 30, 7 % walking inefficiency), never adjusted."""

    hr_max_bpm: float
    hr_rest_bpm: float

    def update(self, inp: ControlInput) -> ControlDecision:
        hrr = (inp.target_bpm - self.hr_rest_bpm) / (self.hr_max_bpm - self.hr_rest_bpm)
        vo2 = REST_VO2 + hrr * (30.0 - REST_VO2) / 1.07
        speed, incline = inp.path.point(min(max(vo2, inp.path.min_vo2), inp.path.max_vo2))
        return ControlDecision(speed, round(incline * 2) / 2)


def oracle(truth: PatientParams, overdrive: float = 4.0) -> AdaptiveController:
    """Our control law handed the virtual patient's true parameters (no learning needed)."""
    gain = (truth.hr_max_bpm - truth.hr_rest_bpm) * truth.cost_factor / (truth.vo2max - REST_VO2)
    model = ModelParams(gain, truth.hr_rest_bpm, truth.tau_slow_s, truth.dead_time_s,
                        truth.fast_frac, truth.tau_fast_s, truth.tau_off_ratio)
    return AdaptiveController(truth.hr_max_bpm, truth.hr_rest_bpm, fixed_model=model,
                              overdrive=overdrive, aggressiveness=6.0)
