"""The end of a 6-minute test: the patient's Borg rating, then the HRmax proposal for staff.

The rating is one number chosen from the scale with its words: the patient points, staff
type the number and Enter (as in the interval prompt: digits only, so no key of the
proposal's j/n after it can rate) or move the marked row and press Enter; it is asked
once (``t`` asks again, also from an undecided proposal). The proposal shows the estimate
with its uncertainty and method beside the HRmax in use; staff accept it
(j or y), edit it (a number 100–230: anything else is said under the box, which stays open)
or reject it (n), and only then does the register change. A proposal far from the HRmax in
use is shown with a warning and accepted only on a second key press. Pause, Stop and
acknowledge work on both screens. Both fit 80×24.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from controller.app.screens.borg import borg_value, digit_bindings
from controller.app.screens.safety import SAFETY_BINDINGS
from controller.app.texts import SOURCES, word
from controller.core.hrmax import rpe_to_hrmax_fraction
from controller.core.i18n import N_, _, format_number

BORG_WORDS = {6: N_("no exertion"), 7: N_("extremely light"), 9: N_("very light"),
              11: N_("light"), 13: N_("somewhat hard"), 15: N_("hard (heavy)"),
              17: N_("very hard"), 19: N_("extremely hard"), 20: N_("maximal exertion")}


class _Scale(OptionList):
    """The Borg list: the cursor stops at 6 and at 20 (a wrap from 20 to 6 turned a nurse's
    Down ×9 aiming for 15 into Borg 7)."""

    def action_cursor_down(self) -> None:
        if self.highlighted is None or self.highlighted < self.option_count - 1:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.highlighted is None or self.highlighted > 0:
            super().action_cursor_up()


class TestBorgScreen(ModalScreen[int | None]):
    """How hard was the test? Borg 6–20: the number typed (as in the interval prompt), or
    the arrows; Enter gives it. The row under the cursor is marked ▶ from the start, and a
    number typed moves the cursor to it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "later"), *SAFETY_BINDINGS, *digit_bindings()]

    START = 13
    """The cursor starts at "somewhat hard": fewest arrow presses."""

    def compose(self) -> ComposeResult:
        with Vertical(id="testborg"):
            yield Label(_("The test is over. Ask the patient: how hard was it? "
                          "(Borg 6–20: type the number, or use the arrows, then Enter; "
                          "esc to ask later with t)"),
                        markup=False, id="testborg_hint")
            yield _Scale(*[Option(self._row(n), id=str(n)) for n in range(6, 21)],
                         id="scale", compact=True)

    def _row(self, n: int, marked: bool = False) -> str:
        word = _(BORG_WORDS[n]) if n in BORG_WORDS else ""
        return f"{'▶' if marked else ' '} {n:2d}  {word}"

    typed = ""
    """Digits typed so far (the cursor moves to them once they are a Borg value)."""

    def on_mount(self) -> None:
        scale = self.query_one("#scale", OptionList)
        scale.highlighted = self.START - 6
        self._mark(scale.highlighted)
        scale.focus()

    def _mark(self, index: int | None) -> None:
        """Mark the cursor's row in its text too: the theme's highlight alone went unseen."""
        scale = self.query_one("#scale", OptionList)
        for i in range(scale.option_count):
            scale.replace_option_prompt_at_index(i, self._row(6 + i, i == index))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._mark(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.typed and borg_value(self.typed) is None:
            self._refuse()  # typed, but not a Borg value: never the row under the cursor
            return
        self.dismiss(int(str(event.option.id)))

    def action_digit(self, digit: str) -> None:
        self.typed = (self.typed + digit)[-2:]
        value = borg_value(self.typed)
        if value is not None:
            self.query_one("#scale", OptionList).highlighted = value - 6

    def action_erase(self) -> None:
        self.typed = self.typed[:-1]

    def action_enter(self) -> None:
        value = borg_value(self.typed)
        if value is None:
            self._refuse()
            return
        self.dismiss(value)

    def _refuse(self) -> None:
        self.query_one("#testborg_hint", Label).update(
            _("{typed} is not a Borg rating: type a number 6–20").format(typed=self.typed))
        self.typed = ""

    def action_cancel(self) -> None:
        self.dismiss(None)


class HrMaxProposalScreen(ModalScreen[dict[str, Any] | None]):
    """The 6-minute test's HRmax proposal: j/y accept, e edit, n reject, esc decide later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,y", "accept", "accept"), Binding("e", "edit", "edit"),
        Binding("n", "reject", "reject"), Binding("t", "again", "Borg again"),
        Binding("escape", "cancel", "later"),
        *SAFETY_BINDINGS]

    def __init__(self, proposal: dict[str, Any], current: dict[str, Any],
                 refused: str = "") -> None:
        super().__init__()
        self.proposal = proposal
        self.current = current
        self.refused = refused
        """Why the service refused the last decision (shown; the proposal stays open)."""
        self._confirming = False

    def compose(self) -> ComposeResult:
        p, c = self.proposal, self.current
        in_use = p.get("current_hr_max_bpm", c.get("hr_max")) or 0
        with Vertical(id="proposal"):
            yield Label(_("Proposed HRmax: {hr_max} ± {unc} bpm ({method}).").format(
                hr_max=format_number(p["hr_max_bpm"], 0),
                unc=format_number(p["uncertainty_bpm"], 0),
                method=word(SOURCES, p.get("source"))), markup=False, id="estimate")
            yield Label(self._why(), markup=False)
            yield Label(_("In use now: {hr_max} bpm ({source}).").format(
                hr_max=format_number(in_use, 0),
                source=word(SOURCES, p.get("current_source", c.get("hr_max_source")))),
                markup=False)
            if p.get("large_change"):
                change = p["hr_max_bpm"] - in_use
                yield Label(_("Warning: {change} bpm from the HRmax in use. Check the test "
                              "(pace, medication, strap) before accepting it.").format(
                    change=("+" if change > 0 else "−") + format_number(abs(change), 0)),
                    markup=False, id="warning")
            yield Label(self.refused, markup=False, id="refused")
            yield Label(_("y: accept · e: edit · n: reject · t: Borg rating again · "
                          "esc: later"), markup=False,
                        id="keys")

    def _why(self) -> str:
        """How the estimate was made, from its numbers (in the console's language)."""
        p = self.proposal
        if p.get("source") != "six_minute_test" or p.get("hr_end_bpm") is None:
            return _("Borg {rpe} is too light for the Borg relation: the age formula's "
                     "HRmax.").format(rpe=p.get("rpe"))
        # '% HRmax', not '% of HRmax': Babel reads '% o' as a %-placeholder
        why = _("Mean heart rate in the last minute {hr} bpm at Borg {rpe} (≈ {pct} % "
                "HRmax).").format(hr=format_number(p["hr_end_bpm"], 0), rpe=p.get("rpe"),
                                  pct=format_number(rpe_to_hrmax_fraction(p["rpe"]) * 100, 0))
        if p.get("floored"):
            why += " " + _("Raised to the peak seen + 5 bpm.")
        return why

    def _say(self, text: str) -> None:
        self.query_one("#refused", Label).update(text)

    def action_accept(self) -> None:
        if self.query("#edit"):
            return
        if self.proposal.get("large_change") and not self._confirming:
            self._confirming = True  # a large change is never accepted on one key press
            self._say(_("A large change: press y again to accept it."))
            return
        self.dismiss({"decision": "accepted"})

    def action_again(self) -> None:
        """The patient gives the rating again: the Borg list, then a new proposal."""
        if self.query("#edit"):
            return
        self.dismiss({"decision": "borg_again"})

    def action_reject(self) -> None:
        self.dismiss({"decision": "rejected"})

    def action_edit(self) -> None:
        """The edit box appears only now, so until then the keys reach the screen."""
        if self.query("#edit"):
            return
        box = Input(f"{self.proposal['hr_max_bpm']:.0f}", id="edit", type="integer",
                    compact=True, placeholder=_("HRmax bpm, then Enter"))
        self.query_one("#proposal", Vertical).mount(box, before=self.query_one("#keys"))
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A mistyped number is said under the box, which stays open for another try."""
        try:
            value = int(event.value)
        except ValueError:
            value = None
        if value is None or not 100 <= value <= 230:
            self._say(_("The HRmax must be a whole number 100–230 bpm: try again "
                        "(esc: later)."))
            event.input.focus()
            return
        self.dismiss({"decision": "edited", "hr_max_bpm": value})

    def action_cancel(self) -> None:
        self.dismiss(None)
