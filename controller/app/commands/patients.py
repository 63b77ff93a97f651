"""The register as text for ``patients``, ``sessions``, ``progression`` and ``patient``."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from controller.app.texts import terminal_lines
from controller.core.i18n import (
    N_,
    _,
    format_date,
    format_duration,
    format_number,
    format_signed,
    ngettext,
    sentence_case,
)
from controller.core.pseudonym import check_pseudonym
from controller.core.words import SOURCES, word


def _day(unix_s: float) -> str:

    from controller.core.dates import local_day

    return format_date(local_day(unix_s))


def _iso_day(day: str | None) -> str:
    """A stored ISO date as staff read dates (28.11.2026 in bokmål)."""
    import datetime as dt

    if not day:
        return "—"
    try:
        return format_date(dt.date.fromisoformat(day))
    except ValueError:
        return day


PATIENT_HEADERS = (N_("pseudonym"), N_("age"), N_("HRmax"), N_("source"), N_("set on"),
                   N_("HRrest"), N_("caps"), N_("sessions"), N_("last session"))
SESSION_HEADERS = (N_("date"), N_("time"), N_("session"), N_("plan"), N_("status"),
                   N_("minutes"), N_("intervals in zone"))  # staff's words, not "ok"


def _table(headers: Sequence[str], rows: list[list[str]]) -> str:
    cols = [sentence_case(_(h)) for h in headers]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(cols)]
    # no trailing spaces (trial 15: `økter`'s rows were padded to 94 columns)
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def patients_text(store) -> str:  # type: ignore[no-untyped-def]
    """Every patient in the register with HRmax, source and date, and their sessions."""

    from controller.records.register import Register
    from controller.records.report import is_4x4
    from controller.records.stats import OKT_RULE, counts_as_okt

    rows = []
    for p in Register(store).patients():
        recs = store.sessions(p.pseudonym)
        # the økter counted as everywhere (``stats.counts_as_okt``): not a 6-minute test,
        # not a 4x4 quit before its first interval
        okter = sum(1 for st in store.stats(p.pseudonym) if st["status"] != "running"
                    and is_4x4(st["plan_name"]) and counts_as_okt(st["intervals_n"]))
        caps = _("{speed} km/h, {incline} %").format(speed=format_number(p.max_speed_kmh),
                                                      incline=format_number(p.max_incline_pct))
        if p.walk_only:
            caps = _("{caps}, walk only").format(caps=caps)
        # the age beside the makspuls staff read against it (the age formula); "—" when
        # the register has none
        age = "—" if p.age_years is None else format_number(p.age_years, 0)
        rows.append([p.pseudonym, age, format_number(p.hr_max_bpm, 0),
                     word(SOURCES, p.hr_max_source),
                     _iso_day(p.hr_max_date),
                     "—" if p.hr_rest_bpm is None else format_number(p.hr_rest_bpm, 0), caps,
                     str(okter), _day(recs[-1].started_unix_s) if recs else "—"])
    if not rows:
        return _("No patients in {store}.").format(store=store.path)
    return "\n".join([_table(PATIENT_HEADERS, rows), *terminal_lines(sentence_case(_(
        "{sessions}: {rule}.").format(sessions=_("sessions"), rule=_(OKT_RULE))))])


def sessions_text(store, pseudonym: str) -> str:  # type: ignore[no-untyped-def]
    """One patient's sessions: date, plan, duration, intervals ok (the id for export and
    report)."""

    from controller.core.dates import local_datetime
    from controller.core.words import PLANS
    from controller.records.report import is_4x4, status_word
    from controller.records.stats import counts_as_okt

    rows = []
    kept = {st["session_id"]: st for st in store.stats(pseudonym)}  # figures kept at the end
    warm_up_only = False
    for r in store.sessions(pseudonym):
        st = kept.get(r.id) or store.stats_of(r.id)  # a running session: computed now
        minutes = st["minutes"]
        # of the intervals planned, not of those that ran: a 4x4 stopped after two is 2/4
        planned = st.get("intervals_planned") or st["intervals_n"]
        ok = f"{st['intervals_ok']}/{planned}" if planned else "—"
        if planned and r.status != "running" and is_4x4(r.plan_name) \
                and not counts_as_okt(st["intervals_n"]):
            # ended before its first interval: none to count (the trial: «0/4» read as four
            # intervals failed), said why under the table
            ok, warm_up_only = "—", True
        start = local_datetime(r.started_unix_s)  # the clinic's wall clock, whatever TZ says
        rows.append([format_date(start.date()), start.strftime("%H:%M"), r.id,
                     word(PLANS, r.plan_name),
                     status_word(r.status, bool(st["complete"]), r.plan_name),
                     format_number(minutes, 0), ok])
    if not rows:
        return _("No sessions for {pseudonym}.").format(pseudonym=pseudonym)
    lines = [_table(SESSION_HEADERS, rows), *terminal_lines(zone_rule_text())]
    if warm_up_only:
        lines += terminal_lines(_("— under «{intervals}»: the session did not reach its first "
                                  "interval (kept, but not counted).").format(
            intervals=sentence_case(_("intervals in zone"))))
    return "\n".join(lines)


def zone_rule_text() -> str:
    """What "intervals in zone" counts (the trial read 1/4 beside intervals at 84 % and
    100 % and could not tell why), from the numbers the metrics use."""
    from controller.core.beltscreen import RAN_FRAC
    from controller.core.metrics import (
        ALLOWANCE_FIRST_S,
        ALLOWANCE_LATER_S,
        OK_ABOVE_FRAC,
        OK_IN_ZONE_FRAC,
    )

    return sentence_case(_(
        "{intervals}: the zone reached within {first} min ({later} min in the later "
        "intervals), then at least {pct} % of the time in it and at most {above} % above "
        "it; an interval stopped or skipped before {ran} % of its time does not "
        "count.").format(intervals=_("intervals in zone"), first=format_number(
            ALLOWANCE_FIRST_S / 60, 0), later=format_number(ALLOWANCE_LATER_S / 60, 0),
            pct=format_number(100 * OK_IN_ZONE_FRAC, 0),
            above=format_number(100 * OK_ABOVE_FRAC, 0), ran=format_number(100 * RAN_FRAC, 0)))


def progression_text(prog: dict) -> str:  # type: ignore[type-arg]
    def num(x, d=1):  # type: ignore[no-untyped-def]
        return "—" if x is None else format_number(x, d)

    lines = [ngettext("Progression of {pseudonym}: {n} session, {per_week} per week (the "
                      "clinic aims for {target}).",
                      "Progression of {pseudonym}: {n} sessions, {per_week} per week (the "
                      "clinic aims for {target}).", len(prog["sessions"])).format(
        pseudonym=prog["pseudonym"], n=len(prog["sessions"]),
        per_week=num(prog["sessions_per_week"]), target=prog["sessions_per_week_target"])]
    # no trend is said in words, with why (issue 21: «trend — ml/kg/min per uke» read as a
    # number missing)
    for key, text, none in (
            ("work_at_90_trend_vo2_per_week",
             N_("Work at 90 % HRmax: trend {trend} ml/kg/min per week ({rule})."),
             N_("Work at 90 % HRmax: no trend yet (it is worked out {rule}).")),
            ("vo2max_trend_per_week",
             N_("Estimated VO2max: trend {trend} ml/kg/min per week ({rule})."),
             N_("Estimated VO2max: no trend yet (it is worked out {rule}).")),
            ("hr_at_fixed_workload_trend_bpm_per_week",
             N_("Heart rate at 15 ml/kg/min: trend {trend} bpm per week ({rule})."),
             N_("Heart rate at 15 ml/kg/min: no trend yet (it is worked out {rule})."))):
        trend = prog[key]
        lines.append(_(none).format(rule=prog["trend_rule"]) if trend is None else
                     _(text).format(trend=format_signed(trend), rule=prog["trend_rule"]))
    # whose speed each is, said over the table (the trial: "fart" not told apart)
    lines.append(_("Speed and incline: the belt while the heart rate held 90 % HRmax; ≈ "
                   "the learned model's estimate where the belt did not hold it long "
                   "enough."))
    rows = []
    for p in prog["sessions"]:
        # km/h and % are the belt as set at 90 % HRmax; the learned response's converted
        # figure only where the belt has none, marked "≈" (it was not a belt setting)
        speed, incline = num(p.get("belt_speed_at_90_kmh")), num(p.get("belt_incline_at_90_pct"))
        if p.get("belt_speed_at_90_kmh") is None and p["speed_at_90_kmh"] is not None:
            mark = "≈" if p.get("at_90_equivalent") else ""
            speed = mark + num(p["speed_at_90_kmh"])
            incline = mark + num(p["incline_at_90_pct"])
        rows.append([_day(p["started_unix_s"]), num(p["work_at_90_vo2"]), speed, incline,
                     num(p["vo2max_estimate"]), num(p["hr_at_fixed_workload_bpm"], 0),
                     _in_zone(p)])
    prose = [line for said in lines for line in terminal_lines(said)]
    lines = prose + _columns(SESSION_PROGRESS_HEADS, rows)
    if prog["hr_max_suggestion"]:
        # said from the numbers in the reader's language ("why" is the data's English)
        s = prog["hr_max_suggestion"]
        lines += terminal_lines(_("HRmax: a heart rate of {bpm} bpm was recorded, above the "
                                  "profile's {profile} bpm.").format(
            bpm=format_number(s["hr_max_bpm"], 0),
            profile=format_number(s["profile_hr_max_bpm"], 0)))
    return "\n".join(lines)


def _in_zone(p: dict) -> str:  # type: ignore[type-arg]
    """The time in the zone as the report says it, «3 min 15 s» (the trial: «4,1» under
    «Min i sonen» beside the report's «4 min 7 s»); an old row without its seconds from
    its minutes."""
    from controller.core.metrics import whole_seconds

    seconds = p.get("in_zone_s")
    if seconds is None:
        seconds = 60 * p["minutes_at_85"]
    return format_duration(whole_seconds(seconds))


SESSION_PROGRESS_HEADS = ((N_("date"), ""), (N_("work"), "ml/kg/min"),
                          (N_("speed"), N_("km/h")),
                          (N_("incline"), "%"), (N_("VO2max"), "ml/kg/min"),
                          (N_("HR at"), N_("15 ml/kg/min")),
                          (N_("time in zone"), ""))
"""The progression table's headings in two lines, the name over its unit (the last round:
seven headings of 14 columns made the table 110 wide; «Puls ved 15» did not say 15 what)."""

def _columns(heads: Sequence[tuple[str, str]], rows: list[list[str]]) -> list[str]:
    """A table with right-aligned columns, each as wide as its widest heading line or cell:
    the headings' two lines (name, unit), then the rows."""
    names = [sentence_case(_(name)) for name, _unit in heads]
    units = [_(unit) if unit else "" for _name, unit in heads]
    widths = [max(len(n), len(u), *(len(r[i]) for r in rows))
              for i, (n, u) in enumerate(zip(names, units, strict=True))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(names), line(units), *(line(r) for r in rows)]


