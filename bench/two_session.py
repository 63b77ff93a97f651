"""Two sessions of the same patient: day 1 cold, day 2 from day 1's learned response.

    ./run bench --two-session [--cohort main|tail|twocomp|alt] [--patients N] [--by-category]

Day 2 is the same patient a few days later: resting heart rate ±3 bpm, fitness (VO2max)
±3 %, new heart-rate variability and strap noise; the profile is the register's, unchanged,
plus day 1's ``Session.response_model()``. Rows:

* ``day 1 ours (cold)`` — today's first session;
* ``day 2 ours (carried)`` — the next session, started from day 1's model;
* ``day 2 ours (cold)`` — the same day-2 patient without it (what the carried model buys);
* ``day 2 oracle`` — our law handed the day-2 patient's true response (the yardstick).
"""

from __future__ import annotations

import copy
import math
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from bench.alt_patient import AltPatient, slow_belt
from bench.baselines import oracle
from bench.twocomp_patient import TwoCompPatient
from controller.core.control import AdaptiveController
from controller.core.metrics import IntervalMetrics, interval_metrics
from controller.protocol import PatientProfile, Session
from controller.sim import PatientParams, VirtualPatient, simulate

ROWS = ("day 1 ours (cold)", "day 2 ours (carried)", "day 2 ours (cold)", "day 2 oracle")


def perturbed(truth: object, rng: random.Random, seed: int) -> object:
    """The same patient a few days later (resting HR ±3 bpm, fitness ±3 %, new noise)."""
    if isinstance(truth, PatientParams):
        return replace(truth, hr_rest_bpm=truth.hr_rest_bpm + rng.uniform(-3, 3),
                       vo2max=truth.vo2max * (1 + rng.uniform(-0.03, 0.03)), seed=seed)
    if isinstance(truth, TwoCompPatient):
        return truth.perturbed(rng, seed)
    assert isinstance(truth, AltPatient)
    d = {k: v for k, v in truth.__dict__.items() if not k.startswith("_")}
    d.pop("true_hr_bpm")
    d.update(hr_rest=truth.hr_rest + rng.uniform(-3, 3),
             vo2max=truth.vo2max * (1 + rng.uniform(-0.03, 0.03)), seed=seed)
    return AltPatient(**d)


def _run(truth: object, profile: PatientProfile, law: object | None
         ) -> tuple[list[IntervalMetrics], Session]:
    if isinstance(truth, PatientParams):
        patient: object = VirtualPatient(truth)
    else:  # a fresh copy each run: these patients keep their state (and noise) in themselves
        patient = copy.deepcopy(truth)
    belt = slow_belt() if isinstance(truth, AltPatient) else None
    session = Session(profile, control=law)  # type: ignore[arg-type]
    trace = simulate(patient, profile, session=session, belt=belt)  # type: ignore[arg-type]
    return interval_metrics(trace.scored_rows(), profile.hr_max), session


def _oracle(truth: object) -> AdaptiveController:
    if isinstance(truth, PatientParams):
        return oracle(truth)
    from bench.closed_loop import other_oracle
    return other_oracle(truth)  # type: ignore[arg-type]


def one_patient(args: tuple[int, object, PatientProfile, int]
                ) -> tuple[str, dict[str, list[IntervalMetrics]], str]:
    k, truth, profile, seed = args
    rng = random.Random(f"fourbyfour-day2-{seed}-{k}")
    day2 = perturbed(truth, rng, 11_000_000 + seed * 1000 + k)
    out: dict[str, list[IntervalMetrics]] = {}
    out[ROWS[0]], s1 = _run(truth, profile, None)
    doc = s1.response_model()
    p2 = replace(profile, response_model=doc)
    out[ROWS[1]], s2 = _run(day2, p2, None)
    out[ROWS[2]], _ = _run(day2, profile, None)
    out[ROWS[3]], _ = _run(day2, profile, _oracle(day2))
    category = str(getattr(truth, "category", "?"))
    return category, out, s2.carried_model_state


def _summ(ms: list[IntervalMetrics]) -> dict[str, float]:
    from bench.closed_loop import summarise
    return summarise(ms)


def run_two_sessions(people: list, cohort_name: str, seed: int, jobs: int,
                     by_category: bool = False) -> int:
    from bench.closed_loop import _fmt_t
    work = [(k, t, p, seed) for k, (t, p) in enumerate(people)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        done = list(ex.map(one_patient, work, chunksize=4))
    wall = time.perf_counter() - t0
    per: dict[str, list[IntervalMetrics]] = {r: [] for r in ROWS}
    per_cat: dict[tuple[str, str], list[IntervalMetrics]] = {}
    states: dict[str, int] = {}
    for cat, out, state in done:
        states[state] = states.get(state, 0) + 1
        for r, ms in out.items():
            per[r].extend(ms)
            per_cat.setdefault((r, cat), []).extend(ms)
    oracle_ok = _summ(per[ROWS[3]])["ok"]
    print(f"{len(people)} virtual patients ({cohort_name} cohort, seed {seed}), two sessions: "
          f"day 1 cold, day 2 (rest ±3 bpm, fitness ±3 %) from day 1's model; "
          f"{4 * len(people)} sessions in {wall:.0f} s")
    print("carried model on day 2: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    head = (f"{'run':24s} {'ok':>6s} {'/oracle':>7s} {'ttz1 med':>8s} {'p90':>5s} "
            f"{'ttz2-4 med':>10s} {'p90':>5s} {'in zone':>7s} {'>95 %':>6s} {'RMS bpm':>7s}")
    print(head)
    print("-" * len(head))
    for r in ROWS:
        s = _summ(per[r])
        print(f"{r:24s} {s['ok'] * 100:5.1f}% {s['ok'] / oracle_ok:7.2f} "
              f"{_fmt_t(s['ttz1_med']):>8s} {_fmt_t(s['ttz1_p90']):>5s} "
              f"{_fmt_t(s['ttz_med']):>10s} {_fmt_t(s['ttz_p90']):>5s} "
              f"{s['in_zone'] * 100:6.1f}% {s['above'] * 100:5.2f}% {s['rms']:7.2f}")
    if by_category:
        cats = sorted({c for _, c in per_cat})
        print("\nintervals ok by category")
        print(f"{'category':22s} " + " ".join(f"{r[:14]:>14s}" for r in ROWS))
        for cat in cats:
            cells = []
            for r in ROWS:
                ms = per_cat.get((r, cat), [])
                v = sum(m.ok for m in ms) / len(ms) * 100 if ms else math.nan
                cells.append(f"{v:13.0f}%")
            print(f"{cat:22s} " + " ".join(cells))
    return 0
