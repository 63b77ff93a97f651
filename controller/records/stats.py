"""Per-session figures kept at write time, so reports never re-read a whole trace again.

Why: the clinic's outcome over a region (100,000 sessions), a hand-over of 200 sessions and
the session list read one row per session from ``session_stats`` instead of ~2,400 samples
each (the outcome over 2,070 sessions took 71 s and 127 MB that way). The row is computed
once from the recorded samples by ``compute`` — when the session ends (``Store.end_session``),
when the service's start marks an interrupted session incomplete, when a session is imported
or reaches the clinic's records server, and for older stores once at the migration — and
the aggregation over patients is SQL (``OUTCOME_SQL``), the same text on SQLite and
PostgreSQL.

Every figure is the one the journal reports compute from samples (the tests hold them equal):
work held at 90 % HRmax, speed/incline there, the estimated VO2max, heart rate at a fixed
workload, peak, minutes in the zone (``minutes_at_85``, ``hit_s``: names from before
issue 21, when they counted ≥ 85 % HRmax anywhere; rows kept before keep that figure), the
belt in the warm-up's last three minutes and in the pauses' steady part (the hand-over's
suggestion), the mean Borg rating and the intervals that met the 4x4's criteria.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controller.core.beltscreen import interval_ran, intervals_ran_count
from controller.core.dates import local_day
from controller.core.i18n import N_
from controller.core.metrics import (
    IntervalMetrics,
    ScoredRow,
    interval_metrics,
    session_in_zone_s,
)
from controller.core.workload import REST_VO2, vo2_cost

FIXED_WORKLOAD_VO2 = 15.0
"""ml/kg/min: the warm-up's workload at which the heart rate is compared across sessions."""

COLUMNS = ("session_id", "pseudonym", "started_unix_s", "day", "plan_name", "status",
           "minutes", "work_at_90_vo2", "speed_at_90_kmh", "incline_at_90_pct",
           "hr_at_fixed_workload_bpm", "peak_hr_bpm", "minutes_at_85", "vo2max_estimate",
           "zone_speed_kmh", "zone_incline_pct", "zone_s", "warm_speed_kmh",
           "warm_incline_pct", "pause_speed_kmh", "pause_incline_pct", "borg_mean",
           "intervals_ok", "intervals_n", "hit_s", "intervals_planned", "intervals_run",
           "complete", "belt_speed_at_90_kmh", "belt_incline_at_90_pct",
           "learned_speed_at_90_kmh", "learned_incline_at_90_pct")
"""Since schema 8 (``SQLITE_V8``): ``intervals_planned``/``intervals_run``/``complete``
(``session_complete``: a session skipped through is not complete although it ended with its
plan), and the speed at 90 % HRmax as two facts — ``belt_*`` (the belt as measured while the
heart held 90 % HRmax ± 3 %, after the allowance; None with under 30 s of it) and
``learned_*`` (the learned response's work at 90 % HRmax as a speed at its fixed incline,
"tilsvarer"; None without a learned response). ``speed_at_90_kmh``/``incline_at_90_pct`` are
schema 7's single figure (the learned one where a response was learned, else the belt's): NULL
in every row written since and in every old row the migration could tell apart; a value there
marks an old row it could not (the figure equals the belt's, and the session did learn a
response)."""