def _check_profile(rec) -> None:  # type: ignore[no-untyped-def]
    """The profile's refusal as staff read it: its code and parameters rendered from the
    catalog ("makspuls må være 100–230 slag/min (ikke 300)"), never the English log text
    with the field's key (``hr_max must be 100–230, got 300``)."""
    from controller.core.refusals import refusal_text
    from controller.protocol import ProfileError

    try:
        rec.profile()
    except ProfileError as e:
        raise ValueError(f"{rec.pseudonym}: {refusal_text(e.code, e.params)}") from None


def _check_formula(rec) -> None:  # type: ignore[no-untyped-def]
    """An HRmax from an age formula is the formula's value at the patient's age, the patient
    form's rule (issue 21: 165 as Nes at 60 was stored here, and the form then refused to
    save the patient as the register held it: «ikke aldersformelens 173»)."""
    from controller.core.hrmax import FORMULA_CONFLICT, formula_conflict_bpm

    bpm = formula_conflict_bpm(rec.hr_max_bpm, rec.hr_max_source, rec.age_years,
                               rec.hr_rest_bpm)
    if bpm is not None:
        raise ValueError(f"{rec.pseudonym}: " + _(FORMULA_CONFLICT).format(
            typed=format_number(rec.hr_max_bpm, 0 if float(rec.hr_max_bpm).is_integer() else 1),
            bpm=format_number(bpm, 0)))


