"""The staff console (Textual): watch and steer one treadmill's session.

It is a client of the control service's local socket (``controller.service.control_socket``), so
closing or crashing it never touches the session; reopening it finds the session again.
Keyboard first, readable on an 80×24 Linux console with 16 colours (no braille):

    n patient & plan (before start)   b the patient's strap (before start, where staff
    choose it)   s start
    p pause   r resume   k skip phase   e extend 1 min   x stop   a acknowledge alarm
    b Borg rating (after an interval)   m note   h history   w write the report (of one of
    the patient's sessions, chosen from a list: the newest first, Enter writes it)
    q quit the console (during a session: asks, stops the session under control and quits
    once the belt stands still; the belt never runs on behind a closed console)
    + / - speed ±0.5 km/h and ] / [ incline ±2 % (the 6-minute test only); t asks the
    test's Borg rating again (it is asked on its own when the test ends), or shows its HRmax
    proposal again until staff decide on it
    g (the demo only, while its emulated treadmill has a fault) presses that treadmill's
    reset button, as staff do at a real one; the belt stays still until staff resume

The footer shows only the keys that apply now, so it fits 80 columns in both languages.
Stop and skip ask for confirmation: a slip of the finger must not end an interval. At the end
of each interval the console asks the patient's Borg rating (the number, then Enter).
Texts are in the process's language (``controller.core.i18n.set_language``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Digits, Static

from controller.app import texts
from controller.app.screens import (
    BorgScreen,
    Confirm,
    HistoryScreen,
    NoteScreen,
    PatientScreen,
    ReportChooser,
    StrapScreen,
)
from controller.app.screens.footer import CatalogFooter
from controller.app.screens.six_minute import HrMaxProposalScreen
from controller.app.texts import WARNING_COLOUR, word
from controller.core.beltscreen import load_rising_for_interval
from controller.core.i18n import N_, _, format_date, format_duration, format_number, sentence_case
from controller.core.metrics import shown_bpm, zone_of
from controller.core.pulse import pulse_lost
from controller.core.refusals import REFUSALS
from controller.core.words import ALARMS as ALARM_WORDS
from controller.core.words import PLANS
from controller.core.words import TEST_INTERRUPTED as INTERRUPTED
from controller.hr import strap_label
from controller.protocol import HR_HOLD_AFTER_S, HR_SLOW_AFTER_S, alarm_severity
from controller.service.control_socket import ControlClient
from controller.service.messages import StateDoc

COMMANDS = {"setup": N_("patient and plan"), "start": N_("start"), "pause": N_("pause"),
            "resume": N_("resume"), "skip": N_("skip"), "extend": N_("extend"),
            "stop": N_("stop"), "ack": N_("acknowledge"), "borg": N_("Borg rating"),
            "note": N_("note"), "history": N_("history"), "export": N_("report"),
            "adjust": N_("load change"), "pair": N_("strap"), "scan": N_("strap search"),
            "demo_reset": N_("the treadmill's reset button (demo)")}
DONE = {"start": N_("The session has started."),
        "pause": N_("Paused: the belt slows to a stop."),
        "resume": N_("The session goes on."),
        "skip": N_("On to the next part."),
        "extend": N_("This part is extended by 1 min."),  # "1 min", as the key and event
        "stop": N_("Stopping: the belt slows to a stop."),
        "ack": N_("Alarm acknowledged."),
        "borg": N_("Borg rating {borg} saved for interval {interval}."),
        "note": N_("The note is saved."),
        "adjust": N_("The load is changed."),
        "demo_reset": N_("You pressed the treadmill's reset button (demo). The belt stays "
                         "still: when all is well, resume (r) or stop (x).")}
"""What staff read when the service did what they asked: a sentence, not "start: done"."""
AT_REST = {"stop": ("done", N_("Stopped: the belt is at rest.")),
           "pause": ("paused", N_("Paused: the belt is at rest."))}
"""Stop's and Pause's sentence once the belt reports 0 km/h in the state they lead to (the
trial: «Stopper: båndet senker farten til stopp.» stayed after the belt was at rest)."""
RUNNING = ("running", "hr_hold", "hr_slow")
SAID_ALONE = ("no_patient",)
"""Refusals said as their own sentence, without «… avvist:» before them: each says what
to do first (choose the patient)."""
PAST_WHEN_OVER = {"strap_missing_beats": N_("The chest strap's readings were unreliable in "
                                            "this session")}
"""Warnings about the strap's readings, as said once the session is over (what to do about
the strap is for the session it was about)."""
BORG_NOTE_WIDTH = 74
"""The Borg prompt's text width (console.tcss: #borg 78 wide, border and padding)."""


def _mss(s: float | None) -> str:
    """A running clock or countdown as m:ss (3:15): the console's and the belt screen's one
    form for it (an amount of time told after the fact is "3 min 15 s")."""
    if s is None:
        return "-:--"
    s = max(0, round(s))
    return f"{s // 60}:{s % 60:02d}"
def _day(iso: str | None) -> str:
    """An ISO date from the service as dates are shown (``06.12.2026`` in bokmål)."""
    import datetime as dt

    try:
        return format_date(dt.date.fromisoformat(str(iso)))
    except ValueError:
        return str(iso or "")


def _num(x: float | None, decimals: int = 1) -> str:
    return "—" if x is None else format_number(x, decimals)


SPEED_READ_TOLERANCE_KMH = 0.1
"""How far the belt's measured speed may read above what it holds (the tach's noise, one
shown decimal): within it, a reading at the cap is the cap."""
INCLINE_READ_TOLERANCE_PCT = 0.3
"""One pulse of the incline sensor (3,6 pulses per %, firmware/supervisor.py): the measured
incline is that coarse."""


def read_within_cap(measured: float | None, cap: float | None, tolerance: float
                    ) -> float | None:
    """A measured speed or incline as shown beside the patient's cap: a reading above the
    cap by no more than the measurement's ``tolerance`` is the cap (the trial: 8,1 % beside
    a cap of 8 % read as the cap broken); a true overshoot, beyond it, is shown as read."""
    if measured is None or cap is None or not cap < measured <= cap + tolerance:
        return measured
    return cap


def _bpm(x: float) -> str:
    """A heart rate or zone edge as the belt screen shows it (``metrics.shown_bpm``, half
    up: makspuls 150 is "sone 128–143", never 142 here and 143 at the belt)."""
    return format_number(shown_bpm(x), 0)


def zone_text(d: StateDoc) -> str:
    """The zone under the heart rate, where there is one: nothing before the session
    (it said "zone —–— bpm" in dashes), the warm-up's, active pause's and cool-down's own
    target in that phase (their band read as the zone the patient is meant to reach):
    "zone" is only the interval's."""
    lo, hi, target = d.zone_low_bpm, d.zone_high_bpm, d.target_bpm
    if d.phase == "warmup" and lo is not None and hi is not None:
        # the warm-up's band (about 60–70 % of HRmax, 4x4.md), not the controller's rising
        # target: that begins at the heart rate of the start («mål 71», issue 21), a number
        # staff do not recognise; said as its target, not "sone" (the word of the intervals:
        # an earlier trial read the band as the zone to reach); the belt page says the same
        return _("warm-up target {low}–{high} bpm").format(low=_bpm(lo), high=_bpm(hi))
    own_target = {"warmup": _("warm-up target {target} bpm"),
                  "recovery": _("active pause target {target} bpm"),
                  "cooldown": _("cool-down target {target} bpm")}.get(d.phase or "")
    if own_target is not None:
        return "" if target is None else own_target.format(target=_bpm(target))
    lines = []
    if lo is not None and hi is not None:
        lines.append(_("zone {low}–{high} bpm").format(low=_bpm(lo), high=_bpm(hi)))
    if target is not None:
        lines.append(_("target {target} bpm").format(target=_bpm(target)))
    return "\n".join(lines)


LOST_AFTER_S = {"hr_hold": HR_HOLD_AFTER_S, "hr_lost": HR_SLOW_AFTER_S}
"""Seconds without a valid heart rate before the session's event of that kind."""
HR_ALARMS = ("hr_hold", "hr_lost", "hr_lost_stop")
"""Alarms of a lost heart rate: the glossary's advice goes with them."""


def alarm_is_warning(alarm: Mapping[str, Any]) -> bool:
    """A held name that is a hint to staff, labelled a warning (the glossary's levels), not
    ALARM: by the severity the service sends with it, else (an older service) by the core's
    one list; a severity nobody knows is an alarm."""
    said = alarm.get("severity")
    if said is None:
        said = alarm_severity(str(alarm.get("kind")))
    return said == "warning"


CURRENT_IN = {"hr_hold": "hr_hold", "hr_lost": "hr_slow"}
"""The session's state in which a held heart-rate alarm says what is happening now; in any
other state it says what happened (a stop for a lost heart rate is final: always now)."""
EARLIER_WORDS = {"hr_hold": N_("heart rate lost, the speed was held"),
                 "hr_lost": N_("heart rate lost, slowed to a walk")}
"""A held heart-rate alarm the session has moved on from, in the past tense."""

STRAP_HINT = N_("Check that the chest strap sits snugly")
"""The belt screen's words (service/beltview.py): one catalog entry."""


def one_line(text: str, width: int) -> str:
    """``text`` on one line of ``width`` cells: cut with "…" where it would wrap (plain
    text; the whole sentence is in the history and the report)."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text.rstrip(" ,;:·") + "…"


def wrapped(text: str, width: int) -> str:
    """``text`` whole on lines of ``width`` cells (a long file path broken where it must
    be): the report's «lagret» with its folder was cut with "…" on the Borg prompt."""
    import textwrap

    return "\n".join(line for para in text.split("\n") for line in textwrap.wrap(
        para, width, break_on_hyphens=False) or [""])


def short_or_whole(kind: str, whole: str, width: int, prefix: str = "") -> str:
    """An event or alarm on one line: its whole sentence where that fits, else its short
    words (the monitor's), else cut (at 80 columns the console's lines wrapped in two)."""
    from rich.cells import cell_len

    if cell_len(prefix + whole) > width and kind in ALARM_WORDS:
        whole = word(ALARM_WORDS, kind)
        whole = whole[:1].upper() + whole[1:]
    return one_line(prefix + whole, width)


def wrapped_or_short(kind: str, whole: str, width: int, prefix: str = "") -> list[str]:
    """An event on one line where it fits, else an alarm's short words, else on two lines
    under its prefix ("info: Alarmen er kvittert: pulsbeltet kan …" lost its end at 80
    columns); cut only past two lines."""
    import textwrap

    from rich.cells import cell_len

    if cell_len(prefix + whole) <= width or kind in ALARM_WORDS:
        return [short_or_whole(kind, whole, width, prefix)]
    lines = textwrap.wrap(prefix + whole, width, subsequent_indent=" " * cell_len(prefix),
                          break_long_words=False)
    if len(lines) <= 2:
        return lines
    return [lines[0], one_line(" " * cell_len(prefix)
                               + " ".join(line.strip() for line in lines[1:]), width)]


