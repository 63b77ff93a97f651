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
import statistics
from collections import deque
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from controller.core.fastinit import frozen_init
from controller.core.plan import PhaseKind
from controller.core.response import ResponseModel
from controller.core.workload import REST_VO2, WorkloadPath, speed_for_cost, vo2_cost

OVERDRIVE = 2.5
"""Largest overdrive, as a multiple of the remaining step in steady-state workload."""

BIAS_TIME_S = 30.0
"""Integration time of the bias observer: slower than beat noise, faster than drift."""

PAUSE_WALK_FLOOR_KMH = 3.0
"""The slowest belt of an active pause (issue 21): the pause is about 70 % HRmax, "walking,
not standing" (4x4.md), and ~3 km/h is normal slow walking, the same easy walk the session's
fail-safe slows to (``protocol.EASY_WALK_KMH``). The load comes down by lowering the incline
first; the speed goes below this only when the incline is at its lowest and the heart rate
stays above the pause's zone (``PAUSE_BELOW_FLOOR_AFTER_S``). A patient whose speed cap is
below it keeps their cap (``pause_floor_kmh``)."""

PAUSE_BELOW_FLOOR_AFTER_S = 60.0
"""How long the heart rate must stay above the pause's zone (well above its target) while
the belt walks at the floor with the incline at its lowest before the speed may go below the
floor; it comes back up to the floor once the heart rate is in the zone again."""


def pause_floor_kmh(speed_cap_kmh: float, min_speed_kmh: float) -> float:
    """The walking floor of an active pause for a patient: ``PAUSE_WALK_FLOOR_KMH`` (or the
    patient's own higher minimum), never above the patient's speed cap.

    >>> pause_floor_kmh(8.0, 1.5), pause_floor_kmh(2.5, 1.0), pause_floor_kmh(8.0, 3.5)
    (3.0, 2.5, 3.5)
    """
    return min(max(PAUSE_WALK_FLOOR_KMH, min_speed_kmh), speed_cap_kmh)


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


@frozen_init
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


@frozen_init
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
    """A fixed model's state (the oracle's: no learning)."""

    tau_s: float
    dead_time_s: float
    fast_frac: float
    tau_fast_s: float
    tau_off_ratio: float
    x_fast: float = 0.0
    x_slow: float = 0.0

    def advance(self, u: float, dt_s: float) -> None:
        self.x_fast, self.x_slow = _advance(self.x_fast, self.x_slow, u, dt_s, self)


class _Fit(NamedTuple):
    offset_bpm: float
    gain: float
    mse: float
    fast_frac: float
    w_fast: float
    w_off: float


@dataclass(slots=True)
class _FastPaths:
    """The two fast basis paths of one dead time and their sums. They depend on the dead time
    only (fixed time constants, the same delayed input), so the candidates of one dead time
    share them: advanced and summed once a tick instead of once per candidate, the same
    numbers to the last bit (issue 23)."""

    dead_time_s: float
    xa: float = 0.0
    xb: float = 0.0
    m1: float = 0.0
    m2: float = 0.0
    m11: float = 0.0
    m12: float = 0.0
    m22: float = 0.0
    v1: float = 0.0
    v2: float = 0.0

    def scale(self, k: float) -> None:
        self.m1 *= k
        self.m2 *= k
        self.m11 *= k
        self.m12 *= k
        self.m22 *= k
        self.v1 *= k
        self.v2 *= k


