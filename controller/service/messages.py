"""The messages between the staff console and the control service, typed.

Theory of operation. The console and the service talk over a Unix socket in JSON lines
(``controller.service.control_socket``). Every line the console sends is one *command*: a
frozen dataclass here, ``{"cmd": "extend", "id": 7, "seconds": 60}`` on the wire. ``parse``
turns a decoded line into its dataclass or refuses it; nothing else reads a command's dict.
Every command is answered by one ``Reply`` carrying the command's ``id`` (the console
matches replies to requests by it), ``ok``, and either the command's result fields or a
*refusal*: a ``code`` with ``params`` (``controller.core.refusals``, where every code and
its text live), which the console renders in its own language, and ``error``, the same in
English for logs and older readers. Never parse a human sentence. The service pushes its
state every 0.5 s as a ``StateDoc`` (``"type": "state"``).

The wire stays what it was (``cmd``/``reply``/``ok``/``error`` and the command's own
fields), so an older console still works; ``id``, ``code`` and ``params`` are additions.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, NotRequired, TypedDict

from controller.core.refusals import REFUSALS, refusal_text
from controller.protocol import SessionError, refused

__all__ = ["COMMANDS", "REFUSALS", "AlarmItem", "Command", "EventItem", "Reply", "StateDoc",
           "parse", "refusal_text"]


@dataclass(frozen=True)
class Command:
    """One staff command; ``id`` is the console's request id, echoed in the reply."""

    name: ClassVar[str] = ""
    id: int | str | None = None


@dataclass(frozen=True)
class Start(Command):
    name: ClassVar[str] = "start"


@dataclass(frozen=True)
class Pause(Command):
    name: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume(Command):
    name: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Skip(Command):
    name: ClassVar[str] = "skip"


@dataclass(frozen=True)
class Stop(Command):
    name: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Extend(Command):
    name: ClassVar[str] = "extend"
    seconds: float = 60.0


@dataclass(frozen=True)
class Ack(Command):
    name: ClassVar[str] = "ack"
    alarm: str = ""


@dataclass(frozen=True)
class Setup(Command):
    """The patient and plan; the profile's fields are checked by ``setup_from``."""

    name: ClassVar[str] = "setup"
    profile: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scan(Command):
    name: ClassVar[str] = "scan"
    seconds: float = 4.0


@dataclass(frozen=True)
class Pair(Command):
    name: ClassVar[str] = "pair"
    strap: Any = None  # checked by runtime.check_strap
    confirm_in_use: bool = False


@dataclass(frozen=True)
class Borg(Command):
    name: ClassVar[str] = "borg"
    interval: int = -1
    borg: int = 0


@dataclass(frozen=True)
class Note(Command):
    name: ClassVar[str] = "note"
    text: str = ""


@dataclass(frozen=True)
class Adjust(Command):
    name: ClassVar[str] = "adjust"
    speed_delta_kmh: float = 0.0
    incline_delta_pct: float = 0.0


@dataclass(frozen=True)
class Rpe(Command):
    name: ClassVar[str] = "rpe"
    rpe: Any = None  # the range is the runtime's refusal (rpe_range)


@dataclass(frozen=True)
class HrMax(Command):
    name: ClassVar[str] = "hrmax"
    decision: str = ""
    hr_max_bpm: Any = None  # the range is the runtime's refusal (hrmax_range)


@dataclass(frozen=True)
class History(Command):
    name: ClassVar[str] = "history"


@dataclass(frozen=True)
class Profile(Command):
    name: ClassVar[str] = "profile"
    pseudonym: str = ""


@dataclass(frozen=True)
class Patient(Command):
    """The register's profile of ``pseudonym`` for the console's patient form (None: new)."""
    name: ClassVar[str] = "patient"
    pseudonym: str = ""


@dataclass(frozen=True)
class Export(Command):
    """The report of ``session_id`` (the session on the console's screen), else of the
    patient's last recorded session."""
    name: ClassVar[str] = "export"
    session_id: str = ""


