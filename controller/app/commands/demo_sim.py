"""``fourbyfour demo --fast`` / ``--plan six-minute-test`` / ``--weeks N``: in-process
simulations without the firmware emulator."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from controller.app import demo_text
from controller.app.commands.demo_text import _phase_line, _summary
from controller.core.i18n import _, format_number, ngettext
from controller.core.words import word as category_word
from controller.protocol import PatientProfile
from controller.sim import TraceRow, VirtualPatient, make_patient


def demo_fast(args: argparse.Namespace) -> int:
    """The in-process simulation (no firmware emulator): a whole session in well under 1 s."""
    import random

    rng = random.Random(args.seed)
    truth, profile = make_patient(rng, args.category, args.seed)
    store = _open_store(args.store)
    if args.patient or (store is not None and not profile.pseudonym):
        # a recorded session belongs to someone: the demo's patient, as the other demos'
        profile = dataclasses.replace(profile, pseudonym=args.patient or "DEMO-1")
    registered = _registered_profile(store, profile)
    if registered is not profile:
        # a patient the register knows: the virtual patient is of their age, as the pulse
        # test demo's (issue 21: P-23, 60, ran as «alder 26, makspuls 173 (Nes-formelen)»)
        truth = _of_age(truth, registered.age_years)
    profile = registered
    print(demo_text.virtual_patient_line(args.category, truth, profile))
    from controller.app.simdemo import run_session

    phase_rows: list[TraceRow] = []
    # a phase's events are printed under its line (dated from its start), so the lines run
    # in time order: they were printed before it (the line comes when the phase has ended)
    phase_events: list[str] = []

    def on_tick(_session, sp, t) -> None:  # type: ignore[no-untyped-def]
        # The record keeps what the session accepted (artefacts gated out), like a clinic's.
        row = TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm, None, sp.speed_kmh,
                       sp.incline_pct, sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm,
                       sp.zone_high_bpm)
        if phase_rows and (row.phase, row.interval) != (phase_rows[0].phase,
                                                        phase_rows[0].interval):
            print("\n".join([_phase_line(phase_rows), *phase_events]), flush=True)
            phase_rows.clear()
            phase_events.clear()
        phase_rows.append(row)
        phase_events.extend(demo_text.event_line(e) for e in sp.events
                            if e.kind not in ("phase", "stopping", "done"))

    sid, rows, _s = run_session(VirtualPatient(truth), profile, store=store, on_tick=on_tick)
    # the belt running down after the plan ("done"): only its events (the next line says the
    # belt has stopped)
    last = [_phase_line(phase_rows)] if phase_rows and phase_rows[0].phase != "done" else []
    if last or phase_events:
        print("\n".join([*last, *phase_events]), flush=True)
    print(demo_text.session_done_line(rows[-1].t_s, _s.ended_by == "plan"))
    _summary(rows, profile.hr_max)
    if store is not None:
        _dated_by_now(store, sid)
        rec = store.session(sid)
        store.close()
        print("\n".join(_recorded_lines(rec.pseudonym, sid, rec.started_unix_s,
                                         rec.plan_name, args.store)))
    return 0


def _recorded_lines(pseudonym: str, sid: str, started_unix_s: float, plan_name: str,
                    store: str) -> list[str]:
    """The session recorded, named as the headless demo and `sessions` name it (patient,
    day, clock; the trial: «Lagret som økt 3f9c0a1b2c4d», a hex id staff never meet), and
    the command that writes its report, in the process's language (the id only there, where
    the command needs it)."""
    from controller.app.cli_words import COMMAND_NAMES, OPTION_NAMES
    from controller.core.dates import local_datetime
    from controller.core.i18n import format_date, language
    from controller.records.jobs import report_name

    when = local_datetime(started_unix_s)
    nb = language() == "nb"

    def name(n: str) -> str:
        return (OPTION_NAMES.get(n) or COMMAND_NAMES.get(n) or n) if nb else n

    command = " ".join(["fourbyfour", name("report"), name("--store"), store,
                        name("--session"), sid, name("--out"),
                        report_name(pseudonym, started_unix_s, plan_name) + ".pdf"])
    return [_("Recorded: the session for {pseudonym} on {date} at {time} in {store}.").format(
                pseudonym=pseudonym, date=format_date(when.date()),
                time=when.strftime("%H:%M"), store=store),
            _("Its report: {command}").format(command=command)]


def _registered_profile(store, profile: PatientProfile) -> PatientProfile:  # type: ignore[no-untyped-def]
    """Nothing about a patient changes unless staff chose it: a patient the register knows
    runs on their own profile (makspuls, its source and date, caps), which the session then
    remembers unchanged, never on the demo's made-up one."""
    if store is None or not profile.pseudonym:
        return profile
    from controller.records.register import Register

    known = Register(store).get(profile.pseudonym)
    return profile if known is None else known.profile()


