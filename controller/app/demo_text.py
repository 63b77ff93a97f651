"""What the command line prints about a demo, in the process's language (``set_language``):
the phase lines, the interval table, the virtual patient, events, and the lines after the
console demo's console has closed. Kept out of ``cli.py`` (the commands) so the words live
in one place and every line comes from the catalog."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from controller.app.texts import TERMINAL_WIDTH, terminal_lines
from controller.core.i18n import (
    N_,
    _,
    format_duration,
    format_number,
    format_percent,
    format_speed,
    language,
    translations,
)
from controller.core.metrics import (
    ALLOWANCE_FIRST_S,
    ALLOWANCE_LATER_S,
    interval_metrics,
    shown_bpm,
)
from controller.core.words import PHASES, SEVERITIES, SOURCES, event_text, word
from controller.sim import TraceRow

WIDTH = TERMINAL_WIDTH
"""The terminal the demo's lines fit (trial 13: a phase line of 143 characters, the strap's
warnings and the virtual patient's line wrapped mid-word at 80 columns)."""
PHASE_INDENT = 14
"""Where a phase's name begins («[10:00–14:00] »): its belt line goes on from there."""


def fitted(text: str, indent: int) -> str:
    """``text`` in lines of at most ``WIDTH`` characters, the later ones indented by
    ``indent`` (``texts.terminal_lines``)."""
    return "\n".join(terminal_lines(text, indent))


def clock(t_s: float) -> str:
    return f"{int(t_s // 60):02d}:{int(t_s % 60):02d}"


def phase_line(rows: Sequence[TraceRow]) -> str:
    """One phase as it ran: time, heart rate from start to end (peak) and zone; its belt on
    the line under it (together they were 130–143 characters)."""
    first, last = rows[0], rows[-1]
    hrs = [r.hr_bpm for r in rows if r.hr_bpm is not None]
    speeds = [r.speed_kmh for r in rows]
    inclines = [r.incline_pct for r in rows]
    name = word(PHASES, first.phase) + (f" {first.interval}" if first.interval else "")
    hr_part = _("heart rate {first}→{last} bpm (peak {peak})").format(
        first=format_number(hrs[0], 0), last=format_number(hrs[-1], 0),
        peak=format_number(max(hrs), 0)) if hrs else _("heart rate —")
    zone = ""
    if first.zone_low_bpm is not None and first.zone_high_bpm is not None:
        zone = ", " + _("zone {low}–{high}").format(low=shown_bpm(first.zone_low_bpm),
                                                   high=shown_bpm(first.zone_high_bpm))
    belt = _("speed {speed}, incline {incline}").format(
        speed=belt_course(speeds, format_speed), incline=belt_course(inclines, format_percent))
    head = f"[{clock(first.t_s)}–{clock(last.t_s + 1)}] {name:16s} {hr_part}{zone}"
    pad = " " * PHASE_INDENT
    # too long for one line: the speed on one, the incline on the next (never «… ned til» /
    # «0,0 %»); a decimal comma has no space after it, so ", " parts them
    parts = belt.replace(", ", ",\n", 1).split("\n") \
        if len(pad + belt) > WIDTH and ", " in belt else [belt]
    return "\n".join(fitted(line, PHASE_INDENT) for line in [head, *(pad + p for p in parts)])


BELT_JITTER = 0.05
"""How far a measured speed (km/h) or incline (%) may step against its direction and still
count as one way (the board's readings jitter by its resolution)."""