@dataclass(frozen=True)
class Sessions(Command):
    """The chosen patient's recorded sessions, the newest first (the console's report
    chooser: `w`)."""
    name: ClassVar[str] = "sessions"


@dataclass(frozen=True)
class DemoReset(Command):
    """The demo only: staff press the emulated treadmill's own reset button (the physical
    act a person does at a real treadmill after a fault; it never resumes the session)."""
    name: ClassVar[str] = "demo_reset"


COMMANDS: dict[str, type[Command]] = {c.name: c for c in (
    Start, Pause, Resume, Skip, Stop, Extend, Ack, Setup, Scan, Pair, Borg, Note, Adjust, Rpe,
    HrMax, History, Profile, Patient, Export, Sessions, DemoReset)}
REQUIRED = {"borg": ("interval", "borg"), "note": ("text",), "patient": ("pseudonym",)}


def _checked(cmd: str, name: str, kind: Any, value: Any) -> Any:
    """``value`` as the field's type, or a ``bad_field`` refusal (a bool is no number)."""
    wrong = refused("bad_field", command=cmd, field=name)
    if kind in ("float", float):
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value):
            raise wrong
        return float(value)
    if kind in ("int", int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if kind in ("str", str):
        if not isinstance(value, str):
            raise wrong
        return value
    if kind in ("bool", bool):
        return value is True  # only an explicit true confirms
    if str(kind).startswith("dict") and value is not None and not isinstance(value, dict):
        raise wrong
    return value


def parse(doc: object) -> Command:
    """A decoded JSON line as its command, or a SessionError with the refusal code."""
    if not isinstance(doc, dict) or not isinstance(doc.get("cmd"), str):
        raise refused("bad_command")
    cmd = doc["cmd"]
    cls = COMMANDS.get(cmd)
    if cls is None:
        raise refused("unknown_command", command=cmd[:40])
    rid = doc.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int | str)):
        raise refused("bad_field", command=cmd, field="id")
    values: dict[str, Any] = {"id": rid}
    for f in fields(cls):
        if f.name == "id":
            continue
        if f.name not in doc or doc[f.name] is None:
            if f.name in REQUIRED.get(cmd, ()):
                raise refused("bad_field", command=cmd, field=f.name)
            continue
        values[f.name] = _checked(cmd, f.name, f.type, doc[f.name])
    return cls(**values)


@dataclass(frozen=True)
class Reply:
    """The answer to one command: ok with the command's result fields, or a refusal."""

    reply: str | None
    ok: bool
    id: int | str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def done(cls, cmd: Command, **data: Any) -> Reply:
        return cls(cmd.name, True, cmd.id, data)

    @classmethod
    def refusal(cls, cmd: str | None, rid: int | str | None, e: SessionError) -> Reply:
        return cls(cmd, False, rid, code=e.code, params=dict(e.params), error=str(e))

    def to_wire(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"reply": self.reply, "ok": self.ok}
        if self.id is not None:
            doc["id"] = self.id
        if self.ok:
            doc.update(self.data)
        else:
            doc.update(error=self.error, code=self.code, params=self.params)
        return doc


class EventItem(TypedDict):
    """One of the session's latest events in ``StateDoc.event_list``."""

    kind: str
    severity: str  # "info" | "warning" | "alarm"
    message: str  # the core's English; a reader renders it from kind and params
    params: dict[str, Any]
    now_s: NotRequired[float]
    """When it happened, on the session's clock (``StateDoc.started_s`` is the session's
    start on the same clock): a console dates it from this, never from its own clock. An
    older service does not send it."""


class AlarmItem(TypedDict):
    """A name held for staff to acknowledge, in ``StateDoc.alarm_list``."""

    kind: str
    message: str
    severity: NotRequired[str]
    """"alarm" or "warning", as the session raised it; an older service does not send it
    (then ``protocol.alarm_severity``)."""


