"""Closed-loop benchmark: our controller against today's products and an oracle.

    python -m bench.closed_loop [--patients 240] [--seed 2026] [--jobs 2]
                                [--cohort main|alt|tail|twocomp] [--two-session]
    python -m bench.closed_loop --detector ant|ble [--halving-s 20] --only ours

``--detector`` feeds the session as a strap does (ANT+ pages with beat count and time at 4 Hz,
or BLE notifications with RR intervals at 1 Hz; ``bench.detector``) and, with ``--halving-s``,
makes the strap's detector miss every other beat for that long in interval 2 (issue 22); it
also counts the fail-safe events the sessions raised.

Every controller drives the same seeded cohort (``controller.sim.cohort``) through the
clinic 4x4 inside the same ``Session``; the table scores the four intervals of every
session against the true (noise- and artefact-free) heart rate.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from bench.alt_patient import AltPatient, alt_cohort, alt_oracle_model, slow_belt
from bench.baselines import DeadBandStepper, FixedPlan, GainScheduledStepper, oracle
from bench.tail_cohort import tail_cohort
from bench.twocomp_patient import TwoCompPatient, twocomp_cohort
from controller.core.control import AdaptiveController, ModelParams
from controller.core.metrics import (
    ALLOWANCE_FIRST_S,
    ALLOWANCE_LATER_S,
    IntervalMetrics,
    interval_metrics,
)
from controller.protocol import PatientProfile, Session
from controller.sim import PatientParams, VirtualPatient, cohort, simulate

CONTROLLERS: dict[str, Callable[[PatientParams, PatientProfile], object]] = {
    "ours (adaptive predictive)": lambda truth, prof: _ours(prof),
    "oracle (true parameters)": lambda truth, prof: oracle(truth),
    "dead-band stepper": lambda truth, prof: DeadBandStepper(),
    "gain-scheduled stepper": lambda truth, prof: GainScheduledStepper(),
    "fixed plan": lambda truth, prof: FixedPlan(prof.hr_max, prof.hr_rest or 75.0),
}


def _ours(prof: PatientProfile) -> object:
    return AdaptiveController(prof.hr_max, prof.hr_rest)


def run_one(args: tuple
            ) -> tuple[str, str, list[IntervalMetrics]] | tuple[str, str, list[IntervalMetrics],
                                                              list[str]]:
    name, truth, profile, dt_s, *strap = args
    if isinstance(truth, AltPatient | TwoCompPatient):
        if name.startswith("oracle"):
            law: object = other_oracle(truth)
        else:
            law = CONTROLLERS[name](_as_params(truth), profile)
        patient: object = truth
        belt = slow_belt() if isinstance(truth, AltPatient) else None
        category = truth.category
    else:
        assert isinstance(truth, PatientParams)
        law = CONTROLLERS[name](truth, profile)
        patient, belt, category = VirtualPatient(truth), None, truth.category
    session = Session(profile, control=law)  # type: ignore[arg-type]
    if strap and strap[0]:
        from bench.detector import StrapStream
        stream = StrapStream(session, patient, radio=strap[0], halving_s=strap[1])
        trace = simulate(patient, profile, session=stream, dt_s=dt_s, belt=belt)  # type: ignore[arg-type]
        return name, category, interval_metrics(trace.scored_rows(), profile.hr_max), \
            [k for _, k, _ in trace.events]
    trace = simulate(patient, profile, session=session, dt_s=dt_s, belt=belt)  # type: ignore[arg-type]
    return name, category, interval_metrics(trace.scored_rows(), profile.hr_max)


FAILSAFE_EVENTS = ("strap_missing_beats", "hr_hold", "hr_lost", "hr_lost_stop",
                   "hrmax_underestimated", "hr_above_max", "belt_stopped")


def other_oracle(truth: AltPatient | TwoCompPatient) -> AdaptiveController:
    """Our law handed the best description of another family's patient (no learning)."""
    model = alt_oracle_model(truth) if isinstance(truth, AltPatient) else truth.oracle_model()
    return AdaptiveController(truth.hr_max, truth.hr_rest, fixed_model=ModelParams(*model),
                              overdrive=4.0, aggressiveness=6.0)


def _as_params(alt: AltPatient | TwoCompPatient) -> PatientParams:
    """Only what the baselines may read (they use the profile, never the truth)."""
    return PatientParams(hr_rest_bpm=alt.hr_rest, hr_max_bpm=alt.hr_max)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _fmt_t(v: float) -> str:
    return ">240" if math.isinf(v) else f"{v:.0f}"


