"""The clinic's documented effect over a period, and an anonymised export for research.

``outcome(stores, from_day, to_day)`` reads every patient's 4x4 sessions in the period from
one or more session stores (a site's treadmills; later a central records service offering
the same ``Store`` reading interface): patients, sessions, adherence (sessions per week in
care, against the clinic's two), drop-outs (no session in the last 28 days of the period
although in care before), and the change from each patient's first to latest session in
estimated VO2max and in the work held at 90 % HRmax — median, IQR and n, with a paired 95 %
confidence interval of the mean change (t distribution).

``anonymised_export`` writes one row per session with a random study id per patient *per
export* (two exports cannot be linked), no pseudonyms, and every date shifted by a random
number of days per patient (intervals within a patient are kept).

Plain functions of (store paths / data) → file, so they can run in a worker process.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import secrets
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controller.core.dates import local_day
from controller.core.i18n import _, format_number
from controller.records.report import CLINIC_SESSIONS_PER_WEEK, _session_progress
from controller.records.store import SessionRecord, Store

DROP_OUT_AFTER_DAYS = 28
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042,
        40: 2.021, 60: 2.000, 120: 1.980}


def t95(df: int) -> float:
    """Two-sided 95 % t quantile (table, rounded down in df: slightly conservative)."""
    if df >= 120:
        return 1.96
    return _T95[max(k for k in _T95 if k <= df)]


def describe(changes: Sequence[float]) -> dict[str, Any]:
    """n, median, IQR, mean and a paired 95 % CI of the mean change."""
    xs = sorted(changes)
    n = len(xs)
    out: dict[str, Any] = {"n": n, "median": None, "q1": None, "q3": None, "mean": None,
                           "ci95_low": None, "ci95_high": None}
    if n == 0:
        return out
    out["median"] = round(statistics.median(xs), 2)
    if n >= 2:
        q1, _q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        out["q1"], out["q3"] = round(q1, 2), round(q3, 2)
        mean = statistics.fmean(xs)
        half = t95(n - 1) * statistics.stdev(xs) / math.sqrt(n)
        out.update(mean=round(mean, 2), ci95_low=round(mean - half, 2),
                   ci95_high=round(mean + half, 2))
    return out


def _day(unix_s: float) -> dt.date:
    return local_day(unix_s)  # the clinic's day (Europe/Oslo)


def _in_period(stores: Sequence[Store], from_day: dt.date, to_day: dt.date
               ) -> dict[str, list[tuple[Store, SessionRecord]]]:
    by_patient: dict[str, list[tuple[Store, SessionRecord]]] = {}
    for store in stores:
        for r in store.sessions():
            if r.plan_name != "4x4" or r.status == "running":
                continue
            if from_day <= _day(r.started_unix_s) <= to_day:
                by_patient.setdefault(r.pseudonym, []).append((store, r))
    for recs in by_patient.values():
        recs.sort(key=lambda sr: sr[1].started_unix_s)
    return by_patient


def outcome(stores: Sequence[Store], from_day: dt.date, to_day: dt.date) -> dict[str, Any]:
    if to_day < from_day:
        raise ValueError(_("--to must not be before --from"))
    by_patient = _in_period(stores, from_day, to_day)
    rows = []
    for pseudonym, recs in sorted(by_patient.items()):
        prog = [_session_progress(store, r) for store, r in recs]
        first_day, last_day = _day(recs[0][1].started_unix_s), _day(recs[-1][1].started_unix_s)
        weeks = max((last_day - first_day).days / 7.0, 1.0)
        vo2 = [p.vo2max_estimate for p in prog if p.vo2max_estimate is not None]
        work = [p.work_at_90_vo2 for p in prog if p.work_at_90_vo2 is not None]
        rows.append({
            "pseudonym": pseudonym, "sessions": len(recs),
            "first_session": first_day.isoformat(), "latest_session": last_day.isoformat(),
            "sessions_per_week": round(len(recs) / weeks, 2),
            "dropped_out": (to_day - last_day).days > DROP_OUT_AFTER_DAYS,
            "vo2max_first": vo2[0] if len(vo2) >= 2 else None,
            "vo2max_latest": vo2[-1] if len(vo2) >= 2 else None,
            "vo2max_change": round(vo2[-1] - vo2[0], 2) if len(vo2) >= 2 else None,
            "work_at_90_first_vo2": work[0] if len(work) >= 2 else None,
            "work_at_90_latest_vo2": work[-1] if len(work) >= 2 else None,
            "work_at_90_change_vo2": round(work[-1] - work[0], 2) if len(work) >= 2 else None,
        })
    adherence = [r["sessions_per_week"] for r in rows]
    return {
        "from": from_day.isoformat(), "to": to_day.isoformat(),
        "patients": len(rows), "sessions": sum(r["sessions"] for r in rows),
        "adherence_sessions_per_week": describe(adherence),
        "adherence_target_sessions_per_week": CLINIC_SESSIONS_PER_WEEK,
        "patients_at_target": sum(1 for a in adherence if a >= CLINIC_SESSIONS_PER_WEEK),
        "drop_outs": sum(1 for r in rows if r["dropped_out"]),
        "drop_out_rule": f"no session in the last {DROP_OUT_AFTER_DAYS} days of the period",
        "vo2max_change": describe([r["vo2max_change"] for r in rows
                                   if r["vo2max_change"] is not None]),
        "work_at_90_change_vo2": describe([r["work_at_90_change_vo2"] for r in rows
                                           if r["work_at_90_change_vo2"] is not None]),
        "per_patient": rows,
    }


OUTCOME_CSV_FIELDS = ("pseudonym", "sessions", "first_session", "latest_session",
                      "sessions_per_week", "dropped_out", "vo2max_first", "vo2max_latest",
                      "vo2max_change", "work_at_90_first_vo2", "work_at_90_latest_vo2",
                      "work_at_90_change_vo2")


def write_outcome_csv(result: dict[str, Any], path: str | Path) -> None:
    """One row per patient (for the clinic's own use: pseudonyms, real dates)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=OUTCOME_CSV_FIELDS)
        w.writeheader()
        w.writerows(result["per_patient"])


def outcome_lines(result: dict[str, Any]) -> list[str]:
    def d(s: dict[str, Any], unit: str) -> str:
        if not s["n"]:
            return _("no patient with two measured sessions")
        if s["n"] == 1:
            return _("n = 1, change {median} {unit}").format(
                median=format_number(s["median"], 2), unit=unit)
        return _("median {median} (IQR {q1} to {q3}) {unit}, n = {n}; mean {mean}, 95 % CI "
                 "{low} to {high}").format(
            median=format_number(s["median"], 2), q1=format_number(s["q1"], 2),
            q3=format_number(s["q3"], 2), unit=unit, n=s["n"],
            mean=format_number(s["mean"], 2), low=format_number(s["ci95_low"], 2),
            high=format_number(s["ci95_high"], 2))

    a = result["adherence_sessions_per_week"]
    return [
        _("Outcome {start} to {end}: {patients} patients, {sessions} 4x4 sessions.").format(
            start=result["from"], end=result["to"], patients=result["patients"],
            sessions=result["sessions"]),
        _("Adherence: median {median} sessions per week; {at_target} of {patients} patients "
          "at the clinic's {target}.").format(
            median="—" if a["median"] is None else format_number(a["median"], 1),
            at_target=result["patients_at_target"], patients=result["patients"],
            target=result["adherence_target_sessions_per_week"]),
        _("Drop-outs: {n} ({rule}).").format(n=result["drop_outs"],
                                             rule=result["drop_out_rule"]),
        _("Change in estimated VO2max, first to latest: {text}.").format(
            text=d(result["vo2max_change"], "ml/kg/min")),
        _("Change in work at 90 % HRmax, first to latest: {text}.").format(
            text=d(result["work_at_90_change_vo2"], "ml/kg/min")),
    ]


def render_outcome(result: dict[str, Any], path: str | Path) -> None:
    """The outcome as a PDF (or PNG): the figures as text and the per-patient changes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_txt, ax_plot) = plt.subplots(2, 1, figsize=(8.27, 11.69),
                                          gridspec_kw={"height_ratios": [1, 2]})
    ax_txt.axis("off")
    ax_txt.text(0.0, 1.0, "\n".join(outcome_lines(result)), va="top", fontsize=8, wrap=True)
    data = [[r["vo2max_change"] for r in result["per_patient"] if r["vo2max_change"]
             is not None],
            [r["work_at_90_change_vo2"] for r in result["per_patient"]
             if r["work_at_90_change_vo2"] is not None]]
    labels = [_("estimated VO2max"), _("work at 90 % HRmax")]
    if any(data):
        ax_plot.boxplot([x or [0.0] for x in data])
        ax_plot.set_xticks([1, 2], labels)
        for i, xs in enumerate(data, 1):
            ax_plot.plot([i] * len(xs), xs, "o", alpha=0.5)
    ax_plot.axhline(0.0, color="grey", lw=0.8)
    ax_plot.set_ylabel(_("change, first to latest (ml/kg/min)"))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


ANON_FIELDS = ("study_id", "date_shifted", "plan", "status", "minutes", "work_at_90_vo2",
               "vo2max_estimate", "hr_at_fixed_workload_bpm", "minutes_at_85")


def anonymised_export(stores: Sequence[Store], from_day: dt.date, to_day: dt.date,
                      path: str | Path, *, max_shift_days: int = 180) -> int:
    """Sessions for quality registers and research: random study ids (new for every export),
    no pseudonyms, dates shifted per patient by a random ±``max_shift_days``. Returns the
    number of rows."""
    by_patient = _in_period(stores, from_day, to_day)
    n = 0
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=ANON_FIELDS)
        w.writeheader()
        ids = {p: secrets.token_hex(6) for p in by_patient}
        for pseudonym in sorted(by_patient, key=lambda p: ids[p]):
            shift = dt.timedelta(days=secrets.randbelow(2 * max_shift_days + 1)
                                 - max_shift_days)
            for store, r in by_patient[pseudonym]:
                p = _session_progress(store, r)
                samples = store.samples(r.id)
                minutes = (samples[-1]["t_s"] - samples[0]["t_s"]) / 60 if samples else 0.0
                w.writerow({"study_id": ids[pseudonym],
                            "date_shifted": (_day(r.started_unix_s) + shift).isoformat(),
                            "plan": r.plan_name, "status": r.status,
                            "minutes": round(minutes, 1), "work_at_90_vo2": p.work_at_90_vo2,
                            "vo2max_estimate": p.vo2max_estimate,
                            "hr_at_fixed_workload_bpm": p.hr_at_fixed_workload_bpm,
                            "minutes_at_85": p.minutes_at_85})
                n += 1
    return n