def severity_prefix(severity: str) -> str:
    """How a log line begins: nothing for information (the trial: «info: …» read as a raw,
    English-looking key), the glossary's level word for a warning or an alarm."""
    if severity not in ("warning", "alarm"):
        return ""
    said = word(texts.SEVERITIES, severity)
    return said[:1].upper() + said[1:] + ": "


SESSION_STARTED = N_("The session has started")


def with_the_start(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The session's events with its start said where it happened: before its first part
    begins (the warm-up: every plan begins with one). It was said on the message line only,
    under the log: «Økten er startet.» read as after «Oppvarming begynner» (issue 21)."""
    out: list[Mapping[str, Any]] = []
    for e in events:
        params = e.get("params")
        if e["kind"] == "phase" and isinstance(params, dict) \
                and params.get("phase") == "warmup":
            out.append({"kind": "start", "severity": "info", "message": "session started",
                        "params": {}})
        out.append(e)
    return out


def dropout_span(events: Sequence[Mapping[str, Any]], back: int, started_s: float | None
                 ) -> tuple[str, str] | None:
    """The heart-rate dropout that ``events[back]`` (its ``hr_restored``) ended, as m:ss
    into the session («2:10–2:31»), from its events' times (``now_s``, the session's clock;
    never the console's): from the last valid beat (its hold or slow-down event, less the
    seconds it waited) to the event that says the heart rate is back. None when the events
    do not say (an older service, or they scrolled out of the latest)."""
    end = events[back].get("now_s")
    if started_s is None or not isinstance(end, int | float):
        return None
    start: float | None = None
    for e in reversed(events[:back]):
        if e.get("kind") == "hr_restored":
            break
        if e.get("kind") in LOST_AFTER_S and isinstance(e.get("now_s"), int | float):
            start = float(e["now_s"]) - LOST_AFTER_S[e["kind"]]
    if start is None:
        return None
    return (_mss(start - started_s), _mss(float(end) - started_s))


ACK_AFTER_DROPOUT = "acknowledged_after_dropout"
"""The log's kind for a lost-pulse alarm acknowledged after the pulse came back
(``acks_said_as_past``): the console's own, never the session's."""


def acks_said_as_past(events: Sequence[Mapping[str, Any]], started_s: float | None
                      ) -> list[Mapping[str, Any]]:
    """The events with a lost-pulse alarm that staff acknowledged after the pulse came back
    said as what it was: when the pulse was lost and that it is back (the trial: after
    «Fant pulsen igjen (…)» `a` answered «Alarmen er kvittert: finner ikke pulsen – senker
    til rolig gange», read as lost now). Told from the events before the acknowledgement:
    the pulse came back after the alarm's latest step. While the pulse is still missing,
    or where the events do not say, the acknowledgement is said as before."""
    out: list[Mapping[str, Any]] = []
    for i, e in enumerate(events):
        params = e.get("params")
        alarm = params.get("alarm") if isinstance(params, dict) else None
        back = None
        if e.get("kind") == "acknowledged" and alarm in LOST_AFTER_S:
            for j in range(i - 1, -1, -1):
                kind = events[j].get("kind")
                if kind == "hr_restored":
                    back = j
                if kind == "hr_restored" or kind in HR_ALARMS:
                    break
        if back is None:
            out.append(e)
            continue
        span = dropout_span(events, back, started_s)
        out.append({**e, "kind": ACK_AFTER_DROPOUT,
                    "params": {} if span is None else {"start": span[0], "end": span[1]}})
    return out


def event_words(event: Mapping[str, Any]) -> str:
    """An event in the UI's language; the warm-up's start without the plan's band ("sone
    96–115" read beside the status line's "oppvarming: mål 88", the controller's rising
    target, as a second target: the belt screen shows that target too)."""
    params = event.get("params")
    if event["kind"] == "start":
        return _(SESSION_STARTED)
    if event["kind"] == ACK_AFTER_DROPOUT:
        if isinstance(params, dict) and "start" in params:
            return _("Alarm acknowledged: the heart rate was lost {start}–{end} into the "
                     "session – it is back").format(start=params["start"], end=params["end"])
        return _("Alarm acknowledged: the heart rate was lost for a while – it is back")
    if event["kind"] == "phase" and isinstance(params, dict) \
            and params.get("phase") == "warmup" and "duration_s" in params:
        phase = word(texts.PHASES, "warmup")
        return _("{phase} begins ({minutes} min)").format(
            phase=phase[:1].upper() + phase[1:],
            minutes=format_number(float(params["duration_s"]) / 60, 0))
    return texts.event_text(event["kind"], event["message"], params)


def hr_chart(history: list[float], lo: float | None, hi: float | None, width: int,
             rows: int = 5) -> str:
    """The last ``width`` heart rates as columns of block characters, the zone band shaded
    behind them (Rich markup; block glyphs only, so a Linux console can show it)."""
    data = history[-width:]
    if not data:
        return ""
    top = max(max(data), hi or 0.0) + 3.0
    bottom = min(min(data), lo if lo is not None else min(data)) - 3.0
    step = (top - bottom) / rows
    eighths = " ▁▂▃▄▅▆▇█"
    lines = []
    for r in range(rows - 1, -1, -1):
        floor = bottom + r * step
        mid = floor + step / 2
        in_zone = lo is not None and hi is not None and lo <= mid <= hi
        cells = []
        for h in data:
            fill = min(max((h - floor) / step, 0.0), 1.0)
            cells.append(eighths[round(fill * 8)])
        text = "".join(cells).ljust(width)
        label = f"{floor + step:5.0f} "
        lines.append(label + (f"[on green]{text}[/]" if in_zone else text))
    return "\n".join(lines)


def report_saved(files: list[str], short: bool = False) -> str:
    """What staff read after `w`: in words, the files by name and what each is, then the
    folder (it said "wrote /tmp/exports/KN-42-….pdf, …"). ``short``: the folder by its own
    name («…/exports»), for the Borg prompt's two lines (the message line has it whole)."""
    from rich.markup import escape

    kinds = {"pdf": _("report"), "csv": _("session data")}
    named = [f"{Path(f).name} ({kinds.get(Path(f).suffix.lstrip('.'), '')})".replace(
        " ()", "") for f in files]
    return escape(_("The report is saved: {files}, in the folder {folder}.").format(
        files=_("{first} and {last}").format(first=", ".join(named[:-1]), last=named[-1])
        if len(named) > 1 else "".join(named),
        folder=(str(Path(files[0]).parent) if not short or len(Path(files[0]).parent.parts)
                < 3 else "…/" + Path(files[0]).parent.name) if files else ""))


def esc_then_key(key: events.Key) -> list[events.Key]:
    """alt+<letter> as the two keys staff typed: Esc, then the letter. In a terminal (tmux),
    a key typed within the escape delay after Esc arrives with it as one sequence, which
    Textual reads as alt+<letter>: the history stayed open and the w after it did nothing
    (issue 21 trial). The console binds no alt key."""
    name = key.key
    if name.startswith("alt+") and key.character and len(key.character) == 1 \
            and key.character.isprintable():
        escape = events.Key("escape", "\x1b")
        plain = events.Key(name.removeprefix("alt+"), key.character)
        if key._sender is not None:
            escape.set_sender(key._sender)
            plain.set_sender(key._sender)
        return [escape, plain]
    return [key]


class KeysReady(Message):
    """A screen just pushed has mounted and set its focus: keys held for it go on."""

    def __init__(self, screen: object) -> None:
        super().__init__()
        self.screen = screen


