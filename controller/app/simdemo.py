"""The in-process simulated demo: a session, a 6-minute test, or months of one patient.

``run_session`` drives the production ``Session`` with a virtual patient on a simulated belt
and records it through the production ``Store`` (with a simulated wall clock), so every
view — session report, progression, outcome, FHIR — has real-shaped data to show.
``six_minute_test`` runs the test as staff do it: they change the load while the patient
says how it feels, ask the Borg rating at the end, and accept the proposal into the register.
``history`` makes weeks of training for one patient: 2 sessions a week, fitness rising,
some weeks and sessions missed.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from controller.core.hrmax import HrMaxEstimate, estimate_from_six_minute_test
from controller.core.plan import Plan, six_minute_test
from controller.protocol import PatientProfile, Session, SessionError, Setpoint
from controller.records.register import Register
from controller.records.store import Store
from controller.sim import Belt, PatientParams, TraceRow, VirtualPatient

DAY_S = 86400.0


@dataclass
class SimClock:
    """Wall clock of a simulated session: its start plus simulated seconds."""

    start_unix_s: float
    t_s: float = 0.0

    def __call__(self) -> float:
        return self.start_unix_s + self.t_s


def run_session(patient: VirtualPatient, profile: PatientProfile, plan: Plan | None = None, *,
                store: Store | None = None, start_unix_s: float | None = None,
                on_tick: Callable[[Session, Setpoint, float], None] | None = None
                ) -> tuple[str, list[TraceRow], Session]:
    """One whole session at 1 Hz in simulated time, recorded in ``store`` when given."""
    session = Session(profile, plan)
    belt = Belt()
    sid = uuid.uuid4().hex[:12]
    clock = SimClock(start_unix_s if start_unix_s is not None else
                     dt.datetime.now(dt.UTC).timestamp())
    if store is not None:
        store.clock = clock
        assert session.plan is not None
        store.begin_session(sid, profile, session.plan.to_dict())
        if profile.pseudonym:
            Register(store).remember(profile)
    rows: list[TraceRow] = []
    t = 0.0
    while True:
        clock.t_s = t
        reading = patient.step(1.0, belt.speed_kmh, belt.incline_pct)
        sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
        if store is not None:
            store.record(sid, sp, belt.speed_kmh, belt.incline_pct)
        rows.append(TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm,
                             patient.true_hr_bpm, belt.speed_kmh, belt.incline_pct,
                             sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm, sp.zone_high_bpm))
        if on_tick is not None:
            on_tick(session, sp, t)
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    if store is not None:
        from controller.core.summary import summarise

        summary = summarise(store.samples(sid), profile.hr_max, store.events(sid))
        learned = session.response_model() if session.plan is not None and \
            session.plan.name == "4x4" else None
        if learned is not None:  # as the service keeps it (issue 26)
            summary["response_model"] = learned
        store.end_session(sid, "finished" if session.ended_by == "plan" else "stopped",
                          summary)
        if learned is not None and profile.pseudonym:
            Register(store).keep_response_model(profile.pseudonym, learned, sid)
    return sid, rows, session


@dataclass(frozen=True)
class TestResult:
    session_id: str
    rpe: int
    estimate: HrMaxEstimate
    rows: list[TraceRow]
    start_load: tuple[float, float]
    final_load: tuple[float, float]


def run_six_minute_test(patient: VirtualPatient, profile: PatientProfile, *,
                        speed_kmh: float = 4.0, incline_pct: float = 0.0,
                        store: Store | None = None, start_unix_s: float | None = None,
                        accept: bool = True) -> TestResult:
    """The test as the clinic runs it: every 30 s of the first four minutes staff ask how
    it feels and raise the load (speed to a brisk walk first, then incline) while the
    patient says it is lighter than "somewhat hard" (Borg 13), or lower it above "hard"
    (Borg 16); at the end
    the patient's Borg rating gives the HRmax proposal, which staff accept into the
    register (``accept``)."""
    speed_kmh = min(speed_kmh, profile.speed_cap_kmh)
    plan = six_minute_test(speed_kmh, min(incline_pct, profile.max_incline_pct))
    asked: set[int] = set()
    rpe_at_end: list[int] = []

    def staff(session: Session, sp: Setpoint, t: float) -> None:
        if sp.phase == "test":
            half = int(sp.phase_elapsed_s // 30)
            if 1 <= half <= 8 and half not in asked:
                asked.add(half)
                feel = patient.borg_rpe()
                speed, incline = session.test_load or (plan.phases[1].fixed_speed_kmh or 0.0,
                                                       plan.phases[1].fixed_incline_pct or 0.0)
                try:
                    if feel < 13 and speed + 0.5 <= min(profile.speed_cap_kmh, 5.5):
                        session.adjust(speed_delta_kmh=0.5)
                    elif feel < 13 and incline + 2.0 <= profile.max_incline_pct:
                        session.adjust(incline_delta_pct=2.0)
                    elif feel > 16:
                        session.adjust(speed_delta_kmh=-0.5)
                except SessionError:
                    pass  # at a cap: the load stays
        elif sp.phase == "cooldown" and not rpe_at_end:
            rpe_at_end.append(patient.borg_rpe())  # asked as the test ends

    final: list[tuple[float, float]] = []

    def tick(session: Session, sp: Setpoint, t: float) -> None:
        if sp.phase == "test":
            final[:] = [(sp.speed_kmh, sp.incline_pct)]
        staff(session, sp, t)

    sid, rows, _session = run_session(patient, profile, plan, store=store,
                                      start_unix_s=start_unix_s, on_tick=tick)
    rpe = rpe_at_end[0]
    est = estimate_from_six_minute_test([r.hr_bpm for r in rows if r.phase == "test"],
                                        rpe=rpe)
    if store is not None:
        from controller.protocol import Event

        store.note(sid, Event(rows[-1].t_s, "borg",
                              f"Borg rating at the end of the test: {rpe}"))
        if accept and profile.pseudonym:
            Register(store).decide_hrmax(
                profile.pseudonym, "accepted", est.hr_max_bpm, str(est.source),
                {"rpe": rpe, "uncertainty_bpm": est.uncertainty_bpm, "method": est.method,
                 "explanation": est.explanation}, sid)
            store.note(sid, Event(rows[-1].t_s, "hrmax_decision",
                                  f"HRmax proposal {est.hr_max_bpm:.0f} bpm accepted by staff"))
    start = (plan.phases[1].fixed_speed_kmh or 0.0, plan.phases[1].fixed_incline_pct or 0.0)
    return TestResult(sid, rpe, est, rows, start, final[0] if final else start)


def history(store: Store, params: PatientParams, profile: PatientProfile, *, weeks: int,
            seed: int, start_unix_s: float,
            fitness_gain_per_week: float = 0.35) -> list[tuple[str, float]]:
    """A realistic history for one patient: the 6-minute test, then 2 sessions a week
    (Monday and Thursday afternoons) for ``weeks`` weeks with VO2max rising, a missed week
    now and then and a single missed session more often. Returns (session id, start)."""
    rng = random.Random(seed)
    out = []
    test = run_six_minute_test(VirtualPatient(params), profile, store=store,
                               start_unix_s=start_unix_s)
    out.append((test.session_id, start_unix_s))
    rec = Register(store).require(profile.pseudonym)
    trained = rec.profile()
    missed_weeks = {w for w in range(1, weeks) if rng.random() < 0.12}
    for w in range(weeks):
        if w in missed_weeks:
            continue
        for day in (0, 3):
            if rng.random() < 0.1:
                continue  # a missed session
            start = start_unix_s + (7 * w + day + 3) * DAY_S + rng.uniform(-1800, 1800)
            fitter = replace(params, vo2max=params.vo2max + fitness_gain_per_week * w,
                             seed=params.seed * 1000 + 2 * w + (day > 0))
            carried, _why = Register(store).require(profile.pseudonym).carried_response()
            sid, _rows, _s = run_session(VirtualPatient(fitter),
                                         replace(trained, response_model=carried),
                                         store=store, start_unix_s=start)
            out.append((sid, start))
    return out