SQLITE_TABLE = """
CREATE TABLE session_stats (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    pseudonym TEXT NOT NULL,
    started_unix_s REAL NOT NULL,
    day TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    status TEXT NOT NULL,
    minutes REAL NOT NULL,
    work_at_90_vo2 REAL,
    speed_at_90_kmh REAL,
    incline_at_90_pct REAL,
    hr_at_fixed_workload_bpm REAL,
    peak_hr_bpm REAL,
    minutes_at_85 REAL NOT NULL,
    vo2max_estimate REAL,
    zone_speed_kmh REAL,
    zone_incline_pct REAL,
    zone_s INTEGER,
    warm_speed_kmh REAL,
    warm_incline_pct REAL,
    pause_speed_kmh REAL,
    pause_incline_pct REAL,
    borg_mean REAL,
    intervals_ok INTEGER NOT NULL,
    intervals_n INTEGER NOT NULL,
    hit_s REAL NOT NULL
);
CREATE INDEX session_stats_by_day ON session_stats(day, plan_name);
CREATE INDEX session_stats_by_patient ON session_stats(pseudonym, started_unix_s);
CREATE INDEX sessions_by_patient ON sessions(pseudonym, started_unix_s);
"""

PG_TABLE = (SQLITE_TABLE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")
            .replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")
            .replace(" REAL", " DOUBLE PRECISION"))

_V8_COLUMNS = (("intervals_planned", "INTEGER"), ("intervals_run", "INTEGER"),
               ("complete", "INTEGER"), ("belt_speed_at_90_kmh", "REAL"),
               ("belt_incline_at_90_pct", "REAL"), ("learned_speed_at_90_kmh", "REAL"),
               ("learned_incline_at_90_pct", "REAL"))
SQLITE_V8 = "".join(f"ALTER TABLE session_stats ADD COLUMN {c} {t};\n" for c, t in _V8_COLUMNS)
"""Schema 8 (the store's migration 8); old rows are brought up by ``bring_up_old_rows``."""
PG_V8 = "".join(f"ALTER TABLE session_stats ADD COLUMN IF NOT EXISTS {c} "
                f"{t.replace('REAL', 'DOUBLE PRECISION')};\n" for c, t in _V8_COLUMNS)

SPLIT_AT_90_SQL = (
    # the belt's figure: the same rule on the same samples as the kept zone_* (zone_work)
    "UPDATE session_stats SET belt_speed_at_90_kmh = zone_speed_kmh, "
    "belt_incline_at_90_pct = zone_incline_pct WHERE intervals_planned IS NULL",
    # a figure unlike the belt's can only be the learned response's
    "UPDATE session_stats SET learned_speed_at_90_kmh = speed_at_90_kmh, "
    "learned_incline_at_90_pct = incline_at_90_pct WHERE intervals_planned IS NULL AND "
    "speed_at_90_kmh IS NOT NULL AND (zone_speed_kmh IS NULL OR "
    "ABS(speed_at_90_kmh - zone_speed_kmh) > 0.001 OR "
    "ABS(incline_at_90_pct - zone_incline_pct) > 0.051)",
    # told apart: moved to the learned figure, or the session learned no response (the
    # figure was the belt's); what stays marks a row that cannot be told apart
    "UPDATE session_stats SET speed_at_90_kmh = NULL, incline_at_90_pct = NULL WHERE "
    "intervals_planned IS NULL AND (learned_speed_at_90_kmh IS NOT NULL OR NOT EXISTS ("
    "SELECT 1 FROM sessions s WHERE s.id = session_stats.session_id AND "
    "s.summary_json LIKE '%\"response_model\"%'))",
)
"""Schema 7 kept one speed at 90 % HRmax; these split it without reading any trace."""


def planned_intervals_s(plan: dict[str, Any]) -> list[float]:
    """The planned seconds of each interval of ``plan`` (a stored plan dict), in order."""
    return [float(ph.get("duration_s") or 0.0) for ph in plan.get("phases", [])
            if isinstance(ph, dict) and ph.get("kind") == "interval"]


def ran_by_interval(samples: list[dict[str, Any]]) -> dict[int, float]:
    """Seconds each interval ran, a pause or a controlled stop not counted (one tick per
    sample, the tick read from the whole trace)."""
    counts: dict[int, int] = {}
    for s in samples:
        if s["phase"] == "interval" and s.get("state") not in ("paused", "stopping"):
            counts[s["interval"]] = counts.get(s["interval"], 0) + 1
    n = len(samples)
    t0, t1 = (samples[0]["t_s"], samples[-1]["t_s"]) if samples else (0.0, 0.0)
    return ran_from_counts(counts, n, t0, t1)


