"""Patient entry (pseudonym only) and plan choice, before the session starts.

A known pseudonym loads *that* patient's profile from the register (HRmax with its source and
date, HRrest, caps, walk-only, age): nothing carries over from the patient before or from the
config. The form starts empty unless this session's patient was chosen already. An HRmax
staff change needs its source chosen again; an HRmax left as the register has it is not sent,
so the register keeps its source and date (a 6-minute test result is never overwritten by a
default). A new patient needs HRmax and its source.

Numbers take a decimal comma or point (``6,5`` and ``6.5``) and show in the UI's language;
anything else, or a value out of range, is refused under its field in the form's language.
A refused entry keeps the form open with everything typed. An age and an age formula
(Tanaka, Nes, Keteyian with HRrest) fill in HRmax.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import TEXT_STOP_BINDING
from controller.app.texts import PLAN_INCLINE_MIN, error_text
from controller.app.texts import WHOLE_NUMBER_WORDS as WHOLE
from controller.core.hrmax import FORMULA_CONFLICT, formula_bpm
from controller.core.i18n import N_, _, format_date, format_number, parse_number
from controller.core.pseudonym import pseudonym_problem

SOURCES = [(N_("measured (lab test)"), "measured"), (N_("6-minute test"), "six_minute_test"),
           (N_("6-minute test, edited"), "six_minute_test_edited"),
           (N_("Tanaka age formula"), "tanaka"), (N_("Nes age formula"), "nes"),
           (N_("Keteyian (beta-blockers)"), "keteyian"), (N_("observed peak"), "observed_peak"),
           (N_("set by staff"), "staff_entered")]
PLANS = [(N_("4x4 intervals"), "4x4"), (N_("6-minute test"), "six_minute_test")]
FIELDS = ("pseudonym", "age", "source", "hr_max", "hr_rest", "max_speed", "max_incline",
          "pace")
# Which field a refusal from the service is about, by the words in it (the service names
# the profile field; the plan's refusals are about the 6-minute test's pace).
ERROR_FIELDS = (("pseudonym", "pseudonym"), ("age", "age"), ("hr_rest", "hr_rest"),
                ("hr_max", "hr_max"), ("HRmax", "hr_max"), ("max_speed", "max_speed"),
                ("incline", "max_incline"), ("cap", "pace"), ("speed", "pace"),
                ("plan", "pace"))

Submit = Callable[[dict[str, Any]], Awaitable[str | None]]
Lookup = Callable[[str], Awaitable[dict[str, Any] | None]]
"""The register's profile of a pseudonym (None: a new patient); raises on no answer."""

"""A plain decimal number, with a comma or a point (6,5 and 6.5): nothing else."""
LIMITS: dict[str, tuple[float, float, str]] = {
    "age": (10, 100, N_("age must be {low}–{high} years")),
    "hr_max": (100, 230, N_("HRmax must be {low}–{high} bpm")),
    "hr_rest": (30, 130, N_("HRrest must be {low}–{high} bpm")),
    "max_speed": (2, 20, N_("max speed must be {low}–{high} km/h")),
    "max_incline": (0, 25, N_("max incline must be {low}–{high} %")),
    "pace": (1, 20, N_("6-minute test pace must be {low}–{high} km/h")),
}
NOT_A_NUMBER = {"max_speed": N_("max speed: write a number of km/h, e.g. {example}"),
                "max_incline": N_("max incline: write a number of %, e.g. {example}"),
                "pace": N_("6-minute test pace: write a number of km/h, e.g. {example}")}
"""What a field that is not a number is told, in its own words (whole-number fields: WHOLE)."""
FORMULAS = ("tanaka", "nes", "keteyian")
EXAMPLES = {"age": 45, "hr_max": 178, "hr_rest": 65, "max_speed": 6.5, "max_incline": 7.5,
            "pace": 4.5}
ERROR_WIDTH = 73
"""The width of the line under a field (``.fielderror`` in console.tcss)."""
LOOKUP_DELAY_S = 0.4
"""The register is asked this long after the last keystroke in the pseudonym."""


def show_number(x: float | None) -> str:
    """A value as staff type it, in the UI's language: 6,5 in bokmål, 12 not 12,0."""
    if x is None:
        return ""
    return format_number(x, 0 if float(x).is_integer() else 1).replace("\u00a0", "")


