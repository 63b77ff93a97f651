"""The in-process simulated demo: a session, a 6-minute test, or months of one patient.

``run_session`` drives the production ``Session`` with a virtual patient on a simulated belt
and records it through the production ``Store`` (with a simulated wall clock), so every
view — session report, progression, outcome, FHIR — has real-shaped data to show.
``six_minute_test`` runs the test as staff do it: they change the load while the patient
says how it feels, ask the Borg rating at the end, and accept the proposal into the register.
``history`` makes weeks of training for one patient (``training_course``): 2 sessions a week
planned, fitness rising and levelling off, sessions missed, illness weeks, some drop out.
"""

from __future__ import annotations

import datetime as dt
import math
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
RECORD_BATCH = 300
"""Ticks of samples written in one statement (simulated time runs far faster than 1 Hz)."""


@dataclass
class SimClock:
    """Wall clock of a simulated session: its start plus simulated seconds."""

    start_unix_s: float
    t_s: float = 0.0

    def __call__(self) -> float:
        return self.start_unix_s + self.t_s


def sample_row(sp: Setpoint, speed_kmh: float, incline_pct: float) -> dict[str, object]:
    """A tick as the store's ``samples`` reads it back (``Store.record``'s columns)."""
    return {"t_s": sp.now_s, "phase": sp.phase, "interval": sp.interval, "state": sp.state,
            "hr_bpm": sp.hr_bpm, "hr_status": sp.hr_status, "target_bpm": sp.target_bpm,
            "zone_low_bpm": sp.zone_low_bpm, "zone_high_bpm": sp.zone_high_bpm,
            "speed_set_kmh": sp.speed_kmh, "speed_kmh": speed_kmh,
            "incline_set_pct": sp.incline_pct, "incline_pct": incline_pct}


def run_session(patient: VirtualPatient, profile: PatientProfile, plan: Plan | None = None, *,
                store: Store | None = None, start_unix_s: float | None = None,
                on_tick: Callable[[Session, Setpoint, float], None] | None = None,
                trace: bool = True) -> tuple[str, list[TraceRow], Session]:
    """One whole session at 1 Hz in simulated time, recorded in ``store`` when given; the
    trace rows are kept only with ``trace`` (a history of months needs only the store)."""
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
    # every tick recorded (set-point, belt speed, belt incline): the summary and the
    # session's figures are computed from these at its end, as the store holds them, so
    # neither reads the whole session back (issue 23)
    recorded: list[tuple[Setpoint, float, float]] = []
    # the samples written in batches (``record_many``: one statement, the same rows); the
    # first tick alone, so the clock offset is taken on its simulated time
    pending: list[tuple[Setpoint, float, float]] = []
    t = 0.0
    while True:
        clock.t_s = t
        reading = patient.step(1.0, belt.speed_kmh, belt.incline_pct)
        sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
        if store is not None:
            tick = (sp, belt.speed_kmh, belt.incline_pct)
            recorded.append(tick)
            if t == 0.0:
                store.record(sid, *tick)
            else:
                pending.append(tick)
                if len(pending) >= RECORD_BATCH:
                    store.record_many(sid, pending)
                    pending = []
        if trace:
            rows.append(TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm,
                                 patient.true_hr_bpm, belt.speed_kmh, belt.incline_pct,
                                 sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm,
                                 sp.zone_high_bpm))
        if on_tick is not None:
            on_tick(session, sp, t)
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    if store is not None:
        store.record_many(sid, pending)
        from controller.core.summary import summarise

        # the columns the summary reads (its state left out, as the demo always gave it)
        scored = [{"t_s": sp.now_s, "phase": sp.phase, "interval": sp.interval,
                   "hr_bpm": sp.hr_bpm, "speed_kmh": speed, "incline_pct": incline}
                  for sp, speed, incline in recorded]
        summary = summarise(scored, profile.hr_max, store.events(sid))
        learned = session.response_model() if session.plan is not None and \
            session.plan.name == "4x4" else None
        if learned is not None:  # as the service keeps it (issue 26)
            summary["response_model"] = learned
        store.end_session(sid, "finished" if session.ended_by == "plan" else "stopped",
                          summary, samples=[sample_row(*tick) for tick in recorded])
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
                                        rpe=rpe, age_years=profile.age_years)
    if store is not None:
        from controller.protocol import Event

        store.note(sid, Event(rows[-1].t_s, "borg",
                              f"Borg rating at the end of the test: {rpe}",
                              params={"rpe": rpe}))
        if accept and profile.pseudonym:
            Register(store).decide_hrmax(
                profile.pseudonym, "accepted", est.hr_max_bpm, str(est.source),
                {"rpe": rpe, "uncertainty_bpm": est.uncertainty_bpm, "method": est.method,
                 "explanation": est.explanation}, sid)
            store.note(sid, Event(rows[-1].t_s, "hrmax_decision",
                                  f"HRmax proposal {est.hr_max_bpm:.0f} bpm accepted by staff",
                                  params={"proposed_bpm": round(est.hr_max_bpm),
                                          "decision": "accepted"}))
    start = (plan.phases[1].fixed_speed_kmh or 0.0, plan.phases[1].fixed_incline_pct or 0.0)
    return TestResult(sid, rpe, est, rows, start, final[0] if final else start)


