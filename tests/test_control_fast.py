"""The estimator's fast grid update (issue 23) against each candidate stepped on its own, and
the pruning of settled candidates.

``_learn`` advances the candidates' fast paths (which depend on the dead time only) once per
dead time and keeps their sums once per dead time; each candidate's four basis paths and 18
weighted sums written out on its own are the reference: the states and sums must be the same
numbers to the last bit, every tick, for every candidate still in the grid.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from controller.core import control
from controller.core.control import (
    DEAD_TIME_GRID_S,
    OFF_RATIO_BASIS,
    TAU_FAST_BASIS_S,
    TAU_GRID_S,
    AdaptiveController,
    ControlDecision,
    ControlInput,
    _solve5,
)
from controller.protocol import Session
from controller.sim import Belt, VirtualPatient, cohort


class _Watched:
    """The law as the session sees it, calling ``on_update(law, inp)`` after every control
    tick: a wrapper, since a compiled law's methods cannot be replaced on the object
    (``controller.core.compiled``)."""

    def __init__(self, law: AdaptiveController, on_update) -> None:  # type: ignore[no-untyped-def]
        object.__setattr__(self, "_law", law)
        object.__setattr__(self, "_on_update", on_update)

    def __getattr__(self, name: str) -> object:
        return getattr(self._law, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._law, name, value)

    def update(self, inp: ControlInput) -> ControlDecision:
        d = self._law.update(inp)
        if self._on_update is not None:
            self._on_update(self._law, inp)
        return d


def _run(law: AdaptiveController, truth, profile, on_update=None) -> None:  # type: ignore[no-untyped-def]
    """A whole 4x4 session with ``law`` on a virtual patient; ``on_update(law, inp)`` after
    every control tick."""
    session = Session(profile, control=_Watched(law, on_update))  # type: ignore[arg-type]
    patient, belt, t = VirtualPatient(truth), Belt(), 0.0
    while True:
        sp = session.step(t, patient.step(1.0, belt.speed_kmh, belt.incline_pct),
                          belt.speed_kmh, belt.incline_pct)
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            return
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0


_SHARED = ("xa", "xb", "m1", "m2", "m11", "m12", "m22", "v1", "v2")
_OWN = ("xs", "xo", "m3", "m4", "m13", "m14", "m23", "m24", "m33", "m34", "m44", "v3", "v4")


def _numbers(c: object) -> dict[str, float]:
    """A candidate's four basis states and 18 sums, wherever the grid keeps them (the fast
    paths' ones may be shared by the candidates of one dead time)."""
    shared = getattr(c, "fast", c)
    return {**{n: getattr(shared, n) for n in _SHARED}, **{n: getattr(c, n) for n in _OWN}}


def _step_alone(r: dict[str, float], tau_s: float, u: float, dt_s: float, w: float,
                y: float | None) -> None:
    """One candidate's basis paths and weighted sums for one tick, written out on its own."""
    if dt_s > 0.0:
        ka = 1.0 - math.exp(-dt_s / TAU_FAST_BASIS_S[0])
        kb = 1.0 - math.exp(-dt_s / TAU_FAST_BASIS_S[1])
        ks = 1.0 - math.exp(-dt_s / (tau_s * OFF_RATIO_BASIS[0]))
        ko = 1.0 - math.exp(-dt_s / (tau_s * OFF_RATIO_BASIS[1]))
        r["xa"] += (u - r["xa"]) * ka
        r["xb"] += (u - r["xb"]) * kb
        r["xs"] += (u - r["xs"]) * ks
        r["xo"] += (u - r["xo"]) * (ks if u >= r["xo"] else ko)
    if y is None:
        return
    z = (r["xa"], r["xb"] - r["xa"], r["xs"], r["xo"] - r["xs"])
    wz = [w * zi for zi in z]
    for i in range(4):
        r[f"m{i + 1}"] += wz[i]
        r[f"v{i + 1}"] += wz[i] * y
        for j in range(i, 4):
            r[f"m{i + 1}{j + 1}"] += wz[i] * z[j]


def test_grid_update_gives_each_candidate_stepped_alone_to_the_last_bit() -> None:
    truth, profile = cohort(2, 7)[1]
    law = AdaptiveController(profile.hr_max, profile.hr_rest)
    ref = {(c.tau_s, c.dead_time_s): _numbers(c) for c in law._cands}
    clock = {"wscale": 1.0, "s0": 0.0, "refit_s": 0.0}
    ticks = []

    def check(law: AdaptiveController, inp: ControlInput) -> None:
        # the forgetting as a growing weight, brought back to 1 at a refit or above 4
        clock["wscale"] /= math.exp(-inp.dt_s / 900.0)
        w = inp.dt_s * clock["wscale"]
        if inp.hr_bpm is not None:
            clock["s0"] += w
        for (tau, theta), r in ref.items():
            _step_alone(r, tau, law._delayed(inp.now_s, theta), inp.dt_s, w, inp.hr_bpm)
        refit = inp.now_s >= clock["refit_s"] and clock["s0"] / clock["wscale"] > 60
        if clock["wscale"] > 4.0 or refit:
            k = 1.0 / clock["wscale"]
            clock["wscale"], clock["s0"] = 1.0, clock["s0"] * k
            for r in ref.values():
                for n in r:
                    if n[0] in "mv":
                        r[n] *= k
        if refit:
            clock["refit_s"] = inp.now_s + 10.0
        assert law._wscale == clock["wscale"]
        ticks.append(inp.now_s)
        if len(ticks) % 7:
            return  # the grid applies its ticks in batches (``_flush``): compare now and then
        states = law._states()  # the active candidate's paths, moved every tick
        law._flush()
        assert law._cands[law._active].states() == states, inp.now_s
        for c in law._cands:
            assert _numbers(c) == ref[(c.tau_s, c.dead_time_s)], (inp.now_s, c)

    _run(law, truth, profile, check)
    assert len(ticks) > 2000  # the whole session was compared