def _open_store(path: str | None):  # type: ignore[no-untyped-def]
    if path is None:
        return None
    from controller.records.store import Store

    return Store(path)


def _dated_by_now(store, session_id: str) -> None:  # type: ignore[no-untyped-def]
    """An instant simulation's session, begun at the wall clock's now, ran half an hour of
    simulated time: dated back so it ends by now and overlaps no other session of its
    store, whoever's (the trial: two demos on one store, both 16:00–16:40, read at 16:01)."""
    import time

    store.date_back(session_id, time.time())


def _of_age(truth, age_years: float | None):  # type: ignore[no-untyped-def]
    """The virtual patient at the chosen patient's age (their register's): the age formula
    for that age, the drawn patient's own deviation from it (a beta-blocked patient's too)
    kept. Unchanged where the age is not known."""
    from controller.core.hrmax import hr_max_tanaka

    if age_years is None:
        return truth
    deviation = truth.hr_max_bpm - hr_max_tanaka(truth.age_years)
    return dataclasses.replace(truth, age_years=float(age_years),
                               hr_max_bpm=hr_max_tanaka(age_years) + deviation)


def _new_patient_profile(truth, measured: PatientProfile,  # type: ignore[no-untyped-def]
                         pseudonym: str | None) -> PatientProfile:
    """A new patient's first profile, as a clinic makes it before any test: HRmax from the
    age formula, the rest as measured."""
    return PatientProfile.from_age(round(truth.age_years), "tanaka", hr_rest=measured.hr_rest,
                                   max_speed_kmh=measured.max_speed_kmh,
                                   max_incline_pct=measured.max_incline_pct,
                                   walk_only=measured.walk_only,
                                   pseudonym=pseudonym or "DEMO-1")


def demo_six_minute_test(args: argparse.Namespace) -> int:
    """The 6-minute test end to end with a virtual patient: staff change the load, the
    patient answers the Borg rating, the HRmax proposal is shown. Nothing about a patient
    changes unless staff chose it: the proposal is stored only with ``--accept-hrmax``
    (staff accept it), and a patient the register knows runs on their own profile (the
    register's makspuls, source, date and caps stay as they were)."""
    import random

    from controller.app.simdemo import run_six_minute_test
    from controller.core.hrmax import hr_max_tanaka

    truth, measured = make_patient(random.Random(args.seed), args.category, args.seed)
    profile = _new_patient_profile(truth, measured, args.patient)
    store = _open_store(args.store)
    accept = bool(getattr(args, "accept_hrmax", False))
    profile = _registered_profile(store, profile)
    # a patient the register knows: the virtual patient is of their age (issue 21: P-23,
    # 45, was tested as the demo's own patient of 33, «the age formula says 190»)
    truth = _of_age(truth, profile.age_years)
    # Said first, so nobody takes this for the test on the treadmill: --headless and --speed
    # have no meaning for an instant simulation.
    print(_("An instant simulation of the 6-minute test as staff run it (no treadmill "
            "emulator, no console). For the test on the emulated treadmill, run the demo with "
            "the console and choose the plan '6-minute test' in the patient form."))
    # dated when it ran: the test starts at the wall clock's instant the command ran and
    # its minutes follow on the simulated clock it ran on (issue 21: dated back to end by
    # now, and further back before the patient's session of a moment ago)
    res = run_six_minute_test(VirtualPatient(truth), profile, store=store, accept=accept)
    # the category, the method and its reasoning in the demo's language (the estimate's
    # own are English)
    from controller.app.texts import SOURCES, hrmax_estimate_why, word

    print(_("6-minute test for {pseudonym} (virtual patient: {category}, true HRmax {true} "
            "bpm; the age formula says {tanaka} bpm).").format(
                pseudonym=profile.pseudonym,
                category=category_word(demo_text.CATEGORIES, args.category),
                true=format_number(truth.hr_max_bpm, 0),
                tanaka=format_number(hr_max_tanaka(round(truth.age_years)), 0)))
    if store is not None:  # which store: the one named by --store, never the clinic's
        rec = store.session(res.session_id)
        print("\n".join(_recorded_lines(rec.pseudonym, res.session_id, rec.started_unix_s,
                                         rec.plan_name, args.store)))
    else:
        print(_("The test is not recorded: without --store the demo records it nowhere."))
    print(_("Load at the start of the test {speed} km/h at {incline} %, at its end {speed_end} "
            "km/h at {incline_end} %.").format(
                speed=format_number(res.start_load[0]),
                incline=format_number(res.start_load[1]),
                speed_end=format_number(res.final_load[0]),
                incline_end=format_number(res.final_load[1])))
    est = res.estimate
    from controller.app.texts import six_minute_measure_lines
    from controller.core.summary import six_minute_measures

    for line in six_minute_measure_lines(six_minute_measures(
            [(r.t_s, r.phase, r.speed_kmh, r.hr_bpm) for r in res.rows])):
        print(line + ".")
    print(_("Borg rating at the end: {rpe}.").format(rpe=res.rpe))
    why = hrmax_estimate_why({"source": str(est.source), "rpe": res.rpe,
                              "hr_end_bpm": est.hr_end_bpm, "floored": est.floored})
    print(_("Proposed HRmax: {hr_max} ± {unc} bpm ({method}; {why}).").format(
        hr_max=format_number(est.hr_max_bpm, 0), unc=format_number(est.uncertainty_bpm, 0),
        method=word(SOURCES, str(est.source)), why=why[:1].lower() + why[1:].rstrip(".")))
    from controller.core.six_minute_text import large_change_warning

    warning = large_change_warning(est.hr_max_bpm, profile.hr_max)  # as the desk shows it
    if warning is not None:
        print(warning)
    if store is not None:
        store.close()
    if store is not None and accept:
        print(_("Accepted by staff: stored for {pseudonym} with source {source} in {store}, "
                "session {id}.").format(pseudonym=profile.pseudonym,
                                        source=word(SOURCES, str(est.source)),
                                        store=args.store, id=res.session_id))
    elif accept:
        print(_("Accepted by staff, but nothing is stored without --store."))
    else:  # the demo never decides for staff (the console asks them: accept, edit, reject)
        print(_("Not stored: the demo does not decide for staff; {pseudonym}'s HRmax is "
                "unchanged ({hr_max} bpm, {source}). With --accept-hrmax staff accept the "
                "proposal.").format(pseudonym=profile.pseudonym,
                                    hr_max=format_number(profile.hr_max, 0),
                                    source=word(SOURCES, str(profile.hr_max_source))))
    return 0


