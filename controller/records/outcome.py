"""The clinic's documented effect over a period, and an anonymised export for research.

``outcome(stores, from_day, to_day)`` reads every patient's 4x4 sessions in the period from
one or more session stores (a site's treadmills; later a central records service offering
the same ``Store`` reading interface): patients, sessions, adherence (sessions per week in
care, against the clinic's two), drop-outs (no session in the last 28 days of the period
although in care before), and the change from each patient's first to latest session in
estimated VO2max and in the work held at 90 % HRmax — median, IQR and n, with a paired 95 %
confidence interval of the mean change (t distribution).

Every figure comes from the per-session rows kept at write time (``records/stats.py``) and
the per-patient aggregation runs in the database (SQLite or the clinic's PostgreSQL).

``anonymised_export`` writes groups of at least ``ANON_K`` patients with banded figures and
no dates or ids (the threat model is in ``anonymised_rows``).

Plain functions of (store paths / data) → file, so they can run in a worker process.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controller.core.dates import local_day
from controller.core.i18n import N_, _, format_date, format_number, language, ngettext
from controller.records import stats as _stats
from controller.records.report import CLINIC_SESSIONS_PER_WEEK, number_axes

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


def _rows_of(source: Any, from_day: dt.date, to_day: dt.date) -> list[dict[str, Any]]:
    """``stats.OUTCOME_SQL`` on one source: a session store (SQLite) or the clinic's records
    database (``PgClinicDb``, PostgreSQL) — the aggregation runs in the database."""
    from controller.records.clinic_db import PgClinicDb

    return _stats.outcome_rows(source.db, from_day.isoformat(), to_day.isoformat(),
                               "%s" if isinstance(source, PgClinicDb) else "?")


def patient_rows(sources: Sequence[Any], from_day: dt.date, to_day: dt.date
                 ) -> dict[str, dict[str, Any]]:
    """Per patient: the 4x4 sessions in the period across every source (a site's
    treadmills), first and last day, and the first and latest measured VO2max and work."""
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for r in _rows_of(source, from_day, to_day):
            m = merged.get(r["pseudonym"])
            if m is None:
                merged[r["pseudonym"]] = dict(r)
                continue
            m["sessions"] += r["sessions"]
            m["complete_sessions"] = (m["complete_sessions"] or 0) + (r["complete_sessions"] or 0)
            m["n_vo2"] += r["n_vo2"]
            m["n_work"] += r["n_work"]
            m["minutes"] = (m["minutes"] or 0.0) + (r["minutes"] or 0.0)
            m["first_day"] = min(m["first_day"], r["first_day"])
            m["last_day"] = max(m["last_day"], r["last_day"])
            for key in ("vo2", "work"):
                t = r[f"{key}_first_t"]
                if t is not None and (m[f"{key}_first_t"] is None or t < m[f"{key}_first_t"]):
                    m[f"{key}_first_t"], m[f"{key}_first"] = t, r[f"{key}_first"]
                t = r[f"{key}_last_t"]
                if t is not None and (m[f"{key}_last_t"] is None or t > m[f"{key}_last_t"]):
                    m[f"{key}_last_t"], m[f"{key}_last"] = t, r[f"{key}_last"]
    return merged


def outcome(stores: Sequence[Any], from_day: dt.date, to_day: dt.date, *,
            today: dt.date | None = None) -> dict[str, Any]:
    """``today`` (the clinic's day; default now): a period that ends later is judged up to
    today — a patient who trained this week has not dropped out because ``--to`` lies in
    the future."""
    if to_day < from_day:
        raise ValueError(_("--to must not be before --from"))
    today = today or local_day(time.time())
    judged_to = min(to_day, today)
    rows = []
    for pseudonym, p in sorted(patient_rows(stores, from_day, to_day).items()):
        first_day = dt.date.fromisoformat(p["first_day"])
        last_day = dt.date.fromisoformat(p["last_day"])
        weeks = max((last_day - first_day).days / 7.0, 1.0)
        two_vo2, two_work = p["n_vo2"] >= 2, p["n_work"] >= 2
        rows.append({
            "pseudonym": pseudonym, "sessions": p["sessions"],
            "complete_sessions": p["complete_sessions"] or 0,
            "first_session": first_day.isoformat(), "latest_session": last_day.isoformat(),
            "sessions_per_week": round(p["sessions"] / weeks, 2),
            "dropped_out": (judged_to - last_day).days > DROP_OUT_AFTER_DAYS,
            "vo2max_first": p["vo2_first"] if two_vo2 else None,
            "vo2max_latest": p["vo2_last"] if two_vo2 else None,
            "vo2max_change": round(p["vo2_last"] - p["vo2_first"], 2) if two_vo2 else None,
            "work_at_90_first_vo2": p["work_first"] if two_work else None,
            "work_at_90_latest_vo2": p["work_last"] if two_work else None,
            "work_at_90_change_vo2": round(p["work_last"] - p["work_first"], 2) if two_work
            else None,
        })
    adherence = [r["sessions_per_week"] for r in rows]
    rule = f"no session in the last {DROP_OUT_AFTER_DAYS} days of the period"
    if to_day > today:
        rule += f", judged up to today ({today.isoformat()})"
    judged_up_to = today.isoformat() if to_day > today else None  # for the words of the rule
    return {
        "from": from_day.isoformat(), "to": to_day.isoformat(),
        "patients": len(rows), "sessions": sum(r["sessions"] for r in rows),
        "sessions_complete": sum(r["complete_sessions"] for r in rows),
        "adherence_sessions_per_week": describe(adherence),
        "adherence_target_sessions_per_week": CLINIC_SESSIONS_PER_WEEK,
        "patients_at_target": sum(1 for a in adherence if a >= CLINIC_SESSIONS_PER_WEEK),
        "drop_outs": sum(1 for r in rows if r["dropped_out"]),
        "drop_out_rule": rule, "drop_out_judged_to": judged_up_to,
        "vo2max_change": describe([r["vo2max_change"] for r in rows
                                   if r["vo2max_change"] is not None]),
        "work_at_90_change_vo2": describe([r["work_at_90_change_vo2"] for r in rows
                                           if r["work_at_90_change_vo2"] is not None]),
        "per_patient": rows,
    }


OUTCOME_CSV_FIELDS = ("pseudonym", "sessions", "complete_sessions", "first_session",
                      "latest_session", "sessions_per_week", "dropped_out", "vo2max_first",
                      "vo2max_latest", "vo2max_change", "work_at_90_first_vo2",
                      "work_at_90_latest_vo2", "work_at_90_change_vo2")


OUTCOME_CSV_HEADERS = {
    "pseudonym": N_("pseudonym"), "sessions": N_("sessions"),
    "complete_sessions": N_("complete sessions"),
    "first_session": N_("first session"), "latest_session": N_("latest session"),
    "sessions_per_week": N_("sessions per week"), "dropped_out": N_("dropped out"),
    "vo2max_first": N_("VO2max first (ml/kg/min)"),
    "vo2max_latest": N_("VO2max latest (ml/kg/min)"),
    "vo2max_change": N_("VO2max change (ml/kg/min)"),
    "work_at_90_first_vo2": N_("work at 90 % HRmax first (ml/kg/min)"),
    "work_at_90_latest_vo2": N_("work at 90 % HRmax latest (ml/kg/min)"),
    "work_at_90_change_vo2": N_("work at 90 % HRmax change (ml/kg/min)")}
"""The outcome CSV's columns as people read them (any language but English)."""


def write_outcome_csv(result: dict[str, Any], path: str | Path,
                      lang: str | None = None) -> None:
    """One row per patient (for the clinic's own use: pseudonyms, real dates): a spreadsheet
    for people in ``lang`` (bokmål: its words, semicolons and a decimal comma; the
    anonymised export is the machine form)."""
    from controller.records.report import people_csv

    rows = result["per_patient"]
    if (lang or language()) != "en":  # the days as the language writes them (27.11.2026)
        rows = [{**r, **{k: format_date(dt.date.fromisoformat(r[k]), lang) for k in
                         ("first_session", "latest_session")}} for r in rows]
    if (lang or language()) != "en":  # the tenth the text says (``OUTCOME_DECIMALS``)
        from controller.records.report import _rounded

        rows = [_rounded(r, dict.fromkeys(OUTCOME_ML_KG_MIN, OUTCOME_DECIMALS)) for r in rows]
    people_csv(path, OUTCOME_CSV_FIELDS, OUTCOME_CSV_HEADERS, rows, lang)


OUTCOME_DECIMALS = 1
"""ml/kg/min to a tenth in the outcome's text and its people's CSV, as everywhere else."""
OUTCOME_ML_KG_MIN = ("vo2max_first", "vo2max_latest", "vo2max_change", "work_at_90_first_vo2",
                     "work_at_90_latest_vo2", "work_at_90_change_vo2")


def outcome_lines(result: dict[str, Any]) -> list[str]:
    def d(s: dict[str, Any], unit: str) -> str:
        # a tenth of ml/kg/min, as the CSV's columns and `fremgang` say the same values
        # (issue 23: «endring 0,70» here, 0,7 in the CSV)
        def n1(x: float) -> str:
            return format_number(x, OUTCOME_DECIMALS)

        if not s["n"]:
            return _("no patient with two measured sessions")
        if s["n"] == 1:
            return _("n = 1, change {median} {unit}").format(median=n1(s["median"]), unit=unit)
        return _("median {median} (IQR {q1} to {q3}) {unit}, n = {n}; mean {mean}, 95 % CI "
                 "{low} to {high}").format(
            median=n1(s["median"]), q1=n1(s["q1"]), q3=n1(s["q3"]), unit=unit, n=s["n"],
            mean=n1(s["mean"]), low=n1(s["ci95_low"]), high=n1(s["ci95_high"]))

    a = result["adherence_sessions_per_week"]
    n = result["patients"]
    rule = _("no session in the last {days} days of the period").format(
        days=DROP_OUT_AFTER_DAYS)
    if result.get("drop_out_judged_to"):
        rule = _("no session in the last {days} days of the period, judged up to today "
                 "({today})").format(days=DROP_OUT_AFTER_DAYS, today=format_date(
                     dt.date.fromisoformat(result["drop_out_judged_to"])))
    return [
        ngettext("Outcome {start} to {end}: {patients} patient, {sessions}.",
                 "Outcome {start} to {end}: {patients} patients, {sessions}.", n).format(
            start=format_date(dt.date.fromisoformat(result["from"])),
            end=format_date(dt.date.fromisoformat(result["to"])), patients=n,
            sessions=ngettext("{n} 4x4 session", "{n} 4x4 sessions",
                              result["sessions"]).format(n=result["sessions"])),
        # every 4x4 session attended counts for adherence; complete ones are said apart
        # (records/stats.session_complete: a session skipped through is not complete)
        _("Sessions complete (all four intervals ran): {complete} of {sessions}.").format(
            complete=result["sessions_complete"], sessions=result["sessions"]),
        # the target said whole (the trial read "klinikkens 2" as a phrase cut off)
        ngettext("Adherence: median {median} sessions per week; {at_target} of {patients} "
                 "patient at the clinic's goal of {target} sessions per week.",
                 "Adherence: median {median} sessions per week; {at_target} of {patients} "
                 "patients at the clinic's goal of {target} sessions per week.", n).format(
            median="—" if a["median"] is None else format_number(a["median"], 1),
            at_target=result["patients_at_target"], patients=n,
            target=result["adherence_target_sessions_per_week"]),
        _("Drop-outs: {n} (counted as a drop-out: {rule}).").format(n=result["drop_outs"],
                                                                   rule=rule),
        _("Change in estimated VO2max, first to latest: {text}.").format(
            text=d(result["vo2max_change"], "ml/kg/min")),
        _("Change in work at 90 % HRmax, first to latest: {text}.").format(
            text=d(result["work_at_90_change_vo2"], "ml/kg/min")),
        _("Counted: {rule}.").format(rule=_(_stats.OKT_RULE)),
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
    have = max(len(xs) for xs in data)
    if have and have < CHART_MIN_PATIENTS:  # a box of one or two dots showed nothing
        ax_plot.axis("off")  # words, never an empty chart with axes 0,0–1,0
        ax_plot.text(0.5, 0.5, _("The chart needs at least {n} patients with two measured "
                                 "sessions (here: {have}).").format(n=CHART_MIN_PATIENTS,
                                                                    have=have),
                     ha="center", va="center", fontsize=10, transform=ax_plot.transAxes)
    elif have:
        ax_plot.boxplot([x or [0.0] for x in data])
        ax_plot.set_xticks([1, 2], labels)
        for i, xs in enumerate(data, 1):
            ax_plot.plot([i] * len(xs), xs, "o", alpha=0.5)
        ax_plot.axhline(0.0, color="grey", lw=0.8)
        ax_plot.set_ylabel(_("change, first to latest (ml/kg/min)"))
    else:  # nothing to draw: say why, never an empty chart with axes 0,0–1,0
        ax_plot.axis("off")
        ax_plot.text(0.0, 1.0, _("No chart of the change: no patient has two measured "
                                 "sessions in the period yet."), va="top", fontsize=9,
                     transform=ax_plot.transAxes)
    number_axes(fig)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


CHART_MIN_PATIENTS = 3
"""The outcome's box plot needs this many patients' changes (fewer: the chart says so)."""

ANON_K = 5
"""Every released row is identical, in every column, to at least this many patients' rows
of the same export."""
ANON_FIELDS = ("sessions", "weeks_in_care", "sessions_per_week", "dropped_out",
               "vo2max_change", "work_at_90_change", "patients")
SESSION_BANDS = ((1, 7, "1–7"), (8, 15, "8–15"), (16, 31, "16–31"), (32, 10**9, "32+"))
WEEK_BANDS = ((0, 3, "< 4"), (4, 11, "4–11"), (12, 25, "12–25"), (26, 10**9, "26+"))
ADHERENCE_BANDS = ((0.0, 1.0, "< 1"), (1.0, 2.0, "1–2"), (2.0, 1e9, "≥ 2"))
CHANGE_BANDS = ((-1e9, 0.0, "< 0"), (0.0, 2.0, "0–2"), (2.0, 5.0, "2–5"), (5.0, 1e9, "≥ 5"))


def _band(x: float | None, bands: Sequence[tuple[float, float, str]], upper_open: bool
          ) -> str:
    if x is None:
        return "not measured"
    for lo, hi, label in bands:
        if lo <= x < hi if upper_open else lo <= x <= hi:
            return label
    return bands[-1][2]


def anonymised_rows(result: dict[str, Any], k: int = ANON_K
                    ) -> tuple[list[dict[str, Any]], int]:
    """The outcome's patients, generalised and grouped: (rows, patients left out).

    Threat model. The export goes to a quality register or a research group. Assume the
    recipient holds every anonymised export this clinic ever made *and* the clinic's own
    per-patient ``outcome --csv`` (pseudonyms, session counts, dates, first and latest
    VO2max), and knows roughly when a given person was in care. What must hold: no row,
    alone or matched across exports, narrows a patient down to fewer than ``k`` people.
    How: no per-session rows, no dates, no ids (nothing to join on); each patient's figures
    only as bands (sessions, weeks in care, sessions a week, drop-out, the change in
    VO2max and in work at 90 % HRmax — never a level, which the clinic's CSV would match);
    identical rows merged with their count, and any combination shared by fewer than ``k``
    patients left out (counted). Two exports can only be matched group to group.
    What remains: differencing two exports of nearly the same period can show that one
    group lost a member; export a period once, for the study that needs it."""
    groups: dict[tuple[str, ...], int] = {}
    for r in result["per_patient"]:
        first = dt.date.fromisoformat(r["first_session"])
        last = dt.date.fromisoformat(r["latest_session"])
        key = (_band(r["sessions"], SESSION_BANDS, False),
               _band((last - first).days // 7, WEEK_BANDS, False),
               _band(r["sessions_per_week"], ADHERENCE_BANDS, True),
               "yes" if r["dropped_out"] else "no",
               _band(r["vo2max_change"], CHANGE_BANDS, True),
               _band(r["work_at_90_change_vo2"], CHANGE_BANDS, True))
        groups[key] = groups.get(key, 0) + 1
    rows = [dict(zip(ANON_FIELDS, (*key, n), strict=True))
            for key, n in sorted(groups.items()) if n >= k]
    left_out = sum(n for n in groups.values() if n < k)
    return rows, left_out


class TooFewForExport(ValueError):
    """The anonymised export would release no row (every group under ``ANON_K``)."""


def anonymised_export(stores: Sequence[Any], from_day: dt.date, to_day: dt.date,
                      path: str | Path, *, k: int = ANON_K,
                      today: dt.date | None = None) -> tuple[int, int]:
    """Write ``anonymised_rows`` (CSV); returns (patients written, patients left out).
    ``TooFewForExport`` (nothing written) when no group reaches ``k`` patients: an empty
    file said nothing of why (the trial, one patient)."""
    rows, left_out = anonymised_rows(outcome(stores, from_day, to_day, today=today), k)
    if not rows:
        raise TooFewForExport(_(
            "the anonymised export needs at least {k} patients with the same banded figures "
            "(no row may narrow a patient down to fewer than {k} people); here {n} in "
            "smaller groups: {path} not written").format(k=k, n=left_out, path=path))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=ANON_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return sum(r["patients"] for r in rows), left_out
