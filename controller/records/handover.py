"""The hand-over to the municipality: a printable summary (PDF, bokmål by default) for the
patient's follow-up at a healthy life centre or with a training contact.

What it holds, all read from the session store: the period and the sessions attended, what
the patient managed and how it grew (belt speed and incline while the heart held 90 % HRmax,
session by session), HRmax and where it came from, the heart-rate zones to use, and a
suggested 4x4 on an ordinary treadmill — speed and incline for the warm-up, the intervals and
the active pauses, from the last sessions. Staff notes stay out unless staff tick them in
(``include_notes``): the hand-over leaves the clinic.

    fourbyfour handover P-17 --store sessions.db --out P-17-handover.pdf [--notes]

Kept apart from ``report`` (the clinic's own journal reports): it reads the store and writes
one document, nothing else.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.core.control import pause_floor_kmh
from controller.core.dates import local_day
from controller.core.i18n import (
    N_,
    format_date,
    format_number,
    format_percent,
    format_points,
    format_speed,
    translations,
)
from controller.core.metrics import shown_bpm, shown_round
from controller.core.workload import WALK_MAX_KMH, vo2_cost
from controller.records.mastery import ZoneWork
from controller.records.stats import counts_as_okt
from controller.records.store import SessionRecord, Store

LAST_N = 3
TOP, BOTTOM = 0.96, 0.05
"""Where text starts and must end on an A4 page (figure fractions)."""
"""The suggestion is built from this many of the last sessions that held the zone."""
ZONES = (  # (label, low, high) as fractions of HRmax — the clinic's 4x4 (see the README)
    (N_("warm-up and cool-down"), 0.60, 0.72),
    (N_("intervals (4 × 4 min)"), 0.85, 0.95),
    (N_("active pauses (3 min)"), 0.62, 0.77),
)
SOURCES = {"measured": N_("measured (lab test)"), "tanaka": N_("Tanaka age formula"),
           "nes": N_("Nes age formula"), "keteyian": N_("Keteyian (beta-blockers)"),
           "six_minute_test": N_("6-minute test"),
           "six_minute_test_edited": N_("6-minute test, edited"),
           "observed_peak": N_("observed peak"), "staff_entered": N_("set by staff")}


@dataclass(frozen=True)
class SessionLine:
    day: dt.date
    status: str
    at_90: ZoneWork | None
    borg_mean: float | None
    learned: dict[str, float] | None = None
    """Fitness from the session's learned response (issue 26): every session has it."""
    complete: bool = True
    """Its intervals ran (``stats.session_complete``): not skipped through."""
    hr_max_bpm: float | None = None
    """The makspuls the session ran with: its 90 % is the heart rate of ``at_90``."""


@dataclass(frozen=True)
class Suggestion:
    """A 4x4 for an ordinary treadmill: speed (0.1 km/h steps) and incline (0.5 % steps)."""

    warmup: tuple[float, float]
    interval: tuple[float, float]
    pause: tuple[float, float]
    cooldown: tuple[float, float] = (0.0, 0.0)
    """The lightest part of the session: no faster than the warm-up and the pauses, and no
    steeper (``cool_down``; the warm-up is raised to it, ``warm_up``)."""


COOL_DOWN_SPEED_STEP_KMH = 0.5
COOL_DOWN_INCLINE_STEP_PCT = 1.0


