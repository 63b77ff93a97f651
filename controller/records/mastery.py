"""What the patient managed: today against last time, high-intensity minutes this week, and
sessions completed in a row — the mastery shown on the belt screen at the end of a session,
and the "speed and incline at 90 % HRmax" the hand-over is built on.

Why a module of its own, reading SQLite read-only: the belt view computes this in a worker
thread while the control service keeps writing the store from its event loop; a second
read-only connection (WAL lets readers run beside the writer) never touches the writer's
connection, its transactions or the ``running → incomplete`` repair that ``Store()`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.beltscreen import intervals_ran
from controller.core.dates import day_start_unix_s, local_day
from controller.core.metrics import ScoredRow, interval_metrics, session_in_zone_s
from controller.core.workload import vo2_cost
from controller.records.report import is_4x4
from controller.records.store import connect_readonly

WEEK_GOAL_HIT_MIN = 32.0
"""Minutes in the zone (85–95 % HRmax, the 4x4 app's "HIT minutes") a week: two 4x4
sessions' worth. Counted as the session's time in the zone (``metrics.session_in_zone_s``),
the one number the console, the belt screen and the report show."""
ZONE_BAND_FRAC = 0.03
"""Heart rate within ±3 % HRmax of 90 % counts as "at 90 % HRmax"."""
MIN_ZONE_S = 30
"""Fewer seconds at 90 % than this tell nothing about the workload."""


@dataclass(frozen=True)
class ZoneWork:
    """Mean belt speed and incline while the heart was at 90 % HRmax (after the allowance)."""

    speed_kmh: float
    incline_pct: float
    seconds: int


@dataclass(frozen=True)
class Mastery:
    today: ZoneWork | None
    last: ZoneWork | None
    week_hit_min: float
    week_goal_min: float
    sessions_in_a_row: int
    personal_best: bool = False
    """Today's work at 90 % HRmax is the most this patient has held (a previous one to beat)."""
    today_in_zone_s: int | None = None
    """Today's time in the zone (``metrics.session_in_zone_s``: the console's total)."""
    intervals_speed_kmh: float | None = None
    intervals_incline_pct: float | None = None
    """What the patient ran in today's intervals: the belt's mean speed and incline over
    their running time (what the screen showed them, not a figure derived at 90 %)."""

    @property
    def speed_gain_kmh(self) -> float | None:
        if self.today is None or self.last is None:
            return None
        return round(self.today.speed_kmh - self.last.speed_kmh, 1)

    @property
    def incline_gain_pct(self) -> float | None:
        if self.today is None or self.last is None:
            return None
        return round(self.today.incline_pct - self.last.incline_pct, 1)


def samples_at_90(samples: list[dict[str, Any]], hr_max: float) -> list[dict[str, Any]]:
    """The ticks where the heart rate held 90 % HRmax ± 3 %, in the intervals after the
    allowance (120 s for the first, 60 s later), of a running session (a stop's ramp down is
    still the interval's phase: trial 13's belt figure was averaged over it). The one rule
    of the belt at 90 % (``zone_work``) and the work there (``stats.progress_values``)."""
    out = []
    first_t: dict[int, float] = {}
    for s in samples:
        if s["phase"] != "interval" or s["hr_bpm"] is None:
            continue
        t0 = first_t.setdefault(s["interval"], s["t_s"])
        allowance = 120.0 if s["interval"] == 1 else 60.0
        if s["t_s"] - t0 >= allowance and s.get("state", "running") == "running" and \
                abs(s["hr_bpm"] - 0.9 * hr_max) <= ZONE_BAND_FRAC * hr_max:
            out.append(s)
    return out


def zone_work(samples: list[dict[str, Any]], hr_max: float) -> ZoneWork | None:
    """Speed and incline on the ticks at 90 % HRmax (``samples_at_90``); None with too
    little of it."""
    at_90 = samples_at_90(samples, hr_max)
    if len(at_90) < MIN_ZONE_S:
        return None
    return ZoneWork(round(statistics.fmean(s["speed_kmh"] for s in at_90), 2),
                    round(statistics.fmean(s["incline_pct"] for s in at_90), 2), len(at_90))


def hit_seconds(samples: list[dict[str, Any]], hr_max: float) -> float:
    """The session's seconds in the zone (85–95 % HRmax in its intervals' running time):
    ``metrics.session_in_zone_s``, the figure the console's summary, the belt screen and
    the report show — the week's minutes are made of these, so they add up."""
    return float(session_in_zone_s(
        interval_metrics([ScoredRow.of_sample(s) for s in samples], hr_max)))


def intervals_ran_at(samples: list[dict[str, Any]], hr_max: float
                     ) -> tuple[float, float] | None:
    """The belt's mean speed and incline over the intervals' running time (None without
    any): what the patient ran."""
    ran = speed = incline = 0.0
    for m in interval_metrics([ScoredRow.of_sample(s) for s in samples], hr_max):
        if m.ran_s > 0 and m.mean_speed_kmh is not None and m.mean_incline_pct is not None:
            ran += m.ran_s
            speed += m.mean_speed_kmh * m.ran_s
            incline += m.mean_incline_pct * m.ran_s
    if ran <= 0:
        return None
    return speed / ran, incline / ran


def week_start(now_unix_s: float) -> float:
    """Monday 00:00 Europe/Oslo of the week of ``now_unix_s`` (Norwegian weeks begin
    Monday)."""
    day = local_day(now_unix_s)
    return day_start_unix_s(day - dt.timedelta(days=day.weekday()))


def _samples(db: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    cur = db.execute("SELECT t_s, phase, interval, hr_bpm, speed_kmh, incline_pct, state "
                     "FROM samples WHERE session_id = ? ORDER BY t_s", (session_id,))
    return [dict(zip(("t_s", "phase", "interval", "hr_bpm", "speed_kmh", "incline_pct",
                      "state"), r, strict=True)) for r in cur.fetchall()]


def mastery(path: str | Path, pseudonym: str, session_id: str, now_unix_s: float,
            week_goal_min: float = WEEK_GOAL_HIT_MIN) -> Mastery:
    """Today's session ``session_id`` against this patient's previous one that held the zone,
    minutes in the zone since Monday, and sessions finished in a row up to today's.
    Blocking (SQLite): run it in a worker thread, never on the control loop."""
    db = connect_readonly(path)
    try:
        rows = db.execute("SELECT id, started_unix_s, status, hr_max_bpm, plan_json FROM "
                          "sessions WHERE pseudonym = ? ORDER BY started_unix_s",
                          (pseudonym,)).fetchall()
        plans = {r[0]: json.loads(r[4] or "{}") for r in rows}
        rows = [r[:4] for r in rows]
        # the week's high-intensity minutes are 4x4 training's: a 6-minute test (it sets
        # HRmax) is not training, as the streak and the console's history count
        training = {sid for sid, plan in plans.items()
                    if is_4x4(str(plan.get("name", "")))}
        today = last = best = None
        today_s: int | None = None
        ran_at: tuple[float, float] | None = None
        week_s = 0.0
        monday = week_start(now_unix_s)
        before_today = True
        kept = {r[0]: r[1:] for r in db.execute(
            "SELECT session_id, zone_speed_kmh, zone_incline_pct, zone_s, hit_s FROM "
            "session_stats WHERE pseudonym = ?", (pseudonym,))}
        for sid, started, _status, hr_max in rows:
            if sid != session_id and sid in kept:  # figures kept at the session's end
                speed, incline, zone_s, hit_s = kept[sid]
                if started >= monday and sid in training:
                    week_s += hit_s
                if before_today and speed is not None:
                    last = ZoneWork(speed, incline, zone_s)
                    if best is None or _load(last) > _load(best):
                        best = last
                continue
            if sid != session_id and started < monday and not before_today:
                continue
            samples = _samples(db, sid)
            if started >= monday and sid in training:
                week_s += hit_seconds(samples, hr_max)
            if sid == session_id:
                today = zone_work(samples, hr_max)
                today_s = round(hit_seconds(samples, hr_max))
                ran_at = intervals_ran_at(samples, hr_max)
                before_today = False
            elif before_today:
                work = zone_work(samples, hr_max)
                if work is not None:
                    last = work
                    if best is None or _load(work) > _load(best):
                        best = work
        streak = 0
        upto = [r for r in rows if r[0] == session_id]
        ordered = rows[: rows.index(upto[0]) + 1] if upto else rows
        for sid, _started, status, _hr in reversed(ordered):
            plan = plans[sid]
            if not is_4x4(str(plan.get("name", ""))):
                continue  # a 6-minute test is not training: the console's history agrees
            if status != "finished" or not completed(db, sid, plan):
                break
            streak += 1
    finally:
        db.close()
    pb = today is not None and best is not None and _load(today) > _load(best) + 0.05
    return Mastery(today, last, week_s / 60.0, week_goal_min, streak, pb, today_s,
                   *(ran_at or (None, None)))


def completed(db: sqlite3.Connection, session_id: str, plan: dict[str, Any]) -> bool:
    """The session's intervals ran (``beltscreen.intervals_ran``, the belt screen's rule,
    kept in the store as ``session_stats.complete``): a session staff skipped through is
    not one "completed" in the streak."""
    from controller.records import stats as _stats

    kept = db.execute("SELECT intervals_run, intervals_planned FROM session_stats WHERE "
                      "session_id = ?", (session_id,)).fetchone()
    if kept is not None and kept[0] is not None:
        return bool(kept[0] >= kept[1])
    planned = _stats.planned_intervals_s(plan)
    if not planned:
        return True  # a record without its plan: its status is all there is
    n, t0, t1 = db.execute("SELECT COUNT(*), MIN(t_s), MAX(t_s) FROM samples "
                           "WHERE session_id = ?", (session_id,)).fetchone()
    counts = dict(db.execute(
        "SELECT interval, COUNT(*) FROM samples WHERE session_id = ? AND phase = 'interval' "
        "AND state NOT IN ('paused', 'stopping') GROUP BY interval", (session_id,)).fetchall())
    return intervals_ran(_stats.ran_from_counts(counts, n, t0, t1), planned)


def _load(work: ZoneWork) -> float:
    """The oxygen cost of the belt's work (ACSM walking/running): speed and incline as one."""
    return vo2_cost(work.speed_kmh, work.incline_pct)
