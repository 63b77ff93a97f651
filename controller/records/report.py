"""Exports, progression and printable reports for the patient journal.

* ``export_json`` / ``export_csv`` — one session, everything recorded (JSON round-trips through
  ``import_json`` into another store; CSV is the per-second trace).
* ``progression`` — across one patient's sessions: the treadmill work needed to hold 90 % HRmax
  (ACSM oxygen cost of the belt while the heart rate is within ±3 % of 90 %, after the
  allowance) — it rises as fitness rises — with a least-squares trend per week and a VO2max
  estimate from %HRR ≈ %VO2R; heart rate at a fixed submaximal workload (the belt's cost
  within 15 ± 1.5 ml/kg/min); and an HRmax correction when a heart rate above the profile's
  max was recorded.
* ``render_session`` (PNG or PDF) — HR against the zone band with the phases shaded, speed and
  incline below, the summary table; ``render_progression`` (PNG or PDF).
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import re
import statistics
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.dates import local_datetime, local_day
from controller.core.i18n import (
    N_,
    _,
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_signed,
    language,
    ngettext,
    sentence_case,
    translations,
)
from controller.core.metrics import shown_bpm, shown_round
from controller.core.six_minute_text import six_minute_length_line, six_minute_summary_lines
from controller.core.words import (
    HR_STATUSES,
    PHASES,
    PLANS,
    SEVERITIES,
    SOURCES,
    STATES,
    TEST_INTERRUPTED,
    event_text,
    word,
)
from controller.records import session_import
from controller.records import stats as _stats
from controller.records.session_import import EXPORT_SCHEMA
from controller.records.store import SessionRecord, Store, StoreError

FIXED_WORKLOAD_VO2 = 15.0
CLINIC_SESSIONS_PER_WEEK = 2
"""The clinics' rule: less than two sessions a week has little effect."""
TREND_MIN_SESSIONS = 3
TREND_MIN_DAYS = 14.0
WEEK_S = 7 * 86400.0


def _record(store: Store, session_id: str) -> SessionRecord:
    return store.session(session_id)


def wall_clock(r: SessionRecord, samples: list[dict[str, Any]]) -> list[float]:
    """Unix time of every sample: the recorded monotonic→wall offset, or (files from before
    schema 2) the session's start time for its first sample."""
    if not samples:
        return []
    if r.clock_offset_s is not None:
        return [s["t_s"] + r.clock_offset_s for s in samples]
    t0 = samples[0]["t_s"]
    return [r.started_unix_s + s["t_s"] - t0 for s in samples]