def cool_down(warmup: tuple[float, float], pause: tuple[float, float],
              max_speed_kmh: float | None = None) -> tuple[float, float]:
    """The suggested cool-down: a walk, and the lightest part of the session. A step below
    the lighter of the warm-up and the pauses in both speed and incline, so the heart rate
    comes down (the warm-up's belt would hold the patient where the warm-up did), but never
    below the walking floor the session's own pauses keep (``control.PAUSE_WALK_FLOOR_KMH``,
    3 km/t, or the patient's lower speed cap; issue 21: 2,7 km/t was suggested, a shuffle);
    where the floor is above that step, the incline comes down until it is no heavier than
    the lighter part.

    >>> cool_down((4.0, 2.0), (4.5, 5.0)), cool_down((3.2, 1.0), (3.0, 2.0))
    ((3.5, 1.0), (3.0, 0.0))
    >>> cool_down((3.5, 4.0), (3.0, 3.0)), cool_down((2.5, 1.0), (2.5, 0.5), 2.5)
    ((3.0, 2.0), (2.5, 0.0))
    """
    floor = pause_floor_kmh(max_speed_kmh if max_speed_kmh is not None else math.inf, 0.0)
    lightest = min(vo2_cost(*warmup), vo2_cost(*pause))
    speed = max(floor, min(warmup[0], pause[0]) - COOL_DOWN_SPEED_STEP_KMH)
    incline = max(0.0, round(2 * (min(warmup[1], pause[1]) - COOL_DOWN_INCLINE_STEP_PCT)) / 2)
    while incline > 0.0 and vo2_cost(speed, incline) > lightest:
        incline = max(0.0, incline - 0.5)
    return _round((speed, incline))


@dataclass(frozen=True)
class Handover:
    pseudonym: str
    first_day: dt.date
    last_day: dt.date
    sessions: list[SessionLine]
    hr_max_bpm: float
    hr_max_source: str
    suggestion: Suggestion | None
    notes: list[str] = field(default_factory=list)
    hr_max_date: dt.date | None = None
    """The day the HRmax was set, as the register keeps it (None: a store without it)."""


def _phase_work(samples: list[dict[str, Any]], phase: str, skip_s: float,
                last_s: float | None = None) -> tuple[float, float] | None:
    """Mean speed and incline in ``phase`` after its first ``skip_s`` seconds (or in its
    last ``last_s`` seconds): the steady part, where the belt carried the patient."""
    runs: dict[int, list[dict[str, Any]]] = {}
    for s in samples:
        if s["phase"] == phase:
            runs.setdefault(s["interval"], []).append(s)
    picked = []
    for run in runs.values():
        t0, t1 = run[0]["t_s"], run[-1]["t_s"]
        picked += [s for s in run if s["t_s"] - t0 >= skip_s
                   and (last_s is None or t1 - s["t_s"] <= last_s)]
    if len(picked) < 30:
        return None
    return (statistics.fmean(s["speed_kmh"] for s in picked),
            statistics.fmean(s["incline_pct"] for s in picked))


def _round(speed_incline: tuple[float, float]) -> tuple[float, float]:
    """To an ordinary treadmill's steps (0.1 km/h, 0.5 %), half up as every figure is shown
    (``metrics.shown_round``)."""
    speed, incline = speed_incline
    return shown_round(speed, 1), shown_round(incline * 2, 0) / 2


