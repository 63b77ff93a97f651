"""The virtual patient, the simulated belt, a seeded cohort, and ``simulate()``.

Theory of operation
-------------------
Heart rate is built from the published numbers in shared/reference/physiology.md:

* **Static map.** The ACSM oxygen cost of the belt (``workload.vo2_cost``), made ~0–15 %
  dearer for inefficient walkers (Flemmen & Wang 2015) and cheaper while the patient holds
  the handrails, gives %VO2R; %HRR ≈ %VO2R (Swain) gives the steady-state heart rate, which
  saturates softly at HRmax.
* **Dynamics.** The steady-state change reaches the heart after a dead time (a few seconds
  plus 1–2 s of strap latency) through two first-order paths in parallel: a fast phase I
  (10–25 % of the change, τ 5–15 s) and a slow phase II (τ ≈ 58 ± 24 s). Off-kinetics are
  slower than on-kinetics (recovery τ 40–130 s).
* **Drift.** Above ~60 % VO2R heart rate creeps up at constant load (~1–1.75 bpm/min near
  threshold); it fades slowly at easy work, so it carries across a 4x4's intervals.
* **Variability.** An Ornstein–Uhlenbeck process (≈2–3 bpm RMS, correlation 15–60 s, i.e.
  mostly below 0.05 Hz) plus beat-to-beat jitter.
* **The strap.** 1 bpm resolution, dropouts (the reading is ``None``), and artefacts:
  doubled or halved readings for a few seconds and single spikes.

A researcher can replace the patient with any object that has
``step(dt_s, speed_kmh, incline_pct) -> float | None``; ``simulate`` needs nothing else.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Protocol

from controller.core.hrmax import HrMaxSource, hr_max_tanaka
from controller.core.metrics import ScoredRow
from controller.core.plan import Plan
from controller.core.workload import REST_VO2, vo2_cost
from controller.protocol import PatientProfile, Session, Setpoint


class StrapPatient(Protocol):
    """Anything that turns belt motion into strap readings."""

    def step(self, dt_s: float, speed_kmh: float, incline_pct: float) -> float | None: ...


@dataclass(frozen=True)
class PatientParams:
    """The true physiology of one virtual patient (units in the names)."""

    age_years: float = 35.0
    hr_rest_bpm: float = 72.0
    hr_max_bpm: float = 183.0
    vo2max: float = 32.0
    cost_factor: float = 1.1
    fast_frac: float = 0.15
    tau_fast_s: float = 10.0
    tau_slow_s: float = 58.0
    tau_off_ratio: float = 1.3
    dead_time_s: float = 5.0
    drift_bpm_per_min: float = 1.0
    hrv_rms_bpm: float = 2.5
    hrv_corr_s: float = 30.0
    dropouts_per_h: float = 0.0
    dropout_mean_s: float = 6.0
    artefacts_per_h: float = 0.0
    handrail_per_h: float = 0.0
    handrail_cost_cut: float = 0.15
    beta_blocked: bool = False
    category: str = "typical"
    seed: int = 0

    def steady_hr_bpm(self, speed_kmh: float, incline_pct: float, hold_frac: float = 0.0) -> float:
        """Noise-free steady-state heart rate at a workload (no drift)."""
        return self.hr_rest_bpm + self.delta_hr_bpm(speed_kmh, incline_pct, hold_frac)

    def delta_hr_bpm(self, speed_kmh: float, incline_pct: float, hold_frac: float = 0.0) -> float:
        above_rest = (vo2_cost(speed_kmh, incline_pct) - REST_VO2) * self.cost_factor
        above_rest *= 1.0 - hold_frac
        p = above_rest / (self.vo2max - REST_VO2)
        return (self.hr_max_bpm - self.hr_rest_bpm) * _saturate(p)


def _saturate(p: float) -> float:
    if p <= 0.85:
        return max(p, 0.0)
    return 0.85 + 0.15 * math.tanh((p - 0.85) / 0.15)


@dataclass
class VirtualPatient:
    """A simulated patient wearing a chest strap.

    >>> vp = VirtualPatient(PatientParams(seed=1))
    >>> reading = vp.step(1.0, 5.0, 5.0)   # bpm, or None while the strap drops out
    """

    params: PatientParams
    t_s: float = 0.0
    true_hr_bpm: float = field(init=False)
    _x_fast: float = 0.0
    _x_slow: float = 0.0
    _drift: float = 0.0
    _hrv: float = 0.0
    _dropout_left_s: float = 0.0
    _artefact_left_s: float = 0.0
    _artefact_kind: str = ""
    _handrail_left_s: float = 0.0
    _queue: deque[tuple[float, float, float]] = field(default_factory=deque)
    _memo: dict[tuple[float, float], float] = field(default_factory=dict, repr=False)
    _memo_hrv: dict[tuple[float, float, float], tuple[float, float]] = field(
        default_factory=dict, repr=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.params.seed)
        self.true_hr_bpm = self.params.hr_rest_bpm
        self._queue.append((self.t_s, 0.0, 0.0))  # at rest before the first step

    def step(self, dt_s: float, speed_kmh: float, incline_pct: float) -> float | None:
        """Advance ``dt_s`` at the given belt state; return the strap's reading."""
        p, rng = self.params, self._rng
        self.t_s += dt_s
        hold = p.handrail_cost_cut if self._handrail_left_s > 0 else 0.0
        self._handrail_left_s -= dt_s
        if p.handrail_per_h and rng.random() < p.handrail_per_h * dt_s / 3600.0:
            self._handrail_left_s = rng.uniform(20.0, 90.0)
        # ``p.delta_hr_bpm`` written out, sharing its cost with ``pct`` (the same arithmetic in
        # the same order: the same numbers, one cost a tick instead of two)
        above_rest = (vo2_cost(speed_kmh, incline_pct) - REST_VO2) * p.cost_factor
        pct = above_rest / (p.vo2max - 3.5)
        target = (p.hr_max_bpm - p.hr_rest_bpm) * _saturate(
            above_rest * (1.0 - hold) / (p.vo2max - REST_VO2))
        self._queue.append((self.t_s, target, pct))
        while len(self._queue) > 1 and self._queue[1][0] <= self.t_s - p.dead_time_s:
            self._queue.popleft()
        _, d_target, d_pct = self._queue[0]

        fast_goal = p.fast_frac * d_target
        slow_goal = (1.0 - p.fast_frac) * d_target
        tau_f = p.tau_fast_s * (1.0 if fast_goal >= self._x_fast else p.tau_off_ratio)
        tau_s = p.tau_slow_s * (1.0 if slow_goal >= self._x_slow else p.tau_off_ratio)
        memo = self._memo  # the same few factors every tick (the same numbers, remembered)
        k_f = memo.get((dt_s, tau_f))
        if k_f is None:
            k_f = memo[(dt_s, tau_f)] = 1.0 - math.exp(-dt_s / tau_f)
        k_s = memo.get((dt_s, tau_s))
        if k_s is None:
            k_s = memo[(dt_s, tau_s)] = 1.0 - math.exp(-dt_s / tau_s)
        self._x_fast += (fast_goal - self._x_fast) * k_f
        self._x_slow += (slow_goal - self._x_slow) * k_s

        if d_pct > 0.6:
            self._drift += p.drift_bpm_per_min / 60.0 * min((d_pct - 0.6) / 0.3, 1.3) * dt_s
        else:
            self._drift *= math.exp(-dt_s / 600.0)

        hrv = self._memo_hrv.get((dt_s, p.hrv_corr_s, p.hrv_rms_bpm))
        if hrv is None:
            a = math.exp(-dt_s / p.hrv_corr_s)
            hrv = self._memo_hrv[(dt_s, p.hrv_corr_s, p.hrv_rms_bpm)] = (
                a, p.hrv_rms_bpm * math.sqrt(1.0 - a * a))
        if len(memo) > 64:  # uneven ticks: keep them small
            memo.clear()
            self._memo_hrv.clear()
        self._hrv = hrv[0] * self._hrv + hrv[1] * rng.gauss(0.0, 1.0)
        hr = p.hr_rest_bpm + self._x_fast + self._x_slow + self._drift + self._hrv
        hr += rng.gauss(0.0, 0.6)
        hr = min(max(hr, p.hr_rest_bpm - 10.0), p.hr_max_bpm + 3.0)
        self.true_hr_bpm = hr
        return self._strap(dt_s, hr)

    def borg_rpe(self) -> int:
        """The patient's answer when asked "how hard was it?" (Borg 6–20), from its own state.

        Borg built the 6–20 scale to track heart rate; ACSM places RPE 14–17 at 77–95 %
        HRmax, i.e. ≈ 6 + 28·(HR/HRmax − 0.5) for a steady effort, rounded to a whole
        number as patients answer. Unfit patients (VO2max < 25) rate the same effort one
        step harder — the honest error of the 6-minute test's estimate.
        """
        p = self.params
        frac = self.true_hr_bpm / p.hr_max_bpm
        bias = 1.0 if p.vo2max < 25 else 0.0
        return int(min(max(round(6.0 + 28.0 * (frac - 0.5) + bias), 6), 20))

    def _strap(self, dt_s: float, hr: float) -> float | None:
        p, rng = self.params, self._rng
        if self._dropout_left_s > 0:
            self._dropout_left_s -= dt_s
            return None
        if p.dropouts_per_h and rng.random() < p.dropouts_per_h * dt_s / 3600.0:
            self._dropout_left_s = rng.expovariate(1.0 / p.dropout_mean_s)
            return None
        if self._artefact_left_s > 0:
            self._artefact_left_s -= dt_s
            if self._artefact_kind == "double":
                return float(round(min(hr * 2.0, 240.0)))
            return float(round(hr * 0.5))
        if p.artefacts_per_h and rng.random() < p.artefacts_per_h * dt_s / 3600.0:
            kind = rng.choice(["double", "half", "spike", "spike"])
            if kind == "spike":
                return float(round(hr + rng.choice([-1, 1]) * rng.uniform(25.0, 60.0)))
            self._artefact_kind = kind
            self._artefact_left_s = rng.uniform(2.0, 8.0)
        return float(round(hr))


