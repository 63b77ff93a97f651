"""Maximum heart rate: where it comes from, and the 6-minute field test's estimate.

The training zone is a fraction of HRmax, so a wrong HRmax puts the patient in the wrong
zone. The clinic must see the source of the number and be able to correct it: every profile
records ``hr_max_source``, and a heart rate seen above the configured max is flagged by the
session as evidence that the max is underestimated.

Age formulas (published SD ≈ 11 bpm, so they are starting points, not truths):
- Tanaka 2001: 208 − 0.7·age
- Nes 2013 (HUNT, n = 3320): 211 − 0.64·age
- Keteyian 2012, for patients on beta-blockers: 119 + 0.5·HRrest − 0.5·age (SEE 18)

The 6-minute test (Bergen's outpatient practice): the patient walks or runs 6 minutes at a
pace staff choose so that it is *hard but sustainable*; staff ask the Borg rating (6–20) at
the end. Our estimate:

    HRmax ≈ HR_end / f(RPE),  f(RPE) = 0.50 + (RPE − 6)/28

(RPE 13 → 75 %, 15 → 82 %, 17 → 89 % of HRmax; ACSM places RPE 14–17 at 77–95 % HRmax).
HR_end is the mean of the last 60 s, when heart rate has reached its plateau. The estimate
is never below the peak seen + 5 bpm (a heart rate cannot exceed its max) and is only a
*proposal*: staff confirm it, and the profile then records ``six_minute_test``. Without an
RPE, the age formula is proposed with the same floor. The method is crude (RPE is
subjective, SEE of the RPE–%HRmax relation ≈ 7–10 %), which is why the session keeps
watching for heart rates above the max and flags them.

What the method can support (issue 21): the RPE–%HRmax relation holds for a test that was
at least *light* (Borg ≥ ``RPE_USABLE_MIN`` = 11): at 6–10 heart rate is dominated by rest,
nerves and medication, and dividing by 50–64 % turned 150 bpm into 280–300 bpm. A rating below
11 proposes nothing from the test (the age formula when the age is known). An estimate outside
``PLAUSIBLE_HRMAX_BPM`` (120–220 bpm, ≈ 2.5 SD around the age formulas of adults) says the
rating and the heart rate do not fit, and is refused rather than proposed. A proposal far from
the HRmax in use (``LARGE_CHANGE_BPM``) is shown with a warning, and staff confirm it twice.

An interrupted test (the session ended in the test phase: Stop, an e-stop, a fault, a lost
heart rate; or staff skipped the test part on to the cool-down) proposes nothing (issue 21):
the method rests on six minutes at a load the patient holds and on the last minute's
plateau, and a test cut short has neither (its last minute may be the slow-down, its heart
rate still rising). Staff may still type the HRmax they judge
right. ``interrupted_test_s`` tells such a test from its recorded ticks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.core.i18n import N_

RPE_USABLE_MIN = 11
"""The lowest Borg rating the RPE–%HRmax relation is used from ("light")."""
PLAUSIBLE_HRMAX_BPM = (120.0, 220.0)
"""An estimate outside this range is not proposed: the rating and the heart rate disagree."""
LARGE_CHANGE_BPM = 10.0
"""A proposal this far from the HRmax in use moves the zone by about half its width."""
AGE_PLAUSIBLE_ABOVE_BPM = 30
"""How far above the age formula's HRmax (Tanaka) a makspuls may lie before staff are asked
to confirm it: some three standard deviations of the formula's error (about 10 bpm), where a
typing slip is likelier than the patient, and a zone of 85–95 % of it asks for loads the
heart cannot give (trial 14: 230 stored for a 45-year-old). Below the formula nothing is
asked: beta blockers lower it, and a low makspuls errs on the safe side."""


class HrMaxSource(StrEnum):
    MEASURED = "measured"
    TANAKA = "tanaka"
    NES = "nes"
    KETEYIAN = "keteyian"
    SIX_MINUTE_TEST = "six_minute_test"
    SIX_MINUTE_TEST_EDITED = "six_minute_test_edited"
    """Staff edited the 6-minute test's proposal: their number, never the formula's."""
    OBSERVED_PEAK = "observed_peak"
    STAFF_ENTERED = "staff_entered"
    """Staff's own number with no test, formula or lab behind it: e.g. typed after an
    interrupted 6-minute test, which proposes nothing to edit (issue 21: it was stored as
    the test's, edited, and the FHIR export said the test had made it)."""


def _check_age(age_years: float) -> None:
    if not 10 <= age_years <= 100:
        raise ValueError(f"age_years must be 10–100, got {age_years!r}")


def hr_max_tanaka(age_years: float) -> float:
    """Tanaka et al. 2001: 208 − 0.7·age."""
    _check_age(age_years)
    return 208.0 - 0.7 * age_years


def above_age(hr_max_bpm: float, age_years: float | None) -> int | None:
    """The age formula's HRmax (Tanaka, rounded) when ``hr_max_bpm`` lies more than
    ``AGE_PLAUSIBLE_ABOVE_BPM`` above it: staff confirm such a value before it is stored.
    None without an age (or one outside the formulas' range), or within the bound."""
    if age_years is None or not 10 <= age_years <= 100:
        return None
    expected = hr_max_tanaka(age_years)
    return round(expected) if hr_max_bpm - expected > AGE_PLAUSIBLE_ABOVE_BPM else None


def hr_max_nes(age_years: float) -> float:
    """Nes et al. 2013 (HUNT fitness study): 211 − 0.64·age."""
    _check_age(age_years)
    return 211.0 - 0.64 * age_years


def hr_max_keteyian(age_years: float, hr_rest_bpm: float) -> float:
    """Keteyian et al. 2012, for patients taking beta-blockers: 119 + 0.5·HRrest − 0.5·age."""
    _check_age(age_years)
    if not 30 <= hr_rest_bpm <= 130:
        raise ValueError(f"hr_rest_bpm must be 30–130, got {hr_rest_bpm!r}")
    return 119.0 + 0.5 * hr_rest_bpm - 0.5 * age_years


AGE_FORMULAS = ("tanaka", "nes", "keteyian")
"""The sources whose HRmax is a function of the age (Keteyian's of HRrest too)."""
AGE_WARNING = N_("Warning: {typed} bpm is {over} bpm above the usual HRmax at {age} years "
                 "({bpm} bpm by the age formula). Check it: a zone from it may ask more "
                 "than the heart can give.")
"""Said of a makspuls far above the patient's age (``above_age``) before it is stored, by the
patient form and the 6-minute test's proposal box alike (``age_warning``)."""


def age_warning(hr_max_bpm: float, age_years: float | None) -> str:
    """``AGE_WARNING`` in the UI's language for a makspuls far above the patient's age
    (``above_age``); "" when it is not (or there is no age)."""
    from controller.core.i18n import _, format_number

    bpm = above_age(hr_max_bpm, age_years)
    if bpm is None or age_years is None:
        return ""
    return _(AGE_WARNING).format(typed=format_number(hr_max_bpm, 0),
                                 over=format_number(hr_max_bpm - bpm, 0),
                                 age=format_number(age_years, 0), bpm=format_number(bpm, 0))
FORMULA_CONFLICT = N_("HRmax {typed} bpm is not the age formula's {bpm} bpm: type {bpm}, or "
                      "choose another source")
"""The one refusal of an HRmax that is not its age formula's value, said by the patient
form and the command line alike (issue 21: the CLI stored 165 as Nes at 60, which the form
then refused to save: 173)."""


def formula_bpm(source: str, age_years: float | None,
                hr_rest_bpm: float | None = None) -> float | None:
    """The age formula's HRmax in whole bpm, as a register value must read with ``source``;
    None when ``source`` is no age formula or the age (Keteyian: HRrest) is missing or out
    of range: then there is nothing to hold the HRmax to (the range is refused elsewhere)."""
    if source not in AGE_FORMULAS or age_years is None:
        return None
    try:
        if source == "keteyian":
            if hr_rest_bpm is None:
                return None
            bpm = hr_max_keteyian(age_years, hr_rest_bpm)
        else:
            bpm = (hr_max_tanaka if source == "tanaka" else hr_max_nes)(age_years)
    except ValueError:
        return None
    return float(f"{bpm:.0f}")


def formula_conflict_bpm(hr_max_bpm: float, source: str, age_years: float | None,
                         hr_rest_bpm: float | None = None) -> float | None:
    """The age formula's HRmax when ``hr_max_bpm`` with ``source`` is not it (the one rule
    the CLI and the control service refuse with ``FORMULA_CONFLICT``), else None.

    >>> formula_conflict_bpm(165, "nes", 60), formula_conflict_bpm(173, "nes", 60)
    (173.0, None)
    """
    bpm = formula_bpm(source, age_years, hr_rest_bpm)
    return bpm if bpm is not None and float(hr_max_bpm) != bpm else None


def rpe_to_hrmax_fraction(rpe: float) -> float:
    """Fraction of HRmax a steady Borg rating (6–20) corresponds to, linear 50 %→100 %."""
    if not 6 <= rpe <= 20:
        raise ValueError(f"Borg RPE must be 6–20, got {rpe!r}")
    return 0.50 + (rpe - 6.0) / 28.0


@dataclass(frozen=True)
class HrMaxEstimate:
    """A proposed HRmax with the reasoning staff need to accept or reject it."""

    hr_max_bpm: float
    source: HrMaxSource
    explanation: str
    uncertainty_bpm: float = 0.0
    """About one standard error: ≈ 8 % of the estimate for the Borg relation (its SEE is
    7–10 %), 11 bpm for an age formula."""
    method: str = ""
    hr_end_bpm: float | None = None
    """The mean heart rate of the test's last minute (what the Borg relation divides)."""
    floored: bool = False
    """Raised to the peak seen + 5 bpm."""


def estimate_from_six_minute_test(
    hr_trace_bpm: list[float | None],
    *,
    rpe: float | None = None,
    age_years: float | None = None,
    sample_period_s: float = 1.0,
) -> HrMaxEstimate:
    """Propose an HRmax from a 6-minute test's heart-rate trace (see module docstring)."""
    valid = [h for h in hr_trace_bpm if h is not None]
    if len(valid) * sample_period_s < 120:
        raise ValueError("the 6-minute test has less than 2 minutes of valid heart rate")
    n_end = max(1, round(60.0 / sample_period_s))
    tail = [h for h in hr_trace_bpm[-n_end:] if h is not None]
    if len(tail) < n_end // 2:
        raise ValueError("the last minute of the 6-minute test has too few valid readings")
    hr_end = sum(tail) / len(tail)
    peak = max(valid)
    floor = peak + 5.0
    if rpe is not None:
        rpe_to_hrmax_fraction(rpe)  # 6–20, or ValueError
    if rpe is not None and rpe < RPE_USABLE_MIN and age_years is None:
        raise ValueError(f"Borg {rpe:g} is below {RPE_USABLE_MIN}: the test was too light "
                         "for the Borg relation to say anything about HRmax")
    if rpe is not None and rpe >= RPE_USABLE_MIN:
        frac = rpe_to_hrmax_fraction(rpe)
        est = hr_end / frac
        why = (
            f"mean HR in the last minute {hr_end:.0f} bpm at Borg {rpe:g} "
            f"(≈{frac * 100:.0f} % HRmax) → {est:.0f} bpm"
        )
        source, method = HrMaxSource.SIX_MINUTE_TEST, "6-minute test: last-minute HR / Borg"
    elif age_years is not None:
        # Without the patient's rating the test says nothing about HRmax: the proposal is
        # the age formula's, and is labelled so, never as the test's.
        est = hr_max_tanaka(age_years)
        why = (f"no Borg rating given; Tanaka age formula → {est:.0f} bpm" if rpe is None else
               f"Borg {rpe:g} is below {RPE_USABLE_MIN} (too light for the Borg relation); "
               f"Tanaka age formula → {est:.0f} bpm")
        source, method = HrMaxSource.TANAKA, "Tanaka age formula (no Borg rating)"
    else:
        raise ValueError("give the Borg rating (rpe) or the patient's age to propose an HRmax")
    floored = est < floor
    if floored:
        why += f"; raised to peak seen + 5 = {floor:.0f} bpm"
        est = floor
    low, high = PLAUSIBLE_HRMAX_BPM
    if not low <= est <= high:
        raise ValueError(f"the estimate {est:.0f} bpm is outside {low:.0f}–{high:.0f} bpm: "
                         f"the heart rate and the Borg rating do not fit")
    uncertainty = round(0.08 * est) if rpe is not None else 11.0
    return HrMaxEstimate(round(est), source, why, float(uncertainty), method, hr_end, floored)


def test_skipped(events: Iterable[Mapping[str, Any]]) -> bool:
    """Staff skipped the test part on to the cool-down (``k``): the six minutes were not
    walked (``events``: the session's, each with its ``params``)."""
    return any(e.get("kind") == "skip" and (e.get("params") or {}).get("phase") == "test"
               for e in events)


def interrupted_test_s(ticks: list[tuple[float, str, str]],
                       test_skipped: bool = False) -> float | None:
    """How long the test phase ran, in seconds, when the session ended in it (no tick of the
    cool-down after it) or staff skipped it on to the cool-down (``test_skipped``: the six
    minutes were not walked either, issue 21); None for a test that ran to its end (a
    skipped warm-up walk leaves the test whole). ``ticks``: (t_s, phase, state) as
    recorded; a pause or the controlled stop does not count as test time."""
    if not test_skipped and any(phase == "cooldown" for _t, phase, _state in ticks):
        return None
    ran_s = 0.0
    for (t_s, phase, state), (t_next, _p, _s) in itertools.pairwise(ticks):
        if phase == "test" and state not in ("paused", "stopping", "done"):
            ran_s += min(max(t_next - t_s, 0.0), 5.0)  # a gap in the record is not time run
    return ran_s
