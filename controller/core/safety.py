"""Safety rules of the session core: set-point rate limits.

Rate limits (documented, reviewable values; EN 957-6 asks heart-rate modes to avoid sudden
speed changes but its numbers are in the paid standard). They are chosen from treadmill
practice so that every change feels like a deliberate ramp, never a lurch:

=====================  ============  =====================================================
what                   limit         why
=====================  ============  =====================================================
speed up               0.25 km/h/s   1 km/h takes 4 s; slower than a consumer "+" button
speed down             0.35 km/h/s   easing off may be a little quicker than speeding up
controlled stop        0.6 km/h/s    10 km/h to standstill in ~17 s
incline up/down        0.5 %/s       the pace of an MC2100-class incline motor; a
                                     controlled stop lowers it to 0 % at this pace too (the
                                     board's STOP leaves the incline where it stands)
gentle speed up        0.125 km/h/s  half the usual, for ``gentle_after_s`` (30 s) after the
gentle incline up      0.25 %/s      pulse is accepted again after a hold/slow, and after a
                                     skip into a harder part (issue 21: 3,0 → 4,25 km/h and
                                     0 → 2,5 % within 5 s felt like a lurch); lowering and a
                                     stop keep their usual rates
=====================  ============  =====================================================

The heart-rate gate is ``controller.core.hrgate`` (one gate for every source). A tick
without a heart rate the gate accepted never adds load (``no_load_without_hr``): from the
very first such tick, in every phase, whatever the cause (no reading, out of range, a
rejected jump); lowering stays allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    speed_up_kmh_per_s: float = 0.25
    speed_down_kmh_per_s: float = 0.35
    stop_kmh_per_s: float = 0.6
    incline_pct_per_s: float = 0.5
    gentle_speed_up_kmh_per_s: float = 0.125
    gentle_incline_up_pct_per_s: float = 0.25
    gentle_after_s: float = 30.0
    """How long the gentle upward rates last after the pulse came back from a hold/slow
    (counted from the tick it was accepted again) or after a skip into a harder part
    (from the first tick the belt may move in it)."""


def ramp(current: float, target: float, up_per_s: float, down_per_s: float, dt_s: float) -> float:
    """Move ``current`` towards ``target`` by at most the allowed rate over ``dt_s``."""
    if target > current:
        return min(target, current + up_per_s * dt_s)
    return max(target, current - down_per_s * dt_s)


def no_load_without_hr(speed_kmh: float, incline_pct: float, speed_sp_kmh: float,
                       incline_sp_pct: float, hr_accepted: bool) -> tuple[float, float]:
    """The wanted speed and incline, never above the current set-points while no heart rate
    is accepted: a ramp towards a phase's planned load or the control law's own prediction
    must not go on in the dark (issue 21: 3.6 → 4.6 km/h in the first 5 s of a loss, before
    the hold began). Lowering is allowed.

    >>> no_load_without_hr(4.6, 2.0, 3.6, 1.0, hr_accepted=False)
    (3.6, 1.0)
    >>> no_load_without_hr(3.0, 0.5, 3.6, 1.0, hr_accepted=False)
    (3.0, 0.5)
    """
    if hr_accepted:
        return speed_kmh, incline_pct
    return min(speed_kmh, speed_sp_kmh), min(incline_pct, incline_sp_pct)