def belt_course(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    """How the belt's speed or incline went through a phase: one value when it held; "from
    7,5 % down to 0,6 %" when it only went one way (a phase that begins where the one before
    left the belt: the trial's cool-down "0,6–7,5 %" read as if it had climbed to 7,5 %); the
    range "5,0–6,4 km/t" when it went both ways (the closed loop at work)."""
    low, high = min(values), max(values)
    if round(high - low, 1) == 0:
        return fmt(values[-1])
    steps = [b - a for a, b in itertools.pairwise(values)]
    if all(d <= BELT_JITTER for d in steps) and values[0] >= high - BELT_JITTER:
        return _("from {first} down to {last}").format(first=fmt(values[0]),
                                                       last=fmt(values[-1]))
    if all(d >= -BELT_JITTER for d in steps) and values[0] <= low + BELT_JITTER:
        return _("from {first} up to {last}").format(first=fmt(values[0]),
                                                     last=fmt(values[-1]))
    return f"{format_number(low)}–{fmt(high)}"


SUMMARY_COLUMNS = (("interval", 8), ("time to zone", 12), ("in zone*", 8),
                   ("above 95 %", 10), ("RMS to 90 %", 12), ("goal met", 4))


def summary_lines(rows: list[TraceRow], hr_max: float) -> list[str]:
    """The table after a demo: per interval, time to the zone, in zone, above 95 %, the
    error to 90 % HRmax, and whether it met the clinic's bar; after a 6-minute test what
    it measured instead (distance, highest heart rate)."""
    if any(r.phase == "test" for r in rows):  # a 6-minute test: no zone, no intervals
        from controller.app.texts import six_minute_measure_lines
        from controller.core.summary import six_minute_measures

        return ["", *six_minute_measure_lines(six_minute_measures(
            [(r.t_s, r.phase, r.speed_kmh, r.hr_bpm) for r in rows]))]
    heads = [_("interval"), _("time to zone"), _("in zone*"), _("above 95 %"),
             _("RMS to 90 %"), _("goal met")]
    widths = [max(len(h), w) for h, (_k, w) in zip(heads, SUMMARY_COLUMNS, strict=True)]
    lines = ["", "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    for m in interval_metrics([r.scored(true_hr=False) for r in rows], hr_max):
        # an amount of time: "1 min 2 s", as the console and the belt screen say it
        ttz = format_duration(round(m.time_to_zone_s)) \
            if m.time_to_zone_s is not None else _("not reached")
        # an interval stopped within its allowance has no readings to score: «–», never
        # «0 %» and «NaN,0 slag/min» (found with a demo ended by SIGTERM)
        scored = m.readings_after_allowance > 0
        cells = [str(m.interval), ttz,
                 format_percent(m.in_zone_after_allowance * 100, 0) if scored else "–",
                 format_percent(m.above_95_frac * 100, 1),
                 _("{value} bpm").format(value=format_number(m.rms_to_90_bpm, 1))
                 if scored else "–",
                 _("yes") if m.ok else _("no")]
        lines.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    lines.append(fitted(_("* After the allowance ({first} in interval 1, {later} later), from "
                          "the accepted strap readings.").format(
        first=format_duration(round(ALLOWANCE_FIRST_S)),
        later=format_duration(round(ALLOWANCE_LATER_S))), 2))
    # what the yes/no column means (the trial: "ok" with "ja" said nothing to a nurse)
    lines.append(fitted(_("Goal met: the zone reached within the allowance, then in it at "
                          "least {in_zone} of the time, and above {high} of HRmax at most "
                          "{above} of the time.").format(
        in_zone=format_percent(90, 0), high=format_percent(95, 0),
        above=format_percent(2, 0)), 2))
    return lines


def event_line(e: Any) -> str:
    """A session event as the demo prints it: time, the event in words, after ALARM or
    ADVARSEL for an alarm or a warning (the console's words for them). Information has no
    label: «INFO:» is the log file's level, not a word for staff (issue 21, the trial)."""
    said = word(SEVERITIES, e.severity).upper() + ": " \
        if e.severity in ("warning", "alarm") else ""
    # a longer one goes on under its text, not under its time
    return fitted(f"  [{clock(e.now_s)}] {said}{event_text(e.kind, e.message, e.params)}", 10)


CATEGORIES = {  # the virtual patient's kind (controller/sim.py CATEGORIES)
    "typical": N_("typical"), "unfit": N_("unfit"), "beta_blocked": N_("on beta blockers"),
    "slow_kinetics": N_("slow heart-rate response"),
    "long_dead_time": N_("late heart-rate response"), "drift": N_("heart rate drifting up"),
    "strap_trouble": N_("strap trouble"), "walk_only": N_("walk only"), "fit": N_("fit"),
    "handrails": N_("holds the handrails"), "unfit_walk_only": N_("unfit, walk only")}


def virtual_patient_line(category: str, truth: Any, profile: Any) -> str:
    return fitted(_("virtual patient: {category}, age {age}, HRmax {hr_max} bpm ({source}), "
                    "resting heart rate {hr_rest} bpm, caps {speed} and {incline}").format(
        category=word(CATEGORIES, category), age=format_number(truth.age_years, 0),
        hr_max=format_number(profile.hr_max, 0), source=word(SOURCES, profile.hr_max_source),
        hr_rest=format_number(profile.hr_rest, 0) if profile.hr_rest is not None else "—",
        speed=format_speed(profile.speed_cap_kmh), incline=format_percent(
            profile.max_incline_pct)), 2)


def session_start_line(pseudonym: str, unix_s: float) -> str:
    """The session's start as staff know a session: the patient's pseudonym, the day and
    the clinic's clock (``sessions`` lists it so), not its id (hex, for the machine)."""
    from controller.core.dates import local_datetime
    from controller.core.i18n import format_date

    when = local_datetime(unix_s)
    return _("session for {pseudonym} on {date} at {time} starts").format(
        pseudonym=pseudonym, date=format_date(when.date()), time=when.strftime("%H:%M"))


def session_done_line(t_s: float, completed: bool = True) -> str:
    """The end, as the session ended: "finished" only when its plan ran out, else "ended"
    (a stop is «avsluttet», never «ferdig»: issue 21)."""
    return f"[{clock(t_s)}] " + (_("Session done: belt stopped") if completed else
                                 _("Session ended: belt stopped"))


def wrote_line(path: str, *, with_notes: bool = False, lang: str | None = None) -> str:
    """A command's file written (the hand-over says when the clinic's notes are in it), in
    ``lang`` (default: the process's)."""
    t = translations(lang or language()).gettext
    if with_notes:
        return t(N_("wrote {path} (with the clinic's notes)")).format(path=path)
    return t(N_("wrote {path}")).format(path=path)


def demo_over_lines(belt_url: str | None, returncode: int, log: str,
                    store: str | None) -> list[str]:
    """What the console demo prints after its console closed."""
    lines = []
    if belt_url:
        lines.append(_("The belt screen was at {url}").format(url=belt_url))
    if returncode != 0:
        lines.append(_("The demo is over; the service ended with code {code}: see {log}")
                     .format(code=returncode, log=log))
    elif store:
        lines.append(_("The demo is over; the session is recorded in {store}").format(
            store=store))
    else:
        lines.append(_("The demo is over."))
    return lines