def test_settled_candidates_are_dropped_and_the_active_and_a_carried_one_kept() -> None:
    truth, profile = cohort(1, 11)[0]
    day1 = AdaptiveController(profile.hr_max, profile.hr_rest)
    _run(day1, truth, profile)
    grid = len(TAU_GRID_S) * len(DEAD_TIME_GRID_S)
    assert len(day1._cands) < grid / 2  # most of the grid settled far behind
    assert day1._cands[day1._active].tau_s == day1.model.tau_s

    carried = day1.response_model()
    day2 = AdaptiveController(profile.hr_max, profile.hr_rest, carried=carried)
    seen = []
    _run(day2, replace(truth, seed=truth.seed + 1), profile,
         lambda law, inp: seen.append(len(law._cands)))
    assert seen[0] == grid + 1 and seen[-1] < grid / 2
    last = day2._cands[-1]  # the carried candidate stays, and stays last (the judge's index)
    assert (last.tau_s, last.dead_time_s) == (carried.tau_s, carried.dead_time_s)


def _solve_plain(m: list[list[float]], rhs: list[float]) -> list[float]:
    """h26model's elimination as it was written (max with a key, sum of a generator)."""
    n = len(rhs)
    a = [[*row, r] for row, r in zip(m, rhs, strict=True)]
    for i in range(n):
        p = max(range(i, n), key=lambda r: abs(a[r][i]))
        a[i], a[p] = a[p], a[i]
        piv = a[i][i]
        for r in range(i + 1, n):
            f = a[r][i] / piv
            if f:
                row_r, row_i = a[r], a[i]
                for c in range(i, n + 1):
                    row_r[c] -= f * row_i[c]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (a[i][n] - sum(a[i][c] * x[c] for c in range(i + 1, n))) / a[i][i]
    return x


def test_solve5_gives_the_plain_eliminations_numbers_to_the_last_bit() -> None:
    rng = random.Random(23)
    for t in range(20000):
        m = [[rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-3, 4) for _ in range(5)]
             for _ in range(5)]
        if t % 3 == 0:  # equal pivot candidates (the first one wins) and an exact zero
            m[1][0], m[2][0], m[3][1] = m[0][0], -m[0][0], 0.0
        rhs = [rng.uniform(-100.0, 100.0) for _ in range(5)]
        want = _solve_plain([r[:] for r in m], rhs[:])
        got = _solve5([r[:] for r in m], rhs[:])
        assert [v.hex() for v in got] == [v.hex() for v in want], (m, rhs)


def _fit_plain(c, sums, a0, k0, prior, pa, pk):  # type: ignore[no-untyped-def]
    """``_Basis.fit`` as it was written before issue 23's written-out solve: the reference."""
    s0, sy, syy = sums
    g = c.fast
    f0, wf0, wr0 = prior
    b0 = (f0 * k0, f0 * k0 * wf0, (1.0 - f0) * k0, (1.0 - f0) * k0 * wr0)
    pw = (pk, control.STRUCTURE_PRIOR_FAST_TAU * pk, pk, control.STRUCTURE_PRIOR_OFF * pk)
    m = [[s0 + pa, g.m1, g.m2, c.m3, c.m4],
         [g.m1, g.m11 + pw[0], g.m12, c.m13, c.m14],
         [g.m2, g.m12, g.m22 + pw[1], c.m23, c.m24],
         [c.m3, c.m13, c.m23, c.m33 + pw[2], c.m34],
         [c.m4, c.m14, c.m24, c.m34, c.m44 + pw[3]]]
    rhs = [sy + pa * a0, g.v1 + pw[0] * b0[0], g.v2 + pw[1] * b0[1],
           c.v3 + pw[2] * b0[2], c.v4 + pw[3] * b0[3]]
    b1, b2, b3, b4 = _solve_plain(m, rhs)[1:]
    k = min(max(b1 + b3, 0.3 * k0), 3.0 * k0)
    f = min(max(b1 / (b1 + b3), 0.0), control.FAST_FRAC_MAX) if b1 + b3 > 1e-9 else f0
    wf = min(max(b2 / b1, 0.0), 1.0) if b1 > 1e-3 * k0 else wf0
    wr = min(max(b4 / b3, 0.0), 1.0) if b3 > 1e-3 * k0 else wr0
    b1, b3 = f * k, (1.0 - f) * k
    b2, b4 = b1 * wf, b3 * wr
    mb = (g.m1 * b1 + g.m2 * b2 + c.m3 * b3 + c.m4 * b4)
    a = (sy + pa * a0 - mb) / (s0 + pa)
    quad = (b1 * b1 * g.m11 + b2 * b2 * g.m22 + b3 * b3 * c.m33
            + b4 * b4 * c.m44 + 2.0 * (b1 * b2 * g.m12 + b1 * b3 * c.m13
                                       + b1 * b4 * c.m14 + b2 * b3 * c.m23
                                       + b2 * b4 * c.m24 + b3 * b4 * c.m34))
    by = g.v1 * b1 + g.v2 * b2 + c.v3 * b3 + c.v4 * b4
    sse = syy + a * a * s0 + quad + 2.0 * a * mb - 2.0 * a * sy - 2.0 * by
    return (a, k, max(sse, 0.0) / max(s0, 1e-9), f, wf, wr)