def utc_iso(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")


def export_json(store: Store, session_id: str, path: str | Path) -> None:
    r = _record(store, session_id)
    doc = {"schema": EXPORT_SCHEMA, "session": r.__dict__, "samples": store.samples(r.id),
           "events": store.events(r.id),
           "ratings": store.rating_rows(r.id),
           "notes": store.notes(r.id)}
    Path(path).write_text(json.dumps(doc, indent=1))


CSV_HEADERS = {"t_s": N_("time (s)"), "time_utc": N_("time (UTC)"),
               "time_local": N_("clock time"), "phase": N_("phase"),
               "interval": N_("interval"), "state": N_("state"),
               "hr_bpm": N_("heart rate (bpm)"), "hr_status": N_("heart-rate reading"),
               "target_bpm": N_("target (bpm)"), "zone_low_bpm": N_("zone from (bpm)"),
               "zone_high_bpm": N_("zone to (bpm)"), "speed_set_kmh": N_("speed set (km/h)"),
               "speed_kmh": N_("speed (km/h)"), "incline_set_pct": N_("incline set (%)"),
               "incline_pct": N_("incline (%)")}
"""The session CSV's columns as people read them (any language but English)."""
CSV_WORDS = {"phase": PHASES, "state": STATES, "hr_status": HR_STATUSES}
CSV_DECIMALS = {"speed_set_kmh": 1, "speed_kmh": 1, "incline_set_pct": 1, "incline_pct": 1,
                "hr_bpm": 0, "target_bpm": 0, "zone_low_bpm": 0, "zone_high_bpm": 0}
"""The people's CSV (not English's, the keys' form) rounds as staff read: km/t and % to a
tenth, heart rates whole ("85,143" km/t was the recorder's float)."""


def clock_time_text(unix_s: float) -> str:
    """An instant as the people's CSVs show it: the clinic's clock (Europe/Oslo), dd.mm.åååå
    tt:mm:ss (English keeps its ISO UTC form)."""
    return local_datetime(unix_s).strftime("%d.%m.%Y %H:%M:%S")


def _rounded(sample: dict[str, Any],
             decimals_of: dict[str, int] = CSV_DECIMALS) -> dict[str, Any]:
    out = dict(sample)
    for k, decimals in decimals_of.items():
        v = out.get(k)
        if isinstance(v, float):
            # half up as every screen shows them (round() is to even on the float): the
            # text's tenth (``metrics.shown_round``), the screens' heart rate
            out[k] = shown_round(v, decimals) if decimals else shown_bpm(v)
    return out


def export_csv(store: Store, session_id: str, path: str | Path,
               lang: str | None = None) -> None:
    """The per-second trace: ``t_s`` from 0 at the session's first sample, ``time_utc`` the
    absolute time (ISO 8601, UTC), then what was recorded. A spreadsheet for people: in
    English (the source language) with its keys as before; in bokmål with the column names,
    phases, states and heart-rate words from the catalog, a decimal comma and semicolons
    (what a Norwegian spreadsheet opens), the clinic's clock time (Europe/Oslo, dd.mm.åååå
    tt:mm:ss) for the UTC column and numbers rounded as staff read them (``CSV_DECIMALS``).
    The JSON export is the machine form."""
    r = _record(store, session_id)
    samples = store.samples(r.id)
    if not samples:
        Path(path).write_text("", encoding="utf-8")  # an empty trace: an empty file
        return
    t0 = samples[0]["t_s"]
    wall = wall_clock(r, samples)
    rest = [k for k in samples[0] if k not in ("session_id", "t_s")]
    lang = lang or language()
    rows: Iterable[dict[str, Any]]
    if lang == "en":
        names = ["t_s", "time_utc", *rest]
        rows = ({**s, "t_s": round(s["t_s"] - t0, 3), "time_utc": utc_iso(u)}
                for s, u in zip(samples, wall, strict=True))
        people_csv(path, names, CSV_HEADERS, rows, lang, CSV_WORDS)
        return
    names = ["t_s", "time_local", *rest]
    rows = ({**_rounded(s), **_people_part(s), "t_s": elapsed_s(s["t_s"] - t0),
             "time_local": clock_time_text(u)}
            for s, u in zip(samples, wall, strict=True))
    complete = r.status == "finished" and bool(store.stats_of(r.id)["complete"])
    people_csv(path, names, CSV_HEADERS, rows, lang,
               CSV_WORDS if complete else {**CSV_WORDS, "state": ENDED_STATES})


def elapsed_s(seconds: float) -> float | int:
    """A sample's time into the session as the people's CSV says it: to a tenth of a second,
    whole seconds without a decimal. A sample is taken on the session's tick, which comes a
    little late on a loaded machine (at the demo's 10× a few milliseconds of real time are
    tenths of a simulated second): rounded to whole seconds, a tick 0.6 s late was said as
    the next second, which then came twice, and its own was missing (issue 21: «Tid (s)»
    had 12 twice and no 11). Each row keeps its own true time.

    >>> elapsed_s(11.0004), elapsed_s(11.62), elapsed_s(12.04)
    (11, 11.6, 12)
    """
    tenth = round(seconds, 1)
    return int(tenth) if tenth.is_integer() else tenth


def _people_part(sample: dict[str, Any]) -> dict[str, Any]:
    """The part and interval as a person reads them: an interval number only in an interval
    (the trial read "Intervall 0" through the warm-up), and no part once the session is
    over (the state says "ferdig"; the part said it too)."""
    return {"interval": sample["interval"] if sample["phase"] == "interval" else None,
            "phase": None if sample["phase"] == "done" else sample["phase"]}


def _csv_cell(key: str, value: Any, t: Any,
              words_of: dict[str, dict[str, str]] = CSV_WORDS) -> str:
    """One value of the bokmål CSV: a key in words, yes/no, a number with a decimal
    comma."""
    if value is None:
        return ""
    words = words_of.get(key)
    if words is not None:
        return t(words[value]) if value in words else str(value)
    if isinstance(value, bool):
        return t(N_("yes")) if value else t(N_("no"))
    if isinstance(value, float):
        return repr(round(value, 3)).replace(".", ",")
    return str(value)


def people_csv(path: str | Path, fields: Sequence[str], headers: dict[str, str],
               rows: Iterable[dict[str, Any]], lang: str | None = None,
               words_of: dict[str, dict[str, str]] | None = None) -> None:
    """A spreadsheet for people: in English (the source language) the keys as column names,
    commas and decimal points, as before; in bokmål the column names from the catalog
    (``headers``: key → message), keys in words (``words_of``), yes/no, a decimal comma and
    semicolons (what a Norwegian spreadsheet opens)."""
    lang = lang or language()
    # a byte-order mark for people's spreadsheets: without it a Norwegian Excel reads UTF-8 as
    # Windows-1252 («PulsmÃ¥ling»); the English form is for programs and stays plain UTF-8
    with open(path, "w", newline="", encoding="utf-8" if lang == "en" else "utf-8-sig") as f:
        if lang == "en":
            w = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
            return
        t = translations(lang).gettext
        out = csv.writer(f, delimiter=";")
        out.writerow([sentence_case(t(headers[k])) if k in headers else k for k in fields])
        for row in rows:
            out.writerow([_csv_cell(k, row.get(k), t, words_of or {}) for k in fields])


import_json = session_import.import_json


@dataclass(frozen=True)
class PhaseRun:
    """One phase as it ran, against the plan."""

    phase: str
    interval: int
    planned_s: float | None
    ran_s: float
    paused_s: float
    note: str
    """'' | 'extended' | 'skipped' | 'cut short' (the session was stopped in it) | 'in progress'
    (the session still runs in it)."""
    extended_s: float = 0.0
    """By how much staff extended it (its ``extend`` events; an old row's: the time run
    beyond the plan), said beside "extended" (the trial: «forlenget» with no «1 min»)."""


def phases_as_run(samples: list[dict[str, Any]], plan: dict[str, Any],
                  events: list[dict[str, Any]], status: str | None = None) -> list[PhaseRun]:
    """Each run of a phase in the trace beside the plan's duration, so an extended or skipped
    interval never looks like a full one.

    A session that ran its plan to the end (``status`` ``finished``) was cut short nowhere:
    its phases end on time or skipped. A phase recorded a few seconds short there is a late
    tick's time carried into the next phase (the trial's loaded Pi: a finished 6-minute
    test's cool-down recorded 174 s of 180 and called "avbrutt"). In a session still
    ``running`` the last run is the part in progress, not one cut short."""
    runs: list[list[dict[str, Any]]] = []
    for s in samples:
        if s["phase"] == "done":
            continue
        if runs and (runs[-1][0]["phase"], runs[-1][0]["interval"]) == (s["phase"],
                                                                      s["interval"]):
            runs[-1].append(s)
        else:
            runs.append([s])
    planned = [p.get("duration_s") for p in plan.get("phases", [])]
    tick = 1.0
    if len(samples) > 1:
        tick = (samples[-1]["t_s"] - samples[0]["t_s"]) / (len(samples) - 1) or 1.0
    # Each event belongs to exactly one run. A skip is stamped at the first tick of the
    # phase that follows (the session advances in the same step), so it belongs to the run
    # before that tick: the phase staff skipped, never also the next one.
    starts = [run[0]["t_s"] for run in runs]
    kinds_of: list[set[str]] = [set() for _ in runs]
    extra_of = [0.0 for _ in runs]
    for e in events:
        strict = e["kind"] == "skip"
        i = bisect.bisect_left(starts, e["t_s"]) if strict else \
            bisect.bisect_right(starts, e["t_s"])
        if i > 0:
            kinds_of[i - 1].add(e["kind"])
            seconds = (e.get("params") or {}).get("seconds")
            if e["kind"] == "extend" and isinstance(seconds, int | float):
                extra_of[i - 1] += float(seconds)
    out = []
    for i, run in enumerate(runs):
        t0, t1 = run[0]["t_s"], run[-1]["t_s"] + tick
        paused = sum(tick for s in run if s["state"] == "paused")
        halted = sum(tick for s in run if s["state"] in ("paused", "stopping"))
        ran = t1 - t0 - halted
        plan_s = planned[i] if i < len(planned) else None
        kinds = kinds_of[i]
        note = ""
        extra = extra_of[i]
        if "skip" in kinds:
            note = "skipped"
        elif "extend" in kinds or (plan_s is not None and ran > plan_s + 2 * tick):
            note = "extended"
            if not extra and plan_s is not None:  # an old row's event without its seconds
                extra = max(round(ran) - plan_s, 0.0)
        elif status == "running" and i == len(runs) - 1:
            note = "in progress"  # the live store: the part running now (trial 13)
        elif plan_s is not None and ran < plan_s - 2 * tick and status != "finished":
            note = "cut short"
        out.append(PhaseRun(run[0]["phase"], run[0]["interval"], plan_s, round(ran),
                            round(paused), note,
                            # a phase extended and then skipped keeps its extension (the
                            # trial: «hoppet over» alone lost staff's `e`)
                            extra if note == "extended" or "extend" in kinds else 0.0))
    return out


@dataclass(frozen=True)
class Progress:
    session_id: str
    started_unix_s: float
    work_at_90_vo2: float | None
    """ACSM oxygen cost (ml/kg/min) of the belt while HR was within ±3 % of 90 % HRmax."""
    speed_at_90_kmh: float | None
    incline_at_90_pct: float | None
    hr_at_fixed_workload_bpm: float | None
    peak_hr_bpm: float | None
    minutes_at_85: float
    """Minutes in the zone (85–95 % HRmax, the 4x4 app's "HIT minutes") in the intervals:
    the session's time in the zone (``metrics.session_in_zone_s``); the key's old name."""
    vo2max_estimate: float | None
    plan: str
    status: str
    belt_speed_at_90_kmh: float | None = None
    belt_incline_at_90_pct: float | None = None
    """The belt as it was set while the heart held 90 % HRmax (the belt screen's and the
    hand-over's figure); None with too little of it."""
    at_90_equivalent: bool = False
    """``speed_at_90_kmh`` is the learned response's work converted to a speed at a fixed
    incline (issue 26), not a belt setting: it is said as "tilsvarer" wherever shown."""
    learned_speed_at_90_kmh: float | None = None
    learned_incline_at_90_pct: float | None = None
    """The learned response's equivalent as kept (``stats.COLUMNS``); None without one."""
    complete: bool = True
    """Every interval of its plan ran (``stats.session_complete``)."""
    in_zone_s: float | None = None
    """The session's time in the zone in seconds (``stats``' ``hit_s``), what people read
    as «3 min 15 s»; ``minutes_at_85`` keeps the machine's tenth of a minute."""


def progress_of(r: SessionRecord, st: dict[str, Any]) -> Progress:
    """A session's progress from its kept figures (``records/stats.py``): the belt's and
    the learned response's speed at 90 % HRmax as the two facts kept; ``speed_at_90_kmh``
    the one a single figure shows — the learned one where a response was learned (marked
    ``at_90_equivalent``), else an old row's figure not told apart, else the belt's."""
    learned = st["learned_speed_at_90_kmh"]
    speed, incline = (learned, st["learned_incline_at_90_pct"]) if learned is not None else \
        (st["speed_at_90_kmh"], st["incline_at_90_pct"]) if st["speed_at_90_kmh"] is not None \
        else (st["belt_speed_at_90_kmh"], st["belt_incline_at_90_pct"])
    return Progress(r.id, r.started_unix_s, st["work_at_90_vo2"], speed, incline,
                    st["hr_at_fixed_workload_bpm"],
                    st["peak_hr_bpm"], st["minutes_at_85"], st["vo2max_estimate"],
                    r.plan_name, r.status, st["belt_speed_at_90_kmh"],
                    st["belt_incline_at_90_pct"], learned is not None, learned,
                    st["learned_incline_at_90_pct"], bool(st["complete"]), st.get("hit_s"))


def _session_progress(store: Store, r: SessionRecord) -> Progress:
    return progress_of(r, store.stats_of(r.id))


def _learned_fitness(r: SessionRecord, hr_max: float) -> dict[str, float] | None:
    """Fitness from the session's learned response (its summary keeps it), or None — also
    for a response that saw less heart rate than ``LEARNED_MIN_EVIDENCE_S`` (the service
    keeps none such; a session skipped through in the demo's history had one from 45 s)."""
    from controller.core.response import (
        LEARNED_MIN_EVIDENCE_S,
        ResponseModelError,
        fitness,
        parse_response_model,
    )

    doc = (r.summary or {}).get("response_model")
    if not isinstance(doc, dict):
        return None
    evidence = doc.get("evidence_s")
    if isinstance(evidence, int | float) and evidence < LEARNED_MIN_EVIDENCE_S:
        return None
    try:
        return fitness(parse_response_model(doc), hr_max)
    except ResponseModelError:
        return None


def theil_sen(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Robust line (median of pairwise slopes; intercept the median residual): one odd
    session cannot tilt a patient's trend."""
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs))
              for j in range(i + 1, len(xs)) if xs[j] != xs[i]]
    if not slopes:
        return None
    b = statistics.median(slopes)
    a = statistics.median(y - b * x for x, y in zip(xs, ys, strict=True))
    return b, a


