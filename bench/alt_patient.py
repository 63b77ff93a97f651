"""A second, structurally different virtual patient, to test robustness, not to tune on.

The controller will be judged on patient models we never see. This one is built from the
same published numbers as ``controller.sim`` but with different modelling choices, so a
controller that only works on our own model shows it here:

* a concave %VO2R → %HRR map instead of a linear one with a soft ceiling;
* a *sharp* walk–run step at a patient-specific 7–8 km/h (ACSM running cost above it);
* first-order-plus-dead-time in parallel with a first-order path (Hunt & Wang 2024), with
  a larger gain on rising than on falling steps (30.2 vs 23.6 bpm/(m/s), Hunt 2015) that
  fades as the response settles;
* τ drawn from 57.6 ± 23.6 s, dead time up to 15 s (strap latency included);
* drift that grows with time above 50 % VO2R and never recovers within the session;
* HRV up to 4 bpm RMS; strap dropouts up to 25 s and doubled/halved readings;
* a slower belt: 0.4 km/h/s acceleration, incline motor 0.25 %/s.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

from controller.core.hrmax import HrMaxSource, hr_max_nes
from controller.protocol import PatientProfile
from controller.sim import Belt


def _acsm(speed_kmh: float, incline_pct: float, run_from_kmh: float) -> float:
    s = speed_kmh * 1000.0 / 60.0
    g = max(incline_pct, 0.0) / 100.0
    if speed_kmh <= 0:
        return 3.5
    if speed_kmh >= run_from_kmh:
        return 3.5 + 0.2 * s + 0.9 * s * g
    return 3.5 + 0.1 * s + 1.8 * s * g


@dataclass
class AltPatient:
    hr_rest: float
    hr_max: float
    vo2max: float
    run_from_kmh: float
    concavity: float
    tau_s: float
    tau_off_s: float
    dead_time_s: float
    fo_frac: float
    tau_fo_s: float
    up_gain: float
    drift_bpm_per_min: float
    hrv_rms: float
    dropout_per_h: float
    seed: int
    artefacts_per_h: float = 10.0
    spike_frac: float = 0.0
    """Share of artefacts that are single spikes of 25–60 bpm rather than doubled/halved."""
    dropout_max_s: float = 25.0
    hrv_corr_s: float = 25.0
    category: str = "alt"
    true_hr_bpm: float = 0.0
    _q: deque[tuple[float, float]] = field(default_factory=deque)
    _t: float = 0.0
    _x1: float = 0.0
    _x2: float = 0.0
    _drift: float = 0.0
    _hrv: float = 0.0
    _drop: float = 0.0
    _art: float = 0.0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.true_hr_bpm = self.hr_rest
        self._q.append((0.0, 0.0))

    def _ss(self, speed_kmh: float, incline_pct: float) -> tuple[float, float]:
        p = (_acsm(speed_kmh, incline_pct, self.run_from_kmh) - 3.5) / (self.vo2max - 3.5)
        p = min(max(p, 0.0), 1.3)
        c = self.concavity
        frac = (1 - math.exp(-c * p)) / (1 - math.exp(-c))
        return (self.hr_max - self.hr_rest) * min(frac, 1.0), p

    def step(self, dt_s: float, speed_kmh: float, incline_pct: float) -> float | None:
        rng = self._rng
        self._t += dt_s
        target, p = self._ss(speed_kmh, incline_pct)
        self._q.append((self._t, target))
        while len(self._q) > 1 and self._q[1][0] <= self._t - self.dead_time_s:
            self._q.popleft()
        delayed = self._q[0][1]
        g1 = (1 - self.fo_frac) * delayed
        g2 = self.fo_frac * target  # the parallel first-order path has no dead time
        rising = g1 > self._x1
        tau = self.tau_s if rising else self.tau_off_s
        goal = g1 * (self.up_gain if rising and g1 - self._x1 > 5 else 1.0)
        self._x1 += (goal - self._x1) * (1 - math.exp(-dt_s / tau))
        self._x2 += (g2 - self._x2) * (1 - math.exp(-dt_s / self.tau_fo_s))
        if p > 0.5:
            self._drift += self.drift_bpm_per_min / 60.0 * dt_s * min((p - 0.5) / 0.4, 1.5)
        a = math.exp(-dt_s / self.hrv_corr_s)
        self._hrv = a * self._hrv + self.hrv_rms * math.sqrt(1 - a * a) * rng.gauss(0, 1)
        hr = self.hr_rest + self._x1 + self._x2 + self._drift + self._hrv
        hr = min(max(hr, self.hr_rest - 8), self.hr_max + 2)
        self.true_hr_bpm = hr
        if self._drop > 0:
            self._drop -= dt_s
            return None
        if rng.random() < self.dropout_per_h * dt_s / 3600:
            self._drop = rng.uniform(2.0, self.dropout_max_s)
            return None
        if self._art > 0:
            self._art -= dt_s
            return float(round(hr * 2 if hr < 110 else hr / 2))
        if rng.random() < self.artefacts_per_h * dt_s / 3600:
            if self.spike_frac and rng.random() < self.spike_frac:
                return float(round(hr + rng.choice([-1, 1]) * rng.uniform(25.0, 60.0)))
            self._art = rng.uniform(1.0, 6.0)
        return float(round(hr))


def alt_cohort(n: int, seed: int = 7) -> list[tuple[AltPatient, PatientProfile]]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        age = rng.uniform(20, 65)
        beta = rng.random() < 0.15
        hr_max = hr_max_nes(age) + rng.gauss(0, 8) - (20 if beta else 0)
        hr_rest = rng.uniform(55, 95) - (12 if beta else 0)
        walk_only = rng.random() < 0.3
        tau = min(max(rng.gauss(57.6, 23.6), 20.0), 130.0)
        pat = AltPatient(
            hr_rest=hr_rest, hr_max=hr_max, vo2max=rng.uniform(16, 50),
            run_from_kmh=rng.uniform(7.0, 8.0), concavity=rng.uniform(0.3, 1.2),
            tau_s=tau, tau_off_s=tau * rng.uniform(1.0, 1.8), dead_time_s=rng.uniform(2, 15),
            fo_frac=rng.uniform(0.1, 0.3), tau_fo_s=rng.uniform(5, 20),
            up_gain=rng.uniform(1.0, 1.25), drift_bpm_per_min=rng.uniform(0.0, 2.0),
            hrv_rms=rng.uniform(1.5, 4.0), dropout_per_h=rng.choice([0, 5, 20]),
            seed=seed * 1000 + k,
        )
        prof = PatientProfile(
            hr_max=round(hr_max), hr_rest=round(hr_rest) if rng.random() < 0.7 else None,
            max_speed_kmh=round(rng.uniform(5.0, 7.0) if walk_only else rng.uniform(7.5, 14), 1),
            max_incline_pct=round(rng.uniform(8, 15)), walk_only=walk_only,
            hr_max_source=HrMaxSource.MEASURED,
        )
        out.append((pat, prof))
    return out


def slow_belt() -> Belt:
    return Belt(accel_kmh_per_s=0.4, decel_kmh_per_s=0.6, incline_pct_per_s=0.25)


def alt_oracle_model(pat: AltPatient) -> tuple[float, float, float, float, float, float, float]:
    """The best first-order description of an AltPatient: (K, a, τ, θ, f, τ_f, off ratio)."""
    c = pat.concavity
    frac = (1 - math.exp(-c * 0.85)) / (1 - math.exp(-c))
    k = (pat.hr_max - pat.hr_rest) * frac / (0.85 * (pat.vo2max - 3.5))
    return (k, pat.hr_rest, pat.tau_s, pat.dead_time_s, pat.fo_frac, pat.tau_fo_s,
            pat.tau_off_s / pat.tau_s)
