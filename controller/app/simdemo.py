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
import json
import math
import os
import random
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from controller.core.dates import CLINIC_TZ, clinic_open, local_day
from controller.core.hrmax import HrMaxEstimate, estimate_from_six_minute_test
from controller.core.plan import Plan, six_minute_test
from controller.protocol import Event, PatientProfile, Session, SessionError, Setpoint
from controller.records.register import Register
from controller.records.store import SAMPLE_COLUMNS, Store
from controller.sim import Belt, PatientParams, TraceRow, VirtualPatient

CLINIC_AFTERNOON = dt.time(14, 0)
"""When a history's sessions begin on the clinic's wall clock (± 30 min)."""


def afternoon_unix_s(day: dt.date) -> float:
    """``CLINIC_AFTERNOON`` of ``day`` on the clinic's wall clock (Europe/Oslo)."""
    return dt.datetime.combine(day, CLINIC_AFTERNOON, CLINIC_TZ).timestamp()


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


@dataclass
class SimulatedSession:
    """A session simulated and not yet recorded: everything ``record_session`` writes, as
    plain data (the samples' columns, the ticks' events), so a recorder in another process
    can write it (issue 23) while the next session is simulated."""

    session_id: str
    profile: PatientProfile
    plan: dict[str, object]
    start_unix_s: float
    rows: list[tuple[object, ...]]
    """Every tick as the ``samples`` table's columns after the session id (``SAMPLE_COLUMNS``)."""
    events: list[Event]
    """The ticks' events, in order."""
    end_t_s: float
    status: str
    learned: dict[str, Any] | None
    """The response learned in a 4x4, for the summary and the register (issue 26)."""


def simulate_session(patient: VirtualPatient, profile: PatientProfile,
                     plan: Plan | None = None, *, start_unix_s: float | None = None,
                     on_tick: Callable[[Session, Setpoint, float], None] | None = None,
                     trace: bool = True, keep: bool = True
                     ) -> tuple[SimulatedSession, list[TraceRow], Session]:
    """One whole session at 1 Hz in simulated time; its samples and events kept with
    ``keep`` (to be recorded), its trace rows with ``trace``."""
    session = Session(profile, plan)
    plan_doc = session.plan.to_dict() if session.plan is not None else {}
    belt = Belt()
    sid = uuid.uuid4().hex[:12]
    start = start_unix_s if start_unix_s is not None else dt.datetime.now(dt.UTC).timestamp()
    rows: list[TraceRow] = []
    kept: list[tuple[object, ...]] = []
    events: list[Event] = []
    t = 0.0
    while True:
        speed, incline = belt.speed_kmh, belt.incline_pct
        reading = patient.step(1.0, speed, incline)
        sp = session.step(t, reading, speed, incline)
        if keep:
            kept.append((sp.now_s, sp.phase, sp.interval, sp.state, sp.hr_bpm, sp.hr_status,
                         sp.target_bpm, sp.zone_low_bpm, sp.zone_high_bpm, sp.speed_kmh,
                         speed, sp.incline_pct, incline))
            if sp.events:
                events.extend(sp.events)
        if trace:
            rows.append(TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm,
                                 patient.true_hr_bpm, speed, incline,
                                 sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm,
                                 sp.zone_high_bpm))
        if on_tick is not None:
            on_tick(session, sp, t)
        if sp.phase == "done" and speed == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    learned = session.response_model() if keep and session.plan is not None and \
        session.plan.name == "4x4" else None
    status = "finished" if session.ended_by == "plan" else "stopped"
    return (SimulatedSession(sid, profile, plan_doc, start, kept, events, t, status, learned),
            rows, session)


def record_session(store: Store, sim: SimulatedSession) -> None:
    """Record a simulated session as the service records one: begun at its start (the
    patient remembered), every tick's sample and events, its summary and figures at its end,
    the learned response kept in the register. ``store.clock`` is left at the session's
    end (a Borg rating or an HRmax decision that follows is dated there)."""
    from controller.core.summary import summarise

    clock = SimClock(sim.start_unix_s)
    store.clock = clock
    profile = sim.profile
    store.begin_session(sim.session_id, profile, sim.plan)
    if profile.pseudonym:
        Register(store).remember(profile)
    store.record_rows(sim.session_id, sim.rows, sim.events)
    clock.t_s = sim.end_t_s
    # the columns the summary reads (its state left out, as the demo always gave it), and
    # the samples as the store reads them back: the session's figures are computed from
    # these at its end, so neither reads the whole session back (issue 23)
    scored = [{"t_s": r[0], "phase": r[1], "interval": r[2], "hr_bpm": r[4],
               "speed_kmh": r[10], "incline_pct": r[12]} for r in sim.rows]
    summary = summarise(scored, profile.hr_max, store.events(sim.session_id))
    if sim.learned is not None:  # as the service keeps it (issue 26)
        summary["response_model"] = sim.learned
    store.end_session(sim.session_id, sim.status, summary,
                      samples=[dict(zip(SAMPLE_COLUMNS, r, strict=True)) for r in sim.rows])
    if sim.learned is not None and profile.pseudonym:
        Register(store).keep_response_model(profile.pseudonym, sim.learned, sim.session_id)