@dataclass
class Belt:
    """A treadmill belt and incline motor that follow set-points at limited rates."""

    accel_kmh_per_s: float = 0.6
    decel_kmh_per_s: float = 0.9
    incline_pct_per_s: float = 0.6
    speed_kmh: float = 0.0
    incline_pct: float = 0.0

    def step(self, dt_s: float, speed_sp_kmh: float, incline_sp_pct: float) -> None:
        dv = speed_sp_kmh - self.speed_kmh
        dv = min(max(dv, -self.decel_kmh_per_s * dt_s), self.accel_kmh_per_s * dt_s)
        self.speed_kmh = max(0.0, self.speed_kmh + dv)
        di = incline_sp_pct - self.incline_pct
        lim = self.incline_pct_per_s * dt_s
        self.incline_pct += min(max(di, -lim), lim)


@dataclass
class TraceRow:
    t_s: float
    phase: str
    interval: int
    state: str
    hr_bpm: float | None
    hr_true_bpm: float | None
    speed_kmh: float
    incline_pct: float
    speed_sp_kmh: float
    incline_sp_pct: float
    zone_low_bpm: float | None
    zone_high_bpm: float | None

    def scored(self, *, true_hr: bool = True) -> ScoredRow:
        """This row as ``controller.core.metrics`` scores it: the patient's true heart rate
        (the bench's yardstick) or, with ``true_hr=False``, the gated strap reading (what the
        clinic's record holds)."""
        hr = self.hr_true_bpm if true_hr and self.hr_true_bpm is not None else self.hr_bpm
        return ScoredRow(self.t_s, self.phase, self.interval, hr, self.speed_kmh,
                         self.incline_pct)