def walking_pause(pause: tuple[float, float], interval: tuple[float, float],
                  max_speed_kmh: float | None = None) -> tuple[float, float]:
    """The suggested active pause as the session runs one (issue 21): a walk at
    ``control.PAUSE_WALK_FLOOR_KMH`` or faster (capped by the patient's max speed), its
    incline lowered to keep the pauses' work where the speed was raised; and lighter than
    the intervals as a reader sees it (issue 23: «5,1 km/t» for the pauses under «4,6 km/t»
    for the intervals): neither faster nor steeper than an interval, lighter in one of them.
    Where the pause was faster, it walks at the interval's speed, its incline raised (below
    the interval's) to keep the pauses' work. An interval slower than the walking floor (a
    steep walk) keeps the floor's pause, as the session runs it, on a lower incline.

    >>> walking_pause((1.4, 3.0), (4.0, 8.0))
    (3.0, 0.0)
    >>> walking_pause((2.5, 6.0), (4.0, 8.0)), walking_pause((4.5, 5.0), (5.2, 7.0))
    ((3.0, 4.0), (4.5, 5.0))
    >>> walking_pause((5.1, 1.5), (4.6, 5.5)), walking_pause((3.2, 0.0), (2.7, 5.0))
    ((4.6, 2.0), (3.0, 0.0))
    >>> walking_pause((5.0, 2.0), (5.0, 0.0))
    (4.5, 0.0)
    """
    floor = pause_floor_kmh(max_speed_kmh if max_speed_kmh is not None else math.inf, 0.0)
    speed, incline = pause
    work = vo2_cost(speed, incline)
    if speed < floor:
        speed = floor
        incline = 0.0  # the incline that keeps the work at the floor, on a 0.5 % step
        while incline + 0.5 <= pause[1] and vo2_cost(speed, incline + 0.5) <= work:
            incline += 0.5
    if speed > max(interval[0], floor):  # never faster than the interval (but a walk):
        speed, incline = max(interval[0], floor), min(incline, interval[1])  # work kept
        while incline + 0.5 < interval[1] and vo2_cost(speed, incline + 0.5) <= work:
            incline += 0.5
    incline = min(incline, interval[1])
    while incline > 0.0 and vo2_cost(speed, incline) >= vo2_cost(*interval):
        incline = max(0.0, incline - 0.5)
    if vo2_cost(speed, incline) >= vo2_cost(*interval):  # a flat interval: a slower walk
        speed = max(0.0, interval[0] - COOL_DOWN_SPEED_STEP_KMH)
    return _round((speed, incline))