def trend_per_week(times_unix_s: list[float], values: list[float | None]
                   ) -> float | None:
    """Theil–Sen slope per week, only from ≥ 3 values spread over ≥ 14 days (fewer, or a
    day's sessions, say nothing about a trend)."""
    pts = [(t, v) for t, v in zip(times_unix_s, values, strict=True) if v is not None]
    if len(pts) < TREND_MIN_SESSIONS:
        return None
    if (pts[-1][0] - pts[0][0]) < TREND_MIN_DAYS * 86400:
        return None
    fit = theil_sen([(t - pts[0][0]) / WEEK_S for t, _ in pts], [v for _, v in pts])
    return None if fit is None else round(fit[0], 3)


def weekly(points: list[Progress]) -> list[dict[str, Any]]:
    """Per calendar week (ISO, Monday first) from the first session to the last: sessions
    against the clinic's two, and minutes in the zone (32 a week is the app's goal)."""
    if not points:
        return []
    def monday(u: float) -> dt.date:
        d = local_day(u)
        return d - dt.timedelta(days=d.weekday())
    first, last = monday(points[0].started_unix_s), monday(points[-1].started_unix_s)
    weeks = []
    d = first
    while d <= last:
        these = [p for p in points if monday(p.started_unix_s) == d]
        weeks.append({"week_start": d.isoformat(), "iso_week": d.isocalendar()[1],
                      "sessions": len(these),
                      "sessions_target": CLINIC_SESSIONS_PER_WEEK,
                      "minutes_at_85": round(sum(p.minutes_at_85 for p in these), 1)})
        d += dt.timedelta(days=7)
    return weeks


def is_4x4(plan_name: str) -> bool:
    """A training session the history counts: everything but the 6-minute test (it sets
    HRmax, it is not training). The belt screen's streak counts the same way."""
    return plan_name != "6-minute test"


def _counted(store: Store, every: list[SessionRecord], kept: dict[str, dict[str, Any]]
             ) -> tuple[list[SessionRecord], dict[str, int]]:
    """The sessions a progression counts (ended 4x4 økter), and how many of the others it
    leaves out, by why: 6-minute tests (not training), one running, a 4x4 quit before its
    first interval (``stats.counts_as_okt``: kept, not counted)."""
    recs = [r for r in every
            if r.status in ("finished", "stopped", "incomplete") and is_4x4(r.plan_name)]
    left = {"six_minute_test": sum(1 for r in every if not is_4x4(r.plan_name)),
            "running": sum(1 for r in every if r.status == "running" and is_4x4(r.plan_name))}
    short = {r.id for r in recs if not _stats.counts_as_okt(
        (kept.get(r.id) or store.stats_of(r.id))["intervals_n"])}
    left["too_short"] = len(short)
    return [r for r in recs if r.id not in short], left


def left_out(store: Store, pseudonym: str) -> dict[str, int]:
    """What a progression of ``pseudonym`` leaves out, by why (``_counted``), also when it
    counts nothing yet (only a 6-minute test: the history said «0 økter med 4x4» and not
    why)."""
    every = store.sessions(pseudonym)
    kept = {st["session_id"]: st for st in store.stats(pseudonym)}
    return _counted(store, every, kept)[1]


def progression(store: Store, pseudonym: str) -> dict[str, Any]:
    """One patient's progression for the journal (units in every key)."""
    every = store.sessions(pseudonym)
    kept = {st["session_id"]: st for st in store.stats(pseudonym)}
    recs, left = _counted(store, every, kept)
    if not recs:
        from controller.records.register import no_sessions_error

        raise no_sessions_error(store, pseudonym)
    points = [progress_of(r, kept[r.id]) if r.id in kept else _session_progress(store, r)
              for r in recs]
    times = [p.started_unix_s for p in points]
    usable = [p for p in points if p.work_at_90_vo2 is not None]
    last = recs[-1]
    peaks = [p.peak_hr_bpm for p in points if p.peak_hr_bpm is not None]
    hrmax_suggestion = None
    if peaks and max(peaks) > last.hr_max_bpm:
        hrmax_suggestion = {"hr_max_bpm": max(peaks), "source": "observed_peak",
                            "profile_hr_max_bpm": last.hr_max_bpm,
                            "why": f"a heart rate of {max(peaks):.0f} bpm was recorded, above "
                                   f"the profile's {last.hr_max_bpm:.0f}"}
    weeks = weekly(points)
    span_weeks = max(len(weeks), 1)
    return {
        "pseudonym": pseudonym,
        "sessions": [p.__dict__ for p in points],
        "left_out": left,  # not counted: 6-minute tests (not training), one running
        "weeks": weeks,
        "sessions_per_week": round(len(points) / span_weeks, 2),
        "sessions_per_week_target": CLINIC_SESSIONS_PER_WEEK,
        "work_at_90_trend_vo2_per_week": trend_per_week(times,
                                                        [p.work_at_90_vo2 for p in points]),
        "vo2max_trend_per_week": trend_per_week(times, [p.vo2max_estimate for p in points]),
        "hr_at_fixed_workload_trend_bpm_per_week": trend_per_week(
            times, [p.hr_at_fixed_workload_bpm for p in points]),
        "trend_rule": trend_rule(),
        "vo2max_estimate": usable[-1].vo2max_estimate if usable else None,
        "hr_max_suggestion": hrmax_suggestion,
        "response_model": _kept_response(store, pseudonym),
    }


