"""The heart-rate control law: an adaptive, dead-time-aware predictive controller.

Theory of operation
-------------------
The controller works in *workload* — ACSM oxygen cost above rest, ``u`` in ml/kg/min —
and leaves speed versus incline to ``workload.WorkloadPath``. Heart rate is modelled as

    HR = a + K · x + d,   x = response of u through dead time θ and two first-order paths
                          (fast: fraction f, τ_f; slow: 1 − f, τ, slower when falling)

* ``K`` (bpm per ml/kg/min) and ``a`` (bpm at rest) are learned online by ridge regression
  towards a population prior, for a small grid of (τ, θ) candidates; the candidate that
  explains the heart rate best is used. Warm-up gives the first, rich excitation; every
  interval and recovery refines it ("learning the patient's response").
* ``d`` is a slowly integrating bias (T = 30 s) on the residual: it absorbs cardiac drift,
  handrail holding and what the static map gets wrong, so holding the zone needs no separate
  integral term. Its value at the end of an interval is carried to the next interval, so
  drift learned in interval k is already compensated when interval k+1 begins.
* Each tick the controller predicts the heart rate at t + θ (the earliest moment a new
  command can act — a Smith predictor), then solves for the constant workload that brings the
  prediction a chosen fraction of the way to the target after a short horizon (predictive
  functional control). Far from the target that fraction is large: a *bounded overdrive* of
  at most ``OVERDRIVE`` × the remaining step on top of the steady-state need (the
  feed-forward); near the target it relaxes to the open-loop time constant, so heart-rate
  variability is not chased.

Nothing here reads clocks or does I/O; the session passes time in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

from controller.core.plan import PhaseKind
from controller.core.response import ResponseModel
from controller.core.workload import REST_VO2, WorkloadPath, speed_for_cost, vo2_cost

OVERDRIVE = 2.5
"""Largest overdrive, as a multiple of the remaining step in steady-state workload."""

BIAS_TIME_S = 30.0
"""Integration time of the bias observer: slower than beat noise, faster than drift."""


@dataclass(frozen=True)
class ModelParams:
    """A first-order-plus-dead-time heart-rate model with a fast phase I."""

    gain_bpm_per_vo2: float
    offset_bpm: float
    tau_s: float
    dead_time_s: float
    fast_frac: float = 0.15
    tau_fast_s: float = 10.0
    tau_off_ratio: float = 1.3


@dataclass(frozen=True)
class ControlInput:
    """What the session hands the control law each tick."""

    now_s: float
    dt_s: float
    hr_bpm: float | None
    speed_kmh: float
    incline_pct: float
    phase: PhaseKind
    phase_elapsed_s: float
    target_bpm: float
    zone_low_bpm: float
    zone_high_bpm: float
    path: WorkloadPath
    speed_sp_kmh: float
    incline_sp_pct: float
    new_phase: bool
    phase_remaining_s: float = math.inf
    next_phase: PhaseKind | None = None
    next_target_bpm: float | None = None
    next_zone_high_bpm: float | None = None
    """The plan is known ahead: the next phase and its target (reference preview)."""


@dataclass(frozen=True)
class ControlDecision:
    speed_kmh: float
    incline_pct: float
    reachable_bpm: float | None = None
    """Predicted steady heart rate at the top of the allowed path, if the law knows it."""


def allocate(vo2: float, path: WorkloadPath, incline_sp_pct: float) -> tuple[float, float]:
    """Turn a workload into (speed, incline) on ``path`` with a 0.5 % incline grid.

    The incline stays where it is when speed alone (within 0.6 km/h of the path) can make up
    the workload, so the incline motor does not chatter around a grid step.
    """
    s_path, i_path = path.point(vo2)
    lo = max(path.min_speed_kmh, s_path - 0.6)
    hi = max(lo, min(path.max_speed_kmh, s_path + 0.6))
    if path.min_incline_pct <= incline_sp_pct <= path.max_incline_pct and \
            abs(incline_sp_pct - i_path) <= 0.75:
        speed = speed_for_cost(vo2, incline_sp_pct, lo, hi)
        if abs(vo2_cost(speed, incline_sp_pct) - vo2) < 0.05:
            return round(speed, 2), incline_sp_pct
    i_q = min(max(round(i_path * 2.0) / 2.0, path.min_incline_pct), path.max_incline_pct)
    return round(speed_for_cost(vo2, i_q, lo, hi), 2), i_q


@dataclass(slots=True)
class _Candidate:
    tau_s: float
    dead_time_s: float
    fast_frac: float
    tau_fast_s: float
    tau_off_ratio: float
    x_fast: float = 0.0
    x_slow: float = 0.0
    s0: float = 0.0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0

    def advance(self, u: float, dt_s: float) -> None:
        self.x_fast, self.x_slow = _advance(self.x_fast, self.x_slow, u, dt_s, self)

    def fit(self, a0: float, k0: float, pa: float, pk: float) -> tuple[float, float, float]:
        """Ridge fit of HR = a + K·x; returns (a, K, weighted mean squared residual)."""
        m11, m12, m22 = self.s0 + pa, self.sx, self.sxx + pk
        v1, v2 = self.sy + pa * a0, self.sxy + pk * k0
        det = m11 * m22 - m12 * m12
        a = (v1 * m22 - m12 * v2) / det
        k = (m11 * v2 - m12 * v1) / det
        k = min(max(k, 0.3 * k0), 3.0 * k0)
        sse = (self.syy - 2 * a * self.sy - 2 * k * self.sxy + a * a * self.s0
               + 2 * a * k * self.sx + k * k * self.sxx)
        return a, k, max(sse, 0.0) / max(self.s0, 1e-9)


def _advance(xf: float, xs: float, u: float, dt_s: float, c: _Candidate | ModelParams
             ) -> tuple[float, float]:
    if dt_s <= 0.0:
        return xf, xs
    f, tau = c.fast_frac, c.tau_s
    gf, gs = f * u, (1.0 - f) * u
    tf = c.tau_fast_s * (1.0 if gf >= xf else c.tau_off_ratio)
    ts = tau * (1.0 if gs >= xs else c.tau_off_ratio)
    xf += (gf - xf) * (1.0 - math.exp(-dt_s / tf))
    xs += (gs - xs) * (1.0 - math.exp(-dt_s / ts))
    return xf, xs


def _decay_factors(c: _Candidate, dt_s: float) -> tuple[float, float, float, float]:
    """``_advance``'s factors for a tick of ``dt_s``: (fast rising, fast falling, slow rising,
    slow falling), each computed exactly as ``_advance`` computes it."""
    tau = c.tau_s
    return (1.0 - math.exp(-dt_s / (c.tau_fast_s * 1.0)),
            1.0 - math.exp(-dt_s / (c.tau_fast_s * c.tau_off_ratio)),
            1.0 - math.exp(-dt_s / (tau * 1.0)),
            1.0 - math.exp(-dt_s / (tau * c.tau_off_ratio)))


_Group = tuple[float, float, float, float, list[tuple[_Candidate, float, float]]]
"""(dead time, fast fraction, fast rising and falling factors, [(candidate, slow rising and
falling factors)]): candidates whose fast phase and delayed input are the same numbers."""


def _groups(cands: list[_Candidate], dt_s: float) -> list[_Group]:
    """The candidates grouped for ``_learn``, with their ``_decay_factors`` for ``dt_s``.
    Members of a group start at the same fast state and get the same updates, so their fast
    states stay the same numbers."""
    out: dict[tuple[float, float, float, float], _Group] = {}
    for c in cands:
        rf, ff, rs, fs = _decay_factors(c, dt_s)
        key = (c.dead_time_s, c.fast_frac, c.tau_fast_s, c.tau_off_ratio)
        g = out.get(key)
        if g is None:
            g = out[key] = (c.dead_time_s, c.fast_frac, rf, ff, [])
        g[4].append((c, rs, fs))
    return list(out.values())


TAU_GRID_S = (30.0, 45.0, 65.0, 90.0, 120.0, 150.0, 180.0)
DEAD_TIME_GRID_S = (2.0, 4.0, 6.0, 10.0, 15.0, 20.0)
"""The (τ, θ) candidates span the published ranges (on-kinetics τ 30–180 s, dead time 2–20 s
with the strap's latency), so a slow or late heart is not clipped to the grid's edge."""

PRIOR_TAU_S, PRIOR_DEAD_TIME_S = 65.0, 6.0
"""The population's typical response: the centre of the candidates' prior."""
PRIOR_LOG_SD_TAU, PRIOR_LOG_SD_DEAD_TIME = 1.0, 0.6
"""Log-normal prior spreads. Dead time: the published 2–20 s is about ±2 SD around 6 s, so
an edge candidate starts some 4 units of -2·log prior behind; a wrong long dead time is what
costs a typical heart (it delays every correction). Time constant: broad (30–180 s within
about ±1 SD), since slow kinetics are common in the clinic's patients and a wrong τ costs a
typical heart little (the τ-only wide grid measured as the old one)."""
RESIDUAL_CORRELATION_S = 10.0
"""Heart-rate residuals are correlated over about this long (HRV, drift, breathing), so the
data hold one independent sample per this many seconds of (forgetting-weighted) readings."""
TRUST_MARGIN = 0.9
"""A candidate replaces the active one only when its mean squared residual is this much lower."""
CARRIED_TRUST_MARGIN = 0.6
"""… and this much lower while a carried model's dynamics are trusted."""
CARRIED_GAIN_PRIOR = 20000.0
"""Ridge weight of a carried gain (≈ 90 s of interval data); the cold prior's is 1500."""
CARRIED_CHECK_AFTER_S = 240.0
"""Seconds of heart rate before a carried model is judged against today's patient."""
CARRIED_GAIN_MISMATCH = 0.3
"""A fitted gain this far (relative) from the carried one means another response today."""
CARRIED_MSE_MISMATCH = 0.75
"""… as does a cold candidate explaining the heart rate with this fraction of the carried
model's residual, when that residual is more than twice the carried heart-rate spread."""
PRUNE_AFTER_S = 600.0
"""Forgetting-weighted seconds of heart rate (some 16 minutes of readings: past the first
interval) before candidates far behind are dropped. From 300 (mid warm-up) the tail cohort's
RMS moved 4.12 → 4.19 bpm; from 600 every bench figure stays as it was."""
PRUNE_FACTOR = 2.0
"""… far behind: penalised score and mean squared residual both this many times the best's …"""
PRUNE_AFTER_REFITS = 6
"""… for this many refits in a row (a minute)."""
PREVIEW_RAMP_S = 12.0
"""With a trusted (carried) response the load for an interval starts rising this long plus the
dead time before the interval begins: the belt's ramp and the heart's dead time are spent
before the clock starts instead of after (reference preview; the plan is known ahead)."""


@dataclass
class AdaptiveController:
    """The product's control law (see module docstring).

    >>> law = AdaptiveController(hr_max_bpm=183, hr_rest_bpm=72)
    >>> decision = law.update(control_input)      # -> speed_kmh, incline_pct

    ``fixed_model`` turns learning off (used by the bench's oracle, which knows the truth).
    """

    hr_max_bpm: float
    hr_rest_bpm: float | None
    fixed_model: ModelParams | None = None
    prior_vo2max: float = 28.0
    overdrive: float = OVERDRIVE
    aggressiveness: float = 4.0
    drift_bpm_per_min: float = 0.5
    """Cardiac drift expected at interval intensity (the population's slow component)."""
    hrv_z: float = 2.3
    """The target stays this many residual SDs below the top of the zone."""
    carried: ResponseModel | None = None
    """A response learned in an earlier session: its dynamics and gain are trusted, its offset
    is re-learned in the warm-up; dropped (cold start, a notice) when today's heart clearly
    responds otherwise before the end of the first interval."""
    model: ModelParams = field(init=False)
    notices: list[tuple[str, str]] = field(default_factory=list)
    """(kind, message) for the session to raise as events; the session empties it."""
    bias_bpm: float = 0.0
    _hist: deque[tuple[float, float]] = field(default_factory=deque)
    _cands: list[_Candidate] = field(default_factory=list)
    _active: int = 0
    _refit_s: float = 0.0
    _hr_rest_seen: float | None = None
    _interval_bias: float | None = None
    _last_phase: PhaseKind | None = None
    _resid_var: float = 2.5 ** 2
    _evidence_s: float = 0.0
    _carried_state: str = ""
    """"" (none), "trusted" (until judged), "kept" (judged alike) or "dropped"."""
    _interval1_done: bool = False
    _keep_s: float | None = None
    _thetas: list[float] | None = None
    _decay: dict[float, list[_Group]] = field(default_factory=dict)
    _d2_cache: dict[tuple[float, float, int], list[float]] = field(default_factory=dict)
    _out_refits: dict[int, int] = field(default_factory=dict)
    _hist_in_order: bool = True
    """Every input in ``_hist`` came no earlier than the one before (a session's clock)."""
    _adv_cache: dict[float, tuple[float, float, float, float]] = field(default_factory=dict)
    _adv_taus: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        a0 = self.hr_rest_bpm if self.hr_rest_bpm is not None else 75.0
        self._k0 = (self.hr_max_bpm - a0) * 1.07 / (self.prior_vo2max - REST_VO2)
        self._k0_cold = self._k0
        self._pk = 1500.0
        self._margin = TRUST_MARGIN
        if self.fixed_model is not None:
            m = self.fixed_model
            self._cands = [_Candidate(m.tau_s, m.dead_time_s, m.fast_frac, m.tau_fast_s,
                                      m.tau_off_ratio)]
            self.model = m
            return
        for tau in TAU_GRID_S:
            for theta in DEAD_TIME_GRID_S:
                self._cands.append(_Candidate(tau, theta, 0.15, 10.0, 1.3))
        self._active = self._cands.index(
            next(c for c in self._cands if c.tau_s == 65.0 and c.dead_time_s == 6.0))
        cm = self.carried
        if cm is not None:
            self._cands.append(_Candidate(cm.tau_s, cm.dead_time_s, cm.fast_frac,
                                          cm.tau_fast_s, cm.tau_off_ratio))
            self._active = len(self._cands) - 1
            self._k0, self._pk = cm.gain_bpm_per_vo2, CARRIED_GAIN_PRIOR
            self._margin = CARRIED_TRUST_MARGIN
            self._carried_state = "trusted"
            if cm.hrv_bpm is not None:
                self._resid_var = min(max(cm.hrv_bpm, 1.5), 6.0) ** 2
            a0 += cm.offset_bpm - cm.rest_ref_bpm
        c = self._cands[self._active]
        self.model = ModelParams(self._k0, a0, c.tau_s, c.dead_time_s, c.fast_frac,
                                 c.tau_fast_s, c.tau_off_ratio)

    # -- model bookkeeping ------------------------------------------------------------------

    def _delayed(self, now_s: float, theta_s: float) -> float:
        u = self._hist[0][1]
        for t, v in self._hist:
            if t > now_s - theta_s:
                break
            u = v
        return u

    def _learn(self, inp: ControlInput, u_now: float) -> None:
        # The hot path (≈ 40 candidates every tick): the same arithmetic, in the same order,
        # as ``_Candidate.advance`` and the weighted sums, with the exponential factors of
        # each candidate computed once per tick length (``_decay``) instead of every tick.
        now_s, dt_s = inp.now_s, inp.dt_s
        hist = self._hist
        if hist and now_s < hist[-1][0]:
            self._hist_in_order = False
        hist.append((now_s, u_now))
        keep_s = self._keep_s
        if keep_s is None:
            keep_s = self._keep_s = max(c.dead_time_s for c in self._cands) + 4.0
        while len(hist) > 2 and hist[1][0] < now_s - keep_s:
            hist.popleft()
        forget = math.exp(-dt_s / 900.0)
        y = inp.hr_bpm
        delayed = self._delayed_all(now_s)
        cands = self._cands
        groups = self._decay.get(dt_s) if dt_s > 0.0 else None
        if groups is None and dt_s > 0.0:
            if len(self._decay) >= 4:  # a wall clock's uneven ticks: keep the cache small
                self._decay.clear()
            groups = self._decay[dt_s] = _groups(cands, dt_s)
        learn = y is not None and self.fixed_model is None
        w, yv = dt_s, (y if y is not None else 0.0)
        wy = w * yv
        wyy = wy * yv
        # s0, sy and syy do not depend on the candidate: every candidate's are the same
        # numbers (the same sums from the same start), so they are computed once a tick
        c0 = cands[0]
        s0, sy, syy = c0.s0 * forget + w, c0.sy * forget + wy, c0.syy * forget + wyy
        if groups is None:  # no time passed: the states stay, the sums still learn
            if learn:
                for c in cands:
                    x = c.x_fast + c.x_slow
                    wx = w * x
                    c.s0, c.sy, c.syy = s0, sy, syy
                    c.sx = c.sx * forget + wx
                    c.sxx = c.sxx * forget + wx * x
                    c.sxy = c.sxy * forget + wx * yv
        else:
            # candidates with the same dead time and fast phase share their input and fast
            # state (only τ differs): the fast path is advanced once per group
            for theta, f, rf, ff, members in groups:
                u = delayed[theta]
                gf, gs = f * u, (1.0 - f) * u
                xf = members[0][0].x_fast
                xf += (gf - xf) * (rf if gf >= xf else ff)
                for c, rs, fs in members:
                    xs = c.x_slow
                    xs += (gs - xs) * (rs if gs >= xs else fs)
                    c.x_fast, c.x_slow = xf, xs
                    if learn:
                        x = xf + xs
                        wx = w * x
                        c.s0, c.sy, c.syy = s0, sy, syy
                        c.sx = c.sx * forget + wx
                        c.sxx = c.sxx * forget + wx * x
                        c.sxy = c.sxy * forget + wx * yv
        if y is not None:
            self._evidence_s += dt_s
        if y is not None and self._hr_rest_seen is None:
            self._hr_rest_seen = y
        if self.fixed_model is None and now_s >= self._refit_s and cands[0].s0 > 60:
            self._refit_s = now_s + 10.0
            self._refit()

    def _delayed_all(self, now_s: float) -> dict[float, float]:
        """``_delayed`` for every candidate's dead time, in one pass over the history."""
        thetas = self._thetas
        if thetas is None:
            thetas = self._thetas = sorted({c.dead_time_s for c in self._cands}, reverse=True)
        hist = self._hist
        out: dict[float, float] = {}
        u = hist[0][1]
        it = iter(hist)
        pending: tuple[float, float] | None = None
        for th in thetas:  # the longest dead time first: its cut-off comes earliest
            cut = now_s - th
            if pending is not None:
                if pending[0] > cut:
                    out[th] = u
                    continue
                u = pending[1]
                pending = None
            for t, v in it:
                if t > cut:
                    pending = (t, v)
                    break
                u = v
            out[th] = u
        return out

    def _rest_ref(self) -> float:
        a0 = self.hr_rest_bpm
        if a0 is None:
            a0 = self._hr_rest_seen if self._hr_rest_seen is not None else 75.0
        return a0

    def _offset_prior(self) -> float:
        a0 = self._rest_ref()
        if self.carried is not None and self._carried_state != "dropped":
            a0 += self.carried.offset_bpm - self.carried.rest_ref_bpm
        return a0

    def _refit(self) -> None:
        a0 = self._offset_prior()
        pa, pk = 30.0, self._pk
        fits = [c.fit(a0, self._k0, pa, pk) for c in self._cands]
        if self._carried_state == "trusted":
            self._judge_carried(fits)
        score = self._penalised(fits)
        best = min(range(len(fits)), key=lambda i: score[i])
        if score[best] > self._margin * score[self._active]:
            best = self._active
        a, k, _ = fits[best]
        old_pred = self._predict_now()
        self._active = best
        c = self._cands[best]
        self.model = ModelParams(k, a, c.tau_s, c.dead_time_s, c.fast_frac, c.tau_fast_s,
                                 c.tau_off_ratio)
        self.bias_bpm += old_pred - self._predict_now()
        self._prune(fits, score)

    def _prune(self, fits: list[tuple[float, float, float]], score: list[float]) -> None:
        """Drop the (τ, θ) candidates that have settled far behind (issue 23: the grid's
        update is most of a control tick's time): once ``PRUNE_AFTER_S`` of heart rate are
        in, a candidate whose penalised score and mean squared residual have both been more
        than ``PRUNE_FACTOR`` times the best's for ``PRUNE_AFTER_REFITS`` refits in a row is not
        updated any more. The active candidate and a carried one are always kept; while a
        carried model is judged, the residual is compared with the best cold candidate's, so
        the one the judge compares it with is never dropped."""
        cands = self._cands
        if cands[0].s0 < PRUNE_AFTER_S:
            return
        keep_last = self.carried is not None
        best_score = min(score)
        judged = fits[:-1] if self._carried_state == "trusted" else fits
        best_mse = min(f[2] for f in judged)
        out = self._out_refits
        drop = []
        for i, c in enumerate(cands):
            if i == self._active or (keep_last and i == len(cands) - 1):
                out.pop(id(c), None)
                continue
            if score[i] > PRUNE_FACTOR * best_score and fits[i][2] > PRUNE_FACTOR * best_mse:
                n = out[id(c)] = out.get(id(c), 0) + 1
                if n >= PRUNE_AFTER_REFITS:
                    drop.append(i)
            else:
                out.pop(id(c), None)
        if not drop:
            return
        active = cands[self._active]
        gone = set(drop)
        for i in drop:
            out.pop(id(cands[i]), None)
        self._cands = [c for i, c in enumerate(cands) if i not in gone]
        self._active = self._cands.index(active)
        self._decay.clear()  # the groups and caches hold the old list's candidates
        self._d2_cache.clear()
        self._thetas = None

    def _penalised(self, fits: list[tuple[float, float, float]]) -> list[float]:
        """Each candidate's residual times its Occam factor exp(d² / n): the MAP rule for a
        log-normal prior on (τ, θ) with n independent residuals, in the form of a mean squared
        residual. d is the candidate's distance from the prior in prior SDs (the population's
        centre, or a trusted carried response's own dynamics); n grows with the evidence, so a
        candidate far from typical must explain the heart rate better by a margin that is large
        after a warm-up and fades over a session. Without it the wide grid's extreme dead times
        win on chance fits of typical hearts."""
        tau0, theta0 = PRIOR_TAU_S, PRIOR_DEAD_TIME_S
        cm = self.carried
        if cm is not None and self._carried_state != "dropped":
            tau0, theta0 = max(cm.tau_s, 1.0), max(cm.dead_time_s, 1.0)
        n = max(self._cands[0].s0 / RESIDUAL_CORRELATION_S, 1.0)
        key = (tau0, theta0, len(self._cands))
        d2s = self._d2_cache.get(key)
        if d2s is None:  # the candidates' distances change only with the prior's centre
            d2s = self._d2_cache[key] = [
                (math.log(max(c.tau_s, 1.0) / tau0) / PRIOR_LOG_SD_TAU) ** 2
                + (math.log(max(c.dead_time_s, 1.0) / theta0) / PRIOR_LOG_SD_DEAD_TIME) ** 2
                for c in self._cands]
        out = []
        for d2, (_, _, mse) in zip(d2s, fits, strict=True):
            out.append(mse * math.exp(d2 / n))
        return out

    @property
    def expected_bpm(self) -> float:
        """The model's heart rate for the load so far; no reading enters it while the gate
        refuses them, so it is the session's own judge of a suspect strap (issue 22)."""
        return self._predict_now()
    def _judge_carried(self, fits: list[tuple[float, float, float]]) -> None:
        """Keep the carried response, or drop it when today's heart clearly answers otherwise
        (the gain fitted without the carried prior far off, or a cold candidate explaining the
        heart rate far better). Judged from ``CARRIED_CHECK_AFTER_S`` of readings until the
        first interval ends; then it is kept."""
        assert self.carried is not None
        if self._interval1_done:
            self._carried_state = "kept"
            self._margin = TRUST_MARGIN
            return
        if self._cands[0].s0 < CARRIED_CHECK_AFTER_S:
            return
        i_c = len(self._cands) - 1
        _, k_free, _ = self._cands[i_c].fit(self._rest_ref(), self._k0_cold, 30.0, 1500.0)
        k_c = self.carried.gain_bpm_per_vo2
        mse_c = fits[i_c][2]
        mse_best = min(f[2] for f in fits[:i_c])
        gain_off = abs(k_free / k_c - 1.0) > CARRIED_GAIN_MISMATCH
        spread = max(self.carried.hrv_bpm or 2.5, 2.0)
        worse = mse_best < CARRIED_MSE_MISMATCH * mse_c and mse_c > (2.0 * spread) ** 2
        if not (gain_off or worse):
            return
        self._carried_state = "dropped"
        self._k0, self._pk, self._margin = self._k0_cold, 1500.0, TRUST_MARGIN
        why = (f"gain {k_free:.1f} against {k_c:.1f} bpm per ml/kg/min" if gain_off else
               f"residual {math.sqrt(mse_c):.1f} bpm against {math.sqrt(mse_best):.1f}")
        self.notices.append((
            "response_model_dropped",
            f"the heart rate answers differently from the carried response model ({why}): "
            "learning it afresh from today's session"))

    def response_model(self) -> ResponseModel:
        """What has been learned so far (the active candidate's dynamics, the fitted gain and
        offset, the residual spread), as a ``ResponseModel`` for the next session."""
        m = self.model
        return ResponseModel(
            gain_bpm_per_vo2=m.gain_bpm_per_vo2, offset_bpm=m.offset_bpm,
            rest_ref_bpm=self._rest_ref(), tau_s=m.tau_s, dead_time_s=m.dead_time_s,
            fast_frac=m.fast_frac, tau_fast_s=m.tau_fast_s, tau_off_ratio=m.tau_off_ratio,
            hrv_bpm=math.sqrt(self._resid_var), evidence_s=self._evidence_s,
            hr_max_bpm=self.hr_max_bpm)

    @property
    def carried_state(self) -> str:
        return self._carried_state

    def _predict_now(self) -> float:
        c = self._cands[self._active]
        m = self.model
        return m.offset_bpm + m.gain_bpm_per_vo2 * (c.x_fast + c.x_slow) + self.bias_bpm

    # -- the law ----------------------------------------------------------------------------

    def update(self, inp: ControlInput) -> ControlDecision:
        u_now = vo2_cost(inp.speed_kmh, inp.incline_pct) - REST_VO2
        self._learn(inp, u_now)
        m = self.model
        c = self._cands[self._active]
        orig = inp
        preview = self._preview(inp)
        if preview:
            assert inp.next_target_bpm is not None and inp.next_zone_high_bpm is not None
            inp = replace(inp, phase=PhaseKind.INTERVAL, target_bpm=inp.next_target_bpm,
                          zone_high_bpm=inp.next_zone_high_bpm, phase_elapsed_s=0.0,
                          zone_low_bpm=inp.next_target_bpm - 0.05 * self.hr_max_bpm)
        in_interval = inp.phase is PhaseKind.INTERVAL
        rho = self.drift_bpm_per_min / 60.0 if in_interval and not preview else 0.0
        self.bias_bpm += rho * inp.dt_s
        if inp.hr_bpm is not None:
            resid = inp.hr_bpm - self._predict_now()
            self.bias_bpm += resid * min(1.0, inp.dt_s / BIAS_TIME_S)
            if inp.phase in (PhaseKind.INTERVAL, PhaseKind.RECOVERY) and \
                    inp.phase_elapsed_s >= 60.0:
                w = min(1.0, inp.dt_s / 300.0)
                self._resid_var += (min(resid * resid, 400.0) - self._resid_var) * w
        self._carry_drift(orig)

        # Predict the state at t + θ: inputs already sent reach the heart during the next θ s.
        xf, xs = c.x_fast, c.x_slow
        theta = m.dead_time_s
        cut = inp.now_s - theta
        hist = self._hist
        n_hist = len(hist)
        j0 = 0
        if self._hist_in_order:  # the inputs within θ are the last ones: start there
            j0 = n_hist
            while j0 > 0 and hist[j0 - 1][0] > cut:
                j0 -= 1
            cur_u = hist[j0 - 1][1] if j0 > 0 else hist[0][1]  # ``_delayed``
        else:
            cur_u = self._delayed(inp.now_s, theta)
        cur_t = inp.now_s
        # ``_advance`` written out, its factors 1 − e^(−dt/τ) remembered per dt for the
        # model's four time constants (the same whole seconds every tick): the same
        # arithmetic in the same order, so the same numbers to the last bit
        f_m, tau_m, tf_m, off_m = m.fast_frac, m.tau_s, m.tau_fast_s, m.tau_off_ratio
        taus = (tf_m * 1.0, tf_m * off_m, tau_m * 1.0, tau_m * off_m)
        if self._adv_taus != taus or len(self._adv_cache) >= 64:
            self._adv_taus = taus  # another model (or a wall clock's uneven ticks)
            self._adv_cache.clear()
        memo = self._adv_cache
        for j in range(j0, n_hist + 1):
            if j < n_hist:
                t_j, u_j = hist[j]
                if t_j <= cut:
                    continue
                start = t_j + theta
            else:  # the last step: up to now + θ
                u_j, start = cur_u, inp.now_s + theta
            dt = start - cur_t
            if dt > 0.0:
                fac = memo.get(dt)
                if fac is None:  # (fast rising, fast falling, slow rising, slow falling)
                    fac = memo[dt] = (1.0 - math.exp(-dt / taus[0]),
                                      1.0 - math.exp(-dt / taus[1]),
                                      1.0 - math.exp(-dt / taus[2]),
                                      1.0 - math.exp(-dt / taus[3]))
                gf, gs = f_m * cur_u, (1.0 - f_m) * cur_u
                xf += (gf - xf) * (fac[0] if gf >= xf else fac[1])
                xs += (gs - xs) * (fac[2] if gs >= xs else fac[3])
            cur_u, cur_t = u_j, start
        k, base = m.gain_bpm_per_vo2, m.offset_bpm + self.bias_bpm + rho * theta
        y_theta = base + k * (xf + xs)
        r = inp.target_bpm
        if in_interval:
            # Heart-rate variability is not chased, so keep its swings below the zone's top.
            r = min(r, max(inp.zone_high_bpm - self.hrv_z * math.sqrt(self._resid_var),
                           0.5 * (inp.zone_low_bpm + inp.target_bpm)))
        err = r - y_theta

        if inp.phase in (PhaseKind.INTERVAL, PhaseKind.RECOVERY):
            lam = m.tau_s / (1.0 + self.aggressiveness * min(1.0, abs(err) / 8.0))
        else:
            lam = m.tau_s
        h = 15.0
        y_des = r - err * math.exp(-h / lam)
        base += rho * h  # the drift goes on while the command acts
        ef = math.exp(-h / m.tau_fast_s)
        u_ss = (r - base) / k
        u = u_ss
        for off in (False, True):
            es = math.exp(-h / (m.tau_s * (m.tau_off_ratio if off else 1.0)))
            a_coef = m.fast_frac * (1 - ef) + (1 - m.fast_frac) * (1 - es)
            b_coef = xf * ef + xs * es
            u = ((y_des - base) / k - b_coef) / a_coef
            if off or (1 - m.fast_frac) * u >= xs:
                break
        u_eq = xf + xs
        ov = self.overdrive if inp.phase is PhaseKind.INTERVAL else 0.5
        if inp.phase in (PhaseKind.WARMUP, PhaseKind.COOLDOWN):
            ov = 0.2
        u = min(u, u_ss + ov * max(0.0, u_ss - u_eq))
        u = max(u, u_ss - ov * max(0.0, u_eq - u_ss))
        if inp.hr_bpm is not None and inp.hr_bpm > r + 2.0:
            u = min(u, u_now)  # never add load while the heart is above target
        vo2 = min(max(u + REST_VO2, inp.path.min_vo2), inp.path.max_vo2)
        speed, incline = allocate(vo2, inp.path, inp.incline_sp_pct)
        reachable = base + k * (inp.path.max_vo2 - REST_VO2)
        return ControlDecision(speed, incline, reachable)

    def _preview(self, inp: ControlInput) -> bool:
        """Within the dead time plus ``PREVIEW_RAMP_S`` before an interval, with a response
        the law trusts (a carried one not dropped), aim at the interval already."""
        if self._carried_state not in ("trusted", "kept"):
            return False
        if inp.next_phase is not PhaseKind.INTERVAL or inp.next_target_bpm is None or \
                inp.next_zone_high_bpm is None or inp.phase is PhaseKind.INTERVAL:
            return False
        return inp.phase_remaining_s <= self.model.dead_time_s + PREVIEW_RAMP_S

    def _carry_drift(self, inp: ControlInput) -> None:
        """Keep the bias learned at interval intensity for the next interval (drift)."""
        if inp.new_phase and self._last_phase is PhaseKind.INTERVAL:
            self._interval_bias = self.bias_bpm
            self._interval1_done = True
        if (inp.new_phase and inp.phase is PhaseKind.INTERVAL
                and self._interval_bias is not None):
            self.bias_bpm = 0.5 * (self.bias_bpm + self._interval_bias)
        self._last_phase = inp.phase
