"""Patient entry (pseudonym only) and plan choice, before the session starts.

A refused entry keeps the form open with everything typed, and the reason stands under the
field it is about (the service checks it; obvious slips are caught here first). An age and
an age formula (Tanaka, Nes, Keteyian with HRrest) fill in HRmax.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from controller.app.texts import error_text
from controller.core.hrmax import hr_max_keteyian, hr_max_nes, hr_max_tanaka
from controller.core.i18n import N_, _

SOURCES = [(N_("measured (lab test)"), "measured"), (N_("6-minute test"), "six_minute_test"),
           (N_("Tanaka age formula"), "tanaka"), (N_("Nes age formula"), "nes"),
           (N_("Keteyian (beta-blockers)"), "keteyian"), (N_("observed peak"), "observed_peak")]
PLANS = [(N_("4x4 intervals"), "4x4"), (N_("6-minute test"), "six_minute_test")]
FIELDS = ("pseudonym", "age", "hr_max", "hr_rest", "max_speed", "max_incline", "pace")
# Which field a refusal from the service is about, by the words in it (the service names
# the profile field; the plan's refusals are about the 6-minute test's pace).
ERROR_FIELDS = (("pseudonym", "pseudonym"), ("age", "age"), ("hr_rest", "hr_rest"),
                ("hr_max", "hr_max"), ("HRmax", "hr_max"), ("max_speed", "max_speed"),
                ("incline", "max_incline"), ("cap", "pace"), ("speed", "pace"),
                ("plan", "pace"))

Submit = Callable[[dict[str, Any]], Awaitable[str | None]]


def field_of(error: str) -> str:
    for word, field in ERROR_FIELDS:
        if word in error:
            return field
    return "pseudonym"


class PatientScreen(ModalScreen[None]):
    """Patient entry (pseudonym only) and plan choice, before the session starts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel"),
                                             Binding("ctrl+s", "save", "save")]

    def __init__(self, current: dict[str, Any], submit: Submit) -> None:
        super().__init__()
        self.current = current
        self.submit = submit

    def compose(self) -> ComposeResult:
        c = self.current

        def err(field: str) -> Static:
            return Static("", id=f"{field}_error", classes="fielderror")

        with Grid(id="form"):
            yield Label(_("pseudonym"))
            yield Input(str(c.get("pseudonym", "")), id="pseudonym", compact=True)
            yield err("pseudonym")
            yield Label(_("age (years)"))
            yield Input("", id="age", type="integer", compact=True)
            yield err("age")
            yield Label(_("HRmax from"))
            yield Select([(_(label), v) for label, v in SOURCES],
                         value=c.get("hr_max_source") or "measured", id="source",
                         allow_blank=False, compact=True)
            yield Label(_("HRmax bpm"))
            yield Input("" if c.get("hr_max") is None else f"{c['hr_max']:.0f}", id="hr_max",
                        type="integer", compact=True)
            yield err("hr_max")
            yield Label(_("HRrest bpm (optional)"))
            yield Input("", id="hr_rest", type="integer", compact=True)
            yield err("hr_rest")
            yield Label(_("max speed km/h"))
            yield Input("" if c.get("max_speed_kmh") is None else f"{c['max_speed_kmh']:g}",
                        id="max_speed", type="number",
                        compact=True)
            yield err("max_speed")
            yield Label(_("max incline %"))
            yield Input("" if c.get("max_incline_pct") is None else f"{c['max_incline_pct']:g}",
                        id="max_incline", type="number",
                        compact=True)
            yield err("max_incline")
            yield Label(_("walk only"))
            yield Checkbox("", bool(c.get("walk_only")), id="walk_only", compact=True)
            yield Label(_("plan"))
            yield Select([(_(label), v) for label, v in PLANS],
                         value="six_minute_test" if c.get("plan") == "6-minute test" else "4x4",
                         id="plan", allow_blank=False, compact=True)
            yield Label(_("6-min test pace km/h"))
            yield Input("4.5", id="pace", type="number", compact=True)
            yield err("pace")
            yield Button(_("Save (ctrl+s)"), id="save", variant="primary", compact=True)
            yield Button(_("Cancel (esc)"), id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.run_worker(self.action_save())
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    # -- the age-formula helper -------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("age", "hr_rest"):
            self._from_age()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "source":
            self._from_age()

    def _from_age(self) -> None:
        """With an age and an age formula chosen, the formula's HRmax fills the field."""
        formula = self.query_one("#source", Select).value
        age = self._number("age")
        if formula not in ("tanaka", "nes", "keteyian") or age is None:
            return
        try:
            if formula == "keteyian":
                rest = self._number("hr_rest")
                if rest is None:
                    self._show("hr_max", _("the Keteyian formula needs HRrest"))
                    return
                hr_max = hr_max_keteyian(age, rest)
            else:
                hr_max = (hr_max_tanaka if formula == "tanaka" else hr_max_nes)(age)
        except ValueError:
            self._show("age", _("age must be 10–100 years"))
            return
        self._show("age", "")
        self.query_one("#hr_max", Input).value = f"{hr_max:.0f}"
        self._show("hr_max", _("{bpm} bpm from the age formula").format(bpm=f"{hr_max:.0f}"),
                   error=False)

    # -- saving -----------------------------------------------------------------------------

    def _number(self, wid: str) -> float | None:
        v = self.query_one(f"#{wid}", Input).value.strip()
        try:
            return float(v) if v else None
        except ValueError:
            return None

    def _show(self, field: str, text: str, error: bool = True) -> None:
        box = self.query_one(f"#{field}_error", Static)
        box.update(text)
        box.set_class(bool(text), "shown")
        box.set_class(not error, "hint")
        self.query_one(f"#{field}", Input).set_class(bool(text) and error, "-invalid")

    def _clear(self) -> None:
        for f in FIELDS:
            self._show(f, "")

    async def action_save(self) -> None:
        self._clear()
        required = {"hr_max": _("HRmax is needed (a number of bpm)"),
                    "max_speed": _("the patient's max speed is needed (km/h)"),
                    "max_incline": _("the patient's max incline is needed (%)")}
        missing = [f for f in required if self._number(f) is None]
        for f in missing:
            self._show(f, required[f])
        if missing:
            self.query_one(f"#{missing[0]}", Input).focus()
            return
        profile = {
            "pseudonym": self.query_one("#pseudonym", Input).value.strip(),
            "hr_max": self._number("hr_max"), "hr_rest": self._number("hr_rest"),
            "max_speed_kmh": self._number("max_speed"),
            "max_incline_pct": self._number("max_incline"),
            "hr_max_source": self.query_one("#source", Select).value,
            "walk_only": self.query_one("#walk_only", Checkbox).value,
            "age_years": self._number("age"),
        }
        plan_name = self.query_one("#plan", Select).value
        plan: dict[str, Any] = {"name": plan_name}
        if plan_name == "six_minute_test":
            plan.update(speed_kmh=self._number("pace"), incline_pct=0.0)
        error = await self.submit({"profile": profile, "plan": plan})
        if error is None:
            self.dismiss(None)
            return
        field = field_of(error)
        self._show(field, error_text(error))
        self.query_one(f"#{field}", Input).focus()