def summarise(results: list[IntervalMetrics]) -> dict[str, float]:
    first = [m.time_to_zone_s if m.time_to_zone_s is not None else math.inf
             for m in results if m.interval == 1]
    later = [m.time_to_zone_s if m.time_to_zone_s is not None else math.inf
             for m in results if m.interval > 1]
    rms = [m.rms_to_90_bpm for m in results if not math.isnan(m.rms_to_90_bpm)]
    return {
        "ok": sum(m.ok for m in results) / len(results),
        "ttz1_med": _pct(first, 0.5), "ttz1_p90": _pct(first, 0.9),
        "ttz_med": _pct(later, 0.5), "ttz_p90": _pct(later, 0.9),
        "in_zone": statistics.fmean(m.in_zone_after_allowance for m in results),
        "above": statistics.fmean(m.above_95_frac for m in results),
        "rms": statistics.median(rms) if rms else math.nan,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=240)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="controller names to run")
    ap.add_argument("--by-category", action="store_true")
    ap.add_argument("--cohort", choices=["main", "alt", "tail", "twocomp"], default="main",
                    help="main: controller.sim's cohort; alt: a differently built patient "
                    "model and a slower belt, for robustness; tail: the alt model in the "
                    "hard tail of the published ranges, with a wrong HRmax in the profile; "
                    "twocomp: a third family (vagal + sympathetic compartments), never tuned on")
    ap.add_argument("--two-session", action="store_true",
                    help="day 1 cold, day 2 from day 1's learned response (bench.two_session)")
    ap.add_argument("--dt", type=float, default=1.0, help="tick length in s (1 = 1 Hz)")
    ap.add_argument("--no-hr-rest", action="store_true",
                    help="profiles without a resting heart rate (it is optional)")
    ap.add_argument("--hrmax-error", type=float, default=0.0,
                    help="bpm added to every profile's HRmax (e.g. -10: underestimated)")
    ap.add_argument("--detector", choices=["ant", "ble"], default=None,
                    help="feed the session as an ANT+ or BLE strap does (bench.detector)")
    ap.add_argument("--halving-s", type=float, default=0.0,
                    help="with --detector: seconds of a detector missing every other beat, "
                    "60 s into interval 2")
    a = ap.parse_args(argv)
    make = {"main": cohort, "alt": alt_cohort, "tail": tail_cohort,
            "twocomp": twocomp_cohort}[a.cohort]
    if a.two_session:
        from bench.two_session import run_two_sessions
        return run_two_sessions(make(a.patients, a.seed), a.cohort, a.seed, a.jobs,
                                a.by_category)
    people: list = make(a.patients, a.seed)
    names = [n for n in CONTROLLERS if not a.only or any(o in n for o in a.only)]
    if a.no_hr_rest or a.hrmax_error:
        people = [(t, replace(p, hr_rest=None if a.no_hr_rest else p.hr_rest,
                              hr_max=p.hr_max + a.hrmax_error)) for t, p in people]
    work: list[tuple] = [(n, t, p, a.dt) for n in names for t, p in people]
    if a.detector:
        work = [(*w, a.detector, a.halving_s) for w in work]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        done = list(ex.map(run_one, work, chunksize=8))
    wall = time.perf_counter() - t0
    per: dict[str, list[IntervalMetrics]] = {n: [] for n in names}
    per_cat: dict[tuple[str, str], list[IntervalMetrics]] = {}
    failsafes: dict[str, dict[str, int]] = {n: {} for n in names}
    for name, cat, ms, *ev in done:
        for k in (ev[0] if ev else []):
            if k in FAILSAFE_EVENTS:
                failsafes[name][k] = failsafes[name].get(k, 0) + 1
        per[name].extend(ms)
        per_cat.setdefault((name, cat), []).extend(ms)
    oracle_ok = summarise(per["oracle (true parameters)"])["ok"] if \
        "oracle (true parameters)" in per else math.nan
    t1 = time.perf_counter()
    truth0, prof0 = cohort(1, a.seed)[0]
    simulate(VirtualPatient(truth0), prof0)
    one_s = time.perf_counter() - t1
    print(f"one 40-minute session simulates in {one_s:.2f} s (1 Hz, our controller)")
    print(f"{a.patients} virtual patients ({a.cohort} cohort, seed {a.seed}), clinic 4x4, "
          f"{len(work)} sessions in {wall:.0f} s")
    print(f"time to zone in s (allowance {ALLOWANCE_FIRST_S:.0f} s first, "
          f"{ALLOWANCE_LATER_S:.0f} s later); in-zone after the allowance; RMS to 90 % HRmax")
    head = (f"{'controller':28s} {'ok':>6s} {'/oracle':>7s} {'ttz1 med':>8s} {'p90':>5s} "
            f"{'ttz2-4 med':>10s} {'p90':>5s} {'in zone':>7s} {'>95 %':>6s} {'RMS bpm':>7s}")
    print(head)
    print("-" * len(head))
    for name in names:
        s = summarise(per[name])
        print(f"{name:28s} {s['ok'] * 100:5.1f}% {s['ok'] / oracle_ok:7.2f} "
              f"{_fmt_t(s['ttz1_med']):>8s} {_fmt_t(s['ttz1_p90']):>5s} "
              f"{_fmt_t(s['ttz_med']):>10s} {_fmt_t(s['ttz_p90']):>5s} "
              f"{s['in_zone'] * 100:6.1f}% {s['above'] * 100:5.2f}% {s['rms']:7.2f}")
    if a.detector:
        print(f"\nstrap: {a.detector}, detector halving {a.halving_s:g} s in interval 2; "
              "fail-safe events raised (all sessions):")
        for name in names:
            fs = failsafes[name]
            print(f"{name:28s} " + (", ".join(f"{k} {fs[k]}" for k in FAILSAFE_EVENTS if k in fs)
                                    or "none"))
    if a.by_category:
        cats = sorted({c for _, c in per_cat})
        print("\nintervals ok by category")
        print(f"{'category':18s} " + " ".join(f"{n[:12]:>12s}" for n in names))
        for cat in cats:
            cells = []
            for n in names:
                ms = per_cat.get((n, cat), [])
                cells.append(f"{(sum(m.ok for m in ms) / len(ms) * 100 if ms else 0):11.0f}%")
            print(f"{cat:18s} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
