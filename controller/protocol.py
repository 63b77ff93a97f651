"""The 4x4 session core: a sans-IO state machine that turns heart rate into set-points.

Theory of operation
-------------------
``Session.step(now_s, hr_bpm, speed_kmh, incline_pct)`` is the only way time enters. Each
call

1. passes the strap reading through the one artefact gate (``hrgate.HrGate``; readings
   offered between ticks with their beat evidence through ``offer_hr`` go there too),
2. runs the heart-rate fail-safes (no valid beat for 5 s → hold the set-point; 15 s →
   slow to an easy walk and alarm; 60 s → stop the session. Heart rate above the profile's
   max → flag "HRmax likely underestimated"; above it for 10 s → reduce load and alarm),
3. advances the plan's phase clock (frozen while paused),
4. asks the control law for a set-point (``control.AdaptiveController`` unless another law
   is injected), and
5. bounds the result by the patient's caps and the documented rate limits (the upward ones
   halved for a while after the pulse came back from a hold/slow and after a skip into a
   harder part: ``RateLimits.gentle_after_s``).

Staff commands (``pause``, ``resume``, ``skip``, ``extend``, ``stop``, ``acknowledge``) are
legal only in the run states listed in ``COMMAND_TRANSITIONS``; everything else raises
``SessionError``. Nothing else changes the run state except the fail-safes, which can only
move it towards stopped. ``done`` is final: a finished or stopped session never moves the
belt again, and a belt that stopped outside the session (e-stop, safety key, treadmill fault)
pauses the session, so only a person can set it going again.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from controller.core.control import (
    PAUSE_BELOW_FLOOR_AFTER_S,
    AdaptiveController,
    ControlDecision,
    ControlInput,
    pause_floor_kmh,
)
from controller.core.fastinit import frozen_init
from controller.core.hrgate import GateVerdict, HrGate, HrReading
from controller.core.hrmax import (
    HrMaxEstimate,
    HrMaxSource,
    estimate_from_six_minute_test,
    hr_max_keteyian,
    hr_max_nes,
    hr_max_tanaka,
)
from controller.core.metrics import ALLOWANCE_FIRST_S, ALLOWANCE_LATER_S, shown_bpm
from controller.core.plan import (
    PhaseKind,
    PhaseSpec,
    Plan,
    PlanError,
    default_4x4,
    six_minute_test,
)
from controller.core.pseudonym import pseudonym_problem
from controller.core.refusals import refusal_text
from controller.core.response import (
    ResponseModel,
    ResponseModelError,
    parse_response_model,
)
from controller.core.safety import RateLimits, no_load_without_hr, ramp
from controller.core.workload import REST_VO2, WALK_MAX_KMH, WorkloadPath, vo2_cost
from controller.errors import DataError, FourByFourError

# The researchers' API (README): the session and, re-exported from ``controller.core``, the
# plans and HRmax helpers, so one import path serves them all.
__all__ = [
    "COMMAND_TRANSITIONS",
    "Event",
    "HrMaxEstimate",
    "HrMaxSource",
    "PatientProfile",
    "PhaseKind",
    "PhaseSpec",
    "Plan",
    "PlanError",
    "ProfileError",
    "ResponseModel",
    "ResponseModelError",
    "RunState",
    "Session",
    "SessionError",
    "Setpoint",
    "default_4x4",
    "estimate_from_six_minute_test",
    "hr_max_keteyian",
    "hr_max_nes",
    "hr_max_tanaka",
    "six_minute_test",
]

HR_HOLD_AFTER_S = 5.0
HR_SLOW_AFTER_S = 15.0
HR_STOP_AFTER_S = 60.0
HR_ABOVE_MAX_ALARM_S = 10.0
STRAP_ALARM = "strap_missing_beats"
"""The gate saw nothing but artefacts for a while (issue 22): wet or move the strap."""
WARNING_ALARMS = frozenset({STRAP_ALARM})
"""The one list of held names that are warnings, not alarms (a hint to staff: amber, no
bell, still acknowledged). The session holds every name with the severity it raised it
with and says it (``Setpoint.alarm_severity``, the control socket's alarm list, MQTT
``alarm_severity``); this list is what a reader falls back on for a document that does not
say it (an older treadmill's ``fourbyfour.telemetry/1``): ``alarm_severity``. A name the
session holds as a warning belongs here (tests/test_monitor_warnings.py checks it)."""


def alarm_severity(name: str) -> str:
    """"warning" or "alarm" for a held name whose document did not say (anything not on
    ``WARNING_ALARMS`` is an alarm: a name nobody knows is the louder one)."""
    return "warning" if name in WARNING_ALARMS else "alarm"


RELIEF_S = 60.0
"""After heart rate stayed above max, the target is lowered to 75 % HRmax for this long."""
RELIEF_TARGET_FRAC = 0.75
EASY_WALK_KMH = 3.0
BELT_STOPPED_AFTER_S = 5.0
POPULATION_VO2MAX = 30.0
"""ml/kg/min: the patients' typical fitness (pooled 28.7 in severe mental illness), used only
to judge whether a workload should have brought the heart rate into the zone."""
HRMAX_HIGH_LAG_S = 150.0
"""The workload is low-passed this slowly (the slowest published kinetics) before its
expected heart rate is believed, so a patient who is merely slow to rise is not flagged."""
HRMAX_HIGH_AFTER_S = 90.0
"""Seconds of such evidence, summed over the session's intervals, before the event."""
HRMAX_HIGH_MARGIN = 0.03
"""Expected heart rate must be this far (of HRmax) above the zone's lower edge."""
STOP_SETTLE_S = 15.0
STOP_FLAT_PCT = 0.3
"""A controlled stop ends when the belt stands and its incline is down to within this of
0 % (a position pulse is 0.28 %), or ``STOP_SETTLE_S`` after the set-points reached 0."""
RESTART_COUNTDOWN_S = 3.0
"""Before the belt sets off from a standstill (the start, a resume), it stays still this long
while the belt screen counts 3-2-1: the belt must never surprise the patient."""
RESUME_HOLD_S = 15.0
"""After a pause or a belt stop the belt ramps back to at most the set-point it had before
(issue 21: it came back at 3.5 km/h after a pause at 1.5), and stays at most there this long
once it got there, so the heart answers the restart before the law adds load again."""
ADJUST_MAX_SPEED_STEP_KMH = 0.5
ADJUST_MAX_INCLINE_STEP_PCT = 2.0
ADJUST_MIN_INTERVAL_S = 2.0
"""Staff's load changes in the 6-minute test: at most this much per command, and at most one
command per this many seconds (the belt still ramps at the documented rates)."""


class ProfileError(DataError):
    """A patient profile that cannot be used; the message names the field (English, for
    logs and config files), ``code`` and ``params`` say it as data for a console
    (``controller.core.refusals``)."""

    def __init__(self, message: str, code: str = "invalid", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params


class SessionError(FourByFourError, RuntimeError):
    """A staff command that is not allowed in the session's current state.

    ``code`` and ``params`` say why as data (``controller.core.refusals``): the console
    renders them in its own language; the message is the English text, for logs."""

    def __init__(self, message: str, code: str = "invalid", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params if code != "invalid" else \
            {"detail": message, **params}


def refused(code: str, **params: Any) -> SessionError:
    """``raise refused("extend_limit")``: a SessionError with its code, its English text."""
    return SessionError(refusal_text(code, params, "en"), code, **params)


@dataclass(frozen=True)
class PatientProfile:
    """What the clinic knows about the patient. Values outside the ranges are refused.

    ``hr_max_source`` records where ``hr_max`` came from; ``walk_only`` keeps speed at or
    below a walk (7 km/h) even if ``max_speed_kmh`` is higher.
    """

    hr_max: float
    hr_rest: float | None = None
    max_speed_kmh: float = 6.0
    max_incline_pct: float = 15.0
    hr_max_source: HrMaxSource = HrMaxSource.MEASURED
    walk_only: bool = False
    min_speed_kmh: float = 1.5
    age_years: float | None = None
    pseudonym: str = ""
    response_model: ResponseModel | dict[str, Any] | str | None = None
    """The response learned in an earlier session (``Session.response_model()``'s document or
    a ``ResponseModel``); refused whole with ``ResponseModelError`` when malformed, of another
    version or implausible. It guides the control law only: caps and rate limits ignore it."""

    def __post_init__(self) -> None:
        if self.response_model is not None:
            object.__setattr__(self, "response_model", parse_response_model(self.response_model))
        _check_number("hr_max", self.hr_max, 100, 230)
        if self.hr_rest is not None:
            _check_number("hr_rest", self.hr_rest, 30, 130)
            if self.hr_rest > self.hr_max - 40:
                raise ProfileError(
                    f"hr_rest {self.hr_rest:g} must be at least 40 bpm below hr_max "
                    f"{self.hr_max:g}", "profile_hr_rest", hr_rest=self.hr_rest,
                    hr_max=self.hr_max)
        _check_number("max_speed_kmh", self.max_speed_kmh, 2.0, 20.0)
        _check_number("max_incline_pct", self.max_incline_pct, 0.0, 25.0)
        _check_number("min_speed_kmh", self.min_speed_kmh, 0.5, 4.0)
        if self.min_speed_kmh >= self.max_speed_kmh:
            raise ProfileError("min_speed_kmh must be below max_speed_kmh",
                               "profile_min_speed")
        if self.age_years is not None:
            _check_number("age_years", self.age_years, 10, 100)
        try:
            HrMaxSource(self.hr_max_source)
        except ValueError:
            raise ProfileError(f"unknown hr_max_source {self.hr_max_source!r}",
                               "profile_source", source=str(self.hr_max_source)) from None
        if self.pseudonym != "" and (why := pseudonym_problem(self.pseudonym)) is not None:
            raise ProfileError(f"pseudonym: {why}", "bad_pseudonym", detail=why)

    @property
    def speed_cap_kmh(self) -> float:
        return min(self.max_speed_kmh, WALK_MAX_KMH) if self.walk_only else self.max_speed_kmh

    @classmethod
    def from_age(cls, age_years: float, formula: str = "tanaka", **kw: object) -> PatientProfile:
        """A profile whose HRmax comes from an age formula (tanaka, nes, keteyian)."""
        if formula == "tanaka":
            hr_max, src = hr_max_tanaka(age_years), HrMaxSource.TANAKA
        elif formula == "nes":
            hr_max, src = hr_max_nes(age_years), HrMaxSource.NES
        elif formula == "keteyian":
            hr_rest = kw.get("hr_rest")
            if not isinstance(hr_rest, int | float):
                raise ProfileError("the Keteyian formula needs hr_rest")
            hr_max, src = hr_max_keteyian(age_years, float(hr_rest)), HrMaxSource.KETEYIAN
        else:
            raise ProfileError(f"unknown HRmax formula {formula!r}: tanaka, nes or keteyian")
        return cls(hr_max=round(hr_max), hr_max_source=src, age_years=age_years, **kw)  # type: ignore[arg-type]


_UNITS = {"hr_max": "bpm", "hr_rest": "bpm", "max_speed_kmh": "km/h", "max_incline_pct": "%",
          "min_speed_kmh": "km/h", "age_years": "years"}


def _check_number(name: str, value: object, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(f"{name} must be a number, got {value!r}", "profile_number",
                           field=name)
    if not lo <= value <= hi:
        raise ProfileError(f"{name} must be {lo:g}–{hi:g}, got {value:g}", "profile_range",
                           field=name, low=lo, high=hi, unit=_UNITS.get(name, ""),
                           value=value)


class RunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    DONE = "done"


COMMAND_TRANSITIONS: dict[RunState, dict[str, RunState]] = {
    RunState.RUNNING: {"pause": RunState.PAUSED, "skip": RunState.RUNNING,
                       "extend": RunState.RUNNING, "stop": RunState.STOPPING,
                       "adjust": RunState.RUNNING},
    RunState.PAUSED: {"resume": RunState.RUNNING, "skip": RunState.PAUSED,
                      "extend": RunState.PAUSED, "stop": RunState.STOPPING},
    RunState.STOPPING: {"stop": RunState.STOPPING},
    RunState.DONE: {},
}
"""Every staff command legal in each run state, and the state it leads to. Nothing else
changes the run state except the fail-safes, which only ever lead to PAUSED or STOPPING."""


@dataclass(frozen=True)
class Event:
    now_s: float
    kind: str
    message: str
    severity: str = "info"  # "info" | "warning" | "alarm"
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the message says, as data (phase, interval, seconds, …): a reader in another
    language renders the event from ``kind`` and these (``controller.core.words``)."""


@frozen_init
@dataclass(frozen=True)
class Setpoint:
    """What the session wants the treadmill to do now, and why."""

    now_s: float
    speed_kmh: float
    incline_pct: float
    phase: str
    interval: int
    zone_low_bpm: float | None
    zone_high_bpm: float | None
    target_bpm: float | None
    state: str
    phase_elapsed_s: float
    phase_remaining_s: float
    hr_bpm: float | None
    hr_status: str
    events: tuple[Event, ...] = ()
    alarms: tuple[str, ...] = ()
    alarm_severity: tuple[tuple[str, str], ...] = ()
    """(name, "alarm" or "warning") for the held names in ``alarms``: the severity travels
    with the name (a name missing here is read by ``alarm_severity``)."""


class _Emit(Protocol):
    """How the session's watchers report an event (``severity`` "alarm" also raises it)."""

    def __call__(self, kind: str, message: str, severity: str = "info",
                 **params: Any) -> None: ...


class _Control(Protocol):
    """The interface a control law offers the session (``AdaptiveController`` does)."""

    def update(self, inp: ControlInput) -> ControlDecision:  # pragma: no cover - protocol
        raise NotImplementedError


@dataclass
class Session:
    """One patient's session: plan, fail-safes, control law and limits.

    >>> s = Session(PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0))
    >>> sp = s.step(0.0, 80, 0.0, 0.0)      # first call starts the warm-up
    >>> sp.speed_kmh, sp.incline_pct, sp.phase
    """

    profile: PatientProfile
    plan: Plan | None = None
    control: _Control | None = None
    limits: RateLimits = field(default_factory=RateLimits)

    def __post_init__(self) -> None:
        if self.plan is None:
            self.plan = default_4x4()
        _check_plan_fits(self.profile, self.plan)
        if self.control is None:
            carried = self.profile.response_model
            assert carried is None or isinstance(carried, ResponseModel)
            self.control = AdaptiveController(self.profile.hr_max, self.profile.hr_rest,
                                              carried=carried)
        self.run_state = RunState.RUNNING
        self._gate = HrGate()
        self._offered: GateVerdict | None = None
        self._t_last: float | None = None
        self._t_start = 0.0
        self._phase_index = 0
        self._phase_elapsed_s = 0.0
        self._phase_extra_s = 0.0
        self._new_phase = True
        self._speed_sp = 0.0
        self._incline_sp = 0.0
        self._t_last_valid = 0.0
        self._hr_level = 0  # 0 ok, 1 hold, 2 slow
        self._above_since: float | None = None
        self._hrmax_flagged = False
        self._strap_told = False
        self._relief_until = -1.0
        self._belt_stopped_since: float | None = None
        self._stop_reached_s: float | None = None
        self._stop_reason = ""
        self._belt_faulted = False
        """The treadmill latched a fault: its incline stands where it stopped (PROTOCOL.md)."""
        self.ended_by = ""
        """Why the session ended: 'plan' when it ran to the end, else the stop's reason."""
        self._hr0: float | None = None
        self._unreachable_since: float | None = None
        self._unreachable_told = False
        self._load_lagged = 0.0
        self._lag_memo = (math.nan, 0.0)
        """(tick length, its factor 1 − e^(−dt/HRMAX_HIGH_LAG_S)) of the last tick."""
        self._hrmax_high_evidence_s = 0.0
        self._hrmax_high_told = False
        self._path_memo: tuple[PhaseSpec, PatientProfile, bool, WorkloadPath] | None = None
        self._pause_hot_since: float | None = None
        """Since when the heart rate stayed above an active pause's zone with the belt at the
        walking floor and the incline at its lowest (``_below_floor``)."""
        self._interval_memo: tuple[Plan, int, int] | None = None
        self._cooldown_cap: tuple[float, float] | None = None
        """Speed and incline a cool-down may not exceed: it only ever slows (issue 13)."""
        self._pending: list[tuple[str, str, str, dict[str, Any]]] = []
        self._alarms: dict[str, str] = {}
        self._severity: dict[str, str] = {}
        """The severity each held name was raised with ("alarm" or "warning")."""
        self.peak_hr_bpm: float | None = None
        self._test_load: tuple[float, float] | None = None
        self._last_adjust_s: float | None = None
        self._restart_pending = True  # the first tick starts the belt from a standstill too
        self._pause_load: tuple[float, float] | None = None
        """(speed, incline) set-points when the belt last came to a stop in a pause."""
        self._belt_stop_load: tuple[float, float] | None = None
        self._resume_cap: tuple[float, float] | None = None
        """After a resume: the load the belt may come back to (``_resume_at_earlier_pace``)."""
        self._resume_reached_s: float | None = None
        self._clock_held = False
        """After a resume: the phase clock stands until the belt may set off again (the
        restart's 3-2-1 is part of the pause, ``_phase_dt``)."""
        self.restart_at_s: float | None = None
        """While the belt waits to set off from a standstill (the start, a resume): when it
        sets off (the belt screen counts down to it); None otherwise."""
        self._gentle_until_s = -math.inf
        """Until when the upward rate limits are the gentle ones (``_gentle``)."""
        self._gentle_after_skip = False
        """A skip into a harder part: the gentle window starts once the belt may move."""
        self._test_walked = False
        """The 6-minute test's test part ran to its end (not skipped, not stopped in it)."""

    # -- staff commands ---------------------------------------------------------------------

    def _command(self, name: str, message: str, **params: Any) -> None:
        nxt = COMMAND_TRANSITIONS[self.run_state].get(name)
        if nxt is None:
            raise refused("not_now", command=name, state=str(self.run_state))
        self.run_state = nxt
        self._pending.append((name, message, "info", params))

    def pause(self) -> None:
        """Slow the belt to a standstill and freeze the phase clock."""
        self._command("pause", "paused by staff: belt slowing to a stop")
        self._remember_load()

    def _remember_load(self, load: tuple[float, float] | None = None) -> None:
        """Keep the load the belt had before it stops in a pause (a resume comes back to at
        most that); a pause during a resume's ramp keeps the earlier load."""
        if self._resume_cap is None:
            self._pause_load = load or (self._speed_sp, self._incline_sp)
        else:
            self._pause_load = self._resume_cap

    def belt_fault(self, fault: str) -> None:
        """The treadmill reports a latched fault (e-stop, safety key, its own protection): its
        belt stands whatever we ask. A running session pauses at once, with the alarm, and a
        person resumes it after the treadmill's reset. The belt watch infers the same from a
        belt that stopped for 5 s, but only while the set-point is ≥ 1 km/h: a fault in a slow
        part (a cool-down that had ramped down) left the session "running" to its end."""
        self._belt_faulted = True  # its incline stands too: a stop does not wait for it
        if self.run_state is not RunState.RUNNING:
            return
        self.run_state = RunState.PAUSED
        self._belt_stopped_since = None
        self._remember_load()
        message = (f"the treadmill stopped the belt ({fault}): session paused; staff must "
                   "resume")
        self._hold("belt_stopped", message, "alarm")
        self._pending.append(("belt_stopped", message, "alarm", {"fault": fault}))

    def resume(self) -> None:
        """Continue after a pause (a person decides; the belt ramps up gently)."""
        self._command("resume", "resumed by staff")
        self._restart_pending = True
        self._belt_faulted = False  # the runtime re-arms the board (its incline homed)
        load = self._pause_load
        self._resume_cap = load if load is not None and load[0] >= 0.5 else None
        self._resume_reached_s = None
        self._clock_held = True

    def skip(self) -> None:
        """End the current phase now and start the next one. Into a harder part the belt
        then rises at the gentle rates for a while (``_gentle``)."""
        skipped = self.spec
        self._command("skip", f"phase {self.phase} skipped by staff", phase=str(self.phase))
        self._advance_phase()
        if _harder(self.spec, skipped):
            self._gentle_after_skip = True

    def extend(self, seconds: float = 60.0) -> None:
        """Make the current phase longer (at most 10 min in total per phase)."""
        if not 0 < seconds <= 600 or self._phase_extra_s + seconds > 600:
            raise refused("extend_limit")
        from controller.core.i18n import format_duration  # "1 min", as the console says

        self._command("extend", f"{self.phase} extended by "
                      f"{format_duration(round(seconds), 'en')}",
                      phase=str(self.phase), seconds=seconds)
        self._phase_extra_s += seconds

    def adjust(self, speed_delta_kmh: float = 0.0, incline_delta_pct: float = 0.0) -> None:
        """Staff raise or lower the 6-minute test's load (its point is a load the patient
        can manage). Legal only while the test phase runs, by at most 0.5 km/h and 2 % per
        command, one command per 2 s, and never beyond the patient's caps: anything else
        raises ``SessionError`` and changes nothing."""
        spec = self.spec
        if spec is None or spec.kind is not PhaseKind.TEST:
            raise refused("adjust_not_test")
        if self.run_state is not RunState.RUNNING:
            raise refused("not_now", command="adjust", state=str(self.run_state))
        dv = _real("speed_delta_kmh", speed_delta_kmh)
        di = _real("incline_delta_pct", incline_delta_pct)
        if not (math.isfinite(dv) and abs(dv) <= ADJUST_MAX_SPEED_STEP_KMH):
            raise refused("adjust_speed_step", step_kmh=ADJUST_MAX_SPEED_STEP_KMH)
        if not (math.isfinite(di) and abs(di) <= ADJUST_MAX_INCLINE_STEP_PCT):
            raise refused("adjust_incline_step", step_pct=ADJUST_MAX_INCLINE_STEP_PCT)
        if dv == 0.0 and di == 0.0:
            raise refused("adjust_nothing")
        if self._last_adjust_s is not None and self._t_last is not None and \
                self._t_last - self._last_adjust_s < ADJUST_MIN_INTERVAL_S:
            raise refused("adjust_too_soon", seconds=ADJUST_MIN_INTERVAL_S)
        speed, incline = self._test_load or (spec.fixed_speed_kmh or 0.0,
                                             spec.fixed_incline_pct or 0.0)
        speed, incline = round(speed + dv, 2), round(incline + di, 1)
        lo = self.profile.min_speed_kmh
        if not lo <= speed <= self.profile.speed_cap_kmh:
            raise refused("adjust_speed_caps", speed_kmh=speed, low_kmh=lo,
                          high_kmh=self.profile.speed_cap_kmh)
        if not 0.0 <= incline <= self.profile.max_incline_pct:
            raise refused("adjust_incline_caps", incline_pct=incline,
                          high_pct=self.profile.max_incline_pct)
        self._command("adjust", f"test load set by staff to {speed:g} km/h at {incline:g} %",
                      speed_kmh=speed, incline_pct=incline)
        self._test_load = (speed, incline)
        self._last_adjust_s = self._t_last

    @property
    def test_load(self) -> tuple[float, float] | None:
        """(speed_kmh, incline_pct) staff set in the test phase, None while unchanged."""
        return self._test_load

    def stop(self, reason: str = "stopped by staff", by: str = "staff") -> None:
        """Controlled slow-down to a standstill, then ``done``; there is no way back.
        ``by``: who or what ended it ("staff"; "treadmill" when a session the treadmill
        stopped is ended without a person, e.g. the headless demo; "service" when the
        control service is shut down), so the record does not put it on staff."""
        self._command("stop", reason, by=by)  # this event carries the reason; no second one
        self.ended_by = reason

    def acknowledge(self, alarm: str) -> None:
        """Staff saw the alarm; it is cleared until its condition happens again."""
        if alarm not in self._alarms:
            raise refused("no_alarm", alarm=alarm)
        del self._alarms[alarm]
        # said as what it was: a warning acknowledged is not an alarm (trial 9)
        severity = self._severity.pop(alarm, None) or "alarm"
        self._pending.append(("acknowledged", f"{severity} {alarm} acknowledged", "info",
                              {"alarm": alarm, "severity": severity}))

    def response_model(self) -> dict[str, Any] | None:
        """What the control law has learned so far about this patient's heart-rate response,
        as a JSON-able ``fourbyfour.response/1`` document (< 2 kB, fitness included) for the
        next session's ``PatientProfile(response_model=…)``; None when the law learns nothing
        (an injected law without ``response_model``) or no heart rate was seen yet."""
        learn = getattr(self.control, "response_model", None)
        if learn is None:
            return None
        model = learn()
        if not isinstance(model, ResponseModel) or not model.evidence_s:
            return None
        doc = model.to_doc()
        parse_response_model(doc)  # never hand on what the next session would refuse
        return doc

    @property
    def carried_model_state(self) -> str:
        """"" (no carried model), "trusted", "kept" or "dropped" (see ``control``)."""
        return str(getattr(self.control, "carried_state", ""))

    # -- derived state ----------------------------------------------------------------------

    def _hold(self, name: str, message: str, severity: str) -> None:
        """Hold ``name`` for staff to acknowledge, with the severity it was raised with."""
        self._alarms[name] = message
        self._severity[name] = severity

    @property
    def alarm_messages(self) -> dict[str, str]:
        """Active alarms not yet acknowledged, with the message staff saw."""
        return dict(self._alarms)

    @property
    def started_s(self) -> float | None:
        """The session clock's time at its first step (its events' ``now_s`` are on the
        same clock); None before it."""
        return None if self._t_last is None else self._t_start

    @property
    def alarm_severities(self) -> dict[str, str]:
        """Active alarms not yet acknowledged: "alarm" or "warning" for each."""
        return {a: self._severity.get(a, alarm_severity(a)) for a in self._alarms}

    @property
    def test_interrupted(self) -> bool:
        """A 6-minute test that ended without its test part run to the end: skipped on to the
        cool-down, or stopped before it ended (issue 21: the belt page said «fullført»).
        It is ``core.hrmax.interrupted_test_s``'s rule, which then proposes no makspuls."""
        has_test = self.plan is not None and any(p.kind is PhaseKind.TEST
                                                 for p in self.plan.phases)
        ending = self.run_state in (RunState.STOPPING, RunState.DONE)
        return has_test and ending and not self._test_walked

    @property
    def spec(self) -> PhaseSpec | None:
        assert self.plan is not None
        if self.run_state is RunState.DONE or self._phase_index >= len(self.plan.phases):
            return None
        return self.plan.phases[self._phase_index]

    @property
    def next_spec(self) -> PhaseSpec | None:
        """The phase after this one (None in the last one): what a screen announces."""
        assert self.plan is not None
        i = self._phase_index + 1
        if self.run_state is RunState.DONE or i >= len(self.plan.phases):
            return None
        return self.plan.phases[i]

    @property
    def change_lead_s(self) -> float:
        """Seconds before the next interval at which the control law starts raising the load
        for it (its preview; 0 when it does not): the belt screen announces that early."""
        nxt = self.next_spec
        if nxt is None or nxt.kind is not PhaseKind.INTERVAL:
            return 0.0
        return float(getattr(self.control, "preview_lead_s", 0.0) or 0.0)

    @property
    def phase(self) -> str:
        spec = self.spec
        return "done" if spec is None else str(spec.kind)

    @property
    def interval(self) -> int:
        return self._interval_of(self.spec)

    def _interval_of(self, spec: PhaseSpec | None) -> int:
        """``interval`` in phase ``spec`` (the current one: a tick has it at hand)."""
        if spec is None or spec.kind not in (PhaseKind.INTERVAL, PhaseKind.RECOVERY):
            return 0
        assert self.plan is not None
        memo = self._interval_memo  # asked several times a tick: counted once per phase
        if memo is not None and memo[0] is self.plan and memo[1] == self._phase_index:
            return memo[2]
        n = sum(1 for p in self.plan.phases[: self._phase_index + 1]
                if p.kind is PhaseKind.INTERVAL)
        self._interval_memo = (self.plan, self._phase_index, n)
        return n

    def _advance_phase(self) -> None:
        assert self.plan is not None
        self._phase_index += 1
        self._phase_elapsed_s = 0.0
        self._phase_extra_s = 0.0
        self._new_phase = True
        self._test_load = None
        self._unreachable_since = None
        self._unreachable_told = False
        if self._phase_index >= len(self.plan.phases) and self.run_state is not RunState.DONE:
            self.run_state = RunState.STOPPING
            self._stop_reason = "plan complete: belt slowing to a stop"
            self.ended_by = self.ended_by or "plan"

    # -- heart rate between ticks --------------------------------------------------------

    @property
    def gate(self) -> HrGate:
        return self._gate

    def offer_hr(self, reading: HrReading) -> GateVerdict:
        """A strap reading as it arrives (any rate), with its beat evidence. The next
        ``step(now_s, None, …)`` uses the latest reading the gate believed since the last
        tick; the fail-safes count from the gate's last valid beat."""
        v = self._gate.update(reading)
        if v.valid or self._offered is None or not self._offered.valid:
            self._offered = v
        return v

    # -- the tick ---------------------------------------------------------------------------

    def step(self, now_s: float, hr_bpm: float | None, speed_kmh: float,
             incline_pct: float) -> Setpoint:
        """Advance the session to ``now_s`` (monotonic seconds); see the module docstring."""
        now_s, hr_bpm, speed_kmh, incline_pct = _check_tick(now_s, hr_bpm, speed_kmh,
                                                            incline_pct)
        if self._t_last is None:
            self._t_last = self._t_start = self._t_last_valid = now_s
            self._speed_sp = 0.0 if speed_kmh < 0.05 else speed_kmh
            # a standing belt starts from the warm-up's own flat start, never from an incline
            # a session before left (issue 21: its warm-up began at 1,9 %); lowering a
            # standing belt is the safe direction, and the board homes it to 0 % at ARM
            self._incline_sp = 0.0 if speed_kmh < 0.05 else max(incline_pct, 0.0)
        if now_s < self._t_last:
            raise ValueError(f"now_s went backwards: {now_s} after {self._t_last}")
        dt = now_s - self._t_last
        self._t_last = now_s
        events = [Event(now_s, k, m, sev, p) for k, m, sev, p in self._pending]
        self._pending.clear()

        def emit(kind: str, message: str, severity: str = "info", **params: Any) -> None:
            events.append(Event(now_s, kind, message, severity, params))
            if severity == "alarm":
                self._hold(kind, message, "alarm")

        self._gate.expected_bpm = None  # until the control law ran on this tick
        if hr_bpm is not None or self._offered is None:
            gate = self._gate.update(HrReading(now_s, hr_bpm))
        else:
            gate = self._offered
        self._offered = None
        hr = gate.hr_bpm
        self._watch_heart_rate(now_s, hr, emit)
        self._watch_belt(now_s, speed_kmh, emit)

        if self.run_state is RunState.RUNNING:
            self._phase_elapsed_s += self._phase_dt(now_s, dt)
            spec = self.spec
            while spec is not None and self._phase_elapsed_s >= spec.duration_s + \
                    self._phase_extra_s:
                over = self._phase_elapsed_s - spec.duration_s - self._phase_extra_s
                self._test_walked = self._test_walked or spec.kind is PhaseKind.TEST
                self._advance_phase()
                self._phase_elapsed_s = over
                spec = self.spec
        if self._new_phase and self.spec is not None and self.run_state is not RunState.DONE:
            emit("phase", self._phase_message(), **self._phase_params())
        if self.run_state is RunState.STOPPING and self._stop_reason:
            emit("stopping", self._stop_reason, "info")
            self._stop_reason = ""

        spec = self.spec  # the phase of this tick (nothing below moves it before the end)
        speed_t, incline_t, target, zone = self._desired(spec, now_s, dt, hr, speed_kmh,
                                                         incline_pct, emit)
        self._new_phase = False
        speed_t, incline_t = self._cooldown_only_slows(spec, speed_t, incline_t)
        speed_t, incline_t = self._count_down_restart(now_s, speed_t, incline_t)
        speed_t, incline_t = self._resume_at_earlier_pace(now_s, speed_t, incline_t)
        # no accepted heart rate on this tick (every phase, every cause), or a strap that may
        # be missing beats (or counting T-waves): the load never rises
        speed_t, incline_t = no_load_without_hr(
            speed_t, incline_t, self._speed_sp, self._incline_sp,
            hr is not None and self._gate.suspect_since is None)
        self._apply_limits(speed_t, incline_t, dt, self._gentle(now_s))
        if self._cooldown_cap is not None and self.run_state is RunState.RUNNING \
                and self.restart_at_s is None:
            self._cooldown_cap = (min(self._cooldown_cap[0], self._speed_sp),
                                  min(self._cooldown_cap[1], self._incline_sp))
        # a controlled stop lowers the incline too, unless a latched fault holds it
        if self.run_state is RunState.STOPPING and self._speed_sp == 0.0 \
                and (self._incline_sp == 0.0 or self._belt_faulted):
            if self._stop_reached_s is None:
                self._stop_reached_s = now_s
            flat = incline_pct <= STOP_FLAT_PCT or self._belt_faulted
            if (speed_kmh < 0.1 and flat) or now_s - self._stop_reached_s >= STOP_SETTLE_S:
                self.run_state = RunState.DONE
                # how it ended travels with it: a stopped session is "ended", only one whose
                # plan ran out is "finished" (issue 21: a staff stop read «ferdig»)
                by_plan = self.ended_by == "plan" and not self.test_interrupted
                ended = "interrupted" if self.test_interrupted else \
                    "plan" if by_plan else "stopped"
                emit("done", "session finished: belt stopped" if by_plan else
                     "session ended: belt stopped", ended=ended)
        spec = self.spec
        remaining = 0.0 if spec is None else max(
            spec.duration_s + self._phase_extra_s - self._phase_elapsed_s, 0.0)
        return Setpoint(
            now_s=now_s, speed_kmh=self._speed_sp, incline_pct=self._incline_sp,
            phase="done" if spec is None else str(spec.kind), interval=self._interval_of(spec),
            zone_low_bpm=zone[0] if zone else None, zone_high_bpm=zone[1] if zone else None,
            target_bpm=target, state=self._state_name(), phase_elapsed_s=self._phase_elapsed_s,
            phase_remaining_s=remaining, hr_bpm=hr, hr_status=gate.reason,
            events=tuple(events), alarms=tuple(self._alarms),
            alarm_severity=tuple(self.alarm_severities.items()) if self._alarms else (),
        )

    @property
    def phase_clock_held(self) -> bool:
        """The phase clock stands though the session runs (a resume's 3-2-1): a screen
        that counts down between ticks holds its count too."""
        return self._clock_held and self.run_state is RunState.RUNNING

    def _phase_dt(self, now_s: float, dt: float) -> float:
        """The seconds of this running tick the phase clock counts. After a resume none
        until the belt may set off (the restart's 3-2-1, ``_count_down_restart``, is part of
        the pause: an interval lost up to 3 s of work to it), then from that moment on."""
        if not self._clock_held:
            return dt
        if self.restart_at_s is None or now_s < self.restart_at_s:
            return 0.0  # the resume's tick (the countdown not yet begun), or counting down
        self._clock_held = False
        return min(dt, now_s - self.restart_at_s)

    def _count_down_restart(self, now_s: float, speed_t: float,
                            incline_t: float) -> tuple[float, float]:
        """At the start and after a resume, from a standstill, the belt stays still for
        ``RESTART_COUNTDOWN_S`` (the screen's 3-2-1), then ramps as usual; at the start the
        phase clock runs meanwhile, after a resume it stands (``_phase_dt``). A stop or
        pause during it wins (the belt never sets off)."""
        if self.run_state is not RunState.RUNNING:
            self.restart_at_s = None
            return speed_t, incline_t
        if self._restart_pending:
            self._restart_pending = False
            if self._speed_sp < 0.1:
                self.restart_at_s = now_s + RESTART_COUNTDOWN_S
            else:  # resumed before the belt stood: no countdown, the clock runs on
                self._clock_held = False
        if self.restart_at_s is not None:
            if now_s < self.restart_at_s:
                return 0.0, self._incline_sp
            self.restart_at_s = None
        return speed_t, incline_t

    def _resume_at_earlier_pace(self, now_s: float, speed_t: float,
                                incline_t: float) -> tuple[float, float]:
        """After a resume the belt ramps (rate-limited) back to at most the load it had
        before the pause or belt stop, holds at most that for ``RESUME_HOLD_S`` once there,
        and the law continues from there (lowering is always allowed)."""
        cap = self._resume_cap
        if cap is None or self.run_state is not RunState.RUNNING or \
                self.restart_at_s is not None:
            return speed_t, incline_t
        if self._resume_reached_s is None and self._speed_sp >= cap[0] - 1e-6:
            self._resume_reached_s = now_s
        if self._resume_reached_s is not None and \
                now_s - self._resume_reached_s >= RESUME_HOLD_S:
            self._resume_cap = None
            return speed_t, incline_t
        return min(speed_t, cap[0]), min(incline_t, cap[1])

    def _cooldown_only_slows(self, spec: PhaseSpec | None, speed_t: float,
                             incline_t: float) -> tuple[float, float]:
        """A cool-down never raises speed or incline, whatever the heart rate does.

        The ceiling is the set-point the cool-down began with, lowered with every running
        tick; after a pause and resume the belt comes back to at most where it was. A
        cool-down first entered from a standstill (skipped to while paused) may come back to
        an easy walk. ``spec``: the current phase.
        """
        if spec is None or spec.kind is not PhaseKind.COOLDOWN:
            self._cooldown_cap = None
            return speed_t, incline_t
        if self._cooldown_cap is None:
            if self.run_state is not RunState.RUNNING:
                return speed_t, incline_t
            self._cooldown_cap = (max(self._speed_sp, min(speed_t, EASY_WALK_KMH)),
                                  self._incline_sp)
        return min(speed_t, self._cooldown_cap[0]), min(incline_t, self._cooldown_cap[1])

    @property
    def state_name(self) -> str:
        """The state a tick would publish now (``Setpoint.state``): its heart-rate level
        changes the moment the session decides it (``core.pulse.session_state``)."""
        return self._state_name()

    def _state_name(self) -> str:
        if self.run_state is RunState.RUNNING and self._hr_level:
            return "hr_hold" if self._hr_level == 1 else "hr_slow"
        return str(self.run_state)

    def _phase_message(self) -> str:
        spec = self.spec
        assert spec is not None
        text = f"{spec.kind} begins ({spec.duration_s:.0f} s"
        if spec.kind is PhaseKind.INTERVAL:
            assert self.plan is not None
            n = sum(1 for p in self.plan.phases if p.kind is PhaseKind.INTERVAL)
            text = f"interval {self.interval} of {n} begins ({spec.duration_s:.0f} s"
        if spec.closed_loop:
            lo, hi = self._zone(spec)
            text += f", zone {shown_bpm(lo)}–{shown_bpm(hi)} bpm"
        return text + ")"

    def _phase_params(self) -> dict[str, Any]:
        """The phase that begins, as data (for ``_phase_message``'s readers in bokmål)."""
        spec = self.spec
        assert spec is not None
        params: dict[str, Any] = {"phase": str(spec.kind), "duration_s": spec.duration_s}
        if spec.kind is PhaseKind.INTERVAL and self.plan is not None:
            params.update(interval=self.interval, total=sum(
                1 for p in self.plan.phases if p.kind is PhaseKind.INTERVAL))
        if spec.closed_loop:
            params["zone_low_bpm"], params["zone_high_bpm"] = self._zone(spec)
        return params

    def _zone(self, spec: PhaseSpec) -> tuple[float, float]:
        assert spec.zone_low_frac is not None and spec.zone_high_frac is not None
        return spec.zone_low_frac * self.profile.hr_max, spec.zone_high_frac * self.profile.hr_max

    def _watch_heart_rate(self, now_s: float, hr: float | None, emit: _Emit) -> None:
        hr_max = self.profile.hr_max
        if hr is not None:
            if self._hr0 is None:
                self._hr0 = hr
            self.peak_hr_bpm = hr if self.peak_hr_bpm is None else max(self.peak_hr_bpm, hr)
            if self._hr_level and self._lost_s(now_s) < HR_HOLD_AFTER_S:
                emit("hr_restored", "heart rate is back; control resumes", "info")
                self._hr_level = 0
                self._gentle_until_s = max(self._gentle_until_s,
                                           now_s + self.limits.gentle_after_s)
            if hr > hr_max:
                if not self._hrmax_flagged:
                    self._hrmax_flagged = True
                    emit("hrmax_underestimated",
                         f"heart rate {hr:.0f} bpm is above the profile's max {hr_max:.0f}: "
                         "HRmax is likely underestimated", "warning", hr_bpm=hr,
                         hr_max_bpm=hr_max)
                if self._above_since is None:
                    self._above_since = now_s
                if now_s - self._above_since >= HR_ABOVE_MAX_ALARM_S and \
                        now_s >= self._relief_until:
                    self._relief_until = now_s + RELIEF_S
                    emit("hr_above_max",
                         f"heart rate above {hr_max:.0f} bpm for {HR_ABOVE_MAX_ALARM_S:.0f} s: "
                         "load reduced", "alarm", hr_max_bpm=hr_max,
                         seconds=HR_ABOVE_MAX_ALARM_S)
            else:
                self._above_since = None
        if self._gate.strap_alarm(now_s):
            if not self._strap_told:
                self._strap_told = True
                # a hint to staff, a warning (the console's ADVARSEL; not an alarm in the
                # record, on MQTT or in the summary), held on their list until acknowledged
                message = "chest strap readings unreliable — wet or move it"
                emit(STRAP_ALARM, message, "warning")
                self._hold(STRAP_ALARM, message, "warning")
        elif self._gate.suspect_since is None:
            self._strap_told = False
        if self.run_state not in (RunState.RUNNING,):
            return
        lost_s = self._lost_s(now_s)
        if lost_s >= HR_STOP_AFTER_S:
            emit("hr_lost_stop", f"no valid heart rate for {HR_STOP_AFTER_S:.0f} s: "
                 "session stopped", "alarm")
            self.run_state = RunState.STOPPING
            self._stop_reason = "stopping: heart rate lost"
            self.ended_by = "heart rate lost"
        elif lost_s >= HR_SLOW_AFTER_S and self._hr_level < 2:
            self._hr_level = 2
            emit("hr_lost", f"no valid heart rate for {HR_SLOW_AFTER_S:.0f} s: slowing to an "
                 "easy walk; check the strap", "alarm")
        elif lost_s >= HR_HOLD_AFTER_S and self._hr_level < 1:
            self._hr_level = 1
            emit("hr_hold", f"no valid heart rate for {HR_HOLD_AFTER_S:.0f} s: holding speed "
                 "and incline", "warning")

    def next_failsafe_s(self) -> float | None:
        """When (on the session's clock) the next heart-rate fail-safe falls due if no valid
        beat comes first — the last valid beat + 5, 15 or 60 s — so the runtime can step
        the session then rather than on its next tick (issue 22: ±0.5 s, not 0–1 s late);
        None while none can fall due (not running)."""
        if self.run_state is not RunState.RUNNING or self._t_last is None:
            return None
        since = self._t_last - self._lost_s(self._t_last)
        after = (HR_HOLD_AFTER_S, HR_SLOW_AFTER_S, HR_STOP_AFTER_S)[min(self._hr_level, 2)]
        return since + after

    def _lost_s(self, now_s: float) -> float:
        """Seconds since the last valid beat (since the start, before the first one)."""
        beat = self._gate.last_beat_s
        return now_s - (self._t_last_valid if beat is None else max(beat, self._t_last_valid))

    def _watch_belt(self, now_s: float, speed_kmh: float, emit: _Emit) -> None:
        """A belt that stops while we ask it to move was stopped by someone or something."""
        if self.run_state is RunState.RUNNING and self._speed_sp >= 1.0 and speed_kmh < 0.1:
            if self._belt_stopped_since is None:
                self._belt_stopped_since = now_s
                self._belt_stop_load = (self._speed_sp, self._incline_sp)
            elif now_s - self._belt_stopped_since >= BELT_STOPPED_AFTER_S:
                self.run_state = RunState.PAUSED
                self._remember_load(self._belt_stop_load)
                emit("belt_stopped", "the treadmill stopped the belt (e-stop, key or a "
                     "fault): session paused; staff must resume", "alarm")
                self._belt_stopped_since = None
        else:
            self._belt_stopped_since = None

    def _path(self, spec: PhaseSpec, below_floor: bool = False) -> WorkloadPath:
        memo = self._path_memo
        if memo is not None and memo[0] is spec and memo[1] is self.profile and \
                memo[2] is below_floor:
            return memo[3]  # the same (frozen) phase and profile: the same path
        path = self._make_path(spec, below_floor)
        self._path_memo = (spec, self.profile, below_floor, path)
        return path

    def _make_path(self, spec: PhaseSpec, below_floor: bool = False) -> WorkloadPath:
        """The phase's (speed, incline) path. In an active pause its slowest point is the
        walking floor (``control.PAUSE_WALK_FLOOR_KMH``) at the lowest incline, so the load
        comes down by the incline first; the patient's own minimum speed only while
        ``below_floor`` (``_below_floor``)."""
        p = self.profile
        cap = p.speed_cap_kmh
        min_inc = min(spec.min_incline_pct, p.max_incline_pct)
        walk = min(cap, 5.0)
        climb = min(p.max_incline_pct, max(min_inc, 8.0 if cap > WALK_MAX_KMH else 15.0))
        slowest = min(p.min_speed_kmh, walk)
        if spec.kind is PhaseKind.RECOVERY and not below_floor:
            slowest = min(pause_floor_kmh(cap, p.min_speed_kmh), walk)
        return WorkloadPath(slowest, walk, cap, min_inc, climb, p.max_incline_pct)

    def _below_floor(self, now_s: float, spec: PhaseSpec, hr: float | None,
                     zone: tuple[float, float]) -> bool:
        """Whether an active pause's belt may go below the walking floor on this tick: only
        once the belt has walked at the floor with the incline at its lowest while the heart
        rate stayed above the pause's zone (well above its target) for
        ``PAUSE_BELOW_FLOOR_AFTER_S``; back to the floor when it is in the zone again (a tick
        without a heart rate changes nothing)."""
        if spec.kind is not PhaseKind.RECOVERY:
            self._pause_hot_since = None
            return False
        if hr is not None and hr <= zone[1]:
            self._pause_hot_since = None
            return False
        if self._pause_hot_since is None:
            p = self.profile
            floor = pause_floor_kmh(p.speed_cap_kmh, p.min_speed_kmh)
            lowest = min(spec.min_incline_pct, p.max_incline_pct)
            if hr is None or self._speed_sp > floor + 0.01 or self._incline_sp > lowest + 0.01:
                return False
            self._pause_hot_since = now_s
        return now_s - self._pause_hot_since >= PAUSE_BELOW_FLOOR_AFTER_S

    def _desired(self, spec: PhaseSpec | None, now_s: float, dt: float, hr: float | None,
                 speed_kmh: float, incline_pct: float, emit: _Emit
                 ) -> tuple[float, float, float | None, tuple[float, float] | None]:
        if self.run_state in (RunState.STOPPING, RunState.DONE) or spec is None:
            return 0.0, self._incline_sp if self.run_state is RunState.DONE else 0.0, None, None
        if self.run_state is RunState.PAUSED:
            # once the belt stands in a pause its incline comes down too, at the incline's
            # pace (issue 21: "0,0 km/t · 5,0 %"); a resume brings it back to at most where
            # it was (``_resume_at_earlier_pace``)
            incline = 0.0 if speed_kmh < 0.1 else self._incline_sp
            return 0.0, incline, None, self._zone(spec) if spec.closed_loop else None
        if not spec.closed_loop:
            assert spec.fixed_speed_kmh is not None
            s, i = spec.fixed_speed_kmh, spec.fixed_incline_pct or 0.0
            if self._test_load is not None:
                s, i = self._test_load
            if self._hr_level == 2:
                s, i = min(s, EASY_WALK_KMH), 0.0
            return s, i, None, None
        zone = self._zone(spec)
        target = self._target(spec)
        if now_s < self._relief_until:
            target = min(target, RELIEF_TARGET_FRAC * self.profile.hr_max)
        path = self._path(spec, self._below_floor(now_s, spec, hr, zone))
        assert self.control is not None
        # the time left in this phase and what comes next (the law may look ahead)
        nxt = self.next_spec
        next_phase = next_target = next_high = None
        if nxt is not None and nxt.closed_loop and nxt.target_frac is not None and \
                not (self._t_last is not None and self._t_last < self._relief_until):
            hr_max = self.profile.hr_max
            next_phase, next_target = nxt.kind, nxt.target_frac * hr_max
            next_high = (nxt.zone_high_frac or nxt.target_frac) * hr_max
        decision = self.control.update(ControlInput(
            now_s=now_s, dt_s=dt, hr_bpm=hr, speed_kmh=speed_kmh, incline_pct=incline_pct,
            phase=spec.kind, phase_elapsed_s=self._phase_elapsed_s, target_bpm=target,
            zone_low_bpm=zone[0], zone_high_bpm=zone[1], path=path,
            speed_sp_kmh=self._speed_sp, incline_sp_pct=self._incline_sp,
            new_phase=self._new_phase,
            phase_remaining_s=max(spec.duration_s + self._phase_extra_s
                                  - self._phase_elapsed_s, 0.0),
            next_phase=next_phase, next_target_bpm=next_target, next_zone_high_bpm=next_high,
        ))
        self._gate.expected_bpm = getattr(self.control, "expected_bpm", None)
        notices = getattr(self.control, "notices", None)
        while notices:
            kind, message = notices.pop(0)
            emit(kind, message, "warning")
        self._watch_reachable(now_s, spec, zone, decision, emit)
        self._watch_hrmax_high(dt, spec, zone, hr, speed_kmh, incline_pct, emit)
        if self._hr_level == 1:
            return self._speed_sp, self._incline_sp, target, zone
        if self._hr_level == 2:
            return min(self._speed_sp, EASY_WALK_KMH), 0.0, target, zone
        return decision.speed_kmh, decision.incline_pct, target, zone

    def _target(self, spec: PhaseSpec) -> float:
        """Target heart rate; the warm-up guides gently from where the patient starts."""
        assert spec.target_frac is not None
        hr_max = self.profile.hr_max
        target = spec.target_frac * hr_max
        if spec.kind is PhaseKind.WARMUP:
            assert spec.zone_high_frac is not None
            d = spec.duration_s
            late = max(0.0, (self._phase_elapsed_s - d / 3.0) / (2.0 * d / 3.0))
            end = 0.5 * (spec.target_frac + spec.zone_high_frac) + 0.01
            target += (end - spec.target_frac) * hr_max * min(late, 1.0)
            start = self._hr0 if self._hr0 is not None else (self.profile.hr_rest or 75.0)
            ramp_s = min(180.0, d / 2.0)
            early = start + (target - start) * min(self._phase_elapsed_s / ramp_s, 1.0)
            target = min(target, max(early, start))
        return target

    def _watch_reachable(self, now_s: float, spec: PhaseSpec, zone: tuple[float, float],
                         decision: ControlDecision, emit: _Emit) -> None:
        if spec.kind is not PhaseKind.INTERVAL or decision.reachable_bpm is None:
            return
        if decision.reachable_bpm >= zone[0] or self._phase_elapsed_s < 30.0:
            self._unreachable_since = None
            return
        if self._unreachable_since is None:
            self._unreachable_since = now_s
        if now_s - self._unreachable_since >= 20.0 and not self._unreachable_told:
            self._unreachable_told = True
            emit("zone_unreachable",
                 f"zone {zone[0]:.0f}–{zone[1]:.0f} bpm looks out of reach within the "
                 f"patient's caps (about {decision.reachable_bpm:.0f} bpm at most): holding "
                 "the caps, not pushing further", "warning")

    def _watch_hrmax_high(self, dt: float, spec: PhaseSpec, zone: tuple[float, float],
                          hr: float | None, speed_kmh: float, incline_pct: float,
                          emit: _Emit) -> None:
        """Evidence that the profile's HRmax is too high: the heart stays below the zone at a
        workload where the population model (%HRR ≈ %VO2R, typical fitness, this HRmax)
        expects it well inside. The workload is lagged by the slowest published kinetics
        first, so slow risers are not flagged; a fitter-than-usual patient can look the
        same, hence "maybe"."""
        load = vo2_cost(speed_kmh, incline_pct) - REST_VO2
        lag = self._lag_memo  # the factor of the last tick length (the same every tick)
        if lag[0] != dt:
            lag = self._lag_memo = (dt, 1.0 - math.exp(-dt / HRMAX_HIGH_LAG_S))
        self._load_lagged += (load - self._load_lagged) * lag[1]
        if spec.kind is not PhaseKind.INTERVAL or self._hrmax_high_told:
            return
        allowance = ALLOWANCE_FIRST_S if self.interval == 1 else ALLOWANCE_LATER_S
        if self._phase_elapsed_s < allowance:  # still on the way up, as the clinic allows
            return
        hr_max = self.profile.hr_max
        rest = self.profile.hr_rest or self._hr0 or 75.0
        frac = min(self._load_lagged / (POPULATION_VO2MAX - REST_VO2), 1.0)
        expected = rest + (hr_max - rest) * frac
        if hr is None:  # no reading is no evidence either way
            return
        if expected < zone[0] + HRMAX_HIGH_MARGIN * hr_max or hr >= zone[0]:
            return
        self._hrmax_high_evidence_s += dt
        if self._hrmax_high_evidence_s >= HRMAX_HIGH_AFTER_S:
            self._hrmax_high_told = True
            emit("hrmax_maybe_high",
                 f"heart rate stays below the zone ({zone[0]:.0f}–{zone[1]:.0f} bpm) at a "
                 f"workload that should give about {expected:.0f} bpm with the profile's HRmax "
                 f"of {hr_max:.0f}: HRmax is likely too high (or the patient is fitter than "
                 "usual); please check it", "warning")

    def _gentle(self, now_s: float) -> bool:
        """Whether the belt may rise only at the gentle rates on this tick: for
        ``gentle_after_s`` after the pulse was accepted again following a hold/slow (the law
        would take the held load back at the usual limits: 3,0 → 4,25 km/h and 0 → 2,5 % in
        5 s felt like a lurch, issue 21), and as long after a skip into a harder part,
        counted from the first tick the belt may move in it (not during a pause or the
        3-2-1)."""
        if self._gentle_after_skip and self.run_state is RunState.RUNNING and \
                self.restart_at_s is None:
            self._gentle_after_skip = False
            self._gentle_until_s = max(self._gentle_until_s,
                                       now_s + self.limits.gentle_after_s)
        return now_s < self._gentle_until_s

    def _apply_limits(self, speed_t: float, incline_t: float, dt: float,
                      gentle: bool = False) -> None:
        """Caps, then the rate limits; ``gentle``: the upward ones are the gentle ones
        (lowering and a stop keep theirs)."""
        lim, p = self.limits, self.profile
        speed_t = min(max(speed_t, 0.0), p.speed_cap_kmh)
        incline_t = min(max(incline_t, 0.0), p.max_incline_pct)
        stopping = self.run_state in (RunState.STOPPING, RunState.PAUSED, RunState.DONE)
        down = lim.stop_kmh_per_s if stopping else lim.speed_down_kmh_per_s
        up = lim.gentle_speed_up_kmh_per_s if gentle else lim.speed_up_kmh_per_s
        incline_up = lim.gentle_incline_up_pct_per_s if gentle else lim.incline_pct_per_s
        self._speed_sp = ramp(self._speed_sp, speed_t, up, down, dt)
        self._incline_sp = ramp(self._incline_sp, incline_t, incline_up,
                                lim.incline_pct_per_s, dt)


def _real(name: str, value: object) -> float:
    """Any real number (int, float, NumPy scalars …) as a float; a clear error otherwise."""
    if type(value) is float:  # every tick: the common case without the ABC's slow check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _check_tick(now_s: object, hr_bpm: object, speed_kmh: object, incline_pct: object
                ) -> tuple[float, float | None, float, float]:
    t = _real("now_s", now_s)
    if not math.isfinite(t):
        raise ValueError(f"now_s must be a finite number, got {now_s!r}")
    hr = None if hr_bpm is None else _real("hr_bpm (or None)", hr_bpm)
    v = _real("measured speed_kmh", speed_kmh)
    if not math.isfinite(v) or not 0.0 <= v <= 30.0:
        raise ValueError(f"measured speed_kmh must be 0–30, got {speed_kmh!r}")
    i = _real("measured incline_pct", incline_pct)
    if not math.isfinite(i) or not -5.0 <= i <= 30.0:
        raise ValueError(f"measured incline_pct must be −5–30, got {incline_pct!r}")
    return t, hr, v, i


def _harder(new: PhaseSpec | None, old: PhaseSpec | None) -> bool:
    """Whether a skip from ``old`` into ``new`` leads into a harder part: a higher target
    heart rate (warm-up → interval, active pause → interval). Where either part has a fixed
    load it counts as harder (the loads are not compared: the gentle rates only slow a
    rise); a cool-down (it only slows) and the end of the plan never do."""
    if new is None or new.kind is PhaseKind.COOLDOWN:
        return False
    if old is None or new.target_frac is None or old.target_frac is None:
        return True
    return new.target_frac > old.target_frac


def _check_plan_fits(profile: PatientProfile, plan: Plan) -> None:
    for i, p in enumerate(plan.phases, 1):
        if p.min_incline_pct > profile.max_incline_pct:
            raise PlanError(
                f"phase {i} ({p.kind}) needs at least {p.min_incline_pct:g} % incline but the "
                f"patient's max_incline_pct is {profile.max_incline_pct:g}",
                "plan_incline_min", phase=str(p.kind), needed_pct=p.min_incline_pct,
                cap_pct=profile.max_incline_pct)
        if p.fixed_speed_kmh is not None and p.fixed_speed_kmh > profile.speed_cap_kmh:
            raise PlanError(
                f"phase {i} ({p.kind}) runs at {p.fixed_speed_kmh:g} km/h, above the "
                f"patient's cap of {profile.speed_cap_kmh:g} km/h", "plan_speed_cap",
                phase=str(p.kind), speed_kmh=p.fixed_speed_kmh, cap_kmh=profile.speed_cap_kmh)
        if (p.fixed_incline_pct or 0.0) > profile.max_incline_pct:
            raise PlanError(
                f"phase {i} ({p.kind}) uses {p.fixed_incline_pct:g} % incline, above the "
                f"patient's cap of {profile.max_incline_pct:g} %", "plan_incline_cap",
                phase=str(p.kind), incline_pct=p.fixed_incline_pct,
                cap_pct=profile.max_incline_pct)