def ran_from_counts(counts: dict[int, int], n: int, t0: float | None, t1: float | None
                    ) -> dict[int, float]:
    """``ran_by_interval`` from counted samples (interval → running samples; ``n`` samples
    in all, from ``t0`` to ``t1``): what SQL can count without reading the trace."""
    tick = (t1 - t0) / (n - 1) if n > 1 and t0 is not None and t1 is not None and t1 > t0 \
        else 1.0
    return {k: c * tick for k, c in counts.items()}


def intervals_run(ran_s: dict[int, float], planned_s: list[float]) -> int:
    """How many of the plan's intervals ran (``beltscreen.intervals_ran_count``: each at
    least ``RAN_FRAC`` of its planned time, running)."""
    return intervals_ran_count(ran_s, planned_s)


def intervals_held(ms: Sequence[IntervalMetrics], ran_s: dict[int, float],
                   planned_s: list[float]) -> int:
    """The intervals that held the zone (``IntervalMetrics.ok``) and ran (``RAN_FRAC`` of
    their planned time, the rule of ``intervals_run``): trial 15's 4x4 stopped 2 min 35 s
    into its first interval was listed «1/4» in the zone beside the report's «avbrutt»."""
    return sum(1 for m in ms if m.ok and 0 < m.interval <= len(planned_s)
               and interval_ran(ran_s.get(m.interval, 0.0), planned_s[m.interval - 1]))


MIN_INTERVALS_FOR_OKT = 1
"""A 4x4 counts as an økt (attendance, progression, the register's count, outcome) when it
reached at least this many intervals (``counts_as_okt``)."""

OKT_RULE = N_("a session counts when its 4x4 reached the first interval (one quit in the "
              "warm-up is kept but not counted; the 6-minute test is not training)")
"""The rule in words, said beside every count of økter."""


def counts_as_okt(intervals_n: int | None) -> bool:
    """The one rule for what counts as an økt of training (the trial: a 4x4 quit after 2
    minutes of the warm-up counted in the outcome's attendance): the session reached
    ``MIN_INTERVALS_FOR_OKT`` interval (``intervals_n``: the intervals it has samples of;
    every session attended counts for adherence, complete or not, ``session_complete``).
    The record of a shorter one stays in the store and its session list. ``OUTCOME_SQL``
    says it in SQL."""
    return (intervals_n or 0) >= MIN_INTERVALS_FOR_OKT


def session_complete(status: str, intervals_run: int, intervals_planned: int,
                     test_walked: bool | None = None) -> bool:
    """The one rule for "complete" (the belt screen, the streak, the store, the hand-over's
    "fullført helt ut", outcome, the session list and the report): the session ended
    because its plan ran out (status ``finished``, not stopped or interrupted) **and every
    interval of its plan ran** — each at least ``beltscreen.RAN_FRAC`` (75 %) of its planned
    time, pauses not counted. A session staff skipped through, or whose intervals were
    mostly skipped, ends ``finished`` (nobody stopped it) but is not complete. A plan
    without intervals (a record without its plan): ``finished`` is complete. A 6-minute
    test (``test_walked`` given) is complete when its test part ran to its end
    (``test_walked``, ``core.hrmax.interrupted_test_s``'s rule), also when staff stopped
    it in the cool-down after: one skipped on to the cool-down or stopped in the test is
    "interrupted" (issue 21: a skipped test read «fullført»)."""
    if test_walked is not None:
        return test_walked and status in ("finished", "stopped")
    return status == "finished" and intervals_run >= intervals_planned


