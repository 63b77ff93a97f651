"""The hard tail of the published ranges: a cohort to test robustness, never to tune on.

Issue 11: on typical patients the controller is at the limit of what a controller can do;
the worst intervals come from patients the published ranges also contain — older, sedentary,
medicated people with slow heart-rate kinetics, a long dead time, strong cardiac drift, large
heart-rate variability, noisy straps, and an HRmax in the profile that is wrong by 6–10 bpm.

Every patient here has *all* of these traits at once, each drawn from ``TAIL_RANGES``, from
its own seed stream (nothing is shared with ``controller.sim.cohort``). Half the patients are
built on our own virtual patient (``controller.sim.VirtualPatient``), half on the
structurally different ``bench.alt_patient.AltPatient`` (concave heart-rate map, sharp
walk–run step, larger gain on rising steps, drift that never recovers, slower belt), so a
controller that only works on one modelling choice shows it. Strap dropouts and artefacts are
in the readings, so they pass through the session's own gate.

The profile's HRmax is wrong by 6–10 bpm, too high for even-numbered patients and too low for
odd ones, as an age formula would be; the category says which model, which error, and
whether the patient may only walk.
"""

from __future__ import annotations

import random

from bench.alt_patient import AltPatient
from controller.core.hrmax import HrMaxSource, hr_max_nes, hr_max_tanaka
from controller.protocol import PatientProfile
from controller.sim import PatientParams

TAIL_RANGES: dict[str, tuple[float, float]] = {
    "tau_on_s": (90.0, 140.0),
    "tau_off_s": (100.0, 150.0),
    "dead_time_s": (10.0, 16.0),
    "drift_bpm_per_min": (1.0, 2.0),
    "hrv_rms_bpm": (3.0, 4.5),
    "dropouts_per_h": (10.0, 60.0),
    "artefacts_per_h": (5.0, 20.0),
    "hr_max_error_bpm": (6.0, 10.0),
}
"""Issue 11's ranges; off-kinetics are drawn no faster than on-kinetics."""


def _caps(rng: random.Random) -> tuple[bool, float, float]:
    walk_only = rng.random() < 0.4
    max_speed = rng.uniform(5.0, 7.0) if walk_only else rng.uniform(7.5, 12.0)
    return walk_only, round(max_speed, 1), round(rng.uniform(8.0, 15.0))


def _tail_sim(rng: random.Random, seed: int) -> tuple[PatientParams, float, float]:
    r = TAIL_RANGES
    age = rng.uniform(35.0, 70.0)
    beta = rng.random() < 0.2
    hr_max = hr_max_tanaka(age) + max(min(rng.gauss(0.0, 9.0), 18.0), -18.0)
    hr_rest = rng.uniform(58.0, 85.0) + (rng.uniform(8.0, 18.0) if rng.random() < 0.25 else 0)
    if beta:
        hr_max, hr_rest = hr_max - 20.0, max(hr_rest - 15.0, 48.0)
    hr_rest = min(hr_rest, hr_max - 50.0)
    tau_on = rng.uniform(*r["tau_on_s"])
    tau_off = rng.uniform(max(r["tau_off_s"][0], tau_on), r["tau_off_s"][1])
    truth = PatientParams(
        age_years=age, hr_rest_bpm=hr_rest, hr_max_bpm=hr_max, vo2max=rng.uniform(16.0, 38.0),
        cost_factor=rng.uniform(1.0, 1.15), fast_frac=rng.uniform(0.10, 0.25),
        tau_fast_s=rng.uniform(5.0, 15.0), tau_slow_s=tau_on, tau_off_ratio=tau_off / tau_on,
        dead_time_s=rng.uniform(*r["dead_time_s"]),
        drift_bpm_per_min=rng.uniform(*r["drift_bpm_per_min"]),
        hrv_rms_bpm=rng.uniform(*r["hrv_rms_bpm"]), hrv_corr_s=rng.uniform(15.0, 60.0),
        dropouts_per_h=rng.uniform(*r["dropouts_per_h"]), dropout_mean_s=rng.uniform(3.0, 8.0),
        artefacts_per_h=rng.uniform(*r["artefacts_per_h"]), beta_blocked=beta, seed=seed,
    )
    return truth, hr_max, hr_rest


def _tail_alt(rng: random.Random, seed: int) -> tuple[AltPatient, float, float]:
    r = TAIL_RANGES
    age = rng.uniform(35.0, 70.0)
    beta = rng.random() < 0.2
    hr_max = hr_max_nes(age) + rng.gauss(0.0, 8.0) - (20.0 if beta else 0.0)
    hr_rest = min(rng.uniform(55.0, 95.0) - (12.0 if beta else 0.0), hr_max - 50.0)
    tau_on = rng.uniform(*r["tau_on_s"])
    pat = AltPatient(
        hr_rest=hr_rest, hr_max=hr_max, vo2max=rng.uniform(16.0, 38.0),
        run_from_kmh=rng.uniform(7.0, 8.0), concavity=rng.uniform(0.3, 1.2),
        tau_s=tau_on, tau_off_s=rng.uniform(max(r["tau_off_s"][0], tau_on), r["tau_off_s"][1]),
        dead_time_s=rng.uniform(*r["dead_time_s"]),
        fo_frac=rng.uniform(0.1, 0.3), tau_fo_s=rng.uniform(5.0, 20.0),
        up_gain=rng.uniform(1.0, 1.25), drift_bpm_per_min=rng.uniform(*r["drift_bpm_per_min"]),
        hrv_rms=rng.uniform(*r["hrv_rms_bpm"]), hrv_corr_s=rng.uniform(15.0, 60.0),
        dropout_per_h=rng.uniform(*r["dropouts_per_h"]), dropout_max_s=rng.uniform(6.0, 16.0),
        artefacts_per_h=rng.uniform(*r["artefacts_per_h"]), spike_frac=0.5, seed=seed,
    )
    return pat, hr_max, hr_rest


def tail_cohort(n: int, seed: int = 2026) -> list[tuple[PatientParams | AltPatient,
                                                         PatientProfile]]:
    """``n`` patients from the hard tail (see the module docstring), reproducible from seed."""
    rng = random.Random(f"fourbyfour-tail-{seed}")
    out: list[tuple[PatientParams | AltPatient, PatientProfile]] = []
    for k in range(n):
        model = "sim" if k % 4 < 2 else "alt"
        high = k % 2 == 0
        pseed = 7_000_000 + seed * 1000 + k
        truth: PatientParams | AltPatient
        if model == "sim":
            truth, hr_max, hr_rest = _tail_sim(rng, pseed)
        else:
            truth, hr_max, hr_rest = _tail_alt(rng, pseed)
        err = rng.uniform(*TAIL_RANGES["hr_max_error_bpm"]) * (1.0 if high else -1.0)
        walk_only, max_speed, max_incline = _caps(rng)
        category = f"{model}/hrmax_{'high' if high else 'low'}" + ("/walk" if walk_only else "")
        if isinstance(truth, AltPatient):
            truth.category = category
        else:
            truth = PatientParams(**{**truth.__dict__, "category": category})
        profile = PatientProfile(
            hr_max=round(hr_max + err), hr_rest=round(hr_rest) if rng.random() < 0.7 else None,
            max_speed_kmh=max_speed, max_incline_pct=max_incline, walk_only=walk_only,
            hr_max_source=HrMaxSource.TANAKA if model == "sim" else HrMaxSource.NES,
        )
        out.append((truth, profile))
    return out
