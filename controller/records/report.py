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

import csv
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.i18n import _
from controller.core.workload import REST_VO2, vo2_cost
from controller.records.store import SessionRecord, Store, StoreError

EXPORT_SCHEMA = "fourbyfour.session-export/1"
FIXED_WORKLOAD_VO2 = 15.0


def _record(store: Store, session_id: str) -> SessionRecord:
    for r in store.sessions():
        if r.id == session_id:
            return r
    raise StoreError(f"{store.path}: no session {session_id!r}")


def export_json(store: Store, session_id: str, path: str | Path) -> None:
    r = _record(store, session_id)
    doc = {"schema": EXPORT_SCHEMA, "session": r.__dict__, "samples": store.samples(r.id),
           "events": store.events(r.id),
           "ratings": [{"interval": k, "borg": v} for k, v in store.ratings(r.id).items()],
           "notes": store.notes(r.id)}
    Path(path).write_text(json.dumps(doc, indent=1))


def export_csv(store: Store, session_id: str, path: str | Path) -> None:
    samples = store.samples(_record(store, session_id).id)
    with open(path, "w", newline="") as f:
        if not samples:
            return
        w = csv.DictWriter(f, fieldnames=[k for k in samples[0] if k != "session_id"],
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(samples)


def import_json(store: Store, path: str | Path) -> str:
    """Import an ``export_json`` file; a foreign or broken file gets a clear error."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise StoreError(f"{p}: not a session export ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != EXPORT_SCHEMA:
        raise StoreError(f"{p}: not a {EXPORT_SCHEMA} file")
    try:
        s = doc["session"]
        if any(r.id == s["id"] for r in store.sessions()):
            raise StoreError(f"{p}: session {s['id']} is already in {store.path}")
        db = store.db
        db.execute("BEGIN")
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (s["id"], s["pseudonym"], s["started_unix_s"], s["ended_unix_s"],
                    s["status"], json.dumps(s["plan"]), json.dumps(s["profile"]),
                    s["hr_max_bpm"], s["hr_max_source"],
                    json.dumps(s["summary"]) if s["summary"] is not None else None))
        for row in doc["samples"]:
            db.execute("INSERT INTO samples VALUES (:session_id, :t_s, :phase, :interval, "
                       ":state, :hr_bpm, :hr_status, :target_bpm, :zone_low_bpm, "
                       ":zone_high_bpm, :speed_set_kmh, :speed_kmh, :incline_set_pct, "
                       ":incline_pct)", row)
        for e in doc["events"]:
            db.execute("INSERT INTO events VALUES (:session_id, :t_s, :kind, :severity, "
                       ":message)", e)
        for rating in doc.get("ratings", []):  # older exports have none
            db.execute("INSERT INTO ratings VALUES (?, ?, ?, ?)",
                       (s["id"], rating["interval"], rating["borg"], s["started_unix_s"]))
        for note in doc.get("notes", []):
            db.execute("INSERT INTO notes VALUES (?, ?, ?)",
                       (s["id"], note["written_unix_s"], note["text"]))
        db.execute("COMMIT")
    except StoreError:
        raise
    except Exception as e:  # anything odd in a foreign file: refuse it, keep the store
        if store.db.in_transaction:
            store.db.execute("ROLLBACK")
        raise StoreError(f"{p}: broken session export ({type(e).__name__}: {e})") from None
    return str(s["id"])


@dataclass(frozen=True)
class Progress:
    session_id: str
    started_unix_s: float
    work_at_90_vo2: float | None
    hr_at_fixed_workload_bpm: float | None
    peak_hr_bpm: float | None


def _session_progress(store: Store, r: SessionRecord) -> Progress:
    hr_max = r.hr_max_bpm
    work, fixed, peak = [], [], None
    first_t: dict[int, float] = {}
    for s in store.samples(r.id):
        hr = s["hr_bpm"]
        if hr is None:
            continue
        peak = hr if peak is None else max(peak, hr)
        vo2 = vo2_cost(s["speed_kmh"], s["incline_pct"])
        if s["phase"] == "interval":
            t0 = first_t.setdefault(s["interval"], s["t_s"])
            allowance = 120.0 if s["interval"] == 1 else 60.0
            if s["t_s"] - t0 >= allowance and abs(hr - 0.9 * hr_max) <= 0.03 * hr_max:
                work.append(vo2)
        if s["phase"] == "warmup" and abs(vo2 - FIXED_WORKLOAD_VO2) <= 1.5:
            fixed.append(hr)
    return Progress(r.id, r.started_unix_s,
                    round(statistics.fmean(work), 2) if len(work) >= 30 else None,
                    round(statistics.fmean(fixed), 1) if len(fixed) >= 30 else None, peak)


def progression(store: Store, pseudonym: str) -> dict[str, Any]:
    recs = [r for r in store.sessions(pseudonym) if r.status in ("finished", "stopped",
                                                                 "incomplete")]
    if not recs:
        raise StoreError(f"{store.path}: no sessions for {pseudonym!r}")
    points = [_session_progress(store, r) for r in recs]
    usable = [p for p in points if p.work_at_90_vo2 is not None]
    slope = None
    if len(usable) >= 2:
        xs = [(p.started_unix_s - usable[0].started_unix_s) / (7 * 86400) for p in usable]
        ys = [p.work_at_90_vo2 for p in usable]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        den = sum((x - mx) ** 2 for x in xs)
        if den > 0:
            slope = round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den,
                          3)
    last = recs[-1]
    hr_rest = last.profile.get("hr_rest")
    vo2max = None
    if usable and hr_rest:
        hrr_frac = (0.9 * last.hr_max_bpm - hr_rest) / (last.hr_max_bpm - hr_rest)
        vo2max = round(REST_VO2 + (usable[-1].work_at_90_vo2 - REST_VO2) / hrr_frac, 1)
    peaks = [p.peak_hr_bpm for p in points if p.peak_hr_bpm is not None]
    hrmax_suggestion = None
    if peaks and max(peaks) > last.hr_max_bpm:
        hrmax_suggestion = {"hr_max_bpm": max(peaks), "source": "observed_peak",
                            "why": f"a heart rate of {max(peaks):.0f} bpm was recorded, above "
                                   f"the profile's {last.hr_max_bpm:.0f}"}
    return {
        "pseudonym": pseudonym,
        "sessions": [p.__dict__ for p in points],
        "work_at_90_trend_vo2_per_week": slope,
        "vo2max_estimate": vo2max,
        "hr_max_suggestion": hrmax_suggestion,
    }


# -- pictures -------------------------------------------------------------------------------

PHASE_COLOURS = {"warmup": "#dddddd", "interval": "#f4c7c3", "recovery": "#c9e4f5",
                 "cooldown": "#dddddd", "test": "#fde9b5"}


def render_session(store: Store, session_id: str, path: str | Path) -> None:
    """A one-page report (PNG or PDF, by the file's suffix) for printing into the journal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = _record(store, session_id)
    samples = store.samples(r.id)
    if not samples:
        raise StoreError(f"{store.path}: session {r.id} has no recorded samples")
    t = [s["t_s"] - samples[0]["t_s"] for s in samples]
    tmin = [x / 60 for x in t]
    fig, (ax_hr, ax_belt, ax_tab) = plt.subplots(
        3, 1, figsize=(8.27, 11.0), gridspec_kw={"height_ratios": [3, 1.5, 2]})
    fig.suptitle(_("4x4 session {id} — {pseudonym} — HRmax {hr_max} bpm ({source}) — "
                   "{status}").format(id=r.id, pseudonym=r.pseudonym,
                                      hr_max=f"{r.hr_max_bpm:.0f}", source=r.hr_max_source,
                                      status=r.status), fontsize=10)
    start = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i]["phase"] != samples[start]["phase"]:
            colour = PHASE_COLOURS.get(samples[start]["phase"])
            if colour:
                for ax in (ax_hr, ax_belt):
                    ax.axvspan(tmin[start], tmin[i - 1], color=colour, alpha=0.6, lw=0)
            start = i
    ax_hr.axhspan(0.85 * r.hr_max_bpm, 0.95 * r.hr_max_bpm, color="green", alpha=0.15,
                  label=_("85–95 % HRmax"))
    ax_hr.plot(tmin, [s["hr_bpm"] for s in samples], color="black", lw=1, label=_("heart rate"))
    ax_hr.set_ylabel(_("heart rate (bpm)"))
    ax_hr.legend(loc="lower right", fontsize=8)
    ax_belt.plot(tmin, [s["speed_kmh"] for s in samples], color="tab:blue", lw=1)
    ax_belt.set_ylabel(_("speed (km/h)"), color="tab:blue")
    ax_inc = ax_belt.twinx()
    ax_inc.plot(tmin, [s["incline_pct"] for s in samples], color="tab:orange", lw=1)
    ax_inc.set_ylabel(_("incline (%)"), color="tab:orange")
    ax_belt.set_xlabel(_("minutes"))
    ax_tab.axis("off")
    summary = r.summary or {}
    borg = store.ratings(r.id)
    rows = [[iv["interval"], iv["time_to_zone_s"], iv["in_zone_after_allowance_pct"],
             iv["above_95_s"], iv["peak_hr_bpm"], iv["mean_hr_bpm"], iv["mean_speed_kmh"],
             iv["mean_incline_pct"], borg.get(iv["interval"])]
            for iv in summary.get("intervals", [])]
    if rows:
        table = ax_tab.table(
            cellText=[["—" if v is None else v for v in row] for row in rows],
            colLabels=[_("interval"), _("to zone s"), _("in zone %"), _("s above 95 %"), _("peak"),
                       _("mean HR"), _("km/h"), _("incline %"), _("Borg")],
            loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.4)
    drops = ", ".join(f"{d['hr_drop_first_minute_bpm']}" for d in summary.get("recoveries", [])
                      if d["hr_drop_first_minute_bpm"] is not None)
    ax_tab.text(0.0, 0.12, _("total in zone: {minutes} min · heart-rate drop in the first "
                             "recovery minute: {drops} bpm · alarms: {alarms}").format(
        minutes=summary.get("total_in_zone_s", 0) // 60, drops=drops or "—",
        alarms=", ".join(summary.get("alarms", [])) or _("none")), fontsize=8)
    notes = store.notes(r.id)
    if notes:
        ax_tab.text(0.0, 0.0, _("Staff notes: {notes}").format(
            notes=" / ".join(n["text"] for n in notes))[:600], fontsize=8, wrap=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render_progression(store: Store, pseudonym: str, path: str | Path) -> None:
    import datetime as dt

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prog = progression(store, pseudonym)
    pts = [p for p in prog["sessions"] if p["work_at_90_vo2"] is not None]
    if not pts:
        raise StoreError(f"no session of {pseudonym} held 90 % HRmax long enough to measure")
    days = [dt.datetime.fromtimestamp(p["started_unix_s"]) for p in pts]
    fig, ax = plt.subplots(figsize=(8.27, 4.5))
    ax.plot(days, [p["work_at_90_vo2"] for p in pts], "o-")
    ax.set_ylabel(_("work at 90 % HRmax (ml/kg/min, ACSM)"))
    trend = prog["work_at_90_trend_vo2_per_week"]
    ax.set_title(_("{pseudonym}: progression over {n} sessions").format(
        pseudonym=pseudonym, n=len(pts)) + ("" if trend is None else " — " + _(
            "trend {trend} per week").format(trend=f"{trend:+.2f}")), fontsize=10)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