def test_fit_gives_the_plain_fits_numbers_to_the_last_bit() -> None:
    # random sums (rows swapped, the gain and the blends clipped at both ends, the
    # fall-backs taken) and every candidate's fit at every refit of a real session
    rng = random.Random(2323)
    law = AdaptiveController(180.0, 70.0)
    cands = law._cands
    hexes = lambda fit: [float(v).hex() for v in fit]  # noqa: E731
    for _ in range(300):
        for c in cands:
            for n in ("m3", "m4", "m13", "m14", "m23", "m24", "m33", "m34", "m44", "v3", "v4"):
                setattr(c, n, rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-2, 4))
            for n in ("m1", "m2", "m11", "m12", "m22", "v1", "v2"):
                setattr(c.fast, n, rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-2, 4))
        sums = (rng.uniform(0.0, 900.0), rng.uniform(-1e5, 1e5), rng.uniform(0.0, 1e7))
        prior = (rng.uniform(0.0, 0.4), rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0))
        args = (sums, rng.uniform(50.0, 90.0), rng.uniform(0.1, 5.0), prior,
                rng.choice((0.0, 30.0)), rng.choice((0.0, 1500.0, 20000.0)))
        for c in cands:
            assert hexes(c.fit(*args)) == hexes(_fit_plain(c, *args))
    truth, profile = cohort(2, 7)[1]
    compared = []

    def check(law: AdaptiveController, inp: ControlInput) -> None:
        if law._refit_s == inp.now_s + 10.0:  # refitted on this tick: the sums it saw
            args = ((law._s0, law._sy, law._syy), law._offset_prior(), law._k0, law._prior,
                    30.0, law._pk)
            for c in law._cands:
                assert hexes(c.fit(*args)) == hexes(_fit_plain(c, *args)), inp.now_s
            compared.append(inp.now_s)

    _run(AdaptiveController(profile.hr_max, profile.hr_rest), truth, profile, check)
    assert len(compared) > 100


@pytest.mark.parametrize("prune_after_s", [600.0, 120.0])
def test_nothing_is_dropped_before_the_evidence_nor_while_a_carried_model_is_judged(
        prune_after_s: float, monkeypatch: pytest.MonkeyPatch) -> None:
    # at 120 s a carried model is still judged when the evidence is in: the judge's rule
    # alone must keep the grid whole until it is kept (or dropped)
    monkeypatch.setattr(control, "PRUNE_AFTER_S", prune_after_s)
    truth, profile = cohort(1, 11)[0]
    grid = len(TAU_GRID_S) * len(DEAD_TIME_GRID_S)
    for carried in (False, True):
        law = AdaptiveController(profile.hr_max, profile.hr_rest)
        if carried:
            day1 = AdaptiveController(profile.hr_max, profile.hr_rest)
            _run(day1, truth, profile)
            law = AdaptiveController(profile.hr_max, profile.hr_rest,
                                     carried=day1.response_model())
        full = grid + carried
        states = []
        judged_with_evidence = []

        def check(law: AdaptiveController, inp: ControlInput, full: int = full,
                  states: list[str] = states, judged: list[float] = judged_with_evidence
                  ) -> None:
            if law._evidence_weight_s < prune_after_s or law.carried_state == "trusted":
                assert len(law._cands) == full, (inp.now_s, law.carried_state)
            if law._evidence_weight_s >= prune_after_s + 60.0 and \
                    law.carried_state == "trusted":
                judged.append(inp.now_s)
            states.append(law.carried_state)

        _run(law, replace(truth, seed=truth.seed + 1), profile, check)
        assert len(law._cands) < full  # it did prune, later
        if carried:
            assert "trusted" in states and states[-1] == "kept"
            if prune_after_s < 600.0:  # the judge's rule was what kept the grid whole
                assert judged_with_evidence