@dataclass
class Trace:
    """One simulated session: a row a tick, plus every event the session raised."""

    rows: list[TraceRow]
    events: list[tuple[float, str, str]]
    profile: PatientProfile
    plan: Plan

    def scored_rows(self, *, true_hr: bool = True) -> list[ScoredRow]:
        """Every row as scored (see ``TraceRow.scored``)."""
        return [r.scored(true_hr=true_hr) for r in self.rows]


class SessionLike(Protocol):
    def step(
        self, now_s: float, hr_bpm: float | None, speed_kmh: float, incline_pct: float
    ) -> Setpoint: ...


def simulate(
    patient: StrapPatient,
    profile: PatientProfile,
    plan: Plan | None = None,
    *,
    session: SessionLike | None = None,
    belt: Belt | None = None,
    dt_s: float = 1.0,
) -> Trace:
    """Run a whole session in simulated time and return its per-tick trace.

    ``patient`` is any object with ``step(dt_s, speed_kmh, incline_pct) -> float | None``.
    A patient that also exposes ``true_hr_bpm`` gets it recorded beside the strap reading.
    """
    if session is None:
        session = Session(profile, plan)
    plan = getattr(session, "plan", plan)
    belt = belt or Belt()
    rows: list[TraceRow] = []
    events: list[tuple[float, str, str]] = []
    limit_s = (plan.total_s if plan else 3 * 3600) + 900.0
    t = 0.0
    while t <= limit_s:
        reading = patient.step(dt_s, belt.speed_kmh, belt.incline_pct)
        sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
        events.extend((e.now_s, e.kind, e.message) for e in sp.events)
        rows.append(
            TraceRow(
                t, sp.phase, sp.interval, sp.state, reading,
                getattr(patient, "true_hr_bpm", None), belt.speed_kmh, belt.incline_pct,
                sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm, sp.zone_high_bpm,
            )
        )
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(dt_s, sp.speed_kmh, sp.incline_pct)
        t += dt_s
    assert plan is not None
    return Trace(rows, events, profile, plan)


# --- the cohort --------------------------------------------------------------------------

