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
=====================  ============  =====================================================

The heart-rate gate is ``controller.core.hrgate`` (one gate for every source).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    speed_up_kmh_per_s: float = 0.25
    speed_down_kmh_per_s: float = 0.35
    stop_kmh_per_s: float = 0.6
    incline_pct_per_s: float = 0.5


def ramp(current: float, target: float, up_per_s: float, down_per_s: float, dt_s: float) -> float:
    """Move ``current`` towards ``target`` by at most the allowed rate over ``dt_s``."""
    if target > current:
        return min(target, current + up_per_s * dt_s)
    return max(target, current - down_per_s * dt_s)
