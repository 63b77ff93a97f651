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
import statistics
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.core.i18n import (
    N_,
    format_date,
    format_number,
    format_percent,
    format_speed,
    translations,
)
from controller.records.mastery import ZoneWork, zone_work
from controller.records.report import _learned_fitness
from controller.records.store import SessionRecord, Store, StoreError

LAST_N = 3
"""The suggestion is built from this many of the last sessions that held the zone."""
ZONES = (  # (label, low, high) as fractions of HRmax — the clinic's 4x4 (see the README)
    (N_("warm-up and cool-down"), 0.60, 0.72),
    (N_("intervals (4 × 4 min)"), 0.85, 0.95),
    (N_("active pauses (3 min)"), 0.62, 0.77),
)
SOURCES = {"measured": N_("measured (lab test)"), "tanaka": N_("Tanaka age formula"),
           "nes": N_("Nes age formula"), "keteyian": N_("Keteyian (beta-blockers)"),
           "six_minute_test": N_("6-minute test"), "observed_peak": N_("observed peak")}


@dataclass(frozen=True)
class SessionLine:
    day: dt.date
    status: str
    at_90: ZoneWork | None
    borg_mean: float | None
    learned: dict[str, float] | None = None
    """Fitness from the session's learned response (issue 26): every session has it."""


@dataclass(frozen=True)
class Suggestion:
    """A 4x4 for an ordinary treadmill: speed (0.1 km/h steps) and incline (0.5 % steps)."""

    warmup: tuple[float, float]
    interval: tuple[float, float]
    pause: tuple[float, float]


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
    speed, incline = speed_incline
    return round(speed, 1), round(incline * 2) / 2


