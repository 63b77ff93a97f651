"""Safety rules of the session core: set-point rate limits and the heart-rate gate.

Rate limits (documented, reviewable values; EN 957-6 asks heart-rate modes to avoid sudden
speed changes but its numbers are in the paid standard). They are chosen from treadmill
practice so that every change feels like a deliberate ramp, never a lurch:

=====================  ============  =====================================================
what                   limit         why
=====================  ============  =====================================================
speed up               0.25 km/h/s   1 km/h takes 4 s; slower than a consumer "+" button
speed down             0.35 km/h/s   easing off may be a little quicker than speeding up
controlled stop        0.6 km/h/s    10 km/h to standstill in ~17 s
incline up/down        0.5 %/s       the pace of an MC2100-class incline motor
=====================  ============  =====================================================

The heart-rate gate sits between the strap and the controller. It passes a reading only if
it is in 30–230 bpm and consistent with recent valid readings: strap artefacts (doubled or
halved values, spikes of tens of bpm) are rejected and reported as "no reading", so the
controller never chases them. A real change of level — e.g. after a long dropout — is
accepted once readings agree with each other for long enough (8 s for a jump, 20 s for a
level that looks doubled or halved, since believing a halved value would push the patient
harder).
"""

from __future__ import annotations

import math
from collections import deque
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


HR_MIN_BPM = 30.0
HR_MAX_BPM = 230.0


@dataclass(frozen=True)
class GateResult:
    hr_bpm: float | None
    reason: str  # "ok", "no_reading", "out_of_range", "doubled", "halved", "jump"


class HrGate:
    """Artefact-rejecting gate for strap readings; see module docstring."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque(maxlen=7)
        self._last_valid_s: float | None = None
        self._candidate: list[tuple[float, float]] = []

    @property
    def reference_bpm(self) -> float | None:
        if not self._recent:
            return None
        return sorted(self._recent)[len(self._recent) // 2]

    def update(self, now_s: float, hr_bpm: float | None) -> GateResult:
        if hr_bpm is None:
            return GateResult(None, "no_reading")
        if not math.isfinite(hr_bpm) or not HR_MIN_BPM <= hr_bpm <= HR_MAX_BPM:
            return GateResult(None, "out_of_range")
        ref = self.reference_bpm
        if ref is None:
            return self._accept(now_s, hr_bpm)
        gap_s = now_s - (self._last_valid_s if self._last_valid_s is not None else now_s)
        ratio = hr_bpm / ref
        tol = max(20.0, 0.15 * ref) + 1.5 * max(gap_s - 1.0, 0.0)
        if abs(hr_bpm - ref) <= tol:
            self._candidate.clear()
            return self._accept(now_s, hr_bpm)
        if 1.7 <= ratio <= 2.3:
            reason, persist_s = "doubled", 20.0
        elif 0.4 <= ratio <= 0.6:
            reason, persist_s = "halved", 20.0
        else:
            reason, persist_s = "jump", 8.0
        # A new level: accept it only once it has persisted and agrees with itself.
        if self._candidate and abs(hr_bpm - self._candidate[-1][1]) > 12.0:
            self._candidate.clear()
        self._candidate.append((now_s, hr_bpm))
        if now_s - self._candidate[0][0] >= persist_s:
            self._recent.clear()
            for _, v in self._candidate[-5:]:
                self._recent.append(v)
            self._candidate.clear()
            return self._accept(now_s, hr_bpm)
        return GateResult(None, reason)

    def _accept(self, now_s: float, hr_bpm: float) -> GateResult:
        self._recent.append(hr_bpm)
        self._last_valid_s = now_s
        return GateResult(hr_bpm, "ok")
