"""A third virtual-patient family: a two-compartment (vagal + sympathetic) model of heart rate.

Built from a different published account of heart-rate kinetics than ``controller.sim`` (two
first-order paths in fixed proportion) and ``bench.alt_patient`` (concave map, FOPDT ∥ first
order): the autonomic one, in which heart rate rises first by *vagal withdrawal* — fast
(τ 5–15 s), nearly without delay, and finished by moderate work — and then by *sympathetic
activation* — slow (τ 30–180 s), after a dead time (2–20 s), recovering more slowly still
(off-kinetics 1.2–2× slower); the sum saturates near HRmax (Rowell; Fagraeus & Linnarsson
1976; Wang & Hunt 2021's fast phase I of 10–25 %). Consequences no other family has:

* the fast share depends on where a step starts: from an easy warm-up to an interval the
  vagal part is already spent, so nearly the whole rise is slow; from rest to walking it is
  mostly fast. A model with a fixed fast fraction is wrong in both places.
* heart rate bends over near HRmax (logistic saturation of the sympathetic drive), so the
  gain falls at the top of the zone.
* oxygen uptake has its own kinetics (τ 20–40 s): the metabolic state that drives drift and
  the respiratory swing lags the work.

Plus: cardiac drift 0–2.5 bpm/min above ~55 % VO2R (fading slowly below), HRV as slow
(Ornstein–Uhlenbeck, up to 4.5 bpm) and respiratory (≈0.25 Hz, shrinking with effort)
components, a strap with dropouts and artefacts, and a profile HRmax off by 6–10 bpm.

Kept OUT of tuning: ``./run bench --cohort twocomp`` reports it; nothing is tuned on it.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

from controller.core.hrmax import HrMaxSource, hr_max_nes
from controller.core.workload import REST_VO2, vo2_cost
from controller.protocol import PatientProfile

VAGAL_DONE_FRAC = 0.35
"""%VO2R by which vagal withdrawal is complete (it dominates light work only)."""


@dataclass
class TwoCompPatient:
    hr_rest: float
    hr_max: float
    vo2max: float
    cost_factor: float
    vagal_frac: float
    tau_vagal_s: float
    tau_symp_s: float
    tau_symp_off_s: float
    dead_time_s: float
    tau_vo2_s: float
    drift_bpm_per_min: float
    hrv_rms: float
    hrv_corr_s: float
    rsa_bpm: float
    dropouts_per_h: float
    artefacts_per_h: float
    seed: int
    category: str = "twocomp"
    true_hr_bpm: float = 0.0
    _t: float = 0.0
    _vo2: float = 0.0
    _q: deque[tuple[float, float]] = field(default_factory=deque)
    _v: float = 0.0
    _s: float = 0.0
    _drift: float = 0.0
    _hrv: float = 0.0
    _drop: float = 0.0
    _art: float = 0.0
    _art_kind: str = ""
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.true_hr_bpm = self.hr_rest
        self._q.append((0.0, 0.0))

    def demand(self, speed_kmh: float, incline_pct: float) -> float:
        """%VO2R the belt asks for (inefficient walkers pay more)."""
        return max((vo2_cost(speed_kmh, incline_pct) - REST_VO2) * self.cost_factor, 0.0) / (
            self.vo2max - REST_VO2)

    def _drives(self, p: float) -> tuple[float, float]:
        v = self.vagal_frac * min(p / VAGAL_DONE_FRAC, 1.0)
        return v, max(p - v, 0.0)

    def _hr_of(self, v: float, s: float) -> float:
        """Saturating sum: linear to ~80 % of the reserve, then bending over towards HRmax."""
        z = v + s
        if z > 0.8:
            z = 0.8 + 0.2 * math.tanh((z - 0.8) / 0.2)
        return self.hr_rest + (self.hr_max - self.hr_rest) * z

    def steady_hr_bpm(self, speed_kmh: float, incline_pct: float) -> float:
        v, s = self._drives(self.demand(speed_kmh, incline_pct))
        return self._hr_of(v, s)

    def step(self, dt_s: float, speed_kmh: float, incline_pct: float) -> float | None:
        rng = self._rng
        self._t += dt_s
        p = self.demand(speed_kmh, incline_pct)
        # oxygen uptake's own kinetics set the metabolic state (drift, respiration); the
        # heart's published time constants are measured against the work step itself, so
        # the compartments see the demand (a lag in series would double-count them)
        self._vo2 += (p - self._vo2) * (1 - math.exp(-dt_s / self.tau_vo2_s))
        v_goal, _ = self._drives(p)  # vagal withdrawal answers the command nearly at once
        self._q.append((self._t, p))
        while len(self._q) > 1 and self._q[1][0] <= self._t - self.dead_time_s:
            self._q.popleft()
        _, s_goal = self._drives(self._q[0][1])
        self._v += (v_goal - self._v) * (1 - math.exp(-dt_s / self.tau_vagal_s))
        tau_s = self.tau_symp_s if s_goal >= self._s else self.tau_symp_off_s
        self._s += (s_goal - self._s) * (1 - math.exp(-dt_s / tau_s))
        if self._vo2 > 0.55:
            self._drift += self.drift_bpm_per_min / 60.0 * dt_s * min((self._vo2 - 0.55) / 0.35,
                                                                      1.3)
        else:
            self._drift *= math.exp(-dt_s / 900.0)
        a = math.exp(-dt_s / self.hrv_corr_s)
        self._hrv = a * self._hrv + self.hrv_rms * math.sqrt(1 - a * a) * rng.gauss(0, 1)
        rsa = self.rsa_bpm * max(1.0 - self._vo2, 0.2) * math.sin(2 * math.pi * 0.25 * self._t)
        hr = self._hr_of(self._v, self._s) + self._drift + self._hrv + rsa
        hr = min(max(hr, self.hr_rest - 8.0), self.hr_max + 2.0)
        self.true_hr_bpm = hr
        return self._strap(dt_s, hr)

    def _strap(self, dt_s: float, hr: float) -> float | None:
        rng = self._rng
        if self._drop > 0:
            self._drop -= dt_s
            return None
        if rng.random() < self.dropouts_per_h * dt_s / 3600:
            self._drop = rng.uniform(2.0, 15.0)
            return None
        if self._art > 0:
            self._art -= dt_s
            return float(round(hr * (2.0 if self._art_kind == "double" else 0.5)))
        if rng.random() < self.artefacts_per_h * dt_s / 3600:
            kind = rng.choice(["double", "half", "spike"])
            if kind == "spike":
                return float(round(hr + rng.choice([-1, 1]) * rng.uniform(25.0, 60.0)))
            self._art, self._art_kind = rng.uniform(1.0, 6.0), kind
        return float(round(hr))

    def oracle_model(self) -> tuple[float, float, float, float, float, float, float]:
        """The best description our law's structure can hold: (K, a, τ, θ, f, τ_f, off).

        Gain from the static map's linear part; in the zone the vagal share is spent, so the
        fast fraction is what remains of it above warm-up intensity (none)."""
        k = (self.hr_max - self.hr_rest) * self.cost_factor / (self.vo2max - REST_VO2)
        return (k, self.hr_rest, self.tau_symp_s, self.dead_time_s, 0.05, self.tau_vagal_s,
                self.tau_symp_off_s / self.tau_symp_s)

    def perturbed(self, rng: random.Random, seed: int) -> TwoCompPatient:
        """The same patient a few days later: resting HR ±3 bpm, fitness ±3 %, new noise."""
        d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        d.update(hr_rest=self.hr_rest + rng.uniform(-3, 3),
                 vo2max=self.vo2max * (1 + rng.uniform(-0.03, 0.03)), seed=seed)
        d.pop("true_hr_bpm")
        return TwoCompPatient(**d)


RANGES: dict[str, tuple[float, float]] = {
    "tau_symp_s": (30.0, 180.0),
    "off_ratio": (1.2, 2.0),
    "dead_time_s": (2.0, 20.0),
    "vagal_frac": (0.10, 0.25),
    "tau_vagal_s": (5.0, 15.0),
    "drift_bpm_per_min": (0.0, 2.5),
    "hrv_rms_bpm": (1.5, 4.5),
    "hr_max_error_bpm": (6.0, 10.0),
}
"""The published ranges of issue 26, drawn uniformly (τ log-uniformly)."""


def twocomp_cohort(n: int, seed: int = 2026) -> list[tuple[TwoCompPatient, PatientProfile]]:
    """``n`` two-compartment patients over ``RANGES``, from their own seed stream; the
    profile's HRmax is off by 6–10 bpm (alternately too high and too low)."""
    rng = random.Random(f"fourbyfour-twocomp-{seed}")
    r = RANGES
    out = []
    for k in range(n):
        age = rng.uniform(20.0, 65.0)
        beta = rng.random() < 0.15
        hr_max = hr_max_nes(age) + rng.gauss(0.0, 8.0) - (20.0 if beta else 0.0)
        hr_rest = min(rng.uniform(55.0, 92.0) - (12.0 if beta else 0.0), hr_max - 60.0)
        tau = math.exp(rng.uniform(math.log(r["tau_symp_s"][0]), math.log(r["tau_symp_s"][1])))
        pat = TwoCompPatient(
            hr_rest=hr_rest, hr_max=hr_max, vo2max=rng.uniform(16.0, 48.0),
            cost_factor=rng.uniform(1.0, 1.15), vagal_frac=rng.uniform(*r["vagal_frac"]),
            tau_vagal_s=rng.uniform(*r["tau_vagal_s"]), tau_symp_s=tau,
            tau_symp_off_s=tau * rng.uniform(*r["off_ratio"]),
            dead_time_s=rng.uniform(*r["dead_time_s"]), tau_vo2_s=rng.uniform(20.0, 40.0),
            drift_bpm_per_min=rng.uniform(*r["drift_bpm_per_min"]),
            hrv_rms=rng.uniform(*r["hrv_rms_bpm"]), hrv_corr_s=rng.uniform(15.0, 60.0),
            rsa_bpm=rng.uniform(0.5, 3.0), dropouts_per_h=rng.choice([0.0, 10.0, 40.0]),
            artefacts_per_h=rng.choice([0.0, 5.0, 15.0]), seed=9_000_000 + seed * 1000 + k,
        )
        err = rng.uniform(*r["hr_max_error_bpm"]) * (1.0 if k % 2 == 0 else -1.0)
        walk_only = rng.random() < 0.35
        pat.category = f"twocomp/{'slow' if tau > 90 else 'fast'}" + ("/walk" if walk_only
                                                                      else "")
        prof = PatientProfile(
            hr_max=round(hr_max + err), hr_rest=round(hr_rest) if rng.random() < 0.7 else None,
            max_speed_kmh=round(rng.uniform(5.0, 7.0) if walk_only else rng.uniform(7.5, 13.0),
                                1),
            max_incline_pct=round(rng.uniform(8.0, 15.0)), walk_only=walk_only,
            hr_max_source=HrMaxSource.NES,
        )
        out.append((pat, prof))
    return out