def demo_history(args: argparse.Namespace) -> int:
    """Months of one patient's training into a store, so every view has data."""
    import datetime as dt
    import random
    import time as _time

    from controller.app.simdemo import afternoon_unix_s, history
    from controller.core.dates import clinic_open, local_day

    if args.store is None:
        print(_("error: --weeks needs --store FILE"), file=sys.stderr)
        return 2
    if not 1 <= args.weeks <= 52:
        print(_("error: --weeks must be 1–52"), file=sys.stderr)
        return 2
    truth, measured = make_patient(random.Random(args.seed), args.category, args.seed)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    profile = _new_patient_profile(truth, measured, args.patient)
    store = _open_store(args.store)
    if store.sessions(profile.pseudonym):
        # months of a new patient (their first profile from the age formula) laid over a
        # patient's own sessions would overlap them and replace their profile
        store.close()
        print(_("error: {reason}").format(reason=_(
            "{pseudonym} already has sessions in {store}: the history is a new patient's; "
            "choose another --patient or another --store").format(
                pseudonym=profile.pseudonym, store=args.store)), file=sys.stderr)
        return 2
    # the 6-minute test on an afternoon the clinic is open, a week before the N weeks
    test_day = local_day(_time.time() - (args.weeks * 7 + 7) * 86400)
    while not clinic_open(test_day):
        test_day -= dt.timedelta(days=1)
    start = afternoon_unix_s(test_day)
    # recorded by a process of its own while the next session is simulated (issue 23)
    made = history(store, truth, profile, weeks=args.weeks, seed=args.seed,
                   start_unix_s=start, recorder_process=True)
    store.close()
    print(ngettext("Recorded {n} sessions of {pseudonym} over {weeks} week (a 6-minute "
                   "test, then 4x4 training) in {store}.",
                   "Recorded {n} sessions of {pseudonym} over {weeks} weeks (a 6-minute test, "
                   "then 4x4 training) in {store}.", args.weeks).format(
        n=len(made), pseudonym=profile.pseudonym, weeks=args.weeks, store=args.store))
    # the register lists the patient as any other (issue 23: «P-23, alder 26» with no hint)
    print(_("{pseudonym} is an invented demo patient: the age, the HRmax and the sessions "
            "were made up by the demo, not measured.").format(pseudonym=profile.pseudonym))
    return 0