@dataclass(slots=True)
class _Basis:
    """One (τ, θ) candidate whose fast phase and off-kinetics are estimated, not assumed.

    The work above rest, delayed by θ, drives four unit-gain first-order paths: two fast ones
    (τ 4 s and 16 s) and two slow ones (τ, falling at τ and at 2.5·τ). Heart rate is fitted
    as a + b1·xa + b2·(xb − xa) + b3·xs + b4·(xo − xs) by ridge regression, which is linear in
    the b's: the gain is b1 + b3, the fast share b1 / gain, the fast time constant's blend
    b2 / b1 (4 + 12·w s) and the off-kinetics' blend b4 / b3 (1 + 1.5·w). The blends span the
    published ranges (5–15 s, off 1–2× slower) with room at both ends, so nothing is clipped
    at a grid's edge; only (τ, θ) stays a grid, since the fit is not linear in them."""

    tau_s: float
    dead_time_s: float
    fast: _FastPaths = field(repr=False, compare=False)
    """xa, xb and their sums m1, m2, m11, m12, m22, v1, v2: shared by the dead time's
    candidates."""
    xs: float = 0.0
    xo: float = 0.0
    m3: float = 0.0
    m4: float = 0.0
    m13: float = 0.0
    m14: float = 0.0
    m23: float = 0.0
    m24: float = 0.0
    m33: float = 0.0
    m34: float = 0.0
    m44: float = 0.0
    v3: float = 0.0
    v4: float = 0.0
    fast_frac: float = 0.15
    w_fast: float = 0.5
    w_off: float = 0.2
    behind_refits: int = 0
    """Refits in a row this candidate has been far behind the best (``_prune``)."""

    def states(self) -> tuple[float, float]:
        """(fast, slow) in the law's units: each path's share of the work, gain 1."""
        f, g = self.fast_frac, self.fast
        return (f * (g.xa + self.w_fast * (g.xb - g.xa)),
                (1.0 - f) * (self.xs + self.w_off * (self.xo - self.xs)))

    def scale(self, k: float) -> None:
        """Its own sums times ``k`` (the shared fast paths' are scaled once, by the grid)."""
        self.m3 *= k
        self.m4 *= k
        self.m13 *= k
        self.m14 *= k
        self.m23 *= k
        self.m24 *= k
        self.m33 *= k
        self.m34 *= k
        self.m44 *= k
        self.v3 *= k
        self.v4 *= k

    def fit(self, sums: tuple[float, float, float], a0: float, k0: float,
            prior: tuple[float, float, float], pa: float, pk: float) -> _Fit:
        """Ridge fit towards (a0, gain k0, structure ``prior`` = (f, w_fast, w_off))."""
        s0, sy, syy = sums
        g = self.fast
        m1, m2, m11, m12, m22, v1, v2 = g.m1, g.m2, g.m11, g.m12, g.m22, g.v1, g.v2
        m3, m4, m13, m14, m23, m24 = self.m3, self.m4, self.m13, self.m14, self.m23, self.m24
        m33, m34, m44, v3, v4 = self.m33, self.m34, self.m44, self.v3, self.v4
        f0, wf0, wr0 = prior
        b0 = (f0 * k0, f0 * k0 * wf0, (1.0 - f0) * k0, (1.0 - f0) * k0 * wr0)
        pw = (pk, STRUCTURE_PRIOR_FAST_TAU * pk, pk, STRUCTURE_PRIOR_OFF * pk)
        # the normal equations with their right-hand side as the last column
        _, b1, b2, b3, b4 = _solve_rows(
            (s0 + pa, m1, m2, m3, m4, sy + pa * a0),
            (m1, m11 + pw[0], m12, m13, m14, v1 + pw[0] * b0[0]),
            (m2, m12, m22 + pw[1], m23, m24, v2 + pw[1] * b0[1]),
            (m3, m13, m23, m33 + pw[2], m34, v3 + pw[2] * b0[2]),
            (m4, m14, m24, m34, m44 + pw[3], v4 + pw[3] * b0[3]))
        # min(max(v, lo), hi) written as comparisons (no calls; the same value, NaN too)
        k = b1 + b3
        lo, hi = 0.3 * k0, 3.0 * k0
        k = lo if lo > k else k
        k = hi if hi < k else k
        if b1 + b3 > 1e-9:
            f = b1 / (b1 + b3)
            f = 0.0 if f < 0.0 else f
            f = FAST_FRAC_MAX if f > FAST_FRAC_MAX else f
        else:
            f = f0
        if b1 > 1e-3 * k0:
            wf = b2 / b1
            wf = 0.0 if wf < 0.0 else wf
            wf = 1.0 if wf > 1.0 else wf
        else:
            wf = wf0
        if b3 > 1e-3 * k0:
            wr = b4 / b3
            wr = 0.0 if wr < 0.0 else wr
            wr = 1.0 if wr > 1.0 else wr
        else:
            wr = wr0
        b1, b3 = f * k, (1.0 - f) * k
        b2, b4 = b1 * wf, b3 * wr
        mb = (m1 * b1 + m2 * b2 + m3 * b3 + m4 * b4)
        a = (sy + pa * a0 - mb) / (s0 + pa)
        quad = (b1 * b1 * m11 + b2 * b2 * m22 + b3 * b3 * m33
                + b4 * b4 * m44 + 2.0 * (b1 * b2 * m12 + b1 * b3 * m13
                                              + b1 * b4 * m14 + b2 * b3 * m23
                                              + b2 * b4 * m24 + b3 * b4 * m34))
        by = v1 * b1 + v2 * b2 + v3 * b3 + v4 * b4
        sse = syy + a * a * s0 + quad + 2.0 * a * mb - 2.0 * a * sy - 2.0 * by
        return _Fit(a, k, max(sse, 0.0) / max(s0, 1e-9), f, wf, wr)