CATEGORIES: tuple[str, ...] = (
    "typical", "typical", "unfit", "beta_blocked", "slow_kinetics", "long_dead_time",
    "drift", "strap_trouble", "walk_only", "fit", "handrails", "unfit_walk_only",
)
"""Cycled through by ``cohort``; every category still draws all other traits at random."""


def make_patient(rng: random.Random, category: str, seed: int) -> tuple[PatientParams,
                                                                         PatientProfile]:
    """Draw one patient of ``category`` over the published ranges, and the clinic's profile."""
    age = rng.uniform(20.0, 62.0)
    hr_max = hr_max_tanaka(age) + max(min(rng.gauss(0.0, 9.0), 18.0), -18.0)
    hr_rest = rng.uniform(58.0, 85.0)
    if rng.random() < 0.25:  # some psychotropic drugs raise resting heart rate
        hr_rest += rng.uniform(8.0, 18.0)
    vo2max = rng.uniform(24.0, 42.0)
    tau_slow = min(max(rng.lognormvariate(math.log(55.0), 0.3), 30.0), 105.0)
    params = dict(
        age_years=age, hr_rest_bpm=hr_rest, hr_max_bpm=hr_max, vo2max=vo2max,
        cost_factor=rng.uniform(1.0, 1.15), fast_frac=rng.uniform(0.10, 0.25),
        tau_fast_s=rng.uniform(5.0, 15.0), tau_slow_s=tau_slow,
        tau_off_ratio=rng.uniform(1.1, 1.6), dead_time_s=rng.uniform(3.0, 7.0),
        drift_bpm_per_min=rng.uniform(0.3, 1.5), hrv_rms_bpm=rng.uniform(1.5, 3.0),
        hrv_corr_s=rng.uniform(15.0, 60.0), dropouts_per_h=rng.choice([0.0, 2.0, 6.0]),
        artefacts_per_h=rng.choice([0.0, 3.0]), handrail_per_h=0.0,
    )
    max_speed = rng.uniform(8.0, 12.0)
    max_incline = rng.uniform(10.0, 15.0)
    if category == "unfit":
        params["vo2max"] = rng.uniform(16.0, 24.0)
    elif category == "beta_blocked":
        params["hr_max_bpm"] = hr_max - 20.0
        params["hr_rest_bpm"] = max(hr_rest - 15.0, 48.0)
    elif category == "slow_kinetics":
        params["tau_slow_s"] = rng.uniform(80.0, 110.0)
        params["tau_off_ratio"] = rng.uniform(1.3, 1.6)
    elif category == "long_dead_time":
        params["dead_time_s"] = rng.uniform(7.0, 12.0)
    elif category == "drift":
        params["drift_bpm_per_min"] = rng.uniform(1.5, 2.2)
    elif category == "strap_trouble":
        params["dropouts_per_h"] = rng.uniform(15.0, 40.0)
        params["dropout_mean_s"] = rng.uniform(3.0, 12.0)
        params["artefacts_per_h"] = rng.uniform(20.0, 60.0)
    elif category == "walk_only":
        max_speed = rng.uniform(5.5, 7.0)
    elif category == "fit":
        params["vo2max"] = rng.uniform(42.0, 52.0)
        max_speed = rng.uniform(11.0, 14.0)
        max_incline = 15.0
    elif category == "handrails":
        params["handrail_per_h"] = rng.uniform(20.0, 40.0)
        params["handrail_cost_cut"] = rng.uniform(0.10, 0.20)
    elif category == "unfit_walk_only":
        params["vo2max"] = rng.uniform(16.0, 24.0)
        params["tau_slow_s"] = rng.uniform(60.0, 100.0)
        max_speed = rng.uniform(5.0, 6.0)
        max_incline = rng.uniform(10.0, 12.0)
    truth = PatientParams(category=category, seed=seed, beta_blocked=category == "beta_blocked",
                          **params)
    profile = PatientProfile(
        hr_max=round(truth.hr_max_bpm), hr_rest=round(truth.hr_rest_bpm),
        max_speed_kmh=round(max_speed, 1), max_incline_pct=round(max_incline),
        hr_max_source=HrMaxSource.MEASURED, walk_only=max_speed <= 7.0,
    )
    return truth, profile


def cohort(n: int, seed: int = 2026) -> list[tuple[PatientParams, PatientProfile]]:
    """``n`` patients cycling through ``CATEGORIES``, reproducible from ``seed``."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        out.append(make_patient(rng, CATEGORIES[k % len(CATEGORIES)], seed * 100_000 + k))
    return out


def with_profile_error(profile: PatientProfile, hr_max_error_bpm: float) -> PatientProfile:
    """The same profile with a wrong HRmax, as an age formula would give."""
    return replace(profile, hr_max=profile.hr_max + hr_max_error_bpm,
                   hr_max_source=HrMaxSource.TANAKA)