def show_field(wid: str, x: float | None) -> str:
    """A form field's value: a speed always with its decimal, as every screen writes a
    speed (9,0 km/t; the register's 9.0 showed as "9"); the rest by ``show_number``."""
    if wid == "max_speed" and x is not None:
        return format_number(x, 1)
    return show_number(x)


PLAN_REFUSALS = (  # the service's refusals of a plan that does not fit the caps
    (re.compile(r"needs at least ([0-9.]+) % incline"), "max_incline",
     PLAN_INCLINE_MIN),
    (re.compile(r"runs at ([0-9.]+) km/h, above the patient's cap"), "pace",
     N_("6-minute test pace is above the patient's max speed")),
)


PROFILE_FIELD = {"hr_max": "hr_max", "hr_rest": "hr_rest", "max_speed_kmh": "max_speed",
                 "max_incline_pct": "max_incline", "age_years": "age",
                 "min_speed_kmh": "max_speed"}
CODE_FIELD = {"profile_hr_rest": "hr_rest", "profile_min_speed": "max_speed",
              "profile_source": "source", "hrmax_source_needed": "source",
              "unknown_patient": "hr_max", "bad_pseudonym": "pseudonym",
              "plan_incline_min": "max_incline", "plan_incline_cap": "max_incline",
              "plan_speed_cap": "pace", "plan_fixed_speed": "pace",
              "plan_fixed_incline": "pace"}
"""The field a coded refusal from the service is about (``controller.core.refusals``)."""


def refusal(error: str) -> tuple[str, str]:
    """The field a refusal from the service is about, and what to say there in the form's
    language (a range refusal is said with the form's own limits, never a field's code
    name). A coded refusal (``texts.coded_reply_text``) is placed by its code; its text is
    already in the form's language."""
    code, params = getattr(error, "code", None), getattr(error, "params", {})
    field = PROFILE_FIELD.get(str(params.get("field"))) \
        if code in ("profile_range", "profile_number") else CODE_FIELD.get(str(code))
    if field is not None:
        if code == "plan_incline_min":  # the form's own, shorter words
            return field, _(PLAN_REFUSALS[0][2]).format(
                value=show_number(float(params.get("needed_pct", 0))))
        if code == "plan_speed_cap":
            return field, _(PLAN_REFUSALS[1][2])
        if code == "profile_range" and field in LIMITS:
            low, high, text = LIMITS[field]
            return field, _(text).format(low=show_number(low), high=show_number(high))
        return field, str(error)
    for pattern, field, text in PLAN_REFUSALS:
        found = pattern.search(error)
        if found:
            return field, _(text).format(value=show_number(float(found.group(1))))
    field = field_of(error)
    said = error_text(error)
    if said == error and "must be" in error and field in LIMITS:
        low, high, text = LIMITS[field]
        said = _(text).format(low=show_number(low), high=show_number(high))
    return field, said


def field_of(error: str) -> str:
    for word, field in ERROR_FIELDS:
        if word in error:
            return field
    return "pseudonym"


class NumberInput(Input):
    """A number field. Whatever is typed stays in view: anything that is not a number is
    said at once under the field in its own words, and ctrl+s refuses it (the trial: letters
    were dropped key by key by a restricted field, "tretti" left an empty age; before that,
    s meant as Start went into the age field as "45s", now shown and refused in words)."""