def _solve5(m: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the ridge keeps the matrix regular): the
    same pivots (the first largest), the same operations in the same order as the plain
    elimination (tests/test_control_fast.py)."""
    r0, r1, r2, r3, r4 = [_row(row, r) for row, r in zip(m, rhs, strict=True)]
    return list(_solve_rows(r0, r1, r2, r3, r4))


_Row = tuple[float, float, float, float, float, float]
"""A row of the 5 × 6 augmented normal equations (the right-hand side last)."""


def _row(row: list[float], rhs: float) -> _Row:
    a, b, c, d, e = row
    return (a, b, c, d, e, rhs)


def _magnitude(v: float) -> float:
    """|v| as the elimination compares it (-0.0 and NaN as they are)."""
    return -v if v < 0.0 else v


def _solve_rows(r0: _Row, r1: _Row, r2: _Row, r3: _Row, r4: _Row
                ) -> tuple[float, float, float, float, float]:
    """``_solve5`` on its augmented rows, written out for 5 × 6 with the rows as tuples of
    floats: the same pivots (the first largest), the same operations in the same order, so
    the same numbers to the last bit (issue 23: a refit solves one per candidate). Fixed
    tuples of floats are unboxed C values in the compiled core (``controller.core.compiled``);
    a row's entries left of the column being eliminated are not updated (nothing reads
    them again)."""
    # column 0: the pivot among rows 0–4
    p, big = 0, _magnitude(r0[0])
    v = _magnitude(r1[0])
    if v > big:
        p, big = 1, v
    v = _magnitude(r2[0])
    if v > big:
        p, big = 2, v
    v = _magnitude(r3[0])
    if v > big:
        p, big = 3, v
    v = _magnitude(r4[0])
    if v > big:
        p, big = 4, v
    if p == 1:
        r0, r1 = r1, r0
    elif p == 2:
        r0, r2 = r2, r0
    elif p == 3:
        r0, r3 = r3, r0
    elif p == 4:
        r0, r4 = r4, r0
    piv = r0[0]
    c1, c2, c3, c4, c5 = r0[1], r0[2], r0[3], r0[4], r0[5]
    f = r1[0] / piv
    if f:
        r1 = (r1[0], r1[1] - f * c1, r1[2] - f * c2, r1[3] - f * c3, r1[4] - f * c4,
              r1[5] - f * c5)
    f = r2[0] / piv
    if f:
        r2 = (r2[0], r2[1] - f * c1, r2[2] - f * c2, r2[3] - f * c3, r2[4] - f * c4,
              r2[5] - f * c5)
    f = r3[0] / piv
    if f:
        r3 = (r3[0], r3[1] - f * c1, r3[2] - f * c2, r3[3] - f * c3, r3[4] - f * c4,
              r3[5] - f * c5)
    f = r4[0] / piv
    if f:
        r4 = (r4[0], r4[1] - f * c1, r4[2] - f * c2, r4[3] - f * c3, r4[4] - f * c4,
              r4[5] - f * c5)
    # column 1: rows 1–4
    p, big = 1, _magnitude(r1[1])
    v = _magnitude(r2[1])
    if v > big:
        p, big = 2, v
    v = _magnitude(r3[1])
    if v > big:
        p, big = 3, v
    v = _magnitude(r4[1])
    if v > big:
        p, big = 4, v
    if p == 2:
        r1, r2 = r2, r1
    elif p == 3:
        r1, r3 = r3, r1
    elif p == 4:
        r1, r4 = r4, r1
    piv = r1[1]
    c2, c3, c4, c5 = r1[2], r1[3], r1[4], r1[5]
    f = r2[1] / piv
    if f:
        r2 = (r2[0], r2[1], r2[2] - f * c2, r2[3] - f * c3, r2[4] - f * c4, r2[5] - f * c5)
    f = r3[1] / piv
    if f:
        r3 = (r3[0], r3[1], r3[2] - f * c2, r3[3] - f * c3, r3[4] - f * c4, r3[5] - f * c5)
    f = r4[1] / piv
    if f:
        r4 = (r4[0], r4[1], r4[2] - f * c2, r4[3] - f * c3, r4[4] - f * c4, r4[5] - f * c5)
    # column 2: rows 2–4
    p, big = 2, _magnitude(r2[2])
    v = _magnitude(r3[2])
    if v > big:
        p, big = 3, v
    v = _magnitude(r4[2])
    if v > big:
        p, big = 4, v
    if p == 3:
        r2, r3 = r3, r2
    elif p == 4:
        r2, r4 = r4, r2
    piv = r2[2]
    c3, c4, c5 = r2[3], r2[4], r2[5]
    f = r3[2] / piv
    if f:
        r3 = (r3[0], r3[1], r3[2], r3[3] - f * c3, r3[4] - f * c4, r3[5] - f * c5)
    f = r4[2] / piv
    if f:
        r4 = (r4[0], r4[1], r4[2], r4[3] - f * c3, r4[4] - f * c4, r4[5] - f * c5)
    # column 3: rows 3–4
    if _magnitude(r4[3]) > _magnitude(r3[3]):
        r3, r4 = r4, r3
    piv = r3[3]
    c4, c5 = r3[4], r3[5]
    f = r4[3] / piv
    if f:
        r4 = (r4[0], r4[1], r4[2], r4[3], r4[4] - f * c4, r4[5] - f * c5)
    x4 = (r4[5] - 0.0) / r4[4]
    x3 = (r3[5] - (0.0 + r3[4] * x4)) / r3[3]
    x2 = (r2[5] - (0.0 + r2[3] * x3 + r2[4] * x4)) / r2[2]
    x1 = (r1[5] - (0.0 + r1[2] * x2 + r1[3] * x3 + r1[4] * x4)) / r1[1]
    x0 = (r0[5] - (0.0 + r0[1] * x1 + r0[2] * x2 + r0[3] * x3 + r0[4] * x4)) / r0[0]
    return x0, x1, x2, x3, x4


def structure_of(fast_frac: float, tau_fast_s: float, tau_off_ratio: float
                 ) -> tuple[float, float, float]:
    """(f, w_fast, w_off): a model's fast phase and off-kinetics as the basis's blends."""
    lo_f, hi_f = TAU_FAST_BASIS_S
    lo_r, hi_r = OFF_RATIO_BASIS
    return (min(max(fast_frac, 0.0), FAST_FRAC_MAX),
            min(max((tau_fast_s - lo_f) / (hi_f - lo_f), 0.0), 1.0),
            min(max((tau_off_ratio - lo_r) / (hi_r - lo_r), 0.0), 1.0))


def _tau_fast(w_fast: float) -> float:
    lo, hi = TAU_FAST_BASIS_S
    return lo + (hi - lo) * w_fast


def _off_ratio(w_off: float) -> float:
    lo, hi = OFF_RATIO_BASIS
    return lo + (hi - lo) * w_off


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


def _basis_factors(c: _Basis, dt_s: float) -> tuple[float, float, float, float]:
    """The basis paths' factors for a tick of ``dt_s``: (fast 4 s, fast 16 s, slow, slow
    falling at 2.5·τ)."""
    return (1.0 - math.exp(-dt_s / TAU_FAST_BASIS_S[0]),
            1.0 - math.exp(-dt_s / TAU_FAST_BASIS_S[1]),
            1.0 - math.exp(-dt_s / (c.tau_s * OFF_RATIO_BASIS[0])),
            1.0 - math.exp(-dt_s / (c.tau_s * OFF_RATIO_BASIS[1])))


_Group = tuple[_FastPaths, float, float, list[tuple[_Basis, float, float]]]
"""(shared fast paths, their factors (4 s, 16 s), [(candidate, its slow factors)])."""


def _groups(cands: list[_Basis], dt_s: float, zero: bool = False) -> list[_Group]:
    """The candidates by shared fast paths, with ``_basis_factors`` for a tick of ``dt_s``
    (not computed with ``zero``: the states do not move)."""
    out: dict[int, _Group] = {}
    for c in cands:
        ka, kb, ks, ko = (0.0, 0.0, 0.0, 0.0) if zero else _basis_factors(c, dt_s)
        grp = out.get(id(c.fast))
        if grp is None:
            grp = out[id(c.fast)] = (c.fast, ka, kb, [])
        grp[3].append((c, ks, ko))
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
FORGET_S = 900.0
"""The sums forget old readings with this time constant (fitness changes within weeks, not
within a session, but a warm-up is easier to explain than an interval)."""
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
TAU_FAST_BASIS_S = (4.0, 16.0)
"""The fast phase's two basis time constants: its estimate 4 + 12·w s spans the published
5–15 s with room at both ends."""
OFF_RATIO_BASIS = (1.0, 2.5)
"""The slow path falls at τ or 2.5·τ, blended: the off-kinetics ratio 1 + 1.5·w spans the
published "slower off-kinetics" (1–2×) with room at both ends."""
FAST_FRAC_MAX = 0.4
PRIOR_FAST_FRAC, PRIOR_TAU_FAST_S, PRIOR_OFF_RATIO = 0.15, 10.0, 1.3
"""The population's fast phase and off-kinetics: the structure's prior (and the old fixed
values)."""
STRUCTURE_PRIOR_FAST_TAU, STRUCTURE_PRIOR_OFF = 0.2, 0.33
"""Ridge weights of the fast time constant's and the off-kinetics' blends, relative to the
gain's: only transients inform them, so a weak prior lets a session's steps decide."""
PRUNE_AFTER_S = 600.0
"""Forgetting-weighted seconds of heart rate (some 16 minutes of readings: past the first
interval) before candidates far behind are dropped (issue 23: the grid's update and refits
are most of a control tick's time)."""
PRUNE_FACTOR = 2.0
"""… far behind: penalised score and mean squared residual both this many times the best's …"""
PRUNE_AFTER_REFITS = 6
"""… for this many refits in a row (a minute)."""
PREVIEW_RAMP_S = 12.0
"""With a response the law trusts (``_looks_ahead``) the load for an interval starts rising
this long plus the dead time before the interval begins: the belt's ramp and the heart's dead
time are spent before the clock starts instead of after (reference preview; the plan is known
ahead)."""
LEARNED_OVERDRIVE, LEARNED_AGGRESSIVENESS = 4.0, 6.0
"""Overdrive and aggressiveness once the response is learned (``_confident``)."""
DRIFT_FROM_S = 90.0
"""An interval's drift is measured from here on: the arrival is over, the load is steady."""
CARRIED_DRIFT_WEIGHT = 0.5
"""A carried drift rate's share in the next session's feed-forward (the rest: the
population's 0.5 bpm/min) — one session's measurement is noisy against HRV."""
PREVIEW_LEAD_MAX_S = max(DEAD_TIME_GRID_S) + PREVIEW_RAMP_S
"""The longest preview lead; the lead is fixed at each phase's start (``preview_lead_s``), so
the belt screen can announce the change before the load starts to move."""


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
    _cands: list[_Basis] = field(default_factory=list)
    _fixed: _Candidate | None = None
    _s0: float = 0.0
    _sy: float = 0.0
    _syy: float = 0.0
    _wscale: float = 1.0
    """The sums grow with weight dt·_wscale (forgetting without touching every sum every
    tick); ``_rebase`` brings them back to scale 1."""
    _prior: tuple[float, float, float] = (0.15, 0.5, 0.25)
    _prior_cold: tuple[float, float, float] = (0.15, 0.5, 0.25)
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
    _fast_paths: dict[float, _FastPaths] = field(default_factory=dict)
    _decay: dict[float, list[_Group]] = field(default_factory=dict)
    _hist_in_order: bool = True
    """Every input in ``_hist`` came no earlier than the one before (a session's clock)."""
    _adv_cache: dict[float, tuple[float, float, float, float]] = field(default_factory=dict)
    _adv_taus: tuple[float, float, float, float] | None = None
    _d2_cache: dict[tuple[float, float, int], list[float]] = field(default_factory=dict)
    _lead_s: float | None = None
    _h_memo: tuple[ModelParams | None, float, float, float] = (None, 0.0, 0.0, 0.0)
    """(model, e^(−h/τ_fast), e^(−h/τ), e^(−h/(τ·off ratio))) over the law's horizon h."""
    _bias_steps: float = 0.0
    """The bias's jumps when the active model changes (not drift: left out of its rate)."""
    _drift_mark: tuple[float, float] | None = None
    _drift_rates: list[float] = field(default_factory=list)
    """Per interval: the bias's rise from ``DRIFT_FROM_S`` to the end, in bpm/min."""
    _pending: list[tuple[list[_Group], dict[float, float], bool, bool, float, float]] = \
        field(default_factory=list)
    """Ticks learned but not yet applied to the grid's paths and sums (``_flush``): (groups
    with their factors, delayed input per dead time, time moved, a reading came, weight,
    reading)."""
    _act_x: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """The active candidate's four paths (xa, xb, xs, xo) while ticks are pending."""
    _act_memo: tuple[object, float, float, float, float, float] = (None, 0.0, 0.0, 0.0, 0.0,
                                                                   0.0)
    """(groups, the active candidate's dead time and its factors ka, kb, ks, ko in them)."""

    def __post_init__(self) -> None:
        a0 = self.hr_rest_bpm if self.hr_rest_bpm is not None else 75.0
        self._k0 = (self.hr_max_bpm - a0) * 1.07 / (self.prior_vo2max - REST_VO2)
        self._k0_cold = self._k0
        self._drift_cold = self.drift_bpm_per_min
        self._pk = 1500.0
        self._margin = TRUST_MARGIN
        if self.fixed_model is not None:
            m = self.fixed_model
            self._fixed = _Candidate(m.tau_s, m.dead_time_s, m.fast_frac, m.tau_fast_s,
                                     m.tau_off_ratio)
            self.model = m
            return
        self._prior = self._prior_cold = structure_of(PRIOR_FAST_FRAC, PRIOR_TAU_FAST_S,
                                                      PRIOR_OFF_RATIO)
        for tau in TAU_GRID_S:
            for theta in DEAD_TIME_GRID_S:
                self._cands.append(self._new_basis(tau, theta, self._prior))
        self._active = self._cands.index(
            next(c for c in self._cands if c.tau_s == PRIOR_TAU_S
                 and c.dead_time_s == PRIOR_DEAD_TIME_S))
        cm = self.carried
        if cm is not None:
            if cm.structure_learned:
                self._prior = structure_of(cm.fast_frac, cm.tau_fast_s, cm.tau_off_ratio)
            self._cands.append(self._new_basis(cm.tau_s, cm.dead_time_s, self._prior))
            self._active = len(self._cands) - 1
            self._k0, self._pk = cm.gain_bpm_per_vo2, CARRIED_GAIN_PRIOR
            self._margin = CARRIED_TRUST_MARGIN
            self._carried_state = "trusted"
            if cm.hrv_bpm is not None:
                self._resid_var = min(max(cm.hrv_bpm, 1.5), 6.0) ** 2
            if cm.drift_bpm_per_min is not None:
                self.drift_bpm_per_min += CARRIED_DRIFT_WEIGHT * (
                    min(cm.drift_bpm_per_min, 2.5) - self.drift_bpm_per_min)
            a0 += cm.offset_bpm - cm.rest_ref_bpm
        c = self._cands[self._active]
        self.model = ModelParams(self._k0, a0, c.tau_s, c.dead_time_s, c.fast_frac,
                                 _tau_fast(c.w_fast), _off_ratio(c.w_off))

    def _new_basis(self, tau_s: float, dead_time_s: float,
                   structure: tuple[float, float, float]) -> _Basis:
        """A candidate at rest (its paths at 0) with ``structure`` = (fast share, w_fast,
        w_off) as its fast phase and off-kinetics until a refit, sharing its fast paths with
        the candidates of the same dead time."""
        g = self._fast_paths.get(dead_time_s)
        if g is None:
            g = self._fast_paths[dead_time_s] = _FastPaths(dead_time_s)
        f, w_fast, w_off = structure
        return _Basis(tau_s, dead_time_s, g, fast_frac=f, w_fast=w_fast, w_off=w_off)

    # -- model bookkeeping ------------------------------------------------------------------

    def _delayed(self, now_s: float, theta_s: float) -> float:
        u = self._hist[0][1]
        for t, v in self._hist:
            if t > now_s - theta_s:
                break
            u = v
        return u

    def _learn(self, inp: ControlInput, u_now: float) -> None:
        # The hot path (≈ 40 candidates every tick): each candidate's four basis paths and
        # its weighted sums, with the exponential factors computed once per tick length
        # (``_decay``) and forgetting folded into a growing weight (``_wscale``). The two
        # fast paths and their seven sums depend on the dead time only: computed once per
        # dead time (``_FastPaths``), the same numbers as per candidate (issue 23).
        now_s, dt_s = inp.now_s, inp.dt_s
        hist = self._hist
        if hist and now_s < hist[-1][0]:
            self._hist_in_order = False
        hist.append((now_s, u_now))
        keep_s = self._keep_s
        if keep_s is None:
            thetas = [c.dead_time_s for c in self._cands] if self._fixed is None else \
                [self._fixed.dead_time_s]
            keep_s = self._keep_s = max(thetas) + 4.0
        while len(hist) > 2 and hist[1][0] < now_s - keep_s:
            hist.popleft()
        y = inp.hr_bpm
        if self._fixed is not None:
            c0 = self._fixed
            c0.advance(self._delayed(now_s, c0.dead_time_s), dt_s)
            if y is not None:
                self._evidence_s += dt_s
                if self._hr_rest_seen is None:
                    self._hr_rest_seen = y
            return
        self._wscale /= math.exp(-dt_s / FORGET_S)
        delayed = self._delayed_all(now_s)
        cands = self._cands
        move = dt_s > 0.0  # else no time passed: the states stay, the sums still learn
        groups = self._decay.get(dt_s) if move else None
        if groups is None:
            if not move:
                groups = _groups(cands, 0.0, zero=True)
            else:
                if len(self._decay) >= 4:  # a wall clock's uneven ticks: keep it small
                    self._decay.clear()
                groups = self._decay[dt_s] = _groups(cands, dt_s)
        learn = y is not None
        w = dt_s * self._wscale
        yv = y if y is not None else 0.0
        if learn:
            self._s0 += w
            self._sy += w * yv
            self._syy += w * yv * yv
        if learn or move:
            if not self._pending:
                c = self._cands[self._active]
                self._act_x = (c.fast.xa, c.fast.xb, c.xs, c.xo)
            # the grid's paths and sums are brought up to date at the next reader
            # (``_flush``): each sum receives the same terms in the same order, a whole
            # batch of ticks per candidate with its numbers in local variables (issue 23);
            # only the active candidate's four paths move every tick (``_states``)
            self._pending.append((groups, delayed, move, learn, w, yv))
            if move:
                act = self._act_memo
                if act[0] is not groups:
                    act = self._active_factors(groups)
                u = delayed[act[1]]
                xa, xb, xs, xo = self._act_x
                xa += (u - xa) * act[2]
                xb += (u - xb) * act[3]
                xs += (u - xs) * act[4]
                xo += (u - xo) * (act[4] if u >= xo else act[5])
                self._act_x = (xa, xb, xs, xo)
        if y is not None:
            self._evidence_s += dt_s
        if y is not None and self._hr_rest_seen is None:
            self._hr_rest_seen = y
        if self._wscale > 4.0:
            self._rebase()
        if now_s >= self._refit_s and self._s0 / self._wscale > 60:
            self._refit_s = now_s + 10.0
            self._refit()

    def _active_factors(self, groups: list[_Group]
                        ) -> tuple[object, float, float, float, float, float]:
        """The active candidate's dead time and factors in ``groups`` (``_act_memo``)."""
        active = self._cands[self._active]
        for g, ka, kb, members in groups:
            for c, ks, ko in members:
                if c is active:
                    self._act_memo = (groups, g.dead_time_s, ka, kb, ks, ko)
                    return self._act_memo
        raise AssertionError("the active candidate is in the grid")

    def _flush(self) -> None:
        """Apply the pending ticks to every candidate's paths and sums: per shared fast path
        and per candidate, tick by tick in order, the very operations ``_learn`` did per tick
        (so the same numbers to the last bit: tests/test_control_fast.py), with the numbers in
        local variables instead of attributes."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._act_memo = (None, 0.0, 0.0, 0.0, 0.0, 0.0)
        ticks_groups = [p[0] for p in pending]
        same = all(tg is ticks_groups[0] for tg in ticks_groups)
        for gi, (g, _ka, _kb, members) in enumerate(ticks_groups[0]):
            th = g.dead_time_s
            xa, xb = g.xa, g.xb
            m1, m2, m11, m12, m22, v1, v2 = g.m1, g.m2, g.m11, g.m12, g.m22, g.v1, g.v2
            steps = []  # per tick: (u, move, learn, w, yv, w1, w2)
            for tg, delayed, move, learn, w, yv in pending:
                u = delayed[th]
                if move:
                    grp = tg[gi]
                    xa += (u - xa) * grp[1]
                    xb += (u - xb) * grp[2]
                if learn:
                    z2 = xb - xa
                    w1, w2 = w * xa, w * z2
                    m1 += w1
                    m2 += w2
                    m11 += w1 * xa
                    m12 += w1 * z2
                    m22 += w2 * z2
                    v1 += w1 * yv
                    v2 += w2 * yv
                else:
                    w1 = w2 = 0.0
                steps.append((u, move, learn, w, yv, w1, w2))
            g.xa, g.xb = xa, xb
            g.m1, g.m2, g.m11, g.m12, g.m22, g.v1, g.v2 = m1, m2, m11, m12, m22, v1, v2
            for mi, (c, ks, ko) in enumerate(members):
                xs, xo = c.xs, c.xo
                m3, m4, m13, m14, m23, m24 = c.m3, c.m4, c.m13, c.m14, c.m23, c.m24
                m33, m34, m44, v3, v4 = c.m33, c.m34, c.m44, c.v3, c.v4
                for k, (u, move, learn, w, yv, w1, w2) in enumerate(steps):
                    if move:
                        if not same:
                            _c, ks, ko = ticks_groups[k][gi][3][mi]
                        xs += (u - xs) * ks
                        xo += (u - xo) * (ks if u >= xo else ko)
                    if learn:
                        z4 = xo - xs
                        w3, w4 = w * xs, w * z4
                        m3 += w3
                        m4 += w4
                        m13 += w1 * xs
                        m14 += w1 * z4
                        m23 += w2 * xs
                        m24 += w2 * z4
                        m33 += w3 * xs
                        m34 += w3 * z4
                        m44 += w4 * z4
                        v3 += w3 * yv
                        v4 += w4 * yv
                c.xs, c.xo = xs, xo
                c.m3, c.m4, c.m13, c.m14, c.m23, c.m24 = m3, m4, m13, m14, m23, m24
                c.m33, c.m34, c.m44, c.v3, c.v4 = m33, m34, m44, v3, v4

    def _rebase(self) -> None:
        self._flush()
        k = 1.0 / self._wscale
        self._wscale = 1.0
        self._s0 *= k
        self._sy *= k
        self._syy *= k
        for g in {id(c.fast): c.fast for c in self._cands}.values():
            g.scale(k)
        for c in self._cands:
            c.scale(k)

    @property
    def _evidence_weight_s(self) -> float:
        """Seconds of (forgetting-weighted) readings in the sums."""
        return self._s0 / self._wscale

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
        self._rebase()
        a0 = self._offset_prior()
        pa, pk = 30.0, self._pk
        sums = (self._s0, self._sy, self._syy)
        fits = [c.fit(sums, a0, self._k0, self._prior, pa, pk) for c in self._cands]
        if self._carried_state == "trusted":
            self._judge_carried(fits)
        score = self._penalised(fits)
        best = min(range(len(fits)), key=lambda i: score[i])
        if score[best] > self._margin * score[self._active]:
            best = self._active
        fit = fits[best]
        old_pred = self._predict_now()
        self._active = best
        c = self._cands[best]
        c.fast_frac, c.w_fast, c.w_off = fit.fast_frac, fit.w_fast, fit.w_off
        self.model = ModelParams(fit.gain, fit.offset_bpm, c.tau_s, c.dead_time_s,
                                 fit.fast_frac, _tau_fast(fit.w_fast), _off_ratio(fit.w_off))
        step = old_pred - self._predict_now()
        self.bias_bpm += step
        self._bias_steps += step
        self._prune(fits, score)

    def _prune(self, fits: list[_Fit], score: list[float]) -> None:
        """Drop the (τ, θ) candidates that have settled far behind: once ``PRUNE_AFTER_S`` of
        heart rate are in, a candidate whose penalised score and mean squared residual have
        both been more than ``PRUNE_FACTOR`` times the best's for ``PRUNE_AFTER_REFITS``
        refits in a row is not updated any more. The active candidate and a carried one (last
        in the list) are always kept, and nothing is dropped while a carried model is still
        being judged (the judge compares it with the best cold candidate)."""
        if self._evidence_weight_s < PRUNE_AFTER_S or self._carried_state == "trusted":
            return
        cands = self._cands
        last_kept = len(cands) - 1 if self.carried is not None else -1
        best_score = min(score)
        best_mse = min(f.mse for f in fits)
        drop = set()
        for i, c in enumerate(cands):
            if i == self._active or i == last_kept:
                c.behind_refits = 0
            elif score[i] > PRUNE_FACTOR * best_score and fits[i].mse > PRUNE_FACTOR * best_mse:
                c.behind_refits += 1
                if c.behind_refits >= PRUNE_AFTER_REFITS:
                    drop.add(i)
            else:
                c.behind_refits = 0
        if not drop:
            return
        active = cands[self._active]
        self._cands = [c for i, c in enumerate(cands) if i not in drop]
        self._active = next(i for i, c in enumerate(self._cands) if c is active)
        self._decay.clear()  # its groups hold the old list's candidates
        self._d2_cache.clear()
        self._thetas = None

    def _penalised(self, fits: list[_Fit]) -> list[float]:
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
        n = max(self._evidence_weight_s / RESIDUAL_CORRELATION_S, 1.0)
        key = (tau0, theta0, len(self._cands))
        d2s = self._d2_cache.get(key)
        if d2s is None:  # the distances change only with the prior's centre (or a prune)
            d2s = self._d2_cache[key] = [
                (math.log(max(c.tau_s, 1.0) / tau0) / PRIOR_LOG_SD_TAU) ** 2
                + (math.log(max(c.dead_time_s, 1.0) / theta0) / PRIOR_LOG_SD_DEAD_TIME) ** 2
                for c in self._cands]
        out = []
        for d2, fit in zip(d2s, fits, strict=True):
            out.append(fit.mse * math.exp(d2 / n))
        return out

    @property
    def expected_bpm(self) -> float:
        """The model's heart rate for the load so far; no reading enters it while the gate
        refuses them, so it is the session's own judge of a suspect strap (issue 22)."""
        return self._predict_now()
    def _judge_carried(self, fits: list[_Fit]) -> None:
        """Keep the carried response, or drop it when today's heart clearly answers otherwise
        (the gain fitted without the carried prior far off, or a cold candidate explaining the
        heart rate far better). Judged from ``CARRIED_CHECK_AFTER_S`` of readings until the
        first interval ends; then it is kept."""
        assert self.carried is not None
        if self._interval1_done:
            self._carried_state = "kept"
            self._margin = TRUST_MARGIN
            return
        if self._evidence_weight_s < CARRIED_CHECK_AFTER_S:
            return
        i_c = len(self._cands) - 1
        k_free = self._cands[i_c].fit((self._s0, self._sy, self._syy), self._rest_ref(),
                                      self._k0_cold, self._prior_cold, 30.0, 1500.0).gain
        k_c = self.carried.gain_bpm_per_vo2
        mse_c = fits[i_c].mse
        mse_best = min(f.mse for f in fits[:i_c])
        gain_off = abs(k_free / k_c - 1.0) > CARRIED_GAIN_MISMATCH
        spread = max(self.carried.hrv_bpm or 2.5, 2.0)
        worse = mse_best < CARRIED_MSE_MISMATCH * mse_c and mse_c > (2.0 * spread) ** 2
        if not (gain_off or worse):
            return
        self._carried_state = "dropped"
        self._k0, self._pk, self._margin = self._k0_cold, 1500.0, TRUST_MARGIN
        self._prior = self._prior_cold
        self.drift_bpm_per_min = self._drift_cold
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
            hr_max_bpm=self.hr_max_bpm, drift_bpm_per_min=self.drift_learned_bpm_per_min)

    @property
    def drift_learned_bpm_per_min(self) -> float | None:
        """Today's cardiac drift at interval intensity: the mean over the intervals of how
        fast the bias observer rose after ``DRIFT_FROM_S`` (what the model's load did not
        explain), None before an interval has ended."""
        if not self._drift_rates:
            return None
        return round(min(max(statistics.fmean(self._drift_rates), 0.0), 5.0), 2)

    @property
    def carried_state(self) -> str:
        return self._carried_state

    def _states(self) -> tuple[float, float]:
        """The active model's (fast, slow) states, in the law's units."""
        if self._fixed is not None:
            return self._fixed.x_fast, self._fixed.x_slow
        c = self._cands[self._active]
        if not self._pending:
            return c.states()
        xa, xb, xs, xo = self._act_x  # ``_Basis.states`` on the paths of this tick
        f = c.fast_frac
        return (f * (xa + c.w_fast * (xb - xa)), (1.0 - f) * (xs + c.w_off * (xo - xs)))

    def _predict_now(self) -> float:
        m = self.model
        xf, xs = self._states()
        return m.offset_bpm + m.gain_bpm_per_vo2 * (xf + xs) + self.bias_bpm

    # -- the law ----------------------------------------------------------------------------

    def update(self, inp: ControlInput) -> ControlDecision:
        u_now = vo2_cost(inp.speed_kmh, inp.incline_pct) - REST_VO2
        self._learn(inp, u_now)
        if inp.new_phase or self._lead_s is None:
            self._lead_s = min(self.model.dead_time_s + PREVIEW_RAMP_S, PREVIEW_LEAD_MAX_S)
        m = self.model
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
        # the active model's states this tick (``_predict_now``'s, read once: nothing below
        # moves them); the prediction to t + θ starts from them
        xf, xs = self._states()
        if inp.hr_bpm is not None:
            resid = inp.hr_bpm - (m.offset_bpm + m.gain_bpm_per_vo2 * (xf + xs) + self.bias_bpm)
            self.bias_bpm += resid * min(1.0, inp.dt_s / BIAS_TIME_S)
            if inp.phase in (PhaseKind.INTERVAL, PhaseKind.RECOVERY) and \
                    inp.phase_elapsed_s >= 60.0:
                w = min(1.0, inp.dt_s / 300.0)
                self._resid_var += (min(resid * resid, 400.0) - self._resid_var) * w
        self._carry_drift(orig)

        # Predict the state at t + θ: inputs already sent reach the heart during the next θ s.
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
        # arithmetic in the same order, so the same numbers to the last bit (issue 23)
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
            aggr = self.aggressiveness
            if self._confident():
                aggr = max(aggr, LEARNED_AGGRESSIVENESS)
            lam = m.tau_s / (1.0 + aggr * min(1.0, abs(err) / 8.0))
        else:
            lam = m.tau_s
        h = 15.0
        y_des = r - err * math.exp(-h / lam)
        base += rho * h  # the drift goes on while the command acts
        hm = self._h_memo  # the model's decay over the horizon, once per model
        if hm[0] is not m:
            hm = self._h_memo = (m, math.exp(-h / m.tau_fast_s), math.exp(-h / (m.tau_s * 1.0)),
                                 math.exp(-h / (m.tau_s * m.tau_off_ratio)))
        ef = hm[1]
        u_ss = (r - base) / k
        u = u_ss
        for off in (False, True):
            es = hm[3] if off else hm[2]
            a_coef = m.fast_frac * (1 - ef) + (1 - m.fast_frac) * (1 - es)
            b_coef = xf * ef + xs * es
            u = ((y_des - base) / k - b_coef) / a_coef
            if off or (1 - m.fast_frac) * u >= xs:
                break
        u_eq = xf + xs
        ov = self.overdrive if inp.phase is PhaseKind.INTERVAL else 0.5
        if inp.phase is PhaseKind.INTERVAL and self._confident():
            ov = max(ov, LEARNED_OVERDRIVE)
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

    def _confident(self) -> bool:
        """The response has been seen through a whole interval and its recovery (or carried
        and kept): the law may drive it as hard as the oracle drives a known one."""
        return self.fixed_model is None and (self._interval1_done or
                                             self._carried_state == "kept")

    def _preview(self, inp: ControlInput) -> bool:
        """Within the dead time plus ``PREVIEW_RAMP_S`` before an interval, with a response
        the law trusts (``_looks_ahead``), aim at the interval already."""
        if not self._looks_ahead():
            return False
        if inp.next_phase is not PhaseKind.INTERVAL or inp.next_target_bpm is None or \
                inp.next_zone_high_bpm is None or inp.phase is PhaseKind.INTERVAL:
            return False
        return inp.phase_remaining_s <= self.preview_lead_s

    @property
    def preview_lead_s(self) -> float:
        """How long before an interval the law starts raising the load for it (0: it does
        not look ahead). Fixed for the running phase, so a screen can announce the change
        before it begins (the patient is never surprised by the belt)."""
        if not self._looks_ahead() or self._lead_s is None:
            return 0.0
        return self._lead_s

    def _looks_ahead(self) -> bool:
        """Whether the law knows the response well enough to raise the load for an interval
        before it begins: a carried response it trusts, today's once the first interval has
        shown it (``_confident``), or a given one (the bench's oracle).
        A slow heart (τ of minutes) cannot reach the zone within a minute of an interval's
        start from a recovery's load otherwise (the twocomp cohort, issue 23's note)."""
        return (self.fixed_model is not None or self._carried_state in ("trusted", "kept")
                or self._confident())

    def _carry_drift(self, inp: ControlInput) -> None:
        """Keep the bias learned at interval intensity for the next interval (drift), and
        measure the drift's rate in each interval for the next session."""
        if inp.phase is PhaseKind.INTERVAL and inp.phase_elapsed_s >= DRIFT_FROM_S and \
                self._drift_mark is None and not inp.new_phase:
            self._drift_mark = (inp.now_s, self.bias_bpm - self._bias_steps)
        if inp.new_phase and self._last_phase is PhaseKind.INTERVAL and \
                self._drift_mark is not None:
            t0, b0 = self._drift_mark
            if inp.now_s - t0 >= 60.0:
                self._drift_rates.append(
                    (self.bias_bpm - self._bias_steps - b0) / (inp.now_s - t0) * 60.0)
            self._drift_mark = None
        if inp.new_phase and self._last_phase is PhaseKind.INTERVAL:
            self._interval_bias = self.bias_bpm
            self._interval1_done = True
        if (inp.new_phase and inp.phase is PhaseKind.INTERVAL
                and self._interval_bias is not None):
            self.bias_bpm = 0.5 * (self.bias_bpm + self._interval_bias)
        self._last_phase = inp.phase
