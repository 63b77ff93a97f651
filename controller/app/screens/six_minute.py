"""The end of a 6-minute test: the patient's Borg rating, then the HRmax proposal for staff.

The rating is one number chosen from the scale with its words (no typing): the patient
points, staff press it. The proposal shows the estimate with its uncertainty and method
beside the HRmax in use; staff accept it, edit it (a number 100–230) or reject it, and only
then does the register change.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from controller.core.i18n import N_, _, format_number

BORG_WORDS = {6: N_("no exertion"), 7: N_("extremely light"), 9: N_("very light"),
              11: N_("light"), 13: N_("somewhat hard"), 15: N_("hard (heavy)"),
              17: N_("very hard"), 19: N_("extremely hard"), 20: N_("maximal exertion")}


class TestBorgScreen(ModalScreen[int | None]):
    """How hard was the test? Borg 6–20, chosen from the list (arrows and Enter)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "later")]

    def compose(self) -> ComposeResult:
        with Vertical(id="borg"):
            yield Label(_("The test is over. Ask the patient: how hard was it? "
                          "(Borg 6–20, Enter to choose, esc to ask later with b)"),
                        markup=False)
            yield OptionList(*[Option(f"{n:2d}  {_(BORG_WORDS[n]) if n in BORG_WORDS else ''}",
                                      id=str(n)) for n in range(6, 21)], id="scale")

    def on_mount(self) -> None:
        scale = self.query_one("#scale", OptionList)
        scale.highlighted = 13 - 6  # start at "somewhat hard": fewest key presses
        scale.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(str(event.option.id)))

    def action_cancel(self) -> None:
        self.dismiss(None)


class HrMaxProposalScreen(ModalScreen[dict[str, Any] | None]):
    """The 6-minute test's HRmax proposal: a accept, e edit, r reject, esc decide later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "accept"), Binding("e", "edit", "edit"),
        Binding("r", "reject", "reject"), Binding("escape", "cancel", "later")]

    def __init__(self, proposal: dict[str, Any], current: dict[str, Any]) -> None:
        super().__init__()
        self.proposal = proposal
        self.current = current

    def compose(self) -> ComposeResult:
        p, c = self.proposal, self.current
        with Vertical(id="proposal"):
            yield Label(_("Proposed HRmax: {hr_max} ± {unc} bpm ({method}).").format(
                hr_max=format_number(p["hr_max_bpm"], 0),
                unc=format_number(p["uncertainty_bpm"], 0), method=p["method"]),
                markup=False, id="estimate")
            yield Label(p["explanation"], markup=False)
            yield Label(_("In use now: {hr_max} bpm ({source}).").format(
                hr_max=format_number(c.get("hr_max") or 0, 0),
                source=c.get("hr_max_source", "")), markup=False)
            yield Label(_("a: accept · e: edit · r: reject · esc: later"), markup=False)

    def action_accept(self) -> None:
        self.dismiss({"decision": "accepted"})

    def action_reject(self) -> None:
        self.dismiss({"decision": "rejected"})

    def action_edit(self) -> None:
        """The edit box appears only now, so until then a/e/r reach the screen."""
        if self.query("#edit"):
            return
        box = Input(f"{self.proposal['hr_max_bpm']:.0f}", id="edit", type="integer",
                    compact=True, placeholder=_("HRmax bpm, then Enter"))
        self.query_one("#proposal", Vertical).mount(box)
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = int(event.value)
        except ValueError:
            return
        self.dismiss({"decision": "edited", "hr_max_bpm": value})

    def action_cancel(self) -> None:
        self.dismiss(None)