def run_session(patient: VirtualPatient, profile: PatientProfile, plan: Plan | None = None, *,
                store: Store | None = None, start_unix_s: float | None = None,
                on_tick: Callable[[Session, Setpoint, float], None] | None = None,
                trace: bool = True) -> tuple[str, list[TraceRow], Session]:
    """One whole session at 1 Hz in simulated time, recorded in ``store`` when given; the
    trace rows are kept only with ``trace`` (a history of months needs only the store)."""
    sim, rows, session = simulate_session(patient, profile, plan, start_unix_s=start_unix_s,
                                          on_tick=on_tick, trace=trace,
                                          keep=store is not None)
    if store is not None:
        record_session(store, sim)
    return sim.session_id, rows, session


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
            seed: int, start_unix_s: float, course: TrainingCourse | None = None,
            recorder_process: bool = False) -> list[tuple[str, float]]:
    """A realistic history for one patient: the 6-minute test at ``start_unix_s``, then the
    sessions of a ``TrainingCourse`` from the Monday after it (Monday and Thursday
    afternoons, Oslo time, none on a public holiday; default course: drawn from ``seed``).
    Returns (session id, start).

    Each session starts from the response the register kept from the one before (issue 26),
    as the service offers it, so the sessions are simulated one after the other. With
    ``recorder_process`` they are recorded by a process of their own (``HistoryRecorder``)
    while the next one is simulated (issue 23: recording is some 13 % of the work); the
    store holds the same rows in the same order as without."""
    rng = random.Random(seed)
    course = course or training_course(rng, params.vo2max, weeks)
    test_day = local_day(start_unix_s)
    first_monday = test_day + dt.timedelta(days=7 - test_day.weekday())  # after the test
    out = []
    test = run_six_minute_test(VirtualPatient(params), profile, store=store,
                               start_unix_s=start_unix_s)
    _after_none(store, test.session_id)
    out.append((test.session_id, store.session(test.session_id).started_unix_s))
    rec = Register(store).require(profile.pseudonym)
    trained = rec.profile()
    recorder = HistoryRecorder(store.path) if recorder_process and course.sessions else None
    kept = rec  # the register's record as the last recorded session left it
    ids: list[str] = []
    try:
        for w, day, vo2 in course.sessions:
            # Monday and Thursday afternoons on the clinic's wall clock (trial 13: UTC days
            # put them on Sundays, and on Christmas Day); a public holiday's is missed
            when = first_monday + dt.timedelta(days=7 * w + day)
            jitter_s = rng.uniform(-1800, 1800)
            if not clinic_open(when):
                continue
            start = afternoon_unix_s(when) + jitter_s
            fitter = replace(params, vo2max=vo2, seed=params.seed * 1000 + 2 * w + (day > 0))
            # each session starts from the response the register kept from the one before
            # (issue 26), as the service offers it: so they run one after the other, recorded
            # straight into the store as the service records them (no store of its own per
            # session, export and import: the same rows in less time, and the kept response
            # dated by the session that learned it)
            if recorder is None:
                kept = Register(store).require(profile.pseudonym)
            carried, _why = kept.carried_response()
            sim, _rows, _s = simulate_session(VirtualPatient(fitter),
                                              replace(trained, response_model=carried),
                                              start_unix_s=start, trace=False)
            if recorder is None:
                record_session(store, sim)
                _after_none(store, sim.session_id)
            else:
                recorder.record(sim)
                if sim.learned is not None and profile.pseudonym:
                    # what the register keeps and reads back (JSON), as the next session
                    # would read it from the store
                    kept = replace(kept, response_model=json.loads(json.dumps(sim.learned)))
            ids.append(sim.session_id)
    except BaseException:
        if recorder is not None:
            recorder.abandon()
        raise
    if recorder is not None:
        recorder.finish()
    # when each one started once recorded (moved earlier where it met another session)
    return out + [(sid, store.session(sid).started_unix_s) for sid in ids]


class HistoryRecorder:
    """Records simulated sessions into a store from a process of its own, in the order they
    are handed over (one worker: the store sees one writer, the rows in order). Spawned, not
    forked: the simulating process may hold threads and an open SQLite connection."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=1,
                                         mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_recorder_open, initargs=(str(path),))
        self._pending: list[Future[None]] = []

    def record(self, sim: SimulatedSession) -> None:
        """Hand over a session; a failure of one recorded before is raised here, at once."""
        for f in self._pending:
            if f.done():
                f.result()
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(_recorder_record, sim))

    def finish(self) -> None:
        """Wait until every session is recorded and the store closed (raising the failure,
        if any)."""
        try:
            self._pending.append(self._pool.submit(_recorder_close))
            for f in self._pending:
                f.result()
        finally:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """The simulation failed (or was interrupted): nothing more is recorded."""
        self._pool.shutdown(wait=True, cancel_futures=True)


_recorder_store: Store | None = None
"""The recorder process's store (``HistoryRecorder``)."""


def _recorder_open(path: str) -> None:
    global _recorder_store
    _recorder_store = Store(path)


def _recorder_record(sim: SimulatedSession) -> None:
    assert _recorder_store is not None
    record_session(_recorder_store, sim)
    _after_none(_recorder_store, sim.session_id)


def _recorder_close() -> None:
    global _recorder_store
    if _recorder_store is not None:
        _recorder_store.close()
        _recorder_store = None


def _after_none(store: Store, session_id: str) -> None:
    """A history's session moved earlier where it would overlap another patient's session
    in the store (issue 23: two demo patients' afternoons on one treadmill at one time);
    unmoved otherwise (``Store.date_back``)."""
    store.date_back(session_id, store.span(session_id)[1])