def test_walked(rec: Any, samples: list[dict[str, Any]],
                events: Iterable[Mapping[str, Any]]) -> bool | None:
    """For a 6-minute test (its plan has a test part), whether the test part ran to its end:
    the rule that proposes no makspuls otherwise (``core.hrmax``); None for a plan without
    a test part."""
    from controller.core.hrmax import interrupted_test_s, test_skipped

    if not any(isinstance(ph, dict) and ph.get("kind") == "test"
               for ph in (rec.plan or {}).get("phases", [])):
        return None
    ticks = [(float(r["t_s"]), str(r["phase"]), str(r["state"])) for r in samples]
    return interrupted_test_s(ticks, test_skipped=test_skipped(events)) is None


def bring_up_old_rows(db: Any, placeholder: str = "?") -> None:
    """Rows kept before schema 8 (``intervals_planned`` NULL), inside the caller's
    transaction: split the speed at 90 % (``SPLIT_AT_90_SQL``), then count the intervals
    that ran from the samples (SQL counts, no trace read into Python) and decide
    ``complete`` by ``session_complete``."""
    for sql in SPLIT_AT_90_SQL:
        db.execute(sql)
    p = placeholder
    old = db.execute("SELECT st.session_id, s.status, s.plan_json FROM session_stats st "
                     "JOIN sessions s ON s.id = st.session_id "
                     "WHERE st.intervals_planned IS NULL").fetchall()
    for sid, status, plan_json in old:
        try:
            plan = json.loads(plan_json or "{}")
        except ValueError:
            plan = {}
        planned = planned_intervals_s(plan if isinstance(plan, dict) else {})
        n, t0, t1 = db.execute(f"SELECT COUNT(*), MIN(t_s), MAX(t_s) FROM samples "
                               f"WHERE session_id = {p}", (sid,)).fetchone()
        counts = dict(db.execute(
            f"SELECT interval, COUNT(*) FROM samples WHERE session_id = {p} AND "
            f"phase = 'interval' AND state NOT IN ('paused', 'stopping') GROUP BY interval",
            (sid,)).fetchall())
        run = intervals_run(ran_from_counts(counts, n, t0, t1), planned)
        db.execute(f"UPDATE session_stats SET intervals_planned = {p}, intervals_run = {p}, "
                   f"complete = {p} WHERE session_id = {p}",
                   (len(planned), run, int(session_complete(status, run, len(planned))), sid))


def vo2max_from_work(work_vo2: float | None, hr_max: float, hr_rest: float | None
                     ) -> float | None:
    """VO2max from the work held at 90 % HRmax (%HRR ≈ %VO2R); None without both."""
    if work_vo2 is None or not hr_rest:
        return None
    hrr_frac = (0.9 * hr_max - hr_rest) / (hr_max - hr_rest)
    return round(REST_VO2 + (work_vo2 - REST_VO2) / hrr_frac, 1)


def progress_values(hr_max: float, hr_rest: float | None,
                    samples: list[dict[str, Any]], hit_s: float | None = None
                    ) -> dict[str, Any]:
    """Work at 90 % HRmax (ACSM oxygen cost on the ticks ``mastery.samples_at_90`` gives),
    the belt there, VO2max estimated from it, HR at the fixed workload, peak, and the minutes
    in the zone (``minutes_at_85``, the column's old name: the session's time in the zone,
    ``mastery.hit_seconds``, the one figure every place shows; ``hit_s``: that figure when
    the caller has it already)."""
    from controller.records.mastery import hit_seconds, samples_at_90

    fixed, peak = [], None
    for s in samples:
        hr = s["hr_bpm"]
        if hr is None:
            continue
        peak = hr if peak is None else max(peak, hr)
        if s["phase"] == "warmup" and \
                abs(vo2_cost(s["speed_kmh"], s["incline_pct"]) - FIXED_WORKLOAD_VO2) <= 1.5:
            fixed.append(hr)
    at_90 = samples_at_90(samples, hr_max)
    work = [vo2_cost(s["speed_kmh"], s["incline_pct"]) for s in at_90]
    speeds = [s["speed_kmh"] for s in at_90]
    inclines = [s["incline_pct"] for s in at_90]
    w = round(statistics.fmean(work), 2) if len(work) >= 30 else None
    vo2max = vo2max_from_work(w, hr_max, hr_rest)
    return {"work_at_90_vo2": w,
            "speed_at_90_kmh": round(statistics.fmean(speeds), 2) if w is not None else None,
            "incline_at_90_pct": round(statistics.fmean(inclines), 1) if w is not None
            else None,
            "hr_at_fixed_workload_bpm": round(statistics.fmean(fixed), 1) if len(fixed) >= 30
            else None,
            "peak_hr_bpm": peak,
            "minutes_at_85": round((hit_seconds(samples, hr_max) if hit_s is None else hit_s)
                                   / 60.0, 1) if samples else 0.0,
            "vo2max_estimate": vo2max}