@dataclass(frozen=True)
class StateDoc:
    """What the service pushes every 0.5 s (``type`` = "state"): the session as the
    console shows it. Units in the names; None where there is no value yet."""

    session_id: str
    pseudonym: str
    plan: str
    started: bool
    hr_max: float | None
    hr_max_source: str
    max_speed_kmh: float | None
    max_incline_pct: float | None
    walk_only: bool
    hr_rest: float | None
    age_years: int | None
    test_load: list[float] | None
    hrmax_proposal: dict[str, Any] | None
    phase: str
    interval: int
    state: str
    ended_by: str
    phase_remaining_s: float | None
    hr_bpm: float | None
    target_bpm: float | None
    zone_low_bpm: float | None
    zone_high_bpm: float | None
    speed_set_kmh: float
    incline_set_pct: float
    speed_kmh: float | None
    incline_pct: float | None
    treadmill: str
    strap: str
    strap_message: str
    paired_strap: Any
    remembered_strap: Any
    strap_needed: bool
    strap_choice: bool  # staff can choose the strap (b): a scanner, no strap fixed by config
    hr_live_bpm: float | None
    hr_live_reason: str
    strap_battery_pct: int | None
    strap_battery_low: bool
    mqtt: str | None
    alarms: dict[str, str]
    events: list[str]
    event_list: list[EventItem]
    alarm_list: list[AlarmItem]
    hr_history: list[float | None]
    summary: dict[str, Any] | None
    late_ticks: int
    ratings: dict[str, int]
    hr_shown_bpm: float | None = None
    """The heart rate to show (``Runtime.shown_hr_bpm``, the belt page's too): none while the
    session holds or slows for a lost heart rate; the last valid one through a short gap."""
    demo_reset: bool = False  # the demo: the console may press the emulated board's reset
    started_s: float | None = None
    """When the session started, on the session's clock (its events' ``now_s``); None
    before the start (and from an older service)."""
    test_interrupted: bool = False
    restart_in_s: float | None = None
    """Seconds until the belt moves after a start or a resume from standstill (the session
    holds it still for its 3-2-1, ``Session.restart_at_s``; the belt page counts the same);
    None otherwise."""
    """A 6-minute test that ended without its test part run to its end
    (``Session.test_interrupted``): «avbrutt», never «ferdig» (issue 21)."""
    change_lead_s: float = 0.0
    """Seconds before the next interval at which the control law starts raising the load
    for it (``Session.change_lead_s``, its preview; 0 when it does not): from then until the
    interval the console says the load rises (``core.beltscreen.load_rising_for_interval``,
    the belt page's rule)."""
    type: str = "state"

    def to_wire(self) -> dict[str, Any]:
        """Shallow (the values are plain JSON already): cheap on the loop that also sends
        the motor board its heartbeat."""
        return {f.name: getattr(self, f.name) for f in _STATE_FIELDS}

    @classmethod
    def from_wire(cls, doc: dict[str, Any]) -> StateDoc:
        """The console's side: a pushed state (or none yet: ``{}``) as a ``StateDoc``. A
        field an older service does not send has its empty value (None, "", 0, False, an
        empty list or dict; "ready" for the phase and state); a field a newer one adds is
        left out."""
        return cls(**{f.name: doc[f.name] if f.name in doc else
                      f.default if f.default is not MISSING else _empty(f.name, str(f.type))
                      for f in _STATE_FIELDS})


_STATE_FIELDS = fields(StateDoc)
_STATE_EMPTY = {"phase": "ready", "state": "ready", "treadmill": "?", "strap": "?"}


def _empty(name: str, kind: str) -> Any:
    """A state field's value when it is not sent (``kind``: its annotation, as text)."""
    if name in _STATE_EMPTY:
        return _STATE_EMPTY[name]
    if kind.startswith(("list", "dict")) and "| None" not in kind.rpartition("]")[2]:
        return [] if kind.startswith("list") else {}
    return {"bool": False, "str": "", "int": 0, "float": 0.0}.get(kind)  # else None