@dataclass(frozen=True)
class TrainingCourse:
    """One patient's months of 4x4 as a clinic sees them: fitness that rises fast at first
    and levels off, sessions missed, weeks lost to illness (with a little lost fitness), and
    sometimes a patient who stops coming.

    VO2max follows base + gain·(1 − e^(−weeks trained / τ)): twice-weekly 4x4 gives the
    largest gains in the first two months (8 weeks of 4x4 raised VO2max by about 15 %,
    Flemmen 2014) and then a plateau; the plateau ``gain_vo2max`` is 3–9 ml/kg/min for an
    unfit patient. "Weeks trained" counts half a week per attended session and gives half a
    week back for each week of illness."""

    base_vo2max: float
    gain_vo2max: float
    tau_weeks: float
    sessions: tuple[tuple[int, int, float], ...]
    """(week, day of the week: 0 Monday / 3 Thursday, VO2max that day) of every session
    attended."""
    ill_weeks: frozenset[int]
    dropped_out_week: int | None


def training_course(rng: random.Random, base_vo2max: float, weeks: int, *,
                    gain_vo2max: float | None = None, tau_weeks: float | None = None,
                    miss_p: float = 0.12, illness_p: float = 0.05,
                    drop_out_p: float = 0.25) -> TrainingCourse:
    """A ``TrainingCourse`` over ``weeks`` weeks (two sessions a week planned)."""
    gain = rng.uniform(3.0, 9.0) if gain_vo2max is None else gain_vo2max
    tau = rng.uniform(5.0, 12.0) if tau_weeks is None else tau_weeks
    drop = rng.randrange(3, weeks) if weeks > 3 and rng.random() < drop_out_p else None
    trained, ill_left = 0.0, 0
    sessions: list[tuple[int, int, float]] = []
    ill: set[int] = set()
    for w in range(weeks):
        if drop is not None and w >= drop:
            break
        if ill_left == 0 and w > 0 and rng.random() < illness_p:
            ill_left = rng.choice((1, 2))
        if ill_left:
            ill_left -= 1
            ill.add(w)
            trained = max(0.0, trained - 0.5)
            continue
        for day in (0, 3):
            if rng.random() < miss_p:
                continue
            vo2 = base_vo2max + gain * (1.0 - math.exp(-trained / tau))
            sessions.append((w, day, round(vo2, 2)))
            trained += 0.5
    return TrainingCourse(base_vo2max, gain, tau, tuple(sessions), frozenset(ill), drop)


def history(store: Store, params: PatientParams, profile: PatientProfile, *, weeks: int,
            seed: int, start_unix_s: float, course: TrainingCourse | None = None
            ) -> list[tuple[str, float]]:
    """A realistic history for one patient: the 6-minute test, then the sessions of a
    ``TrainingCourse`` (Monday and Thursday afternoons; default: drawn from ``seed``).
    Returns (session id, start)."""
    rng = random.Random(seed)
    course = course or training_course(rng, params.vo2max, weeks)
    out = []
    test = run_six_minute_test(VirtualPatient(params), profile, store=store,
                               start_unix_s=start_unix_s)
    _after_none(store, test.session_id)
    out.append((test.session_id, store.session(test.session_id).started_unix_s))
    rec = Register(store).require(profile.pseudonym)
    trained = rec.profile()
    for w, day, vo2 in course.sessions:
        start = start_unix_s + (7 * w + day + 3) * DAY_S + rng.uniform(-1800, 1800)
        fitter = replace(params, vo2max=vo2, seed=params.seed * 1000 + 2 * w + (day > 0))
        # each session starts from the response the register kept from the one before
        # (issue 26), as the service offers it: so they run one after the other, recorded
        # straight into the store as the service records them (no store of its own per
        # session, export and import: the same rows in less time, and the kept response
        # dated by the session that learned it)
        carried, _why = Register(store).require(profile.pseudonym).carried_response()
        sid, _rows, _s = run_session(VirtualPatient(fitter),
                                     replace(trained, response_model=carried), store=store,
                                     start_unix_s=start, trace=False)
        _after_none(store, sid)
        out.append((sid, store.session(sid).started_unix_s))
    return out


def _after_none(store: Store, session_id: str) -> None:
    """A history's session moved earlier where it would overlap another patient's session
    in the store (issue 23: two demo patients' afternoons on one treadmill at one time);
    unmoved otherwise (``Store.date_back``)."""
    store.date_back(session_id, store.span(session_id)[1])