def _kept_response(store: Store, pseudonym: str) -> dict[str, Any] | None:
    """The register's latest learned response (issue 26) with its date and session, or why
    it will not be used."""
    from controller.records.register import Register

    try:
        rec = Register(store).get(pseudonym)
    except Exception:  # an older store without the register: nothing to show
        return None
    if rec is None or rec.response_model is None:
        return None
    _model, why = rec.carried_response()
    return {"model": rec.response_model, "date": rec.response_model_date,
            "session_id": rec.response_model_session, "refused": why}


PROGRESSION_CSV_FIELDS = ("session_id", "date_utc", "plan", "status", "work_at_90_vo2",
                          "speed_at_90_kmh", "incline_at_90_pct", "vo2max_estimate",
                          "hr_at_fixed_workload_bpm", "minutes_at_85", "peak_hr_bpm",
                          "at_90_equivalent", "belt_speed_at_90_kmh", "belt_incline_at_90_pct",
                          "learned_speed_at_90_kmh", "learned_incline_at_90_pct")
"""``at_90_equivalent``: speed/incline at 90 % are the learned response's converted figure,
not the belt; ``belt_*``: the belt as set while the heart held 90 % HRmax; ``learned_*``: the
learned response's equivalent ("tilsvarer"), empty without one."""


PEOPLE_PROGRESSION_CSV_FIELDS = ("session_id", "date_utc", "plan", "status", "work_at_90_vo2",
                                 "belt_speed_at_90_kmh", "belt_incline_at_90_pct",
                                 "learned_speed_at_90_kmh", "learned_incline_at_90_pct",
                                 "vo2max_estimate", "hr_at_fixed_workload_bpm",
                                 "minutes_at_85", "peak_hr_bpm")
"""The people's progression CSV: each speed and incline in a column whose heading says whose
it is — the belt's first (the figure the belt screen, the hand-over and ``progression``'s
text show), then the learned response's equivalent. The single "speed at 90 %" column (the
learned figure where there was one, else the belt's: the trial read its 7,2 km/t beside
every other place's 5,1) and its flag stay in the English machine form only (issue 21)."""


PROGRESSION_CSV_DECIMALS = {"speed_at_90_kmh": 1, "incline_at_90_pct": 1,
                            "belt_speed_at_90_kmh": 1, "belt_incline_at_90_pct": 1,
                            "learned_speed_at_90_kmh": 1, "learned_incline_at_90_pct": 1,
                            "hr_at_fixed_workload_bpm": 0, "peak_hr_bpm": 0,
                            "work_at_90_vo2": 1, "vo2max_estimate": 1, "minutes_at_85": 1}
"""The people's progression CSV rounds as the session CSV does (``CSV_DECIMALS``): whole
heart rates ("121,0" was the mean's float), a tenth of km/t and % ("4,85")."""


PROGRESSION_CSV_HEADERS = {
    "session_id": N_("session"), "date_utc": N_("time (UTC)"),
    "time_local": N_("clock time"), "plan": N_("plan"),
    "status": N_("status"), "work_at_90_vo2": N_("work at 90 % HRmax (ml/kg/min)"),
    "speed_at_90_kmh": N_("speed at 90 % HRmax (km/h)"),
    "incline_at_90_pct": N_("incline at 90 % HRmax (%)"),
    "vo2max_estimate": N_("estimated VO2max (ml/kg/min)"),
    "hr_at_fixed_workload_bpm": N_("heart rate at 15 ml/kg/min (bpm)"),
    "minutes_at_85": N_("minutes in the zone (85–95 % HRmax)"),
    "peak_hr_bpm": N_("peak heart rate (bpm)"),
    "at_90_equivalent": N_("speed and incline at 90 % HRmax converted"),
    "belt_speed_at_90_kmh": N_("belt speed at 90 % HRmax (km/h)"),
    "belt_incline_at_90_pct": N_("belt incline at 90 % HRmax (%)"),
    "learned_speed_at_90_kmh": N_("equivalent speed at 90 % HRmax, learned (km/h)"),
    "learned_incline_at_90_pct": N_("equivalent incline at 90 % HRmax, learned (%)")}
"""The progression CSV's columns as people read them (any language but English)."""


def progression_csv(prog: dict[str, Any], path: str | Path, lang: str | None = None) -> None:
    """One row per session, units in the column names (ml/kg/min for work and VO2max); a
    spreadsheet for people in ``lang`` (``people_csv``; ``--json`` is the machine form): in
    English the session's start as ``date_utc`` (ISO, UTC), else as the clinic's clock time
    (``clock_time_text``), as in the session CSV."""
    lang = lang or language()
    key = "date_utc" if lang == "en" else "time_local"
    shown = utc_iso if lang == "en" else clock_time_text
    fields = PROGRESSION_CSV_FIELDS if lang == "en" else PEOPLE_PROGRESSION_CSV_FIELDS
    people_csv(path, tuple(key if f == "date_utc" else f for f in fields),
               PROGRESSION_CSV_HEADERS,
               ({**(p if lang == "en" else _rounded(p, PROGRESSION_CSV_DECIMALS)),
                 key: shown(p["started_unix_s"])} for p in prog["sessions"]),
               lang, {"plan": PLANS, "status": STATUSES})


# -- pictures -------------------------------------------------------------------------------


def _tick_decimals(locs: Sequence[float]) -> int:
    """The fewest decimals that show every tick as it is (0.25 steps: 2, 0.5 steps: 1)."""
    for d in range(7):
        if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in locs):
            return d
    return 6