class PatientScreen(ModalScreen[None]):
    """Patient entry (pseudonym only) and plan choice, before the session starts."""

    # its own footer, over the console's: only the keys that work in the form (the console's
    # n, s, h, w and q showed under it and did nothing there)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel")),
                                             Binding("ctrl+s", "save", N_("Save")),
                                             TEXT_STOP_BINDING]

    def __init__(self, current: dict[str, Any], submit: Submit,
                 lookup: Lookup | None = None,
                 suggested: dict[str, Any] | None = None) -> None:
        super().__init__()
        chosen = bool(current.get("pseudonym")) and current.get("hr_max") is not None
        self.suggested = None if chosen else suggested
        """Fields filled in for staff to check (the console demo's --patient), as if typed:
        nothing is chosen until staff save."""
        self.current = current
        self.submit = submit
        self.lookup = lookup
        self.loaded: dict[str, Any] | None = None
        """The profile shown, as the service has it (register or this session's choice):
        its pseudonym, HRmax and source. None: a new patient, typed by staff."""
        if chosen:
            self.loaded = {"pseudonym": current["pseudonym"], "hr_max_bpm": current["hr_max"],
                           "hr_max_source": current.get("hr_max_source") or None,
                           "hr_max_date": current.get("hr_max_date"),
                           "hr_rest_bpm": current.get("hr_rest"),
                           "max_speed_kmh": current.get("max_speed_kmh"),
                           "max_incline_pct": current.get("max_incline_pct"),
                           "walk_only": current.get("walk_only"),
                           "age_years": current.get("age_years")}
        self._looked_up: str | None = current.get("pseudonym") if chosen else None
        self._filled = ""
        """The HRmax the age formula put in the field (it may put in another when the age
        changes, but never over a value staff typed)."""
        self._timer: Any = None
        self._source_cleared: object = None
        """The register's source the form took away when staff changed its HRmax (given back
        when they type the register's HRmax again)."""
        self._new_hint = False
        """The "new patient" hint shows under the pseudonym (it goes once HRmax and its
        source are filled in)."""
        self._busy = asyncio.Lock()
        keys = self._bindings.key_to_bindings  # the footer in the process's language
        for key, bindings in keys.items():
            keys[key] = [dataclasses.replace(b, description=_(b.description))
                         if b.description else b for b in bindings]

    def compose(self) -> ComposeResult:
        c = self.loaded or self.suggested or {}

        def err(field: str) -> Static:
            return Static("", id=f"{field}_error", classes="fielderror")

        with Grid(id="form"):
            yield Label(_("pseudonym"), id="pseudonym_label")
            # the rule before typing (the trial: it came only with ctrl+s's refusal)
            yield Input(str(c.get("pseudonym", "")), id="pseudonym", compact=True,
                        placeholder=_("the clinic's code, e.g. P-17 or OUS-0042"))
            yield err("pseudonym")
            yield Label(_("age (optional)"), id="age_label")
            yield NumberInput(show_number(c.get("age_years")), id="age", compact=True)
            yield err("age")
            yield Label(_("HRmax from"), id="source_label")
            yield Select([(_(label), v) for label, v in SOURCES],
                         value=c.get("hr_max_source") or Select.NULL, id="source",
                         prompt=_("choose the source"), compact=True)
            yield err("source")
            yield Label(_("HRmax bpm"), id="hr_max_label")
            yield NumberInput(show_number(c.get("hr_max_bpm")), id="hr_max", compact=True)
            yield err("hr_max")
            yield Label(_("HRrest bpm (optional)"), id="hr_rest_label")
            yield NumberInput(show_number(c.get("hr_rest_bpm")), id="hr_rest", compact=True)
            yield err("hr_rest")
            yield Label(_("max speed km/h"), id="max_speed_label")
            yield NumberInput(show_field("max_speed", c.get("max_speed_kmh")), id="max_speed",
                              compact=True)
            yield err("max_speed")
            yield Label(_("max incline %"), id="max_incline_label")
            yield NumberInput(show_number(c.get("max_incline_pct")), id="max_incline", compact=True)
            yield err("max_incline")
            yield Label(_("walk only"), id="walk_only_label")
            walk = bool(c.get("walk_only"))
            yield Checkbox(_("yes") if walk else _("no"), walk, id="walk_only", compact=True)
            yield Label(_("plan"), id="plan_label")
            yield Select([(_(label), v) for label, v in PLANS],
                         value="six_minute_test" if self.current.get("plan") == "6-minute test"
                         else "4x4", id="plan", allow_blank=False, compact=True)
            yield Label(_("6-minute test pace km/h"), id="pace_label")
            yield NumberInput(show_number(4.5), id="pace", compact=True)
            yield err("pace")
            yield Button(_("Save (ctrl+s)"), id="save", variant="primary", compact=True)
            yield Button(_("Cancel (esc)"), id="cancel", compact=True)
            yield Static("", id="cursor_note")
        yield CatalogFooter(compact=True)

    def _typed(self) -> tuple[object, ...]:
        """What staff can change on the form, to tell whether anything would be lost."""
        return tuple(w.value for w in self.query("Input, Select, Checkbox"))  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        # the labels' and buttons' own words, for the focus mark (``_mark_focus``)
        self._plain: dict[str, str] = {
            w.id: str(w.content) for w in self.query("#form Label").results(Label) if w.id}
        self._plain.update({w.id: str(w.label)
                            for w in self.query("#form Button").results(Button) if w.id})
        self._focus_name = ""
        self._as_opened = self._typed()
        self._mark(self.query_one("#walk_only", Checkbox))
        self._plan_fields()
        if self.loaded is not None:
            self._show("pseudonym", self._profile_line(self.loaded), error=False)
        else:
            self._pseudonym_rule()

    def _pseudonym_rule(self) -> None:
        """Until the pseudonym fits the clinic's rule, the rule shows under it as a hint (a
        refusal from ctrl+s stays a refusal until it fits); once it fits, the register's
        answer says what it is."""
        box = self.query_one("#pseudonym_error", Static)
        problem = pseudonym_problem(self.query_one("#pseudonym", Input).value.strip())
        refused = box.has_class("shown") and not box.has_class("hint")
        if problem is not None:
            if not refused:
                self._show("pseudonym", problem, error=False)
        elif refused or str(box.render()) == pseudonym_problem(""):
            self._show("pseudonym", "")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A field reached by Tab (or shift+tab) has its cursor at the end of what is there,
        nothing selected: the next key adds to the value, never replaces it unseen (the
        trial: Tab selected «6,5», and the «0» typed next was all that was left). Its label
        is marked (``_mark_focus``)."""
        if isinstance(event.widget, Input):
            event.widget.select_on_focus = False
            event.widget.cursor_position = len(event.widget.value)
        self._mark_focus(event.widget)

    def _mark_focus(self, widget: Any) -> None:
        """The focused field's label (or the focused button) is drawn with a «▶» and
        highlighted, and the others are not: at 80×24 a compact field's focus showed only as
        a reverse-video cursor (the trial: «6,5» typed into the age, «178» onto a button).
        After a refused save, the line under the buttons names where the cursor is, and
        follows it."""
        self._focus_name = ""
        for wid, plain in self._plain.items():
            target = self.query_one(f"#{wid}")
            here = target is widget or (wid.endswith("_label") and
                                        widget.id == wid.removesuffix("_label"))
            if here:
                self._focus_name = plain
            text = f"▶ {plain}" if here else plain
            if isinstance(target, Button):
                target.label = text
            elif isinstance(target, Label):
                target.update(text)
            target.set_class(here, "focused")
        note = self.query_one("#cursor_note", Static)
        if note.has_class("shown"):
            note.update(_("The cursor is in: {field}").format(field=self._focus_name))

    def _say_where_the_cursor_is(self) -> None:
        """After a refused save: the line under the buttons says where the cursor is."""
        note = self.query_one("#cursor_note", Static)
        note.add_class("shown")
        self._mark_focus(self.app.focused)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """A number field left holding what it does not take («6,5,», makspuls 300) says so
        now, under it, the text kept (the trial: said only at ctrl+s; while typing, «6,» is
        a number on its way and 17 one on its way to 176)."""
        if isinstance(event.widget, Input):
            wid = event.widget.id or ""
            if wid in LIMITS and event.widget.value.strip() and self.is_mounted:
                _value, why = self._checked(wid)
                if why:
                    self._show(wid, why)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.run_worker(self.action_save())
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Esc closes an untouched form; what staff typed is thrown away only when they say
        so (the trial: Esc on a half-filled form lost six fields without a word)."""
        if self._typed() == getattr(self, "_as_opened", None):
            self.dismiss(None)
            return
        from controller.app.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(Confirm(_("Throw away what you typed in the form?")), answered)

    # -- the register's profile of a known pseudonym ----------------------------------------

    @staticmethod
    def _profile_line(p: dict[str, Any]) -> str:
        from controller.app.texts import SOURCES as SOURCE_WORDS
        from controller.app.texts import word

        when = p.get("hr_max_date")
        with contextlib.suppress(ValueError):
            when = format_date(dt.date.fromisoformat(when)) if when else None
        source = word(SOURCE_WORDS, p.get("hr_max_source"))
        # one line: the caps show in their own fields
        text = _("in the register: HRmax {hr_max} ({source}{date})") if \
            p.get("from_register") else _("chosen for this session: HRmax {hr_max} ({source}"
                                          "{date})")
        return text.format(hr_max=show_number(p.get("hr_max_bpm")), source=source,
                           date=f", {when}" if when else "")

    @staticmethod
    def _mark(box: Checkbox) -> None:
        """The walk-only state by mark and word (X ja / nei), not by colour alone."""
        box.BUTTON_INNER = "X" if box.value else " "
        box.label = _("yes") if box.value else _("no")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._mark(event.checkbox)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("hr_max", "age"):
            self._age_confirmed = None  # another value: asked again (``_age_question``)
        self._not_a_number(event.input.id or "")
        self._clear_if_valid(event.input.id or "")
        if event.input.id in ("age", "hr_rest"):
            self._from_age()
            self._clear_if_valid("hr_max")
            self._hint_done()  # the age formula may have filled in the makspuls
        elif event.input.id == "pseudonym":
            self._pseudonym_rule()
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_timer(LOOKUP_DELAY_S, self._lookup_now)
        elif event.input.id == "hr_max":
            self._hr_max_edited()
            self._hint_done()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "pseudonym":
            self._lookup_now()

    def _lookup_now(self) -> None:
        # the method, not a coroutine made now: a lookup superseded (exclusive) or left by a
        # closing form before it ran never leaves an unawaited coroutine behind
        # (mypy does not solve Textual's WorkType union for an async method: Never)
        self.run_worker(self.load_patient, group="lookup",  # type: ignore[arg-type]
                        exclusive=True)

    async def load_patient(self) -> bool:
        """Fill the form from the register when the pseudonym names a known patient; when it
        does not, empty what the patient before left (a value staff typed since stays).
        True: a register profile was loaded just now (staff have not seen it yet). One at a
        time, and never beside a save: the replies on the console's one connection come
        back in the order the commands went."""
        async with self._busy:
            return await self._load_patient()

    async def _load_patient(self) -> bool:
        pseudonym = self.query_one("#pseudonym", Input).value.strip()
        if pseudonym == self._looked_up:
            return False
        found: dict[str, Any] | None = None
        if pseudonym and self.lookup is not None:
            try:
                found = await self.lookup(pseudonym)
            except (TimeoutError, ValueError, OSError, ConnectionError):
                return False  # not a pseudonym (yet), or no service: Save says why
            if self.query_one("#pseudonym", Input).value.strip() != pseudonym:
                return False  # typed on meanwhile
        self._looked_up = pseudonym
        before, self.loaded = self.loaded, None if found is None else dict(
            found, pseudonym=pseudonym, from_register=True)
        self._source_cleared = None
        self._new_hint = False
        if self.loaded is not None:
            self._fill(self.loaded)
            self._clear()
            self._show("pseudonym", self._profile_line(self.loaded), error=False)
            return True
        if before is not None:
            self._fill({}, only_if=before)
        self._new_hint = bool(pseudonym)
        if pseudonym:
            self._hint_done()
        else:
            self._pseudonym_rule()
        return False

    def _hint_done(self) -> None:
        """The "new patient" hint names what is still missing of HRmax and its source (an
        empty field), and goes once both are filled in; it follows every change (the trial:
        it named both when the pseudonym was fixed after HRmax and the age formula were
        filled in)."""
        if not self._new_hint:
            return
        # filled in, not yet valid, is not missing: its own line says what is wrong (the
        # trial: «fyll inn makspuls» under a makspuls of 17, typed on its way to 176)
        hr_max = bool(self.query_one("#hr_max", Input).value.strip())
        source = self.query_one("#source", Select).value != Select.NULL
        text = "" if hr_max and source else \
            _("new patient: enter HRmax") if source else \
            _("new patient: choose where HRmax comes from (HRmax from)") if hr_max else \
            _("new patient: enter HRmax and its source")
        self._show("pseudonym", text, error=False)

    def _fill(self, p: dict[str, Any], only_if: dict[str, Any] | None = None) -> None:
        """Every patient field from ``p`` (empty where it has none): nothing carries over.
        With ``only_if`` (the patient before), only the fields that still show that
        patient's value change."""
        boxes = {"age": "age_years", "hr_max": "hr_max_bpm", "hr_rest": "hr_rest_bpm",
                 "max_speed": "max_speed_kmh", "max_incline": "max_incline_pct"}
        for wid, key in boxes.items():
            box = self.query_one(f"#{wid}", Input)
            if only_if is not None and box.value != show_field(wid, only_if.get(key)):
                continue
            with box.prevent(Input.Changed):  # not an edit: no age formula, no new source
                box.value = show_field(wid, p.get(key))
        source = self.query_one("#source", Select)
        if only_if is None or source.value == (only_if.get("hr_max_source") or Select.NULL):
            with source.prevent(Select.Changed):
                source.value = p.get("hr_max_source") or Select.NULL
        walk = self.query_one("#walk_only", Checkbox)
        if only_if is None or walk.value == bool(only_if.get("walk_only")):
            walk.value = bool(p.get("walk_only"))
            self._mark(walk)

    def _hr_max_unchanged(self) -> bool:
        """The HRmax shown is the register's for this patient, with the same source."""
        if self.loaded is None or not self.loaded.get("from_register"):
            return False
        try:
            value = parse_number(self.query_one("#hr_max", Input).value)
        except ValueError:
            return False
        return value == self.loaded.get("hr_max_bpm") and \
            self.query_one("#source", Select).value == self.loaded.get("hr_max_source")

    def _hr_max_edited(self) -> None:
        """Staff typed another HRmax for a known patient: its source must be chosen again
        (the register's source belongs to the register's value)."""
        if self.loaded is None:
            return
        try:
            value = parse_number(self.query_one("#hr_max", Input).value)
        except ValueError:
            return
        source = self.query_one("#source", Select)
        # the register's age formula gives the value typed (at the age on the form now):
        # its source did not change (the trial: Nes's own 173 set it to "choose the source")
        kept = self.loaded.get("hr_max_source")
        own = kept in FORMULAS and value == self._formula_bpm(str(kept))[0]
        if value != self.loaded.get("hr_max_bpm") and not own and \
                source.value == self.loaded.get("hr_max_source"):
            self._source_cleared = source.value
            with source.prevent(Select.Changed):
                source.value = Select.NULL
            # said under "HRmax from", where the choice is owed (the trial: the source went
            # to "choose the source" without a word there)
            self._show("source", _("a changed HRmax needs its source: choose where it comes "
                                   "from"), error=False)
        elif (value == self.loaded.get("hr_max_bpm") or own) and \
                source.value == Select.NULL and self._source_cleared is not None:
            # the register's value typed back: its own source comes back with it
            with source.prevent(Select.Changed):
                source.value = self._source_cleared
            self._source_cleared = None
            self._show("source", "")

    # -- the age-formula helper -------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "source":
            self._source_cleared = None  # staff chose: nothing to give back
            if event.select.value != Select.NULL:
                self._show("source", "")
            self._from_age()
            self._clear_if_valid("hr_max")
            self._hint_done()
        elif event.select.id == "plan":
            self._plan_fields()

    def _test_chosen(self) -> bool:
        return self.query_one("#plan", Select).value == "six_minute_test"

    def _plan_fields(self) -> None:
        """The fields of the chosen plan only: the 6-minute test's pace with the test (it
        showed beside 4x4, where it means nothing)."""
        test = self._test_chosen()
        for wid in ("#pace_label", "#pace"):
            self.query_one(wid).display = test
        if not test:
            self._show("pace", "")

    def _formula_bpm(self, formula: object = None) -> tuple[float | None, str | None]:
        """The chosen age formula's (or ``formula``'s) HRmax for the age (and HRrest) on
        the form, whole bpm: (bpm, None); (None, why) where it needs what is not there;
        (None, None) with no formula chosen or no valid age (an age refused is said under
        the age)."""
        if formula is None:
            formula = self.query_one("#source", Select).value
        age, _why = self._checked("age")
        if formula not in FORMULAS or age is None:
            return None, None
        rest = None
        if formula == "keteyian":
            rest, why = self._checked("hr_rest")
            if rest is None:
                return None, None if why else _("the Keteyian formula needs HRrest")
        return formula_bpm(str(formula), age, rest), None  # the CLI's rule too

    def _formula_conflict(self) -> str | None:
        """Why the HRmax on the form cannot be saved with the age formula chosen: it is not
        the formula's value (the trial: a typed makspuls was silently replaced by it)."""
        bpm, why = self._formula_bpm()
        if why or bpm is None:
            return why
        value, refused = self._checked("hr_max")
        if refused or value is None or value == bpm:
            return None
        return _(FORMULA_CONFLICT).format(typed=show_number(value), bpm=show_number(bpm))

    def _hr_max_problem(self) -> str | None:
        """Why the HRmax cannot be saved as the form shows it, or None."""
        value, why = self._checked("hr_max")
        if why:
            return why
        if value is None:
            return _("HRmax is needed (a number of bpm)")
        return self._formula_conflict()  # the source owed is said under its own field

    def _from_age(self) -> None:
        """With an age and an age formula chosen, the formula's HRmax fills an empty HRmax
        field (or one it filled itself before), visibly, with a hint. A value staff typed
        (or the register's) is never replaced: the conflict is refused under the field
        until staff type the formula's value or choose another source."""
        bpm, why = self._formula_bpm()
        box = self.query_one("#hr_max", Input)
        typed = box.value.strip()
        if bpm is not None and typed != show_number(bpm) and typed in ("", self._filled):
            with box.prevent(Input.Changed):
                box.value = show_number(bpm)
            self._filled = box.value
            self._show("hr_max", _("{bpm} bpm from the age formula").format(
                bpm=show_number(bpm)), error=False)
            return
        conflict = why or self._formula_conflict()
        if conflict:
            self._show("hr_max", conflict)
        else:
            self._clear_if_valid("hr_max")

    # -- saving -----------------------------------------------------------------------------

    def _checked(self, wid: str) -> tuple[float | None, str | None]:
        """The field's number, or the reason it is refused (in the form's language)."""
        try:
            value = parse_number(self.query_one(f"#{wid}", Input).value)
        except ValueError:
            return None, self._not_a_number_text(wid)
        low, high, text = LIMITS[wid]
        if value is not None and not low <= value <= high:
            return None, _(text).format(low=show_number(low), high=show_number(high))
        if value is not None and wid in WHOLE and not value.is_integer():
            return None, _(WHOLE[wid]).format(example=self._example(wid))
        return value, None

    def _show(self, field: str, text: str, error: bool = True) -> None:
        box = self.query_one(f"#{field}_error", Static)
        box.update(text)
        # the grid sizes a spanning row as if its text wrapped in the first column: the
        # lines it needs at its own width cap it
        box.styles.max_height = max(1, sum(-(-len(line) // ERROR_WIDTH) or 1
                                       for line in text.split("\n")))
        box.set_class(bool(text), "shown")
        box.set_class(not error, "hint")
        self.query_one(f"#{field}").set_class(bool(text) and error, "-invalid")

    def _clear_if_valid(self, wid: str) -> None:
        """A refusal under a field goes once staff have corrected it (it stayed, under a
        valid value, until the next save); a hint stays."""
        if wid not in LIMITS:
            return
        box = self.query_one(f"#{wid}_error", Static)
        if wid == "hr_max" and box.has_class("shown") and box.has_class("hint") and \
                self._filled and self.query_one("#hr_max", Input).value != self._filled:
            self._show(wid, "")  # "176 from the age formula" under a 181 staff typed since
            return
        if not box.has_class("shown") or box.has_class("hint"):
            return
        if wid == "hr_max":  # its source and the age formula too (the trial: the source's
            if self._hr_max_problem() is None:  # refusal stayed until the next ctrl+s)
                self._show(wid, "")
            return
        value, why = self._checked(wid)
        if why is None and value is not None:
            self._show(wid, "")

    def _not_a_number(self, wid: str) -> None:
        """A number field holding what is not a number says so at once, in its own words (a
        comma or point typed last is a number on its way: 6, before 6,5)."""
        if wid not in LIMITS:
            return
        text = self.query_one(f"#{wid}", Input).value.strip()
        try:
            parse_number(text[:-1] if text[-1:] in ",." else text)
        except ValueError:
            self._show(wid, self._not_a_number_text(wid))

    def _not_a_number_text(self, wid: str) -> str:
        words = WHOLE.get(wid) or NOT_A_NUMBER[wid]
        return _(words).format(example=self._example(wid))

    def _example(self, wid: str) -> str:
        """The example a refusal gives: one the field takes as the form stands. With an age
        formula chosen the HRmax field takes only the formula's value (the trial: «f.eks.
        178», then 178 refused as «ikke aldersformelens 176»)."""
        if wid == "hr_max":
            bpm, _why = self._formula_bpm()
            if bpm is not None:
                return show_number(bpm)
        return show_number(EXAMPLES[wid])

    def _clear(self) -> None:
        for f in FIELDS:
            if f != "pseudonym":
                self._show(f, "")

    def _refuse(self, field: str, text: str) -> None:
        self._show(field, text)
        self.query_one(f"#{field}").focus()
        self.call_after_refresh(self._say_where_the_cursor_is)

    _age_confirmed: tuple[float, float] | None = None
    """The makspuls and age staff were asked about (``_age_question``); a second ctrl+s with
    them unchanged saves."""

    def _age_question(self, hr_max: float | None, age: float | None) -> str:
        """A typed makspuls far above the patient's age (``core.hrmax.above_age``) is said
        with the age's value and saved on a second ctrl+s (trial 14: 230 stored for a
        45-year-old without a word about the age); "" when it is not far above it or was
        asked already."""
        from controller.core.hrmax import age_warning

        if hr_max is None or age is None:
            return ""
        warning = age_warning(hr_max, age)
        if not warning or self._age_confirmed == (hr_max, age):
            return ""
        self._age_confirmed = (hr_max, age)
        return warning + " " + _("Press ctrl+s again to save it.")

    async def action_save(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if await self.load_patient():
            # the pseudonym named a patient the form did not show yet: staff see the
            # register's profile before anything is saved
            self._show("pseudonym", self._profile_line(self.loaded or {}) + "\n"
                       + _("loaded from the register: check it, then save again"),
                       error=False)
            return
        self._clear()
        values: dict[str, float | None] = {}
        refused: list[str] = []
        # every field's refusal at once (the trial: the pseudonym's came only after the
        # HRmax's was fixed, from the service)
        typed = self.query_one("#pseudonym", Input).value.strip()
        why_not = pseudonym_problem(typed)
        if why_not:
            # its own refusal, naming what was typed (the trial: the rule alone read as the
            # hint that stood there before, and nothing seemed wrong with «kari-nordmann»)
            self._show("pseudonym", _('"{typed}" is not a pseudonym. {rule}').format(
                typed=escape(typed), rule=why_not) if typed else why_not)
            refused.append("pseudonym")
        elif not self.query_one("#pseudonym_error").has_class("hint"):
            self._show("pseudonym", "")  # refused before, right now
        for wid in LIMITS:
            if wid == "pace" and not self._test_chosen():
                values[wid] = None  # not on the form: the 4x4 has no test pace
                continue
            values[wid], why = self._checked(wid)
            if why:
                self._show(wid, why)
                refused.append(wid)
        required = {"hr_max": _("HRmax is needed (a number of bpm)"),
                    "max_speed": _("the patient's max speed is needed (km/h)"),
                    "max_incline": _("the patient's max incline is needed (%)")}
        for wid, text in required.items():
            if wid not in refused and values[wid] is None:
                self._show(wid, text)
                refused.append(wid)
        unchanged = self._hr_max_unchanged()
        source = self.query_one("#source", Select).value
        if "hr_max" not in refused and not unchanged and source == Select.NULL:
            self._show("source", _("choose where this HRmax comes from (HRmax from)"))
            refused.append("source")
        conflict = None if "hr_max" in refused else self._formula_conflict()
        if conflict:
            self._show("hr_max", conflict)
            refused.append("hr_max")
        elif not {"hr_max", "age"} & set(refused) and not unchanged and \
                (question := self._age_question(values["hr_max"], values["age"])):
            self._show("hr_max", question)
            refused.append("hr_max")
        rest, hr_max = values["hr_rest"], values["hr_max"]
        if not {"hr_rest", "hr_max"} & set(refused) and rest is not None and \
                hr_max is not None and rest > hr_max - 40:
            self._show("hr_rest", _("HRrest must be at least 40 bpm below HRmax"))
            refused.append("hr_rest")
        plan_name = self.query_one("#plan", Select).value
        speed = values["max_speed"]
        if plan_name == "six_minute_test" and "pace" not in refused:
            pace = values["pace"]
            if pace is None:
                self._show("pace", _("the 6-minute test needs its pace (km/h)"))
                refused.append("pace")
            elif speed is not None and pace > speed:
                self._show("pace", _("6-minute test pace is above the patient's max speed"))
                refused.append("pace")
        if refused:
            first = self.query_one(f"#{min(refused, key=FIELDS.index)}")
            # the focus a refusal gives back never selects the text (no focus does,
            # ``on_descendant_focus``): the trial's "45" (meant for the age) replaced a
            # refused «kari-nordmann»; the next keys are added to what is there
            first.focus()
            self.call_after_refresh(self._say_where_the_cursor_is)
            return
        profile = {
            "pseudonym": self.query_one("#pseudonym", Input).value.strip(),
            # unchanged, the register keeps its HRmax with its own source and date
            "hr_max": None if unchanged else hr_max,
            "hr_max_source": None if unchanged else source,
            "hr_rest": rest, "max_speed_kmh": speed,
            "max_incline_pct": values["max_incline"],
            "walk_only": self.query_one("#walk_only", Checkbox).value,
            "age_years": values["age"],
        }
        plan: dict[str, Any] = {"name": plan_name}
        if plan_name == "six_minute_test":
            plan.update(speed_kmh=values["pace"], incline_pct=0.0)
        async with self._busy:
            error = await self.submit({"profile": profile, "plan": plan})
        if error is None:
            self.dismiss(None)
            return
        self._refuse(*refusal(error))