def _check_age_plausible(rec, confirmed: bool) -> None:  # type: ignore[no-untyped-def]
    """A makspuls far above the usual one at the patient's age is stored only when staff say
    so a second time (``--confirm-hr-max``), as the patient form asks for a second Ctrl+S
    (the last round: `pasient --makspuls 230 --alder 45` stored it without a word)."""
    from controller.app.cli_words import option_names
    from controller.core.hrmax import age_warning

    warning = age_warning(rec.hr_max_bpm, rec.age_years)
    if warning and not confirmed:  # the option's name in the process's language
        raise ValueError(f"{rec.pseudonym}: {warning} " + _(
            "Nothing was stored; to store it all the same, add {option}.").format(
            option=option_names(["--confirm-hr-max"])[0]))


def patient_command(store, args: argparse.Namespace) -> str:  # type: ignore[no-untyped-def]
    """Show, create or update one patient's profile in the register."""
    from controller.records.register import PatientRecord, Register

    reg = Register(store)
    check_pseudonym(args.pseudonym)
    old = reg.get(args.pseudonym)
    changes = {k: v for k, v in (("hr_max_bpm", args.hr_max),
                                 ("hr_max_source", args.hr_max_source),
                                 ("hr_rest_bpm", args.hr_rest),
                                 ("age_years", getattr(args, "age", None)),
                                 ("max_speed_kmh", args.max_speed),
                                 ("max_incline_pct", args.max_incline),
                                 ("walk_only", args.walk_only)) if v is not None}
    if changes:
        if old is None:
            if "hr_max_bpm" not in changes or "hr_max_source" not in changes:
                raise ValueError(_("a new patient needs --hr-max and --hr-max-source"))
            old = PatientRecord(args.pseudonym, changes["hr_max_bpm"],
                                changes["hr_max_source"])
        if "hr_max_bpm" in changes and "hr_max_source" not in changes:
            raise ValueError(_("a changed HRmax needs its source (--hr-max-source)"))
        rec = dataclasses.replace(old, **changes)
        if "hr_max_bpm" in changes:

            from controller.core.dates import local_day

            rec = dataclasses.replace(rec, hr_max_date=local_day(store.clock()).isoformat())
        _check_profile(rec)
        _check_formula(rec)
        if "hr_max_bpm" in changes or "age_years" in changes:
            _check_age_plausible(rec, getattr(args, "confirm_hr_max", False))
        reg.save(rec)
        if "hr_max_bpm" in changes:  # staff's decision, kept like the console's
            reg.decide_hrmax(rec.pseudonym, "edited", rec.hr_max_bpm, rec.hr_max_source,
                             {"via": "command line"})
    elif old is None:
        raise ValueError(_("no patient {pseudonym} in the register").format(
            pseudonym=args.pseudonym))
    out = patients_text(store).splitlines()[0] + "\n" + next(
        line for line in patients_text(store).splitlines()[1:]
        if line.split()[0] == args.pseudonym)
    kept = reg.get(args.pseudonym)
    if kept is not None and kept.response_model is not None:  # issue 26
        from controller.core.words import response_words

        carried, why = kept.carried_response()
        out += "\n" + (_("Learned response not used: {why}").format(why=why) if carried is None
                       else _("Learned response ({date}): {words}").format(
                           date=_iso_day(kept.response_model_date),
                           words=response_words(kept.response_model)))
    return out


def patients(args: argparse.Namespace) -> int:
    """``fourbyfour patients``: every patient in the register."""
    from controller.app.commands.records import on_store

    return on_store(args, lambda store: print(patients_text(store)))