def suggest(sessions: list[list[dict[str, Any]]], hr_max: float) -> Suggestion | None:
    """From the last sessions' samples (oldest first): the belt that held 90 % HRmax in the
    intervals, the end of the warm-up, and the steady part of the pauses."""
    found: list[tuple[ZoneWork, tuple[float, float], tuple[float, float]]] = []
    for samples in reversed(sessions):
        work = zone_work(samples, hr_max)
        warm = _phase_work(samples, "warmup", 0.0, last_s=180.0)
        pause = _phase_work(samples, "recovery", 60.0)
        if work is not None and warm is not None and pause is not None:
            found.append((work, warm, pause))
        if len(found) == LAST_N:
            break
    if not found:
        return None

    def mean(pairs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.fmean(p[0] for p in pairs), statistics.fmean(p[1] for p in pairs)

    return Suggestion(_round(mean([w for _, w, _ in found])),
                      _round(mean([(z.speed_kmh, z.incline_pct) for z, _, _ in found])),
                      _round(mean([p for _, _, p in found])))


def is_test(r: SessionRecord) -> bool:
    """A 6-minute test (it has a test phase) is not a training session of the hand-over."""
    return any(ph.get("kind") == "test" for ph in r.plan.get("phases", []))


def handover_data(store: Store, pseudonym: str, include_notes: bool = False) -> Handover:
    recs: list[SessionRecord] = [r for r in store.sessions(pseudonym)
                                 if r.status in ("finished", "stopped", "incomplete")
                                 and not is_test(r)]
    if not recs:
        raise StoreError(f"{store.path}: no sessions for {pseudonym!r}")
    lines, samples_of = [], []
    for r in recs:
        samples = store.samples(r.id)
        samples_of.append(samples)
        borg = list(store.ratings(r.id).values())
        lines.append(SessionLine(dt.datetime.fromtimestamp(r.started_unix_s).date(), r.status,
                                 zone_work(samples, r.hr_max_bpm),
                                 round(statistics.fmean(borg), 1) if borg else None,
                                 _learned_fitness(r, r.hr_max_bpm)))
    last = recs[-1]
    notes = [n["text"] for r in recs for n in store.notes(r.id)] if include_notes else []
    return Handover(pseudonym, lines[0].day, lines[-1].day, lines, last.hr_max_bpm,
                    last.hr_max_source, suggest(samples_of, last.hr_max_bpm), notes)


def handover_text(h: Handover, lang: str = "nb") -> list[tuple[str, str]]:
    """The document as (style, line) pairs — ``title``, ``head``, ``text`` — in ``lang``."""
    t = translations(lang).gettext
    attended = sum(1 for s in h.sessions if s.status == "finished")
    out = [("title", t(N_("4x4 training: hand-over for follow-up in the municipality"))),
           ("text", t(N_("Patient (pseudonym): {pseudonym}")).format(pseudonym=h.pseudonym)),
           ("text", t(N_("Period: {first} to {last}")).format(
               first=format_date(h.first_day, lang), last=format_date(h.last_day, lang))),
           ("text", t(N_("Sessions attended: {n}, of which {done} completed to the end"))
            .format(n=len(h.sessions), done=attended)),
           ("head", t(N_("Maximum heart rate"))),
           ("text", t(N_("HRmax {bpm} bpm ({source})")).format(
               bpm=format_number(h.hr_max_bpm, 0, lang),
               source=t(SOURCES.get(h.hr_max_source, h.hr_max_source)))),
           ("head", t(N_("Heart-rate zones to use")))]
    for label, lo, hi in ZONES:
        out.append(("text", t(N_("{phase}: {low}–{high} bpm ({low_pct}–{high_pct} of HRmax)"))
                    .format(phase=t(label), low=round(lo * h.hr_max_bpm),
                            high=round(hi * h.hr_max_bpm),
                            low_pct=format_percent(lo * 100, 0, lang),
                            high_pct=format_percent(hi * 100, 0, lang))))
    out.append(("head", t(N_("What the patient managed: the belt at 90 % HRmax"))))
    measured = [s for s in h.sessions if s.at_90 is not None]
    for s in h.sessions:
        work = t(N_("{speed} at {incline} incline")).format(
            speed=format_speed(s.at_90.speed_kmh, 1, lang),
            incline=format_percent(s.at_90.incline_pct, 1, lang)) if s.at_90 else \
            t(N_("{speed} at {incline} incline (from the learned response)")).format(
                speed=format_speed(s.learned["speed_at_90_kmh"], 1, lang),
                incline=format_percent(s.learned["incline_pct"], 1, lang)) if s.learned else \
            t(N_("not long enough at 90 % to measure"))
        borg = "" if s.borg_mean is None else "  ·  " + t(N_("Borg {borg}")).format(
            borg=format_number(s.borg_mean, 1, lang))
        out.append(("text", f"{format_date(s.day, lang)}:  {work}{borg}"))
    if len(measured) >= 2:
        a, b = measured[0].at_90, measured[-1].at_90
        assert a is not None and b is not None
        out.append(("text", t(N_("From the first to the last session: {speed} faster and "
                                 "{incline} steeper at the same heart rate")).format(
            speed=format_speed(b.speed_kmh - a.speed_kmh, 1, lang),
            incline=format_percent(b.incline_pct - a.incline_pct, 1, lang))))
    learned = [s.learned for s in h.sessions if s.learned]
    if len(learned) >= 2:
        out.append(("text", t(N_("Heart rate at a fixed load (a brisk walk), from the learned "
                                 "response: {first} bpm in the first session, {last} bpm in the "
                                 "last")).format(
            first=format_number(learned[0]["hr_at_fixed_workload_bpm"], 0, lang),
            last=format_number(learned[-1]["hr_at_fixed_workload_bpm"], 0, lang))))
    out.append(("head", t(N_("Suggested 4x4 on an ordinary treadmill"))))
    sg = h.suggestion
    if sg is None:
        out.append(("text", t(N_("No session held 90 % HRmax long enough to suggest speeds: "
                                 "start with the heart-rate zones above."))))
    else:
        for label, (speed, incline) in (
                (N_("Warm-up 10 min"), sg.warmup),
                (N_("4 intervals of 4 min"), sg.interval),
                (N_("3 active pauses of 3 min"), sg.pause),
                (N_("Cool-down 5 min"), sg.warmup)):
            out.append(("text", t(N_("{phase}: {speed}, incline {incline}")).format(
                phase=t(label), speed=format_speed(speed, 1, lang),
                incline=format_percent(incline, 1, lang))))
        out.append(("text", t(N_("Let the heart rate lead: if it stays below the interval "
                                 "zone after 2 minutes, add {incline_step} incline; above "
                                 "it, take {speed_step} off.")).format(
            incline_step=format_percent(1, 0, lang), speed_step=format_speed(0.5, 1, lang))))
    if h.notes:
        out.append(("head", t(N_("Notes from the clinic (included by staff)"))))
        out += [("text", n) for n in h.notes]
    return out


def render_handover(store: Store, pseudonym: str, path: str | Path, *,
                    include_notes: bool = False, lang: str = "nb") -> Handover:
    """Write the hand-over (PDF, or PNG by the suffix) for printing; returns its data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.dates import DateFormatter

    h = handover_data(store, pseudonym, include_notes)
    lines = handover_text(h, lang)
    fig = plt.figure(figsize=(8.27, 11.69))  # A4
    y = 0.96
    sizes = {"title": 14, "head": 11, "text": 9}
    for style, text in lines:
        if style == "head":
            y -= 0.012
        for part in textwrap.wrap(text, 60 if style == "title" else 100) or [""]:
            fig.text(0.07, y, part, fontsize=sizes[style], va="top",
                     fontweight="bold" if style != "text" else "normal")
            y -= 0.03 if style == "title" else 0.02
    measured = [s for s in h.sessions if s.at_90 is not None]
    if len(measured) >= 2 and y > 0.3:
        t = translations(lang).gettext
        ax = fig.add_axes((0.1, 0.06, 0.8, min(0.22, y - 0.1)))
        days = [s.day for s in measured]
        ax.plot(days, [s.at_90.speed_kmh for s in measured if s.at_90], "o-", color="tab:blue")
        ax.set_ylabel(t(N_("speed (km/h)")), color="tab:blue")
        ax2 = ax.twinx()
        ax2.plot(days, [s.at_90.incline_pct for s in measured if s.at_90], "s--",
                 color="tab:orange")
        ax2.set_ylabel(t(N_("incline (%)")), color="tab:orange")
        ax.set_title(t(N_("The belt at 90 % HRmax, session by session")), fontsize=9)
        ax.xaxis.set_major_formatter(DateFormatter("%d.%m." if lang == "nb" else "%b %d"))
        fig.autofmt_xdate()
    if str(path).endswith(".pdf"):
        with PdfPages(path, metadata={"Title": f"4x4 hand-over {pseudonym}"}) as pdf:
            pdf.savefig(fig)
    else:
        fig.savefig(path, dpi=80)
    plt.close(fig)
    return h