def suggest(sessions: list[dict[str, Any]], max_speed_kmh: float | None = None,
            max_incline_pct: float | None = None) -> Suggestion | None:
    """From the last sessions' kept figures (``records/stats.py``, oldest first): the belt
    that held 90 % HRmax in the intervals, the end of the warm-up, and the steady part of
    the pauses, walked as the session walks them (``walking_pause``; ``max_speed_kmh``: the
    patient's speed cap, walk-only included; ``max_incline_pct``: the incline cap). The
    intervals and the warm-up are held to the caps (staff may have lowered them after the
    sessions ran; the heart rate leads from there), and every other part is no heavier than
    they are, so nothing suggested is above a cap."""
    found: list[tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = []
    for st in reversed(sessions):
        if st["zone_speed_kmh"] is not None and st["warm_speed_kmh"] is not None \
                and st["pause_speed_kmh"] is not None:
            found.append(((st["zone_speed_kmh"], st["zone_incline_pct"]),
                          (st["warm_speed_kmh"], st["warm_incline_pct"]),
                          (st["pause_speed_kmh"], st["pause_incline_pct"])))
        if len(found) == LAST_N:
            break
    if not found:
        return None

    def mean(pairs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.fmean(p[0] for p in pairs), statistics.fmean(p[1] for p in pairs)

    warmup = _capped(_round(mean([w for _, w, _ in found])), max_speed_kmh, max_incline_pct)
    interval = _capped(_round(mean([z for z, _, _ in found])), max_speed_kmh, max_incline_pct)
    pause = walking_pause(_round(mean([p for _, _, p in found])), interval, max_speed_kmh)
    cool = cool_down(warmup, pause, max_speed_kmh)
    return Suggestion(warm_up(warmup, cool, interval), interval, pause, cool)


def _capped(speed_incline: tuple[float, float], max_speed_kmh: float | None,
            max_incline_pct: float | None) -> tuple[float, float]:
    """A part of the suggestion no faster and no steeper than the patient's caps (None: no
    cap known). Rounded down to the treadmill's steps, so the shown figure is not above it.

    >>> _capped((5.2, 7.0), 4.0, 5.0), _capped((5.2, 7.0), None, None)
    ((4.0, 5.0), (5.2, 7.0))
    >>> _capped((5.2, 7.0), 4.25, 4.75)
    (4.2, 4.5)
    """
    speed, incline = speed_incline
    if max_speed_kmh is not None and speed > max_speed_kmh:
        speed = math.floor(max_speed_kmh * 10 + 1e-9) / 10
    if max_incline_pct is not None and incline > max_incline_pct:
        incline = math.floor(max_incline_pct * 2 + 1e-9) / 2
    return speed, incline


def warm_up(warmup: tuple[float, float], cool: tuple[float, float],
            interval: tuple[float, float]) -> tuple[float, float]:
    """The suggested warm-up: no lighter than the cool-down (issue 21: «Oppvarming 1,7 km/t»
    over «Nedkjøling 3,0 km/t» for a slow patient, whose warm-up the session ran below the
    walking floor the cool-down keeps), neither slower nor flatter than it, and lighter than
    the intervals where the cool-down leaves room (its incline comes down first).

    >>> warm_up((4.0, 2.0), (3.5, 1.0), (5.0, 6.0)), warm_up((1.7, 0.0), (3.0, 0.0), (1.9, 5.0))
    ((4.0, 2.0), (3.0, 0.0))
    >>> warm_up((2.0, 4.0), (3.0, 0.0), (2.2, 7.0))
    (3.0, 3.5)
    """
    if warmup[0] >= cool[0] and warmup[1] >= cool[1]:
        return warmup
    speed, incline = max(warmup[0], cool[0]), max(warmup[1], cool[1])
    while incline - 0.5 >= cool[1] and vo2_cost(speed, incline) >= vo2_cost(*interval):
        incline -= 0.5
    return _round((speed, incline))


def is_test(r: SessionRecord) -> bool:
    """A 6-minute test (it has a test phase) is not a training session of the hand-over."""
    return any(ph.get("kind") == "test" for ph in r.plan.get("phases", []))


def handover_data(store: Store, pseudonym: str, include_notes: bool = False) -> Handover:
    recs: list[SessionRecord] = [r for r in store.sessions(pseudonym)
                                 if r.status in ("finished", "stopped", "incomplete")
                                 and not is_test(r)]
    kept = {st["session_id"]: st for st in store.stats(pseudonym)}
    figures = [kept.get(r.id) or store.stats_of(r.id) for r in recs]
    # the økter counted as everywhere (``stats.counts_as_okt``): not one quit in the warm-up
    counted = [(r, st) for r, st in zip(recs, figures, strict=True)
               if counts_as_okt(st["intervals_n"])]
    recs, figures = [r for r, _st in counted], [st for _r, st in counted]
    if not recs:
        from controller.records.register import no_sessions_error

        raise no_sessions_error(store, pseudonym)
    lines = [SessionLine(local_day(r.started_unix_s), r.status,
                         ZoneWork(st["belt_speed_at_90_kmh"], st["belt_incline_at_90_pct"],
                                  st["zone_s"])
                         if st["belt_speed_at_90_kmh"] is not None else None, st["borg_mean"],
                         _learned(st), bool(st["complete"]), r.hr_max_bpm)
             for r, st in zip(recs, figures, strict=True)]
    last = recs[-1]
    notes = [n["text"] for r in recs for n in store.notes(r.id)] if include_notes else []
    hr_max, source, day = _hr_max_in_use(store, last)
    speed_cap, incline_cap = _caps_in_use(store, last)
    return Handover(pseudonym, lines[0].day, lines[-1].day, lines, hr_max, source,
                    suggest(figures, speed_cap, incline_cap), notes, day)


def _hr_max_in_use(store: Store, last: SessionRecord) -> tuple[float, str, dt.date | None]:
    """The HRmax the municipality's zones come from: the register's current one, with its
    source and day (issue 21/23: a makspuls staff edited after the last session, 185, was
    handed over as the session's 190); the last session's only for a patient the register
    does not hold."""
    from controller.records.register import Register

    rec = Register(store).get(last.pseudonym)
    if rec is None:
        return last.hr_max_bpm, last.hr_max_source, None
    day = None
    if rec.hr_max_date:
        try:
            day = dt.date.fromisoformat(rec.hr_max_date)
        except ValueError:
            day = None
    return rec.hr_max_bpm, rec.hr_max_source, day


def _caps_in_use(store: Store, last: SessionRecord) -> tuple[float | None, float | None]:
    """The speed cap (walk-only included) and the incline cap the suggestion keeps under:
    the register's current ones, as staff decided last (a trial: a speed cap lowered from 8 to
    4 km/t after the sessions was handed over as intervals at 5,2 km/t); the last session's
    only for a patient the register does not hold (imported sessions)."""
    from controller.records.register import Register

    rec = Register(store).get(last.pseudonym)
    if rec is None:
        return _speed_cap_kmh(last.profile), _number(last.profile.get("max_incline_pct"))
    return (min(rec.max_speed_kmh, WALK_MAX_KMH) if rec.walk_only else rec.max_speed_kmh,
            rec.max_incline_pct)


def _number(value: Any) -> float | None:
    """A figure a stored record holds, None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _speed_cap_kmh(profile: dict[str, Any]) -> float | None:
    """The patient's speed cap as the last session kept it (``PatientProfile.speed_cap_kmh``),
    None when the record does not say."""
    cap = _number(profile.get("max_speed_kmh"))
    if cap is None:
        return None
    return min(cap, WALK_MAX_KMH) if profile.get("walk_only") else cap


def _learned(st: dict[str, Any]) -> dict[str, float] | None:
    """The learned response's figures as kept (``records/stats.py``): its speed at 90 %
    HRmax at a fixed incline ("tilsvarer", never the belt) and HR at the fixed workload."""
    if st["learned_speed_at_90_kmh"] is None:
        return None
    return {"vo2_at_90_ml_kg_min": st["work_at_90_vo2"],
            "speed_at_90_kmh": st["learned_speed_at_90_kmh"],
            "incline_pct": st["learned_incline_at_90_pct"],
            "hr_at_fixed_workload_bpm": st["hr_at_fixed_workload_bpm"]}


def _points(delta_pct: float, lang: str) -> str:
    """A change of incline in percentage points (glossary: "1 prosentpoeng brattere", never
    "1,0 % brattere": a change of a percentage is not a percentage)."""
    return format_points(delta_pct, lang)


def _shown_at_90(s: SessionLine) -> tuple[float, float] | None:
    """The belt at 90 % HRmax as the session's row shows it: measured, else from the learned
    response, else nothing."""
    if s.at_90 is not None:
        return s.at_90.speed_kmh, s.at_90.incline_pct
    if s.learned:
        return s.learned["speed_at_90_kmh"], s.learned["incline_pct"]
    return None


def first_to_last(h: Handover, lang: str) -> str | None:
    """What grew from the first row of the table to the last, as those rows show it (the
    same numbers the reader sees above it); an unchanged speed or incline is said as "the
    same", never "0 faster"."""
    rows = [s for s in h.sessions if _shown_at_90(s) is not None]
    shown = [v for v in (_shown_at_90(s) for s in rows) if v is not None]
    if len(shown) < 2:
        return None
    t = translations(lang).gettext
    # the tenths the table shows (``metrics.shown_round``, as ``format_speed`` rounds them;
    # issue 23: round() on the float said 0,4 under a table of 4,9 and 4,4)
    speed = shown_round(shown[-1][0], 1) - shown_round(shown[0][0], 1)
    incline = shown_round(shown[-1][1], 1) - shown_round(shown[0][1], 1)
    speed_said = (t(N_("the same speed")) if abs(speed) < 0.05 else
                  t(N_("{speed} faster")) if speed > 0 else t(N_("{speed} slower"))).format(
        speed=format_speed(abs(speed), 1, lang))
    incline_said = (t(N_("the same incline")) if abs(incline) < 0.05 else
                    t(N_("{points} steeper")) if incline > 0 else
                    t(N_("{points} less steep"))).format(points=_points(incline, lang))
    first, last = rows[0].hr_max_bpm, rows[-1].hr_max_bpm
    if first is not None and last is not None and \
            shown_round(first, 0) != shown_round(last, 0):
        # 90 % of another makspuls is another heart rate (trial 11: 198 → 170 was said «ved
        # samme puls: 0,6 km/t saktere», read as a decline)
        return t(N_("From the first to the last session, at {share} of HRmax: {speed} and "
                    "{incline} (HRmax changed from {first} to {last} bpm in the period: not "
                    "the same heart rate)")).format(
            share=format_percent(90, 0, lang), speed=speed_said, incline=incline_said,
            first=format_number(first, 0, lang), last=format_number(last, 0, lang))
    return t(N_("From the first to the last session, at the same heart rate: {speed} and "
                "{incline}")).format(speed=speed_said, incline=incline_said)


def _sessions_line(n: int, complete: int, t: Callable[[str], str]) -> str:
    """How many sessions, and how many ended before their plan's end, said plainly (the
    trial: «Økter gjennomført: 1, av dem 0 fullført helt ut» read as a shortfall to staff
    and patient); the numbers are the same."""
    if complete == n:
        return t(N_("Sessions: {n}")).format(n=n)
    return t(N_("Sessions: {n} ({early} ended before the plan's end)")).format(
        n=n, early=n - complete)


def handover_text(h: Handover, lang: str = "nb") -> list[tuple[str, str]]:
    """The document as (style, line) pairs — ``title``, ``head``, ``text`` — in ``lang``."""
    t = translations(lang).gettext
    attended = sum(1 for s in h.sessions if s.complete)  # stats.session_complete
    out = [("title", t(N_("4x4 training: hand-over for follow-up in the municipality"))),
           ("text", t(N_("Patient (pseudonym): {pseudonym}")).format(pseudonym=h.pseudonym)),
           ("text", t(N_("Period: {first} to {last}")).format(
               first=format_date(h.first_day, lang), last=format_date(h.last_day, lang))),
           ("text", _sessions_line(len(h.sessions), attended, t)),
           ("head", t(N_("Maximum heart rate"))),
           # the sources have brackets of their own: "source:", never "(… (…))"
           ("text", (t(N_("HRmax {bpm} bpm; source: {source}")) if h.hr_max_date is None
                     else t(N_("HRmax {bpm} bpm; source: {source}; set {day}"))).format(
               bpm=format_number(h.hr_max_bpm, 0, lang),
               source=t(SOURCES.get(h.hr_max_source, h.hr_max_source)),
               day=format_date(h.hr_max_date, lang) if h.hr_max_date else "")),
           ("head", t(N_("Heart-rate zones to use")))]
    for label, lo, hi in ZONES:
        out.append(("text", t(N_("{phase}: {low}–{high} bpm ({low_pct}–{high_pct} of HRmax)"))
                    .format(phase=t(label), low=shown_bpm(lo * h.hr_max_bpm),
                            high=shown_bpm(hi * h.hr_max_bpm),
                            low_pct=format_percent(lo * 100, 0, lang),
                            high_pct=format_percent(hi * 100, 0, lang))))
    # only what was managed (issue 21: "not long enough at 90 % to measure" was listed under
    # «Hva pasienten mestret»): a session without a figure at 90 % is counted above, and
    # the suggestion below says when none held it long enough
    managed = [s for s in h.sessions if s.at_90 or s.learned]
    if managed:
        out.append(("head", t(N_("What the patient managed: the belt at 90 % HRmax"))))
    for s in managed:
        work = t(N_("{speed} at {incline} incline")).format(
            speed=format_speed(s.at_90.speed_kmh, 1, lang),
            incline=format_percent(s.at_90.incline_pct, 1, lang)) if s.at_90 else \
            t(N_("equivalent to {speed} at {incline} incline (from the learned response)")
              ).format(
                speed=format_speed(s.learned["speed_at_90_kmh"], 1, lang),
                incline=format_percent(s.learned["incline_pct"], 1, lang)) if s.learned else ""
        # a Borg score is a whole number (6–20): a mean is said as one, marked "snitt"
        borg = "" if s.borg_mean is None else "  ·  " + t(N_("Borg score {borg} (mean)")).format(
            borg=format_number(math.floor(s.borg_mean + 0.5), 0, lang))
        out.append(("text", f"{format_date(s.day, lang)}:  {work}{borg}"))
    grew = first_to_last(h, lang)
    if grew is not None:
        out.append(("text", grew))
    learned = [s.learned for s in h.sessions if s.learned]
    if len(learned) >= 2:
        out.append(("text", t(N_("Heart rate at a fixed load (a brisk walk), from the learned "
                                 "response: {first} bpm in the first session, {last} bpm in the "
                                 "last")).format(
            first=format_number(learned[0]["hr_at_fixed_workload_bpm"], 0, lang),
            last=format_number(learned[-1]["hr_at_fixed_workload_bpm"], 0, lang))))
    out.append(("head", t(N_("Suggested 4x4 on an ordinary treadmill"))))
    sg = h.suggestion
    if sg is None and any(s.at_90 for s in h.sessions):
        # issue 21: a session listed as managed above held 90 %; what it lacked was a warm-up
        # or an active pause long enough to measure (stopped early), so say that
        out.append(("text", t(N_("No session had a warm-up, intervals and active pauses long "
                                 "enough to suggest speeds for each part: start from the "
                                 "belt at 90 % HRmax and the heart-rate zones above."))))
    elif sg is None:
        out.append(("text", t(N_("No session held 90 % HRmax long enough to suggest speeds: "
                                 "start with the heart-rate zones above."))))
    else:
        for label, (speed, incline) in (
                (N_("Warm-up 10 min"), sg.warmup),
                (N_("4 intervals of 4 min"), sg.interval),
                (N_("3 active pauses of 3 min"), sg.pause),
                (N_("Cool-down 5 min"), sg.cooldown)):
            out.append(("text", t(N_("{phase}: {speed}, incline {incline}")).format(
                phase=t(label), speed=format_speed(speed, 1, lang),
                incline=format_percent(incline, 1, lang))))
        out.append(("text", t(N_("Let the heart rate lead: if it stays below the interval "
                                 "zone after 2 minutes, add {incline_step} incline; above "
                                 "it, take {speed_step} off.")).format(
            incline_step=_points(1, lang), speed_step=format_speed(0.5, 1, lang))))
    if h.notes:
        out.append(("head", t(N_("Notes from the clinic (included by staff)"))))
        out += [("text", n) for n in h.notes]
    return out


def render_handover(store: Store, pseudonym: str, path: str | Path, *,
                    include_notes: bool = False, lang: str = "nb") -> Handover:
    """Write the hand-over (PDF, or PNG by the suffix) for printing; returns its data.

    The PDF is as many A4 pages as its text needs (numbered "page n of N", nothing cut),
    then the chart of the belt at 90 % HRmax, written by ``textpdf`` (fast, text kept as
    text); a PNG is the first page only, drawn with matplotlib."""
    h = handover_data(store, pseudonym, include_notes)
    if str(path).endswith(".pdf"):
        _handover_pdf(h, handover_text(h, lang), path, lang)
        return h
    return _handover_png(h, path, lang)


PAGE_LEFT_PT, PAGE_TOP_PT, PAGE_BOTTOM_PT = 50.0, 800.0, 60.0
LINE_PT = {"title": 20.0, "head": 16.0, "text": 12.5}
SIZE_PT = {"title": 14.0, "head": 11.0, "text": 9.0}


def _handover_pdf(h: Handover, lines: list[tuple[str, str]], path: str | Path,
                  lang: str) -> None:
    from controller.records.textpdf import A4_W_PT, TextPdf, text_width_pt

    t = translations(lang).gettext
    # the title a PDF viewer or a journal system lists the file by, in the reader's language
    doc = TextPdf(title=t(N_("4x4 hand-over {pseudonym}")).format(pseudonym=h.pseudonym))
    page, y = None, 0.0
    for style, text in lines:
        parts = textwrap.wrap(text, 60 if style == "title" else 100) or [""]
        need = LINE_PT[style] * len(parts) + (LINE_PT["text"] * 2 if style == "head" else 0)
        if page is None or y - need < PAGE_BOTTOM_PT:  # a heading never ends a page alone
            page, y = doc.new_page(), PAGE_TOP_PT
        if style == "head":
            y -= 6.0
        for part in parts:
            page.text(PAGE_LEFT_PT, y, part, SIZE_PT[style], bold=style != "text")
            y -= LINE_PT[style]
    measured = [s for s in h.sessions if s.at_90 is not None]
    if len(measured) >= 2:
        if page is None or y < 330:
            page, y = doc.new_page(), PAGE_TOP_PT
        _belt_chart(page, measured, top_pt=y - 20, t=t, lang=lang)
    if len(doc.pages) > 1:  # "page 2 of 5": a missing sheet is seen
        for k, pg in enumerate(doc.pages, 1):
            label = t(N_("page {n} of {total}")).format(n=k, total=len(doc.pages))
            pg.text(A4_W_PT - PAGE_LEFT_PT - text_width_pt(label, 8), 30, label, 8)
    doc.save(path)


def _belt_chart(page: Any, measured: list[SessionLine], top_pt: float, t: Any,
                lang: str) -> None:
    """Speed (blue, left scale) and incline (orange, dashed, right scale) at 90 % HRmax,
    session by session, dated on the axis."""
    x0, x1, y1 = 90.0, 505.0, top_pt - 20
    y0 = max(y1 - 220, 80.0)
    page.text(x0, top_pt, t(N_("The belt at 90 % HRmax, session by session")), 10, bold=True)
    page.polyline([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], 0.6)
    days = [s.day.toordinal() for s in measured]
    d0, d1 = min(days), max(days) or 1
    span = max(d1 - d0, 1)

    def xs(day: int) -> float:
        return x0 + (day - d0) / span * (x1 - x0)

    for values, rgb, dash, left in (
            ([s.at_90.speed_kmh for s in measured if s.at_90], (0.12, 0.47, 0.71), False, True),
            ([s.at_90.incline_pct for s in measured if s.at_90], (1.0, 0.5, 0.05), True,
             False)):
        lo, hi = min(values), max(values)
        if hi - lo < 1.0:
            lo, hi = lo - 0.5, hi + 0.5
        pts = [(xs(d), y0 + (v - lo) / (hi - lo) * (y1 - y0))
               for d, v in zip(days, values, strict=True)]
        page.polyline(pts, 1.0, rgb, dash)
        page.dots(pts, 2.5, rgb)
        for v in (lo, (lo + hi) / 2, hi):
            label = format_number(v, 1, lang)
            yy = y0 + (v - lo) / (hi - lo) * (y1 - y0) - 3
            page.text(x0 - 8 - 4.7 * len(label) if left else x1 + 6, yy, label, 8)
    page.text(20, (y0 + y1) / 2, t(N_("speed (km/h)")), 8)
    page.text(x1 + 6, y1 + 8, t(N_("incline (%)")), 8)
    page.text(x0, y0 - 14, format_date(measured[0].day, lang), 8)
    last = format_date(measured[-1].day, lang)
    page.text(x1 - 4.7 * len(last), y0 - 14, last, 8)


def _handover_png(h: Handover, path: str | Path, lang: str) -> Handover:
    """The first page as a picture (a preview; the PDF is the document that travels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.27, 11.69))  # A4
    y = TOP
    sizes = {"title": 14, "head": 11, "text": 9}
    for style, text in handover_text(h, lang):
        if style == "head":
            y -= 0.012
        for part in textwrap.wrap(text, 60 if style == "title" else 100) or [""]:
            if y < BOTTOM:
                break
            fig.text(0.07, y, part, fontsize=sizes[style], va="top",
                     fontweight="bold" if style != "text" else "normal")
            y -= 0.03 if style == "title" else 0.02
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return h