class StaffConsole(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "fourbyfour"
    ENABLE_COMMAND_PALETTE = False  # its footer entry would push q off an 80-column screen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "patient", N_("Patient")), Binding("n", "fixed", show=False),
        Binding("s", "start", N_("Start")), Binding("s", "start_4x4", N_("Start")),
        Binding("s", "start_again", show=False),
        Binding("p", "pause", N_("Pause")), Binding("p", "pause_again", show=False),
        Binding("r", "resume", N_("Resume")),
        Binding("k", "skip", N_("Skip")), Binding("e", "extend", N_("+1 min")),
        Binding("x", "stop", N_("Stop")), Binding("a", "ack", N_("Ack alarm")),
        Binding("b", "strap", N_("Strap")),  # before Start: the patient's strap
        # a rating put off with esc: shown while it is owed (the trial: lost from view)
        Binding("b", "borg_owed", N_("Borg rating")),
        # a proposal put off with esc, not decided yet: t shows it again (trial 14: only
        # a key nobody saw brought it back)
        Binding("t", "proposal_again", N_("HRmax proposal")),
        Binding("t", "test_borg_owed", N_("Borg rating")),
        Binding("b", "borg", N_("Borg"), show=False),  # asked by itself; b corrects it
        Binding("m", "note", N_("Note")),
        Binding("h", "history", N_("History")), Binding("w", "export", N_("Report")),
        # mid-session too (the worker process writes it), but not in the footer: with it the
        # bokmål footer of a running session no longer fits 80 columns
        Binding("w", "export_live", show=False),
        Binding("q", "quit", N_("Quit")),
        # shown in the 6-minute test's test phase only (``_footer_keys``), for both
        Binding("plus,equals_sign", "adjust(0.5, 0)", N_("Speed"), show=False,
                key_display="+/-"),
        Binding("minus", "adjust(-0.5, 0)", N_("Speed -"), show=False),
        Binding("right_square_bracket", "adjust(0, 2)", N_("Incline"), show=False,
                key_display="]/["),
        Binding("left_square_bracket", "adjust(0, -2)", N_("Incline -"), show=False),
        Binding("t", "test_borg", N_("Test Borg"), show=False),
        # the demo only: the emulated treadmill's own reset button, which a person presses
        # at a real treadmill after a fault (it never resumes the session by itself)
        Binding("g", "demo_reset", N_("Reset (demo)")),
        # digits where no prompt is open are said, not dropped (BorgScreen takes its own)
        *(Binding(d, f"stray_digit('{d}')", show=False) for d in "0123456789"),
    ]

    def __init__(self, socket_path: str, belt_url: str | None = None,
                 suggested: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.suggested = suggested
        """A profile the patient form starts from while no patient is chosen (the console
        demo's ``--patient``): shown for staff to check and save, never chosen by itself."""
        keys = self._bindings.key_to_bindings  # the footer in the process's language
        for key, bindings in keys.items():
            keys[key] = [dataclasses.replace(b, description=_(b.description))
                         if b.description else b for b in bindings]
        self.socket_path = socket_path
        self.belt_url = belt_url
        self.client: ControlClient | None = None
        self.state: dict[str, Any] = {}
        """The state as the service pushed it (JSON); the console reads it as ``doc``."""
        self._doc: tuple[dict[str, Any], StateDoc] | None = None
        self.message = "" if belt_url is None else \
            _("belt screen for the patient: {url}").format(url=belt_url)
        self._seen: tuple[str, int] | None = None
        self._asked: set[int] = set()
        self._last_interval = 0
        self._keys: tuple[Any, ...] = ()
        self._borg_asked_for = ""
        self._borg_waiting: int | None = None
        """An interval's Borg prompt that waits for the question on screen to be answered."""
        self._borg_owed: set[int] = set()
        """The Borg ratings staff put off with esc, by interval (0: the 6-minute test's), each
        until it is given (issue 21: a second put-off replaced the first)."""
        self._quit_when_stopped = False
        """q was confirmed during a session: quit once the session is done, the belt still."""
        self._load_wanted: tuple[float, float] | None = None
        self._driving = False
        self._ran_s: dict[int, float] = {}
        """Session seconds each interval ran, as far as this console saw it."""
        self._interval_left: tuple[int, float] | None = None
        self._push_step_s = 0.0
        """The 6-minute test's load (km/h, %) staff asked for, until the session holds it."""
        self._said: tuple[str, str, list[Any]] | None = None
        """A done message the log will say too: (event kind, message, the log when said)."""
        self._held: list[events.Key] = []
        self._in_flight: events.Key | None = None
        """The key being handled: the next waits for it."""
        self._stray = ""
        """Digits typed where no prompt is open (said, never dropped without a word)."""
        self._under_prompt = ""
        """A message said while a Borg prompt covered the message line: said again once
        the prompt closes."""
        self._holding_for: object | None = None
        """The screen pushed but not ready yet: keys typed meanwhile wait for it (issue 21
        trial: "n" and a pseudonym typed at once lost the pseudonym, the form's field had no
        focus yet)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with Vertical(id="hrbox"):
                # the big number says what it is (staff new to the console saw a number with
                # no word): beside it, so the 80×24 layout keeps its rows
                with Horizontal(id="hrrow"):
                    yield Digits("---", id="hr")
                    yield Static(_("heart rate") + "\n" + _("bpm"), id="hrlabel",
                                 markup=False)
                yield Static("", id="zone")
            with Vertical(id="phasebox"):
                yield Static(_("connecting…"), id="phase")
                yield Static("", id="countdown")
                yield Static("", id="belt")
        yield Static("", id="chart")
        yield Static("", id="links")
        yield Static("", id="alarms")
        yield Static("", id="events")
        yield Static("", id="message")
        yield CatalogFooter(compact=True)

    def on_mount(self) -> None:
        self.listen()

    # -- keys typed in a burst: none lost, none out of order --------------------------------
    # Textual hands each key on as it arrives, to the field or screen on top at that moment.
    # In a burst, "n" and a pseudonym were all handed to the console's main screen before
    # "n" had opened the form (the pseudonym lost), and "6,5", tab, "12" all went into one
    # field before tab (handled on its way back) had moved on (issue 21 trial). So the
    # console takes one key at a time: the next goes on once the one before has been
    # handled all the way up, and once a screen it opened has mounted and focused its field.

    def push_screen(self, screen: Any, *args: Any, **kw: Any) -> Any:  # type: ignore[override]
        if self._widgets_gone():  # a reply to a key came while closing: nothing to show it on
            return None
        result = super().push_screen(screen, *args, **kw)
        self._stray = ""
        if not isinstance(screen, str):
            self._holding_for = screen
            if not screen.call_later(self.post_message, KeysReady(screen)):
                self._holding_for = None
            self.set_timer(1.0, lambda: self._release(screen))  # never held for good
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._held.extend(esc_then_key(event))
            await self._next_key()
            return
        await super().on_event(event)

    async def _next_key(self) -> None:
        while self._held and self._in_flight is None and self._holding_for is None:
            key = self._held.pop(0)
            target = self.focused or self.screen
            self._in_flight = key
            await super().on_event(key)
            self._follow(key, target)
            self.set_timer(0.5, lambda key=key: self._key_done(key))  # never stuck on one

    def _follow(self, key: events.Key, node: Any) -> None:
        """Once ``node`` has handled ``key`` (and passed it up if it did not use it), follow
        it to the parent; after the console has had it, the next key goes on."""
        if node is None or node is self:
            if not self.call_later(self._key_done, key):
                self._in_flight = None
            return
        if not node.call_later(self._follow, key, node.parent):  # closed meanwhile
            self._follow(key, node.parent)

    async def _key_done(self, key: events.Key) -> None:
        if self._in_flight is key:
            self._in_flight = None
            await self._next_key()

    async def on_keys_ready(self, message: KeysReady) -> None:
        await self._release(message.screen)

    async def _release(self, screen: object) -> None:
        if self._holding_for is screen:
            self._holding_for = None
            await self._next_key()

    def action_help_quit(self) -> None:
        """ctrl+c: Textual's own notice was English; ours names the key that quits."""
        self.notify(_("Press q to quit."))

    @work(exclusive=True)
    async def listen(self) -> None:
        while True:
            client = ControlClient(self.socket_path)
            try:
                await client.connect()
                self.client = client
                async for doc in client.updates():
                    if doc.get("session_id") != self.doc.session_id:
                        self._new_session()
                    self.state = doc
                    self.refresh_view()
            except (OSError, ConnectionError) as e:
                self.client = None
                for links in self.query("#links").results(Static):  # none while mounting
                    links.update("[b red]" + texts.service_unreachable_text(e) + "[/]")
                await asyncio.sleep(1.0)

    @property
    def doc(self) -> StateDoc:
        """The pushed state as the typed ``StateDoc`` (decoded once per update): the console
        reads its fields, never the dict (issue 25)."""
        if self._doc is None or self._doc[0] is not self.state:
            self._doc = (self.state, StateDoc.from_wire(self.state))
        return self._doc[1]

    def _new_session(self) -> None:
        """The next patient's session (after one ended): nothing asked or seen of the one
        before carries over."""
        self._seen = None
        self._asked = set()
        self._last_interval = 0
        self._borg_waiting = None
        self._borg_owed = set()
        self._load_wanted = None
        self._ran_s = {}
        self._interval_left = None

    # -- which keys apply now (the footer shows only these) ---------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        d = self.doc
        started, state = bool(d.started), d.state
        live = started and state not in ("stopping", "done")
        over = started and state == "done"  # staff may choose the next patient
        demo_fault = self._demo_fault()
        shown = {
            "patient": not started or over, "start": not started,
            # only where staff choose it: not a strap fixed by the config, nor the demo's
            "strap": not started and bool(d.strap_choice),
            "pause": started and state in RUNNING, "resume": state == "paused",
            "pause_again": state == "paused",
            # with the demo's reset offered, skip and +1 min (no use while the belt stands
            # faulted) make room for it in 80 columns
            "skip": live and not demo_fault, "extend": live and not demo_fault,
            "stop": live, "ack": bool(d.alarms), "demo_reset": demo_fault,
            # an interval has run (in the cool-down the state's interval is 0 again: b did
            # nothing there, and a rating put off with esc could not be given any more)
            "borg": started and max(self._last_interval, d.interval or 0) >= 1,
            "note": started, "export": not live, "export_live": live,
            "fixed": started and not over,
            "start_4x4": self._test_decided(),
            "start_again": started,
            "borg_owed": started and bool(self._intervals_owed()),
            # a rating that made no proposal, not decided yet: t opens it to correct the
            # rating (issue 21: t worked but the footer did not show it)
            "test_borg_owed": (0 in self._borg_owed and self._test_ended())
            or self._no_estimate_open(),
            "proposal_again": self._proposal_open(),
        }
        return shown.get(action, True)

    FOOTER_KEYS: ClassVar[dict[str, str]] = {"h": "history", "k": "skip", "e": "extend",
                                             "b": "borg_owed", "plus": "adjust",
                                             "right_square_bracket": "adjust"}

    def _footer_keys(self) -> None:
        """Keys that work but are left out of the footer where it would not fit 80 columns
        (the trial: "… h Historikk q" with "q Lukk" cut off): h during a session; in the
        6-minute test's test phase its pace keys +/- and ]/[ instead of e (staff look for
        keys in the footer, not in a status line). k stays: it ends the test early, and the
        trial's nurse did not know it worked there; an interval's rating owed (b) is not
        shown in the test (a 6-minute test has no intervals; b still works)."""
        d = self.doc
        test = d.phase == "test"
        live = bool(d.started) and d.state not in ("stopping", "done")
        show = {"h": not live, "k": True, "e": not test, "b": not test,
                "plus": test, "right_square_bracket": test}
        keys = self._bindings.key_to_bindings
        for key, action in self.FOOTER_KEYS.items():
            keys[key] = [dataclasses.replace(b, show=show[key])
                         if b.action.split("(")[0] == action else b for b in keys.get(key, [])]

    def _demo_fault(self) -> bool:
        """The demo's treadmill has a latched fault: its reset button may be pressed."""
        d = self.doc
        return bool(d.demo_reset) and d.treadmill.startswith("fault")

    # -- the view ---------------------------------------------------------------------------

    _was_ready = False

    def on_ready(self) -> None:
        self._was_ready = True

    def _widgets_gone(self) -> bool:
        """Closing: Textual removes the widgets before it cancels the listening worker and
        a key's handler awaiting the service's reply; a state or a reply arriving in between
        has nothing to be drawn into (NoMatches at quit). Whatever draws asks this first."""
        return self._was_ready and not self.is_running

    def refresh_view(self) -> None:
        if self._widgets_gone():
            return
        d = self.doc
        self._last_interval = max(self._last_interval, d.interval or 0)
        keys = (d.started, d.state, bool(d.alarms), self._last_interval >= 1,
                d.phase == "done", d.strap_choice, self._demo_fault(), self._test_decided(),
                tuple(sorted(self._borg_owed)), d.phase == "test",
                # a rating that made no proposal, not decided: t to correct it
                self._no_estimate_open())
        if keys != self._keys:  # the footer is rebuilt only when the keys that apply change
            self._keys = keys
            self._footer_keys()
            self.refresh_bindings()
            # under a prompt with its own footer (the Borg prompt) the console's footer and
            # header are laid out again only when told (else the header kept a stale height)
            if self.screen is not self.screen_stack[0]:
                self.screen_stack[0].refresh_bindings()
        hr = self._shown_hr()
        lo, hi = d.zone_low_bpm, d.zone_high_bpm
        digits = self.query_one("#hr", Digits)
        digits.update("---" if hr is None else str(shown_bpm(hr)))
        digits.remove_class("below", "inzone", "above")
        if hr is not None and lo is not None and hi is not None:  # the belt's rule, shown
            verdict = zone_of(shown_bpm(hr), shown_bpm(lo), shown_bpm(hi))
            digits.add_class("inzone" if verdict == "in" else verdict)
        self.query_one("#zone", Static).update(self._zone_text())
        phase, n = d.phase, d.interval or 0
        self._last_interval = max(self._last_interval, n)
        if phase == "interval" and n:
            label = _("interval {n}/{total}").format(n=n, total=4)
        elif phase == "recovery" and n:
            label = _("recovery after interval {n}").format(n=n)
        elif phase == "done" and self._ended_how() == "stopped":
            # by staff, the monitor, a fault or lost heart rate: «avsluttet», the records'
            # and the belt page's word (it said STOPPET); «ferdig» only when the plan ran out
            label = _("ended")
        elif phase == "done" and self._ended_how() == "interrupted":
            # a 6-minute test skipped or stopped in its test part: the records' word, never
            # «ferdig» (issue 21: «6-minutters pulstest · FERDIG» beside «Testen ble avbrutt»)
            label = _(INTERRUPTED)
        elif phase == "test":
            # a part of the 6-minute test, in the other parts' style under the test's name
            # («6-minutters pulstest · OPPVARMING»): the name itself was in capitals here
            label = _("the test itself")
        else:
            label = word(texts.PHASES, phase)
        # two lines, so neither wraps at 80 columns: the phase, then the patient
        who = _("{pseudonym} · HRmax {hr_max} ({source})").format(
            pseudonym=d.pseudonym, hr_max=_num(d.hr_max, 0),
            source=word(texts.SOURCES, d.hr_max_source)) if d.pseudonym else \
            _("no patient chosen (n)")
        from rich.cells import cell_len
        from rich.text import Text

        state = self._state_word()
        # the plan before the phase, so staff see which plan runs (the trial: nothing said
        # it); not twice where the phase is the plan's own ("6-minute test")
        plan = word(PLANS, d.plan) if d.plan else ""
        head = f"[b]{label.upper()}[/b]" if not plan or plan.lower() == label.lower() else \
            _("{plan} · {phase}").format(plan=plan, phase=f"[b]{label.upper()}[/b]")
        both = _("{phase} · {state}").format(phase=head, state=state)
        room = self.query_one("#phase", Static).content_size.width or 48
        # the part and its state on one line where it fits, the plan's name left out for it
        # (the trials: «4x4 · AKTIV PAUSE ETTER INTERVALL 1 · båndet stanset» was 52 columns
        # of 48, its state on a line of its own; so was «båndet starter om 2 s» after `p`
        # then `r`, and «venter på puls – holder farten» in an interval); else the state's
        # shorter header form where it has one (the belt's words in it said by the line).
        # Only where the part says which plan runs (the 4x4's intervals and active pauses)
        # or staff paused: a warm-up's 3-2-1 would hide «6-minutters pulstest» just when
        # staff check which plan they started (issue 21: nothing said which plan ran)
        short = self._state_short()
        may_go = d.state == "paused" or phase in ("interval", "recovery")
        for line in (_("{phase} · {state}").format(phase=f"[b]{label.upper()}[/b]", state=said)
                     for said in (state, short) if said and may_go):
            if cell_len(Text.from_markup(both).plain) <= room:
                break
            both = line
        if cell_len(Text.from_markup(both).plain) > room:
            # at 80 columns "… · finner ikke pulsen – senker farten" was cut mid-word: the
            # heart-rate state on a line of its own
            both = f"{head}\n{state}"
        self.query_one("#phase", Static).update(
            # once the session is over its state says nothing the phase does not; before
            # the start neither ("KLAR · klar" said one word twice); the patient line stays
            # (issue 21: a makspuls saved with `e` at the test's end was shown nowhere)
            f"{head}\n{who}" if phase in ("done", "ready") else
            both + "\n" + who)
        left = _mss(d.phase_remaining_s)
        # a countdown is m:ss (3:05, as on the belt screen), said as time left so it is
        # never read as a clock time ("delen slutter om 09:16"); before the start the one
        # next step (it said "press s" with no patient chosen)
        self.query_one("#countdown", Static).update(
            # once the session has ended no part is left ("0:00 igjen" stayed after STOPPET),
            # nor once it is stopping (trial 15: «1:26 igjen av denne delen» beside «båndet
            # står stille» after Stop)
            "" if d.started and (phase == "done" or d.state == "stopping") else
            # the law raises the load ahead of the interval (its preview): why the set
            # speed climbs in an active pause (s10); «av denne delen» left out for room
            _("{time} left · the load rises before the interval").format(time=left)
            if d.started and d.state == "running"
            and load_rising_for_interval(d.change_lead_s, d.phase_remaining_s) else
            _("{time} left of this part").format(time=left) if d.started else
            _("press n to choose the patient") if not d.pseudonym else
            _("press b to pair the patient's strap") if d.strap_needed else
            _("strap battery low: change it, then press s") if d.strap_battery_low else
            _("press s to start"))
        self.query_one("#belt", Static).update(
            _("speed {actual} km/h (set {set})").format(
                actual=_num(read_within_cap(d.speed_kmh, d.max_speed_kmh,
                                            SPEED_READ_TOLERANCE_KMH)),
                set=_num(0.0 if self._at_rest_while_stopping() else d.speed_set_kmh)) + "\n"
            + _("incline {actual} % (set {set})").format(
                actual=_num(read_within_cap(d.incline_pct, d.max_incline_pct,
                                            INCLINE_READ_TOLERANCE_PCT)),
                set=_num(d.incline_set_pct)))
        if d.phase == "test":
            self.query_one("#belt", Static).update(
                str(self.query_one("#belt", Static).render()) + "\n"
                + _("6-minute test: +/- speed, ]/[ incline"))
        hist = [h for h in d.hr_history if h is not None]
        chart = self.query_one("#chart", Static)
        chart.update(hr_chart(hist, lo, hi, max(10, chart.size.width - 8)))
        treadmill = d.treadmill
        if treadmill == "running" and (d.speed_kmh or 0.0) < 0.05:
            treadmill = "still"  # enabled at 0 km/h (paused): not "running" to a reader
        strap = word(texts.LINKS, d.strap)
        if d.strap == "connected" and d.started and phase != "done" and hr is None:
            # the radio is there, a usable pulse is not (the trial: «pulsbelte: tilkoblet»
            # while the session held for a lost pulse)
            strap = _("connected, can't find the heart rate")
        paired = d.paired_strap or {}
        if paired:
            # a BLE address by its device half (the first half names the maker): one line
            name = strap_label(paired) if paired.get("kind") == "ant" else \
                "BLE " + str(paired.get("address"))[-8:]
            pct = d.strap_battery_pct
            strap = _("{state} (strap {name})").format(state=strap, name=name) \
                if pct is None else \
                _("{state} ({name}, battery {pct} %)").format(state=strap, name=name, pct=pct)
            if d.strap_battery_low:
                strap = "[b red]" + strap + "[/]"
        self.query_one("#links", Static).update(self._links_text(strap, treadmill))
        self.query_one("#alarms", Static).update(self._alarm_lines(self._held_names()))
        summary = d.summary
        if summary and d.plan == "6-minute test":
            # what the test measured, never zone figures: a 6-minute test has no zone
            self.query_one("#events", Static).update("\n".join(
                texts.six_minute_summary_lines(summary.get("test"), d.hrmax_proposal)))
        elif summary:
            # seconds in and above the zone, not the rule's percentage: that counts only
            # after the first minute, and read as "100 % in zone" beside 25 s above it
            width = self.query_one("#events", Static).content_size.width or 78
            lines = [self._summary_line(iv, width) for iv in summary["intervals"]]
            lines.append(_("total in zone {time}").format(
                time=format_duration(summary["total_in_zone_s"])))
            self.query_one("#events", Static).update("\n".join(lines[-5:]))
        else:
            events = with_the_start(acks_said_as_past(d.event_list or [], d.started_s))
            width = self.query_one("#events", Static).content_size.width or 78
            shown: list[str] = []
            for e in reversed(events[-3:]):  # the newest first, three lines in all
                lines = wrapped_or_short(e["kind"], event_words(e), width,
                                         severity_prefix(e["severity"]))
                if len(shown) + len(lines) > 3:
                    break
                shown[:0] = lines
            self.query_one("#events", Static).update("\n".join(shown))
        self._drop_said_by_the_log()
        # a Borg prompt says it on its note and again once it closes: there too
        self._under_prompt = self._said_at_rest(self._under_prompt)
        top = self.screen
        if isinstance(top, BorgScreen) and \
                self._said_at_rest(top.said_from) != top.said_from:
            # the prompt covers the message line: what it says follows the belt too (the
            # trial: «Stopper: båndet senker …» on it after the header said AVSLUTTET)
            now = self._said_at_rest(top.said_from)
            top.note(wrapped(now, BORG_NOTE_WIDTH), now)
        if self._said_at_rest(self.message) != self.message:
            self.say(self.message)
        self.query_one("#message", Static).update(self._message_text())
        if self._quit_when_stopped and self._belt_still():
            self.exit()
            return
        self._track_interval()
        self._expire_borg(phase, n)
        self._ask_borg(phase, n)
        if self._borg_waiting is not None and len(self.screen_stack) == 1:
            self.rate(self._borg_waiting)
        self._maybe_ask_borg()
        if isinstance(self.screen, BorgScreen):
            self.call_after_refresh(self._place_borg)

    def _place_borg(self) -> None:
        """The Borg prompt clear of the alarm lines (they change under it)."""
        top = self.screen
        if isinstance(top, BorgScreen) and not self._widgets_gone() and top.is_mounted:
            top.place(self.screen_stack[0].query_one("#alarms", Static).region,
                      self.size.height - 1)

    def _expire_borg(self, phase: str, n: int) -> None:
        """An interval's Borg prompt still open when a later interval begins closes itself,
        the rating not given (the trial: it stayed open through the whole active pause into
        the next interval); ``rate``'s ``done`` says so and keeps it owed (b)."""
        top = self.screen
        if isinstance(top, BorgScreen) and top.interval > 0 and phase == "interval" \
                and n > top.interval and top.opened_in != (phase, n):
            top.expired = True
            top.dismiss(None)

    LOGGED: ClassVar[dict[str, str]] = {"start": "phase",  # the log says it: with_the_start
                                        "pause": "pause", "resume": "resume", "skip": "skip",
                                        "extend": "extend", "stop": "stop"}
    """Commands whose doing the log says as an event (the event kind). Not `a`: its message
    says which of those held it took (one per press), and stays while others are held."""

    def _drop_said_by_the_log(self) -> None:
        """A command's "done" message goes once its event is in the log (the trial: «Satt på
        pause av personalet: …» and «Satt på pause: …» under it): said once."""
        if self._said is None:
            return
        kind, message, before = self._said
        if self.message != message:
            self._said = None
        elif self._logged(kind, before):
            self._said = None
            self.message = ""

    def _logged(self, kind: str, before: list[Any]) -> bool:
        """The log shows an event of ``kind`` that came since ``before`` (a phase's: any)."""
        events = self.doc.event_list or []
        return (events != before or kind == "phase") and \
            any(e.get("kind") == kind for e in events[-3:])

    @staticmethod
    def _summary_line(iv: dict[str, Any], width: int) -> str:
        """An interval of the summary on one line: where the whole would wrap («· topp /
        152» at 80 columns in bokmål), without the time it took to reach the zone (the
        report has it)."""
        from rich.cells import cell_len

        whole = texts.interval_summary_line(iv)
        above = iv.get("above_95_s")
        if cell_len(whole) <= width or iv.get("time_to_zone_s") is None or not above:
            return whole
        return _("interval {n}: {in_zone} in zone · {above} above · peak {peak}").format(
            n=iv["interval"], in_zone=format_duration(max(0, round(iv.get("in_zone_s") or 0))),
            above=format_duration(max(0, round(above))), peak=iv["peak_hr_bpm"])

    def _shown_hr(self) -> float | None:
        """The heart rate the console shows: before Start the paired strap's live reading
        (staff check it on the patient); after, the service's one decision, which the belt
        page shows too (``core.pulse``: none while the session holds or slows for a lost
        heart rate, the last valid one through a short gap). A state without it (a service
        before it) shows the tick's reading, never one while the session holds."""
        d = self.doc
        if not d.started:
            return d.hr_live_bpm
        if pulse_lost(d.state):
            return None
        return d.hr_shown_bpm if d.hr_shown_bpm is not None else d.hr_bpm

    def _pulse_missing(self) -> bool:
        """The session holds or slows for a missing heart rate: its published state, the one
        decision the belt page follows too (the trial: «venter på puls – holder farten» here
        while the belt showed «● 164 · I sonen»; the session had not held yet)."""
        return pulse_lost(self.doc.state)

    def _ended_how(self) -> str:
        """How the session ended, "plan", "stopped" or "interrupted" (a 6-minute test whose
        test part did not run to its end): its end event's ``ended`` (the rule the records
        and the belt page follow), else what the session says ended it."""
        for e in reversed(self.doc.event_list or []):
            if e.get("kind") == "done" and (e.get("params") or {}).get("ended") in (
                    "plan", "stopped", "interrupted"):
                return str(e["params"]["ended"])
        if self.doc.test_interrupted:
            return "interrupted"
        return "plan" if self.doc.ended_by in (None, "", "plan") else "stopped"

    def _state_word(self) -> str:
        """The session's state for the header: a missing pulse in the alarm's words (the
        trial: «senker farten» in the header beside «senker til gange» in the alarm), when
        the session says so (its state); the stop for a lost pulse in its alarm's words too."""
        d = self.doc
        if d.state == "hr_slow":
            return word(ALARM_WORDS, "hr_lost")
        if self._pulse_missing():
            return word(ALARM_WORDS, "hr_hold")
        if d.state == "stopping" and d.ended_by == "heart rate lost":
            return word(ALARM_WORDS, "hr_lost_stop")
        if self._at_rest_while_stopping():
            return _("belt at rest")
        if d.state == "running" and d.restart_in_s is not None:
            # the session holds the belt still for its 3-2-1 (the belt page counts it): not
            # «går» beside a belt at rest (trial 9)
            return _("belt starts in {seconds} s").format(
                seconds=max(1, math.ceil(d.restart_in_s)))
        if self._paused_and_slowing():
            # not «stanset» while it still moves (the trial: beside 3,8 km/t and
            # «tredemølle: går»): the words of the message line's «Satt på pause: …»
            return _("belt slowing to a stop")
        if d.state == "paused" and d.phase == "recovery":
            # the protocol's active pause is a phase, staff's Pause a state: in one header
            # «AKTIV PAUSE … · på pause» said "pause" twice for two things (issue 21)
            return _("belt halted")
        return word(texts.STATES, d.state)

    def _state_short(self) -> str | None:
        """The header's shorter form of ``_state_word`` where it has one, for the line with
        the part where the whole would not fit (48 columns at 80×24: «AKTIV PAUSE ETTER
        INTERVALL 1 · båndet starter om 2 s» is 53): the belt's 3-2-1 and its slowing to a
        stop after `p`, said without «båndet» (that state slot said «båndet stanset» a moment
        before, and the belt page counts the same seconds)."""
        d = self.doc
        if d.state == "running" and d.restart_in_s is not None and not self._pulse_missing():
            return _("starts in {seconds} s").format(
                seconds=max(1, math.ceil(d.restart_in_s)))
        if self._paused_and_slowing():
            return _("slowing to a stop")
        return None

    def _paused_and_slowing(self) -> bool:
        """Staff's pause in an active pause while the belt still moves (the trial: «båndet
        stanset» beside 3,8 km/t and «tredemølle: går»)."""
        d = self.doc
        return d.state == "paused" and d.phase == "recovery" and d.speed_kmh is not None \
            and d.speed_kmh >= 0.05

    def _at_rest_while_stopping(self) -> bool:
        """The session is still stopping, but the treadmill reports the belt at rest (the
        trial: «· stopper» and «satt 0,4» beside 0,0 km/t and «tredemølle: i ro»): the
        header says the belt is at rest, with the set-point 0 the board holds it at."""
        d = self.doc
        return d.state == "stopping" and (d.treadmill or "") in ("idle", "still") and \
            d.speed_kmh is not None and d.speed_kmh < 0.05

    def _zone_text(self) -> str:
        said = zone_text(self.doc)
        if "\n" not in said and self.doc.phase in ("warmup", "recovery", "cooldown"):
            from rich.cells import cell_len

            if cell_len(said) > (self.query_one("#zone", Static).content_size.width or 28):
                # after the colon, the number whole with its unit (the trial: «aktiv pause:
                # mål 105 / slag/min» wrapped between them)
                said = said.replace(": ", ":\n", 1)
        return said

    def _said_at_rest(self, message: str) -> str:
        """``message`` with Stop's or Pause's "the belt slows to a stop" said as done once
        the belt reports 0 km/h in the state they lead to."""
        d = self.doc
        if d.speed_kmh is None or d.speed_kmh >= 0.05:
            return message
        for cmd, (state, said) in AT_REST.items():
            if d.state == state and _(DONE[cmd]) in message:
                message = message.replace(_(DONE[cmd]), _(said))
        return message

    def _message_text(self) -> str:
        """The last message, and the belt screen's address under it: staff need it to open
        the belt screen, and it went with the first message after it (the trial)."""
        if self.belt_url is None or self.belt_url in self.message:
            return self.message
        url = _("belt screen for the patient: {url}").format(url=self.belt_url)
        return f"{self.message}\n{url}" if self.message else url

    def _mqtt_text(self) -> str:
        """The link to the central monitor: nothing alarming where no MQTT server is
        configured (issue 21: «MQTT frakoblet» in every demo, which has none); one that is
        configured and out of reach is said in the glossary's words."""
        state = self.doc.mqtt
        if state in (None, "off"):
            return _("central monitoring: not in use")
        if state == "offline":
            return _("no contact with the MQTT server")
        return _("MQTT {state}").format(state=word(texts.LINKS, state))

    def _links_text(self, strap: str, treadmill: str) -> str:
        """The status line; where it would wrap at 80 columns (a fault said in words, a
        battery), two lines of their own: the strap and MQTT, then the treadmill (or the
        strap, then the treadmill and MQTT, where the first would still wrap; else three)."""
        from rich.text import Text

        mqtt = self._mqtt_text()
        board = word(texts.LINKS, treadmill.split(":")[0]) + (
            ": " + word(texts.FAULTS, treadmill.split(":", 1)[1].strip())
            if ":" in treadmill else "")
        line = _("strap: {strap} · treadmill: {treadmill} · {mqtt}").format(
            strap=strap, treadmill=board, mqtt=mqtt)
        width = self.query_one("#links", Static).content_size.width or 78
        if Text.from_markup(line).cell_len <= width:
            return line
        if ":" in treadmill:
            board = "[b red]" + board + "[/]"
        two = _("strap: {strap} · {mqtt}").format(strap=strap, mqtt=mqtt) + "\n" + \
            _("treadmill: {treadmill}").format(treadmill=board)
        if all(Text.from_markup(x).cell_len <= width for x in two.split("\n")):
            return two
        # a long strap (its battery) beside «sentral overvåking: ikke i bruk»: the MQTT
        # link's words go with the treadmill instead
        other = _("strap: {strap}").format(strap=strap) + "\n" + \
            _("treadmill: {treadmill} · {mqtt}").format(treadmill=board, mqtt=mqtt)
        if all(Text.from_markup(x).cell_len <= width for x in other.split("\n")):
            return other
        # neither: the three on lines of their own, never a wrap (#links holds three)
        return "\n".join((_("strap: {strap}").format(strap=strap),
                          _("treadmill: {treadmill}").format(treadmill=board), mqtt))

    def _dropout_span(self) -> tuple[str, str] | None:
        """The last heart-rate dropout that is over, as m:ss into the session («2:10–2:31»):
        ``dropout_span`` of the last event that says the heart rate is back."""
        events = self.doc.event_list or []
        ends = [i for i, e in enumerate(events) if e.get("kind") == "hr_restored"]
        return dropout_span(events, ends[-1], self.doc.started_s) if ends else None

    def _alarm_time(self, kind: str) -> str | None:
        """When the session raised ``kind`` (its latest event of that kind), as m:ss into
        the session; None when the events do not say (scrolled out, an older service)."""
        d = self.doc
        for e in reversed(d.event_list or []):
            if e.get("kind") == kind and isinstance(e.get("now_s"), int | float) \
                    and d.started_s is not None:
                return _mss(float(e["now_s"]) - d.started_s)
        return None

    def _earlier_words(self, kind: str) -> str:
        """A held heart-rate alarm the session has moved on from, in the past tense and
        with its time into the session (or «earlier»): never a present-tense statement
        beside the header's."""
        when = self._alarm_time(kind)
        said = _(EARLIER_WORDS[kind]) if kind in EARLIER_WORDS else word(ALARM_WORDS, kind)
        return (_("{time} into the session").format(time=when) if when is not None
                else _("earlier")) \
            + ": " + said

    def _alarm_lines(self, alarms: Sequence[Mapping[str, Any]]) -> str:
        """One line per alarm, the key that acknowledges them after the last one, or on a
        line of its own where it would wrap (at 80 columns in bokmål it broke in two). A lost
        heart rate says what to do under it, the belt screen's words; the strap's hint is
        labelled a warning, not ALARM (the trial)."""
        from rich.cells import cell_len
        from rich.markup import escape

        if not alarms:
            return ""
        width = self.query_one("#alarms", Static).content_size.width or 78
        lines: list[str] = []
        last = ""
        indent = ""
        calm = False
        hinted = False
        for a in alarms:
            kind = a["kind"]
            warning = alarm_is_warning(a)
            # a warning in the monitor's amber (issue 23: yellow here, orange there, and the
            # docs said «gult» and «oransje» for it); yellow is the heart rate below its zone
            label, colour = (word(texts.SEVERITIES, "warning").upper(), WARNING_COLOUR) \
                if warning else (_("ALARM"), "red")
            indent = " " * (cell_len(label) + 1)
            if kind in ("hr_hold", "hr_lost") and not self._pulse_missing() \
                    and self._shown_hr() is not None:
                # held for a, but its cause is over: said so, calm (the trial: the alarm
                # stayed red from the warm-up to interval 4, long after the pulse was back)
                span = self._dropout_span()
                last = one_line(_("The heart rate was lost – it is back") if span is None else
                                _("The heart rate was lost {start}–{end} into the session "
                                  "– it is back")
                                .format(start=span[0], end=span[1]), width)
                indent = ""
                lines.append("[green]" + escape(last) + "[/]")
                calm = True
                continue
            calm = False
            if kind in HR_ALARMS and CURRENT_IN.get(kind, self.doc.state) != self.doc.state:
                # an earlier level of this dropout (or of one before it) the header no longer
                # says: in the past, with its time (the trial: «senker til rolig gange» here
                # while the header said «holder farten»)
                last = one_line(label + " " + self._earlier_words(kind), width)
                lines.append(f"[b {colour}]" + escape(label) + "[/]"
                             + escape(last[len(label):]))
                if self._pulse_missing() and not hinted and not any(
                        CURRENT_IN.get(b["kind"], "") == self.doc.state for b in alarms):
                    # the heart rate is missing now and no line of now says what to do
                    hinted = True
                    last = one_line(indent + _(STRAP_HINT), width)
                    lines.append(escape(last))
                continue
            if kind in HR_ALARMS:
                short = word(ALARM_WORDS, kind)
                last = one_line(label + " " + short[:1].upper() + short[1:], width)
                lines.append(f"[b {colour}]" + escape(label) + "[/]"
                             + escape(last[len(label):]))
                last = one_line(indent + _(STRAP_HINT), width)
                lines.append(escape(last))
                continue
            said = texts.event_text(kind, a["message"])
            if kind in PAST_WHEN_OVER and self._session_over():
                # a hint about the strap's readings for a session that is over: said in the
                # past, not what to do now (the trial: «fukt det eller flytt det litt» under
                # AVSLUTTET); still held for a, as every warning
                said = _(PAST_WHEN_OVER[kind])
            last = short_or_whole(kind, said, width, label + " ")
            lines.append(f"[b {colour}]" + escape(last[:len(label)]) + "[/]"
                         + (f"[{colour}]" + escape(last[len(label):]) + "[/]"
                            if warning else escape(last[len(label):])))
        hint = _("(a: acknowledge)")
        said = f"[green]{escape(hint)}[/]" if calm else escape(hint)
        if cell_len(last) + 2 + cell_len(hint) <= width:
            lines[-1] += "  " + said
        else:
            lines.append(indent + said)
        return "\n".join(lines)

    def _session_over(self) -> bool:
        """The session ran and has ended (its state "done")."""
        return bool(self.doc.started) and self.doc.state == "done"

    # -- the 6-minute test ------------------------------------------------------------------

    def _test_over(self) -> bool:
        d = self.doc
        return d.plan == "6-minute test" and d.started and d.phase in ("cooldown", "done")

    def _test_ended(self) -> bool:
        return self._test_over() and not self.doc.hrmax_proposal

    def _proposal_open(self) -> bool:
        """A 6-minute test's HRmax proposal that staff put off (esc) and have not decided
        yet: t shows it again, and the footer says so."""
        proposal = self.doc.hrmax_proposal or {}
        return self._test_over() and proposal.get("hr_max_bpm") is not None and \
            not proposal.get("no_estimate") and not proposal.get("decision") and \
            not isinstance(self.screen, HrMaxProposalScreen)

    def action_proposal_again(self) -> None:
        self.action_test_borg()

    def _no_estimate_open(self) -> bool:
        """The test's Borg rating made no HRmax proposal (the method cannot use it with the
        heart rate measured) and staff have not decided yet: t opens it to correct it."""
        proposal = self.doc.hrmax_proposal or {}
        return self._test_over() and bool(proposal.get("no_estimate")) and \
            not proposal.get("decision")

    def _test_decided(self) -> bool:
        """A 6-minute test has ended and staff decided on its HRmax: the 4x4 may start."""
        d = self.doc
        return d.plan == "6-minute test" and bool(d.started) and d.state == "done" and \
            bool(d.pseudonym) and bool((d.hrmax_proposal or {}).get("decision"))

    async def action_start_4x4(self) -> None:
        """s after a 6-minute test whose HRmax is decided (the trial: its end offered no
        Start): the 4x4 for the same patient, from the register's HRmax just decided, once
        staff say yes to the question that names both."""
        d = self.doc
        if self.client is None:
            self.say(_("not connected to the control service"))
            return
        reply = await self.client.command("patient", pseudonym=d.pseudonym)
        known = reply.get("patient") if reply.get("ok") else None
        if not known:
            self._say_refused(_(COMMANDS["start"]), reply)
            return
        pseudonym, age = d.pseudonym, d.age_years

        async def answered(yes: bool | None) -> None:
            if not yes:
                self.say(sentence_case(_("{command} cancelled").format(
                    command=word(COMMANDS, "start"))))
                return
            assert self.client is not None
            # empty fields come from this patient's register entry (HRmax with its source)
            setup = await self.client.command("setup", profile={
                "pseudonym": pseudonym, "age_years": age}, plan={"name": "4x4"})
            if not setup.get("ok"):
                self._say_refused(_(COMMANDS["setup"]), setup)
                return
            await self._send("start")

        self.push_screen(Confirm(_("Start the 4x4 for {pseudonym} now, with HRmax {hr_max} "
                                   "bpm ({source})?").format(
            pseudonym=pseudonym, hr_max=_num(known.get("hr_max_bpm"), 0),
            source=word(texts.SOURCES, known.get("hr_max_source")))), answered)

    def _maybe_ask_borg(self) -> None:
        """When the test phase ends, ask the Borg rating once (t asks again), and only when
        no other question is on screen (it waits for that)."""
        sid = self.doc.session_id
        if self._test_ended() and self._borg_asked_for != sid and \
                len(self.screen_stack) == 1:
            self._borg_asked_for = sid
            self.action_test_borg()

    async def action_adjust(self, speed_delta_kmh: float, incline_delta_pct: float) -> None:
        """A step of the test's load, up to the patient's cap where the step would pass it
        (a 1 % incline cap made every +2 % step a refusal); at the cap the console says so.
        Every press counts (the trial: "+++" in a second raised 5,0 → 6,0 km/t, the third
        refused in silence): the console keeps the load staff asked for and sets it on the
        belt one step at a time, within the session's one change per 2 s (``_drive_load``)."""
        d = self.doc
        if d.phase != "test":
            await self._send("adjust", speed_delta_kmh=speed_delta_kmh,
                             incline_delta_pct=incline_delta_pct)
            return
        speed, incline = self._load_wanted or d.test_load or (d.speed_set_kmh,
                                                              d.incline_set_pct)
        speed_cap, incline_cap = d.max_speed_kmh, d.max_incline_pct
        if incline_delta_pct > 0 and incline is not None and incline_cap is not None:
            room = round(incline_cap - incline, 1)
            if room <= 0:
                self.say(_("Incline is at the patient's cap ({cap} %) already.").format(
                    cap=_num(incline_cap, 0 if float(incline_cap).is_integer() else 1)))
                return
            incline_delta_pct = min(incline_delta_pct, room)
        if incline_delta_pct < 0 and incline:  # down to 0 %; at 0 % the service says
            incline_delta_pct = max(incline_delta_pct, -round(incline, 1))
        if speed_delta_kmh > 0 and speed is not None and speed_cap is not None:
            room = round(speed_cap - speed, 2)
            if room <= 0:
                self.say(_("Speed is at the patient's cap ({cap} km/h) already.").format(
                    cap=_num(speed_cap)))
                return
            speed_delta_kmh = min(speed_delta_kmh, room)
        if speed is None or incline is None:
            await self._send("adjust", speed_delta_kmh=speed_delta_kmh,
                             incline_delta_pct=incline_delta_pct)
            return
        self._load_wanted = (round(speed + speed_delta_kmh, 2),
                             round(incline + incline_delta_pct, 1))
        self.say(_("Test load asked for: {speed} km/h at {incline} %; the belt follows one "
                   "step every 2 s.").format(speed=_num(self._load_wanted[0]),
                                              incline=_num(self._load_wanted[1])))
        if not self._driving:  # the one running takes the new target on its next step
            self._driving = True
            self._drive_load()

    @work(group="load")
    async def _drive_load(self) -> None:
        try:
            await self._drive_load_steps()
        finally:
            self._driving = False

    async def _drive_load_steps(self) -> None:
        """Send the load staff asked for in the steps the session takes (0,5 km/h, 2 %,
        one per 2 s), until the session holds it; a refusal other than "too soon" is said
        and ends the request (the test ended, a pause, a stop)."""
        from controller.protocol import ADJUST_MAX_INCLINE_STEP_PCT, ADJUST_MAX_SPEED_STEP_KMH

        while self._load_wanted is not None and self.client is not None:
            d = self.doc
            if d.phase != "test":
                self._load_wanted = None
                return
            speed, incline = d.test_load or (d.speed_set_kmh, d.incline_set_pct)
            want_speed, want_incline = self._load_wanted
            dv = round(max(-ADJUST_MAX_SPEED_STEP_KMH,
                           min(ADJUST_MAX_SPEED_STEP_KMH, want_speed - (speed or 0.0))), 2)
            di = round(max(-ADJUST_MAX_INCLINE_STEP_PCT,
                           min(ADJUST_MAX_INCLINE_STEP_PCT, want_incline - (incline or 0.0))),
                       1)
            if dv == 0 and di == 0:
                self._load_wanted = None
                return
            reply = await self.client.command("adjust", speed_delta_kmh=dv,
                                              incline_delta_pct=di)
            if reply.get("ok"):
                # the next step from the load the session now holds (its state follows)
                before = (speed, incline)
                await self._state_after(
                    lambda before=before: tuple(self.doc.test_load or ()) not in ((), before))
                if self._load_wanted == tuple(self.doc.test_load or ()):
                    self._load_wanted = None
                    self.say(_(DONE["adjust"]))
                    return
            elif reply.get("code") == "adjust_too_soon":
                await asyncio.sleep(0.2)
            else:
                self._load_wanted = None
                self._say_refused(word(COMMANDS, "adjust"), reply)
                return

    async def _state_after(self, changed: Any, timeout_s: float = 2.0) -> None:
        """Wait (at most ``timeout_s``) until the pushed state shows ``changed()``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not changed():
                    await asyncio.sleep(0.05)

    def action_test_borg(self) -> None:
        """t: the test's Borg rating; once the service holds a proposal not decided yet
        (esc, or a refused decision), t shows that proposal again."""
        proposal = self.doc.hrmax_proposal
        if self._test_over() and proposal and not proposal.get("decision"):
            self._propose(dict(proposal))
            return
        if not self._test_ended():
            return
        self._ask_test_borg()

    def _ask_test_borg(self) -> None:
        """The Borg list; the rating goes to the service, which answers with a proposal."""
        async def rated(rpe: int | None) -> None:
            self._put_off(0, rpe is None)
            if rpe is None or self.client is None:
                return
            reply = await self.client.command("rpe", rpe=rpe)
            if not reply.get("ok"):
                self.say(_("[b red]Borg rating refused[/]: {error}").format(
                    error=texts.reply_text(reply)))
                return
            self.say("")  # an earlier refusal is not left beside the proposal it made
            self._propose(reply["proposal"])

        self.push_screen(BorgScreen(0), rated)  # the interval prompt: the same keys, words
        self.call_after_refresh(self._place_borg)

    def _propose(self, proposal: dict[str, Any], refused: str = "") -> None:
        """The HRmax proposal for staff; a refused decision shows it again with the reason
        (the service still holds it), so one slip never closes it."""
        async def decided(choice: dict[str, Any] | None) -> None:
            if choice is None or self.client is None:
                return
            if choice.get("decision") == "borg_again":
                self._ask_test_borg()  # a new rating makes a new proposal (still undecided)
                return
            reply = await self.client.command("hrmax", **choice)
            if reply.get("ok") and reply.get("profile"):
                self.message = _("HRmax {hr_max} bpm stored ({source}, {date}); the next 4x4 "
                                 "starts from it.").format(
                    hr_max=f"{reply['profile']['hr_max_bpm']:.0f}",
                    source=word(texts.SOURCES, reply["profile"]["hr_max_source"]),
                    date=_day(reply["profile"]["hr_max_date"]))
            elif reply.get("ok"):
                # the end summary says the HRmax in use is kept: said once (the trial:
                # «avvist: makspulsen i bruk beholdes» and «Makspulsen i bruk beholdes.»)
                self.message = _("HRmax proposal rejected.") \
                    if proposal.get("hr_max_bpm") is not None else \
                    _("No HRmax stored from this test.")  # none was proposed
            else:
                error = texts.reply_text(reply)
                self.message = _("[b red]HRmax decision refused[/]: {error}").format(
                    error=error)
                self._propose(proposal, error)
            self.say(self.message)

        self.push_screen(HrMaxProposalScreen(proposal, dict(self.state), refused), decided)

    def _ask_borg(self, phase: str, n: int) -> None:
        """At the end of each interval ask the Borg rating once (the 6-minute test asks its
        own: ``_maybe_ask_borg``)."""
        seen, self._seen = self._seen, (phase, n)
        if seen is None or seen == (phase, n) or seen[0] not in ("interval", "test"):
            return
        if seen[0] == "test":
            return  # the 6-minute test's rating is asked by its own prompt (once)
        ended = seen[1]
        if ended in self._asked or str(ended) in (self.doc.ratings or {}):
            return
        if not self._ran(ended):
            return  # skipped or stopped before it ran a minute: nothing to rate (b can)
        self._asked.add(ended)
        self.rate(ended)

    BORG_AFTER_S = 60.0
    """An interval is rated once it ran this long (session time) or to its end: one skipped
    after ~25 s was asked for (the trial), though the patient had hardly begun."""

    def _track_interval(self) -> None:
        """The session time each interval has run, from the pushed time left in it (it
        falls as the interval runs; +1 min makes it jump up, which is not running)."""
        d = self.doc
        left = d.phase_remaining_s
        if d.phase != "interval" or not d.interval or left is None:
            self._interval_left = None
            return
        n = d.interval
        before = self._interval_left
        if before is not None and before[0] == n and left < before[1]:
            step = before[1] - left  # session seconds between two pushes (0,5 s × speed)
            self._ran_s[n] = self._ran_s.get(n, 0.0) + step
            self._push_step_s = max(self._push_step_s, step)
            # the last push before its end (a loaded machine pushes late: the largest gap
            # seen, three times over)
            if left <= max(2.0, 3 * self._push_step_s):
                self._ran_s[n] = max(self._ran_s[n], self.BORG_AFTER_S)  # to its end
        self._interval_left = (n, left)

    def _ran(self, interval: int) -> bool:
        """``interval`` ran long enough to be rated; where this console cannot tell (opened
        after it, or it saw the interval in one state push only): yes, as before."""
        ran = self._ran_s.get(interval)
        return ran is None or ran >= self.BORG_AFTER_S

    def say(self, message: str, note: str | None = None) -> None:
        """``message`` on the message line; an open Borg prompt (it covers that line) says
        it too, as ``note`` where given (shorter: the prompt's lines are few)."""
        message = self._said_at_rest(message)
        self.message = message
        if self._widgets_gone():
            return
        self.query_one("#message", Static).update(self._message_text())
        top = self.screen
        if isinstance(top, BorgScreen) and message:
            # the message line is under the prompt (the trial: the report's «lagret» hidden
            # behind the Borg box): on the prompt at once, and again once it closes
            from rich.text import Text

            plain = Text.from_markup(note or message).plain
            top.note(wrapped(plain, BORG_NOTE_WIDTH), plain)
            if top.interval > 0:  # an interval's prompt (``rate``): said again after it
                self._under_prompt = message

    async def _send(self, cmd: str, **kw: Any) -> dict[str, Any]:
        name = word(COMMANDS, cmd)
        if self.client is None:
            self.say(_("not connected to the control service"))
            return {"ok": False}
        paused_skip = cmd == "skip" and self.doc.state == "paused"
        was = (self.doc.phase, self.doc.interval)
        # the log as it was before the command: the state with the command's own line can
        # come in before its reply (the trial: «Økten fortsetter.» stayed beside «Fortsatt
        # av personalet», the line already in the log it was compared with)
        logged_before = list(self.doc.event_list or [])
        # what `a` took, from the held line as shown when it was pressed (its severity as
        # the service sent it): by the reply the state no longer holds it
        done = self._acknowledged_words(str(kw["alarm"]), logged_before) if cmd == "ack" \
            else _(DONE[cmd]).format(**kw) if cmd in DONE else \
            _("{command}: done").format(command=name)
        reply = await self.client.command(cmd, **kw)
        if paused_skip and reply.get("ok"):  # the phase moves on at resume: which one
            await self._state_after(lambda: (self.doc.phase, self.doc.interval) != was)
            done = self._skipped_while_paused()
        code = reply.get("code")
        if reply.get("ok"):
            kind = None if paused_skip else self.LOGGED.get(cmd)  # (the log: not when)
            if kind is not None and self._logged(kind, logged_before):
                self.say("")  # the log says it already: said once
            else:
                self.say(done)
                if kind is not None:
                    self._said = (kind, done, logged_before)
        elif isinstance(code, str) and code.startswith(cmd + "_") and code in REFUSALS:
            # the refusal names the command itself («Kan ikke fortsette: …»): one sentence,
            # not «fortsett avvist: Kan ikke fortsette: …» (the trial)
            self.say("[b red]" + texts.reply_text(reply) + "[/]")
        else:
            self._say_refused(name, reply)
        return reply

    def _say_refused(self, command: str, reply: dict[str, Any]) -> None:
        """«{command} avvist: the reason», or the reason alone where it is a whole sentence
        that says what to do first and the command adds nothing to it (trial 9: `h` with no
        patient said «historikk avvist: Ingen pasient valgt: velg pasienten først (n).»)."""
        if reply.get("code") in SAID_ALONE:
            self.say("[b red]" + texts.reply_text(reply) + "[/]")
            return
        self.say("[b red]" + _("{command} refused").format(command=command) + "[/]: "
                 + texts.reply_text(reply))

    def _skipped_while_paused(self) -> str:
        """What a skip while paused did, naming the part that begins at resume (the trial:
        «Hoppet over: neste del begynner når du fortsetter (r)» named none)."""
        d = self.doc
        part = _("interval {n}").format(n=d.interval) if d.phase == "interval" else \
            word(texts.PHASES, d.phase) if d.phase in ("warmup", "recovery", "cooldown",
                                                       "test") else ""
        if not part:
            return _("Skipped: the next part begins when you resume (r).")
        return _("Skipped: {part} begins when you resume (r).").format(part=part)

    # -- actions ----------------------------------------------------------------------------

    async def action_history(self) -> None:
        if self.client is None:
            return
        reply = await self.client.command("history")
        if reply.get("ok"):
            self.push_screen(HistoryScreen(reply["history"]))
        else:
            self._say_refused(_(COMMANDS["history"]), reply)

    async def action_export(self) -> None:
        """w: choose which of the patient's sessions the report is for (the newest first:
        Enter at once writes it; the trial: only the latest could be written), then write."""
        if self.client is None:
            return
        listed = await self.client.command("sessions")
        sessions = listed.get("sessions") if listed.get("ok") else None
        if not isinstance(sessions, list) or not sessions:  # refused (none recorded yet)
            self._say_refused(_(COMMANDS["export"]), listed if not listed.get("ok") else
                              {"ok": False, "code": "no_recorded_session"})
            return

        async def chosen(session_id: str | None) -> None:
            if session_id is None or self.client is None:
                self.say(_("No report written."))
                return
            reply = await self.client.command("export", session_id=session_id)
            if reply.get("ok"):
                self.say(report_saved(reply["files"]),
                         note=report_saved(reply["files"], short=True))
                return
            self._say_refused(_(COMMANDS["export"]), reply)

        self.push_screen(ReportChooser(str(listed.get("pseudonym") or ""), sessions), chosen)

    async def action_export_live(self) -> None:
        await self.action_export()

    def _live(self) -> bool:
        d = self.doc
        return bool(d.started) and d.state not in ("stopping", "done")

    def _belt_still(self) -> bool:
        d = self.doc
        return not d.started or (d.state == "done" and (d.speed_kmh or 0.0) < 0.05)

    async def action_quit(self) -> None:
        """q: with no session running the console quits. During one it asks first, then
        stops the session (the belt slows to a stop) and quits once the belt stands still:
        a console closed by a slip never leaves a belt running with nobody watching it."""
        if self.client is None or self._belt_still():
            self.exit()
            return
        if not self._live():  # stopping already: quit when the belt stands still
            self._quit_when_stopped = True
            self.say(_("The session is stopping: the console quits when the belt stands "
                       "still."))
            return

        async def done(yes: bool | None) -> None:
            if not yes:
                self.say(_("Quit cancelled: the session goes on."))
                return
            reply = await self._send("stop")
            if reply.get("ok") or not self._live():
                self._quit_when_stopped = True
                self.say(_("Stopping the session: the console quits when the belt stands "
                           "still."))

        self.push_screen(Confirm(_("A session is running. Stop it (the belt slows to a "
                                   "stop) and quit the console?")), done)

    def action_fixed(self) -> None:
        self.say(_("the session has started: patient and plan are fixed"))

    def action_patient(self) -> None:
        async def submit(result: dict[str, Any]) -> str | None:
            """The form stays open with the reason next to the field if refused."""
            if self.client is None:
                return _("not connected to the control service")
            reply = await self.client.command("setup", **result)
            if reply.get("ok"):
                self.suggested = None  # staff chose: the next patient's form starts empty
                self.say(_("{pseudonym} is chosen: press s to start").format(
                    pseudonym=result.get("profile", {}).get("pseudonym", "")))
                return None
            return texts.coded_reply_text(reply)  # the form places it by its code

        async def lookup(pseudonym: str) -> dict[str, Any] | None:
            """The register's profile of this pseudonym (None: a new patient)."""
            if self.client is None:
                raise ConnectionError(_("not connected to the control service"))
            reply = await self.client.command("patient", pseudonym=pseudonym)
            if not reply.get("ok"):
                raise ValueError(str(reply.get("error")))
            return reply.get("patient")

        # after a session the form is for the next patient: it starts empty (or from the
        # demo's --patient while nobody is chosen), nothing of the patient before carries over
        over = self.doc.started and self.doc.state == "done"
        current = {} if over else self.state
        self.push_screen(PatientScreen(current, submit, lookup,
                                       suggested=self.suggested))

    def rate(self, interval: int, owed: bool = False) -> None:
        """Ask the Borg rating of ``interval``: one prompt at most (an open one moves on to
        this interval), and never over another question (it waits until that is answered:
        ``_borg_waiting``). ``owed`` (b): after each rating the prompt asks the next one
        owed (``_next_owed``)."""
        top = self.screen
        if isinstance(top, BorgScreen):
            if top.interval != interval and top.interval > 0:  # moved on: owed, not lost
                self._put_off(top.interval, True)
            top.ask(interval)
            return
        if len(self.screen_stack) > 1:  # a confirmation, a form, a list: do not hide it
            self._borg_waiting = interval
            return
        self._borg_waiting = None
        prompt = BorgScreen(interval, self._next_owed if owed else None)
        prompt.opened_in = (self.doc.phase, self.doc.interval or 0)

        async def done(borg: int | None) -> None:
            if borg is None and prompt.expired:
                self._borg_owed.add(prompt.interval)
                self.refresh_bindings()
                self.say(_("Borg rating not recorded for interval {n}: press b to give it "
                           "later.").format(n=prompt.interval))
            elif borg is None or prompt.interval in self._borg_owed:
                self._put_off(prompt.interval, borg is None)
            if borg is not None:
                await self._send("borg", interval=prompt.interval, borg=borg)
            said, self._under_prompt = self._under_prompt, ""
            if said and said not in self.message:  # said under the prompt: not lost after
                # the newest first: a report's long path under it (4 lines) pushed the
                # rating's «lagret» out of the message line's 4 (a CI run's longer tmp path)
                self.say(f"{self.message}\n{said}" if self.message else said)

        self.push_screen(prompt, done)
        self.call_after_refresh(self._place_borg)

    def _put_off(self, interval: int, later: bool) -> None:
        """A Borg rating put off with esc stays in view: a line says how to give it, the
        footer shows its key until it is given (the trial: it was lost without a word)."""
        if later:
            self._borg_owed.add(interval)
        else:
            self._borg_owed.discard(interval)
        owed = self._intervals_owed()
        if later:
            self.say(_("Borg rating of the 6-minute test not given: t gives it later.")
                     if interval == 0 else
                     _("Borg rating of interval {n} not given: b gives it later.").format(
                         n=interval) if len(owed) < 2 else
                     _("Borg ratings of intervals {intervals} not given: b gives them "
                       "later, one by one.").format(intervals=", ".join(map(str, owed))))
        self.refresh_bindings()  # the footer: its key comes or goes

    def _next_owed(self, interval: int, borg: int) -> int | None:
        """A rating owed given on the prompt b opened: sent now, and the next interval owed
        (the prompt stays open for it), or None (the prompt closes and sends the rating)."""
        later = [n for n in self._intervals_owed() if n != interval]
        if not later:
            return None
        self._put_off(interval, False)
        self.run_worker(self._send("borg", interval=interval, borg=borg),
                        group="borg_owed")
        return later[0]

    def action_stray_digit(self, digit: str) -> None:
        """A digit typed on the main screen, where no prompt is open, is said to have been
        used for nothing (the trial: «16 Enter» typed after a rating went nowhere)."""
        if self.screen is not self.screen_stack[0]:
            return
        self._stray = (self._stray + digit)[-4:]
        owed = self._intervals_owed()
        self.say(_("No Borg prompt is open: {typed} was not used. b gives the rating owed.")
                 .format(typed=self._stray) if owed else
                 _("No prompt is open: {typed} was not used.").format(typed=self._stray))

    def _intervals_owed(self) -> list[int]:
        """The intervals whose Borg rating was put off and the service does not hold yet."""
        rated = self.doc.ratings or {}
        return sorted(n for n in self._borg_owed if n > 0 and str(n) not in rated)

    def action_borg_owed(self) -> None:
        """b: the Borg ratings put off with esc, the earliest first, each for its own
        interval."""
        owed = self._intervals_owed()
        if owed:
            self.rate(owed[0], owed=True)

    def action_test_borg_owed(self) -> None:
        self.action_test_borg()

    def action_borg(self) -> None:
        """Rate (or correct) the last interval that ran."""
        n = max(self._last_interval, self.doc.interval or 0)
        if self.doc.phase == "interval" and n > 1:
            n -= 1  # the one running now has not ended: the one before
        self.rate(n)

    def action_note(self) -> None:
        async def done(text: str | None) -> None:
            if text:
                await self._send("note", text=text)

        self.push_screen(NoteScreen(), done)

    def action_strap(self) -> None:
        if self.doc.started:
            self.message = _("The session has started: the strap is fixed until it ends.")
            self.query_one("#message", Static).update(self._message_text())
            return

        async def scan(seconds: float) -> dict[str, Any]:
            if self.client is None:
                return {"ok": False, "error": _("not connected to the control service")}
            return await self.client.command("scan", seconds=seconds)

        async def done(chosen: dict[str, Any] | None) -> None:
            if chosen is not None:
                await self._send("pair", strap=chosen["strap"],
                                 confirm_in_use=chosen["confirm_in_use"])

        self.push_screen(StrapScreen(scan), done)

    async def action_demo_reset(self) -> None:
        """g (the demo): press the emulated treadmill's reset button, as staff do at a real
        treadmill after a fault. The belt stays still; staff resume or stop."""
        await self._send("demo_reset")

    async def action_start(self) -> None:
        await self._send("start")

    async def action_start_again(self) -> None:
        """A second Start: the service refuses it, and the console says why; after the
        session it says how the next one starts."""
        if self.doc.state == "done":
            self.say(_("The session has ended: choose the next patient (n), then start (s)."))
            return
        await self._send("start")

    async def action_pause(self) -> None:
        await self._send("pause")

    def action_pause_again(self) -> None:
        """p while paused: the session is paused already, and r goes on (the trial: p did
        nothing and said nothing, with «r Fortsett» in the footer)."""
        self.say(_("The session is already paused: press r to resume."))

    async def action_resume(self) -> None:
        await self._send("resume")

    async def action_extend(self) -> None:
        await self._send("extend", seconds=60)

    def _held_names(self) -> list[Mapping[str, Any]]:
        """The names held for staff to acknowledge, in the order their lines are shown."""
        d = self.doc
        return list(d.alarm_list or [{"kind": k, "message": m}
                                     for k, m in (d.alarms or {}).items()])

    async def action_ack(self) -> None:
        """a: the held alarm or warning shown first, one per press, as the monitor does (the
        trial: one press took the strap warning and the lost-pulse line together, and said
        only «Alarmen er kvittert.»); the others stay, with their «(a: kvitter)»."""
        held = self._held_names()
        if held:
            await self._send("ack", alarm=str(held[0]["kind"]))

    def _acknowledged_words(self, alarm: str, before: Sequence[Mapping[str, Any]]) -> str:
        """What `a` acknowledged, in the words the log (and the report) give its event: the
        severity's word and which one, in the past where the pulse came back (``before``:
        the log as it was when `a` was pressed)."""
        held = next((a for a in self._held_names() if a.get("kind") == alarm), {"kind": alarm})
        severity = "warning" if alarm_is_warning(held) else "alarm"
        event = {"kind": "acknowledged", "severity": "info",
                 "message": f"{severity} {alarm} acknowledged",
                 "params": {"alarm": alarm, "severity": severity}}
        from rich.markup import escape  # the message line draws markup: the name is data

        return escape(event_words(acks_said_as_past([*before, event], self.doc.started_s)[-1]))

    def action_skip(self) -> None:
        self.push_screen(Confirm(_("Skip the rest of this phase?")), self._confirmed("skip"))

    def action_stop(self) -> None:
        self.push_screen(Confirm(_("Stop the session (the belt slows to a stop)?")),
                         self._confirmed("stop"))

    def _confirmed(self, cmd: str):  # type: ignore[no-untyped-def]
        async def done(yes: bool | None) -> None:
            if yes:
                await self._send(cmd)
            else:
                self.say(sentence_case(_("{command} cancelled").format(
                    command=word(COMMANDS, cmd))))
        return done