def _with_learned(rec: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Issue 26: a session that learned the patient's response gives the work at 90 % HRmax
    and the heart rate at the fixed workload from that response (every session, no test)
    instead of from the few samples that happened to sit at those points."""
    from controller.records.report import _learned_fitness

    learned = _learned_fitness(rec, rec.hr_max_bpm)
    if learned is None:
        return values
    w = learned["vo2_at_90_ml_kg_min"]
    vo2max = vo2max_from_work(w, rec.hr_max_bpm, rec.profile.get("hr_rest"))
    return {**values, "work_at_90_vo2": w,
            "learned_speed_at_90_kmh": learned["speed_at_90_kmh"],
            "learned_incline_at_90_pct": learned["incline_pct"],
            "hr_at_fixed_workload_bpm": learned["hr_at_fixed_workload_bpm"],
            "vo2max_estimate": vo2max}


def compute(rec: Any, samples: list[dict[str, Any]], borgs: list[int],
            events: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The ``session_stats`` row of one ended session (``rec``: a ``SessionRecord``;
    ``events``: its events, which tell a 6-minute test's skipped test part)."""
    from controller.records.handover import _phase_work
    from controller.records.mastery import zone_work

    hr_max = rec.hr_max_bpm
    zone = zone_work(samples, hr_max)
    warm = _phase_work(samples, "warmup", 0.0, last_s=180.0)
    pause = _phase_work(samples, "recovery", 60.0)
    ms = interval_metrics([ScoredRow.of_sample(s) for s in samples], hr_max)
    # ``mastery.hit_seconds`` is these intervals' time in the zone: from ``ms``, scored once
    # (issue 23: the samples were scored three times over)
    hit_s = float(session_in_zone_s(ms))
    minutes = (samples[-1]["t_s"] - samples[0]["t_s"]) / 60 if len(samples) > 1 else 0.0
    planned = planned_intervals_s(rec.plan)
    ran_s = ran_by_interval(samples)
    run = intervals_run(ran_s, planned)
    values = progress_values(hr_max, rec.profile.get("hr_rest"), samples, hit_s)
    # schema 7's single figure is no longer written: the belt's and the learned one apart
    values.update(speed_at_90_kmh=None, incline_at_90_pct=None,
                  learned_speed_at_90_kmh=None, learned_incline_at_90_pct=None)
    return {"session_id": rec.id, "pseudonym": rec.pseudonym,
            "started_unix_s": rec.started_unix_s,
            "day": local_day(rec.started_unix_s).isoformat(),
            "plan_name": rec.plan_name, "status": rec.status, "minutes": round(minutes, 2),
            **_with_learned(rec, values),
            "intervals_planned": len(planned), "intervals_run": run,
            "complete": int(session_complete(rec.status, run, len(planned),
                                             test_walked(rec, samples, events))),
            "belt_speed_at_90_kmh": zone.speed_kmh if zone else None,
            "belt_incline_at_90_pct": zone.incline_pct if zone else None,
            "zone_speed_kmh": zone.speed_kmh if zone else None,
            "zone_incline_pct": zone.incline_pct if zone else None,
            "zone_s": zone.seconds if zone else None,
            "warm_speed_kmh": warm[0] if warm else None,
            "warm_incline_pct": warm[1] if warm else None,
            "pause_speed_kmh": pause[0] if pause else None,
            "pause_incline_pct": pause[1] if pause else None,
            "borg_mean": round(statistics.fmean(borgs), 1) if borgs else None,
            "intervals_ok": intervals_held(ms, ran_s, planned), "intervals_n": len(ms),
            "hit_s": hit_s}


OUTCOME_SQL = """
SELECT pseudonym, COUNT(*), MIN(day), MAX(day), COUNT(v), COUNT(w),
       MAX(CASE WHEN v_first = 1 THEN started_unix_s END),
       MAX(CASE WHEN v_first = 1 THEN v END),
       MAX(CASE WHEN v_last = 1 THEN started_unix_s END),
       MAX(CASE WHEN v_last = 1 THEN v END),
       MAX(CASE WHEN w_first = 1 THEN started_unix_s END),
       MAX(CASE WHEN w_first = 1 THEN w END),
       MAX(CASE WHEN w_last = 1 THEN started_unix_s END),
       MAX(CASE WHEN w_last = 1 THEN w END),
       SUM(minutes), SUM(complete)
FROM (SELECT pseudonym, day, started_unix_s, minutes, complete,
             vo2max_estimate AS v, work_at_90_vo2 AS w,
             CASE WHEN vo2max_estimate IS NOT NULL THEN ROW_NUMBER() OVER (
                 PARTITION BY pseudonym, vo2max_estimate IS NULL
                 ORDER BY started_unix_s) END AS v_first,
             CASE WHEN vo2max_estimate IS NOT NULL THEN ROW_NUMBER() OVER (
                 PARTITION BY pseudonym, vo2max_estimate IS NULL
                 ORDER BY started_unix_s DESC) END AS v_last,
             CASE WHEN work_at_90_vo2 IS NOT NULL THEN ROW_NUMBER() OVER (
                 PARTITION BY pseudonym, work_at_90_vo2 IS NULL
                 ORDER BY started_unix_s) END AS w_first,
             CASE WHEN work_at_90_vo2 IS NOT NULL THEN ROW_NUMBER() OVER (
                 PARTITION BY pseudonym, work_at_90_vo2 IS NULL
                 ORDER BY started_unix_s DESC) END AS w_last
      FROM session_stats
      WHERE plan_name = '4x4' AND status <> 'running' AND day >= {p} AND day <= {p}
            AND intervals_n >= {min_intervals}) AS s
GROUP BY pseudonym
""".replace("{min_intervals}", str(MIN_INTERVALS_FOR_OKT))
"""Per patient in a period (days as the clinic's ISO dates): sessions, first and last day,
how many sessions measured VO2max and work, the first and last of each with its start time
(to merge stores of one site), total minutes, the complete sessions (``session_complete``).
``{p}``: the driver's placeholder."""

OUTCOME_FIELDS = ("pseudonym", "sessions", "first_day", "last_day", "n_vo2", "n_work",
                  "vo2_first_t", "vo2_first", "vo2_last_t", "vo2_last", "work_first_t",
                  "work_first", "work_last_t", "work_last", "minutes", "complete_sessions")


def outcome_rows(db: Any, from_day: str, to_day: str, placeholder: str = "?"
                 ) -> list[dict[str, Any]]:
    """``OUTCOME_SQL`` on a DB-API connection (SQLite ``?``, psycopg ``%s``)."""
    cur = db.execute(OUTCOME_SQL.format(p=placeholder), (from_day, to_day))
    return [dict(zip(OUTCOME_FIELDS, r, strict=True)) for r in cur.fetchall()]
