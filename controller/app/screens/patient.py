"""Patient entry (pseudonym only) and plan choice, before the session starts."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

SOURCES = [("measured (lab test)", "measured"), ("6-minute test", "six_minute_test"),
           ("Tanaka age formula", "tanaka"), ("Nes age formula", "nes"),
           ("Keteyian (beta-blockers)", "keteyian"), ("observed peak", "observed_peak")]


class PatientScreen(ModalScreen[dict[str, Any] | None]):
    """Patient entry (pseudonym only) and plan choice, before the session starts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel"),
                                             Binding("ctrl+s", "save", "save")]

    def __init__(self, current: dict[str, Any]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        with Grid(id="form"):
            yield Label("pseudonym")
            yield Input(str(c.get("pseudonym", "")), id="pseudonym", compact=True)
            yield Label("HRmax bpm")
            yield Input("" if c.get("hr_max") is None else f"{c['hr_max']:.0f}", id="hr_max",
                        type="integer", compact=True)
            yield Label("HRmax from")
            yield Select(SOURCES, value=c.get("hr_max_source") or "measured", id="source",
                         allow_blank=False, compact=True)
            yield Label("HRrest bpm (optional)")
            yield Input("", id="hr_rest", type="integer", compact=True)
            yield Label("max speed km/h")
            yield Input("" if c.get("max_speed_kmh") is None else f"{c['max_speed_kmh']:g}",
                        id="max_speed", type="number", compact=True)
            yield Label("max incline %")
            yield Input("" if c.get("max_incline_pct") is None else
                        f"{c['max_incline_pct']:g}", id="max_incline", type="number",
                        compact=True)
            yield Label("walk only")
            yield Checkbox("", bool(c.get("walk_only")), id="walk_only", compact=True)
            yield Label("plan")
            yield Select([("4x4 intervals", "4x4"), ("6-minute test", "six_minute_test")],
                         value="six_minute_test" if c.get("plan") == "6-minute test" else "4x4",
                         id="plan", allow_blank=False, compact=True)
            yield Label("6-min test pace km/h")
            yield Input("4.5", id="pace", type="number", compact=True)
            yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
            yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        def val(wid: str) -> str:
            return self.query_one(f"#{wid}", Input).value.strip()

        def number(wid: str) -> float | None:
            v = val(wid)
            try:
                return float(v) if v else None
            except ValueError:
                return None

        profile = {
            "pseudonym": val("pseudonym"), "hr_max": number("hr_max"),
            "hr_rest": number("hr_rest"), "max_speed_kmh": number("max_speed"),
            "max_incline_pct": number("max_incline"),
            "hr_max_source": self.query_one("#source", Select).value,
            "walk_only": self.query_one("#walk_only", Checkbox).value,
        }
        plan_name = self.query_one("#plan", Select).value
        plan: dict[str, Any] = {"name": plan_name}
        if plan_name == "six_minute_test":
            plan.update(speed_kmh=number("pace"), incline_pct=0.0)
        self.dismiss({"profile": profile, "plan": plan})