def number_axes(fig: Any, lang: str | None = None) -> None:
    """Every numeric axis of ``fig`` labelled through ``format_number``: bokmål's decimal
    comma (7,5) on the axes as in the text, English's point; date axes through
    ``format_date`` (27.11.2026 in bokmål)."""
    from matplotlib.dates import AutoDateFormatter, num2date
    from matplotlib.ticker import Formatter, FuncFormatter, ScalarFormatter

    class _NumberFormatter(Formatter):  # type: ignore[misc]
        ticks: tuple[float, ...] = ()

        def set_locs(self, locs: Sequence[float]) -> None:  # the axis's ticks, once a draw
            self.ticks = tuple(float(v) for v in locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            decimals = _tick_decimals(self.ticks or (x,))
            if round(x, decimals) == 0:
                x = 0.0  # never "-0"
            # bokmål's typographic minus (−0,5), as ``format_signed`` writes it
            if x < 0 and (lang or language()) == "nb":
                return "\u2212" + format_number(-x, decimals, lang)
            return format_number(x, decimals, lang)

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.set_major_formatter(_NumberFormatter())
            elif isinstance(axis.get_major_formatter(), AutoDateFormatter):
                axis.set_major_formatter(FuncFormatter(
                    lambda x, _pos: format_date(num2date(x).date(), lang)))


PHASE_COLOURS = {"warmup": "#dddddd", "interval": "#f4c7c3", "recovery": "#c9e4f5",
                 "cooldown": "#dddddd", "test": "#fde9b5"}


def trend_rule() -> str:
    """When a trend is drawn, in the process's language (staff read "trend … (from ≥ 3
    sessions over ≥ 14 days)"; the method's name stays in the code and the docs)."""
    return _("from ≥ {n} sessions over ≥ {days} days").format(
        n=TREND_MIN_SESSIONS, days=format_number(TREND_MIN_DAYS, 0))


def session_title(r: SessionRecord, when: str, complete: bool = True,
                  in_use: tuple[float, str] | None = None) -> str:
    """The report's title: a 6-minute test is never called a 4x4 session; the HRmax source
    and the session's status in words, never keys like ``six_minute_test`` or ``finished``
    (``status_word``: one skipped through is not "finished"). A 6-minute test shows the
    HRmax in use after staff's decision on it (``in_use``, ``hrmax_after_test``), else the
    one from before the test, said so (issue 21: the title said «170 (pulstest, endret)»
    while the body said the test's 175 was decided)."""
    hr_max, source = in_use if in_use is not None else (r.hr_max_bpm, r.hr_max_source)
    words = dict(when=when, pseudonym=r.pseudonym, hr_max=format_number(hr_max, 0),
                 source=word(SOURCES, source),
                 status=status_word(r.status, complete, r.plan_name))
    if r.plan_name == "6-minute test" and in_use is None:
        return _("6-minute test {when} — {pseudonym} — HRmax before the test {hr_max} bpm "
                 "({source}) — {status}").format(**words)
    if r.plan_name == "6-minute test":
        return _("6-minute test {when} — {pseudonym} — HRmax {hr_max} bpm ({source}) — "
                 "{status}").format(**words)
    return _("4x4 session {when} — {pseudonym} — HRmax {hr_max} bpm ({source}) — "
             "{status}").format(**words)


def hrmax_after_test(store: Store, r: SessionRecord) -> tuple[float, str] | None:
    """The HRmax (bpm, source) in use after staff's decision on this 6-minute test, as the
    register keeps the decision: the value accepted or typed, or the one from before the
    test when staff kept it; None when nothing was decided on it (no Borg rating yet)."""
    from controller.records.register import Register

    decided = [d for d in Register(store).hrmax_decisions(r.pseudonym)
               if d["session_id"] == r.id]
    if not decided:
        return None
    last = decided[-1]
    if last["decision"] == "rejected" or last["hr_max_bpm"] is None:
        return (r.hr_max_bpm, r.hr_max_source)
    return (float(last["hr_max_bpm"]), str(last["source"]))


STATUSES = {"running": N_("in progress"), "finished": N_("finished"),
            # a session stopped before its plan ran out (by staff, a lost heart rate, the
            # treadmill): "avsluttet" as the belt screen says it, never "ferdig" (issue 21)
            "stopped": N_("ended early"),
            "incomplete": N_("incomplete")}
SKIPPED_THROUGH = N_("ended, intervals skipped")
"""A session that ended with its plan but is not complete (``stats.session_complete``)."""


def status_word(status: str, complete: bool, plan_name: str = "") -> str:
    """The session's status in words: ``finished`` only when it is complete (the store's
    ``complete``, one rule with the belt screen), else "ended, intervals skipped"; a
    6-minute test (``plan_name``) whose test part did not run to its end "interrupted",
    as the report's body and the console say it (issue 21: it read «fullført»)."""
    if plan_name == "6-minute test" and not complete and status in ("finished", "stopped"):
        return _(TEST_INTERRUPTED)
    if status == "finished" and not complete:
        return _(SKIPPED_THROUGH)
    return word(STATUSES, status)


def ended_as_recorded(event: dict[str, Any], status: str, complete: bool) -> dict[str, Any]:
    """A stored event, the session's end (``done``) said as the record has it: "finished"
    only for a complete session (``status_word``'s rule), else "ended" — also for an event
    recorded before the end carried how it ended (issue 21: a staff stop read «ferdig»)."""
    if event.get("kind") != "done":
        return event
    given = event.get("params")
    params: dict[str, Any] = given if isinstance(given, dict) else {}
    ended = "plan" if status == "finished" and complete else "stopped"
    return {**event, "params": {**params, "ended": ended}}


ENDED_STATES = {**STATES, "done": N_("ended")}
"""The session CSV's states for a session that was not complete: its rows after the end say
"ended" («avsluttet»), never "done" («ferdig»)."""


NOTES = {"": "", "extended": N_("extended"), "skipped": N_("skipped"),
         "cut short": N_("cut short"), "in progress": N_("in progress")}


def session_facts(store: Store, session_id: str) -> dict[str, Any]:
    """What the session report prints, as data (also for tests and the FHIR bundle)."""
    r = _record(store, session_id)
    samples = store.samples(r.id)
    events = store.events(r.id)
    wall = wall_clock(r, samples)
    t0 = samples[0]["t_s"] if samples else 0.0
    prog = _session_progress(store, r)
    from controller.core.summary import summarise

    return {
        "record": r, "samples": samples, "events": events, "wall_unix_s": wall,
        "start_utc": utc_iso(wall[0]) if wall else utc_iso(r.started_unix_s),
        "end_utc": utc_iso(wall[-1]) if wall else None,
        "phases": phases_as_run(samples, r.plan, events, r.status),
        "events_rel": [{**ended_as_recorded(e, r.status, prog.complete),
                        "t_rel_s": e["t_s"] - t0} for e in events],
        "work_at_90_vo2": prog.work_at_90_vo2, "speed_at_90_kmh": prog.speed_at_90_kmh,
        "incline_at_90_pct": prog.incline_at_90_pct, "minutes_at_85": prog.minutes_at_85,
        "peak_hr_bpm": prog.peak_hr_bpm, "at_90_equivalent": prog.at_90_equivalent,
        "belt_speed_at_90_kmh": prog.belt_speed_at_90_kmh,
        "belt_incline_at_90_pct": prog.belt_incline_at_90_pct,
        "complete": prog.complete,
        # each interval scored over its running time (``core.summary``, the console's and
        # the belt screen's numbers; a summary kept before counted a pause as out of zone)
        "scored": summarise(samples, r.hr_max_bpm) if samples else None,
    }


def render_session(store: Store, session_id: str, path: str | Path) -> None:
    """The session report for the journal (PNG: one page; PDF: the page, then every event):
    date and time, plan, phases as they ran (extended/skipped shown), events and alarms,
    work at 90 % HRmax, HRmax with its source. A plain function of (store, id) → file, so
    it can run in a worker process."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    facts = session_facts(store, session_id)
    r, samples, events = facts["record"], facts["samples"], facts["events"]
    if not samples:
        raise StoreError(_("{path}: session {id} has no recorded samples").format(
            path=store.path, id=r.id))
    # the session's start, as `sessions` lists it (its first sample may come a tick later)
    start = local_datetime(r.started_unix_s)
    when = format_datetime(start)
    t = [s["t_s"] - samples[0]["t_s"] for s in samples]
    tmin = [x / 60 for x in t]
    # fixed places on A4 (figure fractions), never tight_layout: a long line of text made
    # it squeeze the charts into a narrow column and the table's columns into each other
    fig = plt.figure(figsize=A4_IN)
    title = session_title(r, when, facts["complete"],
                          hrmax_after_test(store, r) if r.plan_name == "6-minute test"
                          else None)
    fig.text(0.5, 0.985, "\n".join(_wrap(title, 10, PAGE_WIDTH)), fontsize=10, ha="center",
             va="top")
    ax_hr = fig.add_axes((0.09, 0.66, 0.80, 0.27))
    ax_belt = fig.add_axes((0.09, 0.49, 0.80, 0.13))
    begin = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i]["phase"] != samples[begin]["phase"]:
            colour = PHASE_COLOURS.get(samples[begin]["phase"])
            if colour:
                for ax in (ax_hr, ax_belt):
                    ax.axvspan(tmin[begin], tmin[i - 1], color=colour, alpha=0.6, lw=0)
            begin = i
    ax_hr.axhspan(0.85 * r.hr_max_bpm, 0.95 * r.hr_max_bpm, color="green", alpha=0.15,
                  label=_("85–95 % HRmax"))
    ax_hr.plot(tmin, [s["hr_bpm"] for s in samples], color="black", lw=1,
               label=_("heart rate"))
    for e in events:
        if e["severity"] == "alarm":
            ax_hr.axvline((e["t_s"] - samples[0]["t_s"]) / 60, color="red", lw=0.8)
    ax_hr.set_ylabel(_("heart rate (bpm)"))
    ax_hr.legend(loc="lower right", fontsize=8)
    ax_belt.plot(tmin, [s["speed_kmh"] for s in samples], color="tab:blue", lw=1)
    ax_belt.set_ylabel(_("speed (km/h)"), color="tab:blue")
    ax_inc = ax_belt.twinx()
    inclines = [s["incline_pct"] for s in samples]
    ax_inc.plot(tmin, inclines, color="tab:orange", lw=1)
    ax_inc.set_ylabel(_("incline (%)"), color="tab:orange")
    _flat_axis_span(ax_inc, inclines, 1.0)
    ax_belt.set_xlabel(_("minutes"))
    for ax in (ax_hr, ax_belt):
        ax.set_xlim(0, max(tmin[-1], 1 / 60))
    rows = phase_rows(store, facts)
    y = _draw_table(fig, 0.43, phase_columns(), rows)
    is_test = (facts.get("scored") or {}).get("test") is not None
    lines = [*([] if is_test else [table_note()]), *report_lines(store, facts)]
    shown = _shown(facts)
    text = [w for line in lines for w in _wrap(line, TEXT_PT, PAGE_WIDTH, mono=True)]
    fit = _lines_that_fit(y - 0.015, TEXT_PT)
    if len(text) > fit and not str(path).lower().endswith(".pdf"):
        fit -= 1  # a picture's last line says where the rest is
    ax_txt_lines, rest = text[:fit], text[fit:]
    _text_block(fig, y - 0.015, ax_txt_lines)
    number_axes(fig)
    if str(path).lower().endswith(".pdf"):
        # the title in the file too: a journal system lists the report by it
        with PdfPages(path, metadata={"Title": title}) as pdf:
            pdf.savefig(fig)
            plt.close(fig)
            per_page = _lines_that_fit(0.93, TEXT_PT)
            for k in range(0, len(rest), per_page):  # the text that did not fit on page 1
                page = plt.figure(figsize=A4_IN)
                _text_block(page, 0.95, rest[k:k + per_page])
                pdf.savefig(page)
                plt.close(page)
            said = [w for e in shown for w in _wrap(
                f"{_into(e['t_rel_s']):>{INTO_WIDTH}}  "
                f"{_wall_clock(facts['wall_unix_s'][0] + e['t_rel_s'], start)}"
                f"  {word(SEVERITIES, e['severity']):8s} "
                f"{event_text(e['kind'], e['message'], e.get('params'))}",
                EVENT_PT, PAGE_WIDTH, mono=True, indent=29 + INTO_WIDTH - 5)] or [
                _("no events")]
            head = _wrap(_("Events — {title}").format(title=title), 9, PAGE_WIDTH)
            per_page = _lines_that_fit(0.93 - 0.015 * len(head), EVENT_PT)
            for k in range(0, len(said), per_page):
                page = plt.figure(figsize=A4_IN)
                page.text(0.06, 0.97, "\n".join(head), fontsize=9, va="top")
                _text_block(page, 0.955 - 0.015 * len(head), said[k:k + per_page],
                            EVENT_PT)
                pdf.savefig(page)
                plt.close(page)
    else:
        if rest:  # a picture is one page: say where the rest is
            _text_block(fig, y - 0.015 - fit * _line_height(TEXT_PT), [
                _("… more in the PDF report or the JSON export")])
        fig.savefig(path)
        plt.close(fig)


A4_IN = (8.27, 11.69)
PAGE_WIDTH = 0.88
"""The part of the page's width text may take (figure fraction, from x = 0.06)."""
TEXT_PT, EVENT_PT = 7.0, 6.5


def _line_height(size_pt: float) -> float:
    return 1.3 * size_pt / 72 / A4_IN[1]


def _lines_that_fit(top: float, size_pt: float, bottom: float = 0.03) -> int:
    return max(1, int((top - bottom) / _line_height(size_pt)))


def _wrap(text: str, size_pt: float, width: float, mono: bool = False,
          indent: int = 2) -> list[str]:
    """``text`` broken at spaces into lines that fit ``width`` (figure fraction) at
    ``size_pt``: a line is never cut at the page's edge. Monospace: 0.6 em a character;
    proportional text: 0.55 em, a generous mean."""
    import textwrap

    chars = int(width * A4_IN[0] * 72 / ((0.61 if mono else 0.56) * size_pt))
    return textwrap.wrap(text, chars, subsequent_indent=" " * indent,
                         break_on_hyphens=False) or [""]


def _text_block(fig: Any, top: float, lines: list[str], size_pt: float = TEXT_PT) -> None:
    """Lines (already wrapped) from ``top`` down, one text each: a fixed line height."""
    for i, line in enumerate(lines):
        fig.text(0.06, top - i * _line_height(size_pt), line, fontsize=size_pt, va="top",
                 family="monospace", parse_math=False)  # a note's "$5$" is text


TABLE_WIDTHS = (0.14, 0.08, 0.07, 0.17, 0.09, 0.09, 0.09, 0.09, 0.08)
"""The phase table's columns (figure fractions; together 0.90): the phase and the remark
wide enough for "aktiv pause 3" and "hoppet over, pause 1,5 min"."""


def _draw_table(fig: Any, top: float, columns: list[str], rows: list[list[str]],
                size_pt: float = 7.0) -> float:
    """The phase table at ``top``, each column its own width, headers and cells wrapped
    within it (a header never runs into its neighbour); the y under it."""
    from matplotlib.patches import Rectangle

    line = _line_height(size_pt)
    x0 = 0.05
    lefts = [x0 + sum(TABLE_WIDTHS[:i]) for i in range(len(TABLE_WIDTHS))]

    def cells(row: list[str]) -> list[list[str]]:
        return [_wrap(c, size_pt, w - 0.01, indent=0) for c, w in zip(row, TABLE_WIDTHS,
                                                                       strict=False)]

    y = top
    for k, row in enumerate([columns, *rows]):
        wrapped = cells(row)
        height = max(len(c) for c in wrapped) * line + 0.6 * line
        fig.add_artist(Rectangle((x0, y - height), sum(TABLE_WIDTHS), height, fill=k == 0,
                                 facecolor="#eeeeee", edgecolor="#999999", lw=0.4,
                                 transform=fig.transFigure))
        for left, text in zip(lefts, wrapped, strict=False):
            fig.text(left + 0.005, y - 0.3 * line, "\n".join(text), fontsize=size_pt,
                     va="top", linespacing=1.15, weight="bold" if k == 0 else "normal",
                     parse_math=False)
        y -= height
    return y


def _flat_axis_span(ax: Any, values: list[float], min_span: float) -> None:
    """An axis over values that hardly change still spans ``min_span`` from 0 (a session at
    0 % incline read "−0,050 … 0,050"; now 0 … 1)."""
    if not values:
        return
    lo, hi = min(values), max(values)
    if hi - lo < min_span:
        low = min(0.0, lo)
        ax.set_ylim(low, max(hi, low + min_span))


def phase_columns() -> list[str]:
    """The report table's column names (sentence case, as every table and list says them)."""
    return [_("Phase"), _("Planned"), _("Ran"), _("Remark"), _("To zone (s)"),
            _("In zone (%)"), _("Time in zone"), _("Peak (bpm)"),
            _("Borg score")]


def table_note() -> str:
    """What the table's two zone columns count (the trial could not reconcile «I sonen (%)
    84» beside «Tid i sonen 2:16» of 4:00)."""
    from controller.core.metrics import ALLOWANCE_FIRST_S, ALLOWANCE_LATER_S

    return _("{in_zone}: of the interval after its first {first} min ({later} min in the "
             "later intervals), the time in the zone; {time}: the whole interval.").format(
        in_zone=_("In zone (%)"), time=_("Time in zone"),
        first=format_number(ALLOWANCE_FIRST_S / 60, 0),
        later=format_number(ALLOWANCE_LATER_S / 60, 0))


def phase_rows(store: Store, facts: dict[str, Any]) -> list[list[str]]:
    """The report's table: one row per phase as it ran, in the report's language. Times as
    m:ss, an interval's running time and its time in the zone the summary's
    (``core.summary``: the console's and the belt screen's numbers), a pause in the note."""
    r = facts["record"]
    scored = {iv["interval"]: iv for iv in (facts.get("scored") or {}).get("intervals", [])}
    borg = store.ratings(r.id)
    rows = []
    for ph in facts["phases"]:
        iv = scored.get(ph.interval) if ph.phase == "interval" else None
        rows.append([
            word(PHASES, ph.phase) + (f" {ph.interval}" if ph.interval else ""),
            "—" if ph.planned_s is None else _mss(ph.planned_s),
            _mss(iv["ran_s"] if iv else ph.ran_s), _phase_note(ph),
            "—" if not iv or iv["time_to_zone_s"] is None else iv["time_to_zone_s"],
            "—" if not iv or iv["in_zone_after_allowance_pct"] is None
            else format_number(iv["in_zone_after_allowance_pct"], 0),
            "—" if not iv else _mss(iv["in_zone_s"]),
            "—" if not iv else iv["peak_hr_bpm"] or "—",
            borg.get(ph.interval, "—") if ph.phase == "interval" else
            _test_rpe(facts) if ph.phase == "test" else "",
        ])
    return [[str(c) for c in row] for row in rows] + \
        not_reached_rows(r.plan, len(facts["phases"]), r.status)


def not_reached_rows(plan: dict[str, Any], ran_n: int, status: str) -> list[list[str]]:
    """The plan's parts a stopped session never reached, each a row «ikke gjennomført» with
    its planned time (issue 21: a report after an early stop left interval 4 out, and the
    reader could not see the plan had four). A finished session reached every part; a
    running one's are still to come, «gjenstår» (trial 13: a report from the live store
    called them not done)."""
    if status == "finished":
        return []
    missing = _("still to come") if status == "running" else _("not done")
    rows: list[list[str]] = []
    interval = 0
    for k, ph in enumerate(plan.get("phases", [])):
        kind = ph.get("kind", "")
        interval += kind == "interval"
        if k < ran_n:
            continue
        number = interval if kind in ("interval", "recovery") else 0
        planned = ph.get("duration_s")
        rows.append([word(PHASES, kind) + (f" {number}" if number else ""),
                     "—" if planned is None else _mss(planned), "—", missing,
                     "—", "—", "—", "—", "—" if kind == "interval" else ""])
    return rows


def _phase_note(ph: PhaseRun) -> str:
    """The note column: extended / skipped / cut short, and a pause with its length."""
    def held(seconds: float) -> str:  # «1 min 6 s» kept whole where the cell wraps
        return format_duration(round(seconds)).replace(" ", "\u00a0")

    said = [_(NOTES[ph.note])] if ph.note else []
    if ph.note == "extended" and ph.extended_s >= 1:
        said = [_("extended by {time}").format(time=held(ph.extended_s))]
    elif ph.note == "skipped" and ph.extended_s >= 1:  # both, in the order staff did them
        said = [_("extended by {time}, then skipped").format(time=held(ph.extended_s))]
    if ph.paused_s >= 1:  # as every duration people read: «1 min 6 s», never «1,1 min»
        said.append(_("paused for {time}").format(time=held(ph.paused_s)))
    return ", ".join(said)


def _shown(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in facts["events_rel"] if e["kind"] not in ("phase",)]


def report_lines(store: Store, facts: dict[str, Any]) -> list[str]:
    """The report's text under the table, in the report's language (events by their words)."""
    r = facts["record"]
    work = facts["work_at_90_vo2"]
    test = (facts.get("scored") or {}).get("test")
    if test is not None:  # a 6-minute test: what it measured, no zone and no 90 % figures
        run = next((p for p in facts["phases"] if p.phase == "test"), None)
        length = None if run is None else six_minute_length_line(run.ran_s, run.extended_s)
        # the makspuls used during the test, said so: the title shows the one decided on it
        # (issue 21/23: «Makspuls 190» in the body under «makspuls 185» in the header)
        lines = [_("Plan: {plan}. HRmax before the test: {hr_max} bpm ({source}).").format(
            plan=word(PLANS, r.plan_name), hr_max=format_number(r.hr_max_bpm, 0),
            source=word(SOURCES, r.hr_max_source)),
            *([length + "."] if length else []),
            *(line + "." for line in six_minute_summary_lines(test, _test_proposal(facts))),
            _alarms_line(facts)]
        return _report_text(store, facts, lines)
    lines = [
        _("Plan: {plan}. HRmax {hr_max} bpm, source: {source}.").format(
            plan=word(PLANS, r.plan_name), hr_max=format_number(r.hr_max_bpm, 0),
            source=word(SOURCES, r.hr_max_source)),
        _("Work at 90 % HRmax: {work}.").format(
            work="—" if work is None else (
                # whose speed it is, said (the trial: one "fart ved 90 %" was the belt's,
                # another the learned model's estimate): the learned response's work as a
                # speed at a fixed incline is not a belt setting
                _("{vo2} ml/kg/min (the learned model's estimate: equivalent to {speed} km/h "
                  "at {incline} %)")
                if facts.get("at_90_equivalent") else
                _("{vo2} ml/kg/min (the belt: {speed} km/h at {incline} %)"))
            .format(vo2=format_number(work, 1), speed=format_number(facts["speed_at_90_kmh"]),
                    incline=format_number(facts["incline_at_90_pct"]))),
        *([_("The belt while the heart rate held 90 % HRmax: {speed} km/h at {incline} %.")
           .format(speed=format_number(facts["belt_speed_at_90_kmh"]),
                   incline=format_number(facts["belt_incline_at_90_pct"]))]
          if facts.get("at_90_equivalent") and facts.get("belt_speed_at_90_kmh") is not None
          else []),
        _("Time in the zone (85–95 % HRmax) in the intervals: {time}.")
        .format(time="—" if not facts.get("scored") else
                format_duration(facts["scored"]["total_in_zone_s"])),
        _alarms_line(facts),
    ]
    return _report_text(store, facts, lines)


def _test_proposal(facts: dict[str, Any]) -> dict[str, Any] | None:
    """A 6-minute test's Borg rating and HRmax decision as its record keeps them (events
    ``borg`` and ``hrmax_decision``), in the form the end summary reads."""
    kept = {e["kind"]: e.get("params") or {} for e in facts["events"]}
    decision = kept.get("hrmax_decision")
    if not decision or (decision.get("proposed_bpm") is None and
                        decision.get("interrupted_after_s") is None and
                        not decision.get("no_estimate")):
        return None
    return {"rpe": kept.get("borg", {}).get("rpe", "—"), "hr_max_bpm": decision["proposed_bpm"],
            "decision": decision.get("decision"), "value_bpm": decision.get("value_bpm"),
            "uncertainty_bpm": decision.get("uncertainty_bpm"),
            # an interrupted test proposed nothing (``core.hrmax``)
            "interrupted_after_s": decision.get("interrupted_after_s"),
            # a rating the method could not use: kept, it made no proposal (issue 21)
            "no_estimate": bool(decision.get("no_estimate"))}


def _test_rpe(facts: dict[str, Any]) -> Any:
    """The Borg rating given at the end of a 6-minute test (an event, not an interval's)."""
    return next((e["params"]["rpe"] for e in reversed(facts["events"])
                 if e["kind"] == "borg" and (e.get("params") or {}).get("rpe") is not None),
                "—")


def _report_text(store: Store, facts: dict[str, Any], lines: list[str]) -> list[str]:
    """The lines, the staff's notes and the events, wrapped to the page."""
    r = facts["record"]
    notes = store.notes(r.id)
    if notes:
        lines.append(_("Staff notes: {notes}").format(
            notes=" / ".join(n["text"] for n in notes)))  # whole: wrapped below
    # every line within the page (a longer one ran off its edge: the trial's "Alarmer: …;"
    # with the lost-pulse alarm cut away), continued lines indented
    # and never between a number and its unit ("15 s", "4,7 km/t")
    lines = [part.replace("\u00a0", " ") for line in lines for part in textwrap.wrap(
        re.sub(r"(\d) (?=\S)", "\\1\u00a0", line), REPORT_TEXT_COLUMNS,
        subsequent_indent="  ", break_on_hyphens=False)]
    shown = _shown(facts)
    room = max(3, REPORT_TEXT_LINES - len(lines) - 1)  # the events the box has room for
    for e in shown[:room]:
        lines.append(textwrap.shorten(
            f"{_into(e['t_rel_s'])}  {word(SEVERITIES, e['severity'])}: "
            f"{event_text(e['kind'], e['message'], e.get('params'))}", REPORT_TEXT_COLUMNS,
            placeholder=" …"))
    if len(shown) > room:
        lines.append(ngettext("… {n} more event (see the PDF's second page or the JSON "
                              "export)",
                              "… {n} more events (see the PDF's second page or the JSON "
                              "export)", len(shown) - room).format(n=len(shown) - room))
    return lines


REPORT_TEXT_COLUMNS = 110
"""Characters of the report's monospaced text (7 pt) that fit across the A4 page."""
REPORT_TEXT_LINES = 14
"""Lines the text box under the table holds (the events after it go to the PDF's second
page)."""


def _alarms_line(facts: dict[str, Any]) -> str:
    """Every alarm of the session, each kind once with the times it came into the session,
    as durations (``_into``; issue 23: «(18:29)» read as the clock): "Alarmer: <text> (7 min
    34 s, 10 min 7 s ut i økten); <text> (16 min 53 s ut i økten).",
    then the warnings the same way (a strap that misses beats, a pulse held for 5 s), which
    staff saw as ADVARSEL and the record keeps as such."""
    said: dict[str, dict[str, list[str]]] = {"alarm": {}, "warning": {}}
    for e in facts["events_rel"]:
        if e["severity"] in said:
            said[e["severity"]].setdefault(
                event_text(e["kind"], e["message"], e.get("params")),
                []).append(_into(e["t_rel_s"]))

    def listed(kind: str) -> str:
        # «… ut i økten», as the console says it: an event's own text may hold an «etter»
        # of its own (issue 21: «(etter 15 s) – kjenn etter … (etter 4 min)»)
        return "; ".join("{text} ({into})".format(
            text=text.rstrip("."),
            into=_("{time} into the session").format(time=", ".join(times)))
            for text, times in said[kind].items())

    line = _("Alarms: {alarms}.").format(alarms=listed("alarm")) if said["alarm"] \
        else _("Alarms: none.")
    if said["warning"]:
        line += " " + _("Warnings: {warnings}.").format(warnings=listed("warning"))
    return line


def _wall_clock(unix_s: float, start: dt.datetime) -> str:
    """An event's time as the clinic's clock showed it (Europe/Oslo, 24 h: 14:03:12), with
    the date (the language's form) when it is not the session's first day; the data keep
    UTC."""
    when = local_datetime(unix_s)
    clock = when.strftime("%H:%M:%S")
    return clock if when.date() == start.date() else f"{format_date(when.date())} {clock}"


def _mss(s: float) -> str:
    """A duration as m:ss (4:00, 2:47): whole seconds by ``metrics.whole_seconds``."""
    from controller.core.metrics import whole_seconds

    s = max(0, whole_seconds(s))
    return f"{s // 60}:{s % 60:02d}"


def _into(s: float) -> str:
    """A time into the session as a duration, «18 min 29 s» (issue 23: «18:29» beside the
    clock's «15:02:58» read as a time of day), kept whole on a line (no-break spaces)."""
    from controller.core.metrics import whole_seconds

    return format_duration(max(0, whole_seconds(s))).replace(" ", "\u00a0")


INTO_WIDTH = 11
"""The widest ``_into`` of a session («40 min 59 s»): the event list's first column."""


def render_progression(store: Store, pseudonym: str, path: str | Path) -> None:
    """One patient's progression (PNG or PDF): work at 90 % HRmax with its robust trend,
    estimated VO2max, HR at a fixed workload, and per week the sessions against the clinic's
    two and the minutes in the zone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prog = progression(store, pseudonym)
    pts = prog["sessions"]
    if not any(p["work_at_90_vo2"] is not None for p in pts):
        raise StoreError(_("no session of {pseudonym} held 90 % HRmax long enough to "
                           "measure").format(pseudonym=pseudonym))
    fig, axes = plt.subplots(4, 1, figsize=(8.27, 11.69), sharex=False)

    def series(ax, key: str, label: str) -> None:  # type: ignore[no-untyped-def]
        xy = [(local_datetime(p["started_unix_s"]).replace(tzinfo=None), p[key]) for p in pts
              if p[key] is not None]
        if xy:
            ax.plot([x for x, _y in xy], [y for _x, y in xy], "o-", ms=3)
        else:  # words, never an empty panel 0,0–1,0; its axis still in dates, not day numbers
            ax.xaxis_date()
            ax.set_yticks([])
            ax.text(0.5, 0.5, _("no data yet for this measure"), ha="center", va="center",
                    fontsize=9, transform=ax.transAxes)
        ax.set_ylabel(label, fontsize=8)

    series(axes[0], "work_at_90_vo2", _("work at 90 % HRmax\n(ml/kg/min)"))
    series(axes[1], "vo2max_estimate", _("estimated VO2max\n(ml/kg/min)"))
    series(axes[2], "hr_at_fixed_workload_bpm", _("HR at 15 ml/kg/min\n(bpm)"))
    weeks = prog["weeks"]
    xs = [dt.datetime.fromisoformat(w["week_start"]) for w in weeks]
    axes[3].bar(xs, [w["minutes_at_85"] for w in weeks], width=6.6, align="edge",
                color="tab:red", alpha=0.6,
                label=_("minutes in the zone (85–95 % HRmax)"))
    axes[3].axhline(32, color="tab:red", lw=0.8, ls="--")
    axes[3].set_ylabel(_("minutes per week"), fontsize=8)
    ax2 = axes[3].twinx()
    ax2.plot([x + dt.timedelta(days=3.5) for x in xs], [w["sessions"] for w in weeks], "ks-",
             ms=3, label=_("sessions"))  # mid-week: the bar spans its week
    ax2.axhline(CLINIC_SESSIONS_PER_WEEK, color="black", lw=0.8, ls=":")
    # sessions are counted: whole numbers from 0 (two a week every week read "1,90 … 2,10")
    from matplotlib.ticker import MaxNLocator

    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_ylim(0, max([CLINIC_SESSIONS_PER_WEEK, *(w["sessions"] for w in weeks)]) + 1)
    ax2.set_ylabel(_("sessions per week"), fontsize=8)
    trend = prog["work_at_90_trend_vo2_per_week"]
    title = ngettext("{pseudonym}: progression over {n} session",
                     "{pseudonym}: progression over {n} sessions", len(pts)).format(
        pseudonym=pseudonym, n=len(pts))
    if trend is not None:
        title += " — " + _("trend {trend} ml/kg/min per week").format(
            trend=format_signed(trend))
    else:
        title += " — " + _("no trend yet (needs 3 sessions over 14 days)")
    fig.suptitle(title, fontsize=10)
    number_axes(fig)
    # each panel its own dates: autofmt_xdate() hid all but the bottom one's (it assumes a
    # shared axis), so a session's dot was read against the weeks' axis below it (the
    # trial: 06.12.2026 read as 30.11.2026, that week's Monday)
    days = [local_datetime(p["started_unix_s"]).replace(tzinfo=None) for p in pts] + \
        xs + [x + dt.timedelta(days=7) for x in xs]
    lo, hi = min(days) - dt.timedelta(days=2), max(days) + dt.timedelta(days=2)
    for ax in axes:  # one span of days for all four (one point alone spanned four years)
        ax.set_xlim(lo, hi)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8, labelbottom=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
