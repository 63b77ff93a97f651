"""The end of a 6-minute test: the HRmax proposal for staff.

The patient's Borg rating is asked first with the interval prompt (``BorgScreen`` for
"interval" 0: the number typed, then Enter, the same words; the trial found a list with
arrows and other words here); ``t`` asks it again, also from an undecided proposal. The
proposal shows the estimate with its uncertainty and method beside the HRmax in use; staff
accept it (j in bokmål, y in English), edit it (a number 100–230: anything else is said
under the box, which stays open) or reject it (n), and only then does the register change.
A proposal, or a typed value, far from the HRmax in use is shown with a warning and taken
only on a second key press (j or Enter); with the edit box open the warning is said once,
for the value in the box. After a test that was interrupted (stopped before its end) the
service proposes nothing: the screen says so and after how long, and staff may type the
HRmax (e), stored as set by staff (``staff_entered``: no proposal was edited), or keep the
one in use (n). A Borg rating the method cannot use with the heart rate measured makes no
proposal either: the screen says so, the rating is kept, and t gives it again. Its footer
shows its keys with Pause and Stop, which work there. It fits 80×24.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import SAFETY_BINDINGS, TEXT_STOP_BINDING
from controller.app.texts import SOURCES, word
from controller.core.hrmax import LARGE_CHANGE_BPM, age_warning
from controller.core.i18n import N_, _, format_number

WHOLE_HR_MAX = N_("HRmax is a whole number of bpm, e.g. {example}")
"""The patient form's words for a makspuls that is not a whole number (the same msgid)."""


class HrMaxInput(Input):
    """The proposal's edit box: Enter saves the makspuls typed, and the footer says so (the
    trial: while typing it said only «esc senere»)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", N_("Save"))]


class HrMaxProposalScreen(ModalScreen[dict[str, Any] | None]):
    """The 6-minute test's HRmax proposal: j (bokmål) / y (English) accept, e edit, n
    reject, esc decide later."""

    # its own footer (the trial: none, Stop worked but was not shown): the app.* keys show
    # only where the console's check_action allows them (x while the session is live)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "accept('j')", N_("Accept")), Binding("y", "accept('y')", N_("Accept")),
        Binding("e", "edit", N_("Edit")),
        Binding("n", "reject", N_("Reject")), Binding("t", "again", N_("Borg again")),
        Binding("escape", "cancel", N_("later")),
        Binding("p", "app.pause", N_("Pause")), Binding("x", "app.stop", N_("Stop")),
        *SAFETY_BINDINGS,
        # in the edit box x is a letter: Stop is ctrl+x there, and the footer says so (the
        # trial: it said only «esc senere»); outside it x comes first, so the footer says x
        TEXT_STOP_BINDING]

    def __init__(self, proposal: dict[str, Any], current: dict[str, Any],
                 refused: str = "") -> None:
        super().__init__()
        from controller.app.screens.confirm import localise_yes_no_footer

        localise_yes_no_footer(self._bindings.key_to_bindings)
        self.proposal = proposal
        self.current = current
        self.refused = refused
        """Why the service refused the last decision (shown; the proposal stays open)."""
        self._confirming = False
        self._typed_confirming: int | None = None
        """A typed HRmax far from the one in use, warned once: a second Enter stores it."""
        if self.interrupted:  # no proposal: e types one, n keeps the one in use
            import dataclasses

            keys = self._bindings.key_to_bindings
            for key, words in (("e", N_("Type HRmax")), ("n", N_("Keep"))):
                keys[key] = [dataclasses.replace(b, description=_(words)) for b in keys[key]]

    @property
    def interrupted(self) -> bool:
        """The test was stopped before its end: the service proposes nothing (the method
        cannot support an estimate, ``core.hrmax``); staff may type their own."""
        return self.proposal.get("hr_max_bpm") is None

    @property
    def no_estimate(self) -> bool:
        """The test ran whole but the Borg rating given and the heart rate do not fit what
        the method can use: no proposal from that rating, which is kept all the same (issue
        21: a valid 16 was «avvist» and thrown away); ``t`` corrects a mistyped rating."""
        return bool(self.proposal.get("no_estimate"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """After an interrupted test there is nothing to accept and no Borg relation to ask
        again: those keys are not offered. With no proposal from the rating given there is
        nothing to accept either, but the rating can be corrected (t)."""
        if self.no_estimate:
            return action != "accept"
        return not (self.interrupted and action in ("accept", "again"))

    def compose(self) -> ComposeResult:
        p, c = self.proposal, self.current
        in_use = p.get("current_hr_max_bpm", c.get("hr_max")) or 0
        if self.interrupted:
            yield from self._compose_interrupted(in_use)
            return
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
                # said as what it means (the trial: "Advarsel: −28 slag/min" from what?),
                # in the words the pulstest demo says it too
                from controller.core.six_minute_text import large_change_warning

                yield Label(large_change_warning(p["hr_max_bpm"], in_use) or "",
                            markup=False, id="warning")
            if far_above := self._age_warning(round(p["hr_max_bpm"])):  # above the age
                yield Label(far_above, markup=False, id="age_warning")
            yield Label(self.refused, markup=False, id="refused")
            yield Label(_("y: accept · e: edit · n: reject · t: Borg rating again · "
                          "esc: later"), markup=False,
                        id="keys")
        yield CatalogFooter(compact=True)

    def _compose_interrupted(self, in_use: float) -> ComposeResult:
        """The trial: a test the treadmill stopped at 3 min still proposed a makspuls, with
        a warning and no word that it was interrupted."""
        from controller.core.i18n import format_duration

        p = self.proposal
        with Vertical(id="proposal"):
            if self.no_estimate:
                yield Label(_("No HRmax proposal from Borg rating {rpe}: the rating is kept "
                              "in the record.").format(rpe=p.get("rpe")),
                            markup=False, id="estimate")
                yield Label(_("The Borg rating and the heart rate of the last minute do not "
                              "fit what the method can use (t: give the rating again if it "
                              "was mistyped)."), markup=False)
            else:
                yield Label(_("The test was interrupted after {time}: no HRmax proposal.")
                            .format(time=format_duration(
                                round(p.get("interrupted_after_s") or 0))),
                            markup=False, id="estimate")
                yield Label(_("The estimate needs the whole 6 minutes and the heart rate of "
                              "their last minute; a test cut short has neither."),
                            markup=False)
            yield Label(_("In use now: {hr_max} bpm ({source}).").format(
                hr_max=format_number(in_use, 0),
                source=word(SOURCES, p.get("current_source",
                                           self.current.get("hr_max_source")))),
                markup=False)
            # what a typed value becomes, said before it is typed (the trial: it was stored
            # as the test's, edited, though the test proposed nothing)
            yield Label(_("A HRmax you type is stored as “{source}”.").format(
                source=word(SOURCES, "staff_entered")),
                        markup=False, id="typed_source")
            yield Label(self.refused, markup=False, id="refused")
            yield Label(_("e: type the HRmax · n: keep the HRmax in use · t: Borg rating "
                          "again · esc: later") if self.no_estimate else
                        _("e: type the HRmax · n: keep the HRmax in use · esc: later"),
                        markup=False, id="keys")
        yield CatalogFooter(compact=True)

    def _why(self) -> str:
        """How the estimate was made, from its numbers (in the console's language)."""
        from controller.app.texts import hrmax_estimate_why

        return hrmax_estimate_why(self.proposal)

    def _say(self, text: str) -> None:
        self.query_one("#refused", Label).update(text)

    def on_key(self, event: events.Key) -> None:
        """A letter the proposal does not take is answered as the yes/no question answers it
        (it stayed silent): which keys say yes and no, the proposal open; where there is
        nothing to accept, which keys there are (``_nothing_to_accept``). Not while the edit
        box takes the keys."""
        from controller.app.screens.confirm import a_key_not_taken, not_the_yes_key

        if self.query("#edit") or not event.is_printable:
            return
        if self.interrupted:
            # j and y are bound but not offered here (``check_action``): no word came
            offered = [b for b in self._bindings.key_to_bindings.get(event.key, [])
                       if self.check_action(b.action.split("(")[0], ()) is not False]
            if not offered:
                self._nothing_to_accept()
        elif a_key_not_taken(self, event):
            self._say(not_the_yes_key())

    def _nothing_to_accept(self) -> None:
        """An interrupted test (or a rating the method cannot use) proposes nothing: j said
        nothing there (trial 11); it says what the keys are."""
        self._say(_("There is no HRmax to accept: e to type one, n to keep the one in use."))

    def action_accept(self, key: str = "") -> None:
        from controller.app.screens.confirm import not_the_yes_key, yes_key

        if self.query("#edit") or self.interrupted:
            return
        if key and key != yes_key():  # bokmål: j, English: y (the glossary's keys)
            self._say(not_the_yes_key())
            return
        far = self.proposal.get("large_change") or \
            self._age_warning(round(self.proposal["hr_max_bpm"]))
        if far and not self._confirming:
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

    async def action_edit(self) -> None:
        """The edit box appears only now, so until then the keys reach the screen."""
        if self.query("#edit"):
            return
        # no type restriction: a typed comma or letter stays in view and is refused in words
        # (the trial: an integer box dropped the comma of 15,5 and took 155)
        proposed = self.proposal.get("hr_max_bpm")
        box = HrMaxInput("" if proposed is None else f"{proposed:.0f}", id="edit",
                         compact=True, placeholder=_("HRmax bpm, then Enter"))
        # the box's value is what is checked now: the proposal's warning goes, so a large
        # change is warned once, for the value typed (the trial: the warning twice)
        for said in self.query("#warning, #age_warning"):
            said.display = False
        # labelled in words beside it (the trial: a box with only its number, opened by "e")
        row = Horizontal(Label(_("New HRmax, bpm (Enter saves):"), markup=False,
                               id="edit_label"), box, id="edit_row")
        # mounted before focused: keys typed at once reach the box, not the screen
        await self.query_one("#proposal", Vertical).mount(row, before=self.query_one("#keys"))
        if proposed is not None:  # the warning moves to the value in the box
            self._say(self._warning(round(proposed)))
        box.focus()

    @staticmethod
    def _typed(text: str) -> tuple[int | None, str]:
        """The whole HRmax typed (100–230), or None and why not in words ("" while the box is
        empty). A comma, a point or a letter is refused, never read as another number."""
        text = text.strip()
        if not text:
            return None, ""
        if not text.isdigit():
            return None, _(WHOLE_HR_MAX).format(example=178)
        value = int(text)
        if not 100 <= value <= 230:
            return None, _("The HRmax must be a whole number 100–230 bpm: try again "
                           "(esc: later).")
        return value, ""

    def _warning(self, value: int | None) -> str:
        """The large-change warning for ``value`` and, for one far above the patient's age,
        the age's (``core.hrmax.above_age``); "" where neither applies."""
        if value is None:
            return ""
        said = [w for w in (self._change_warning(value), self._age_warning(value)) if w]
        return "\n".join(said)

    def _age_warning(self, value: int) -> str:
        return age_warning(value, self.current.get("age_years"))

    def _change_warning(self, value: int) -> str:
        change = value - self._in_use()
        if abs(change) < LARGE_CHANGE_BPM:
            return ""
        warning = _("Warning: the value is {change} bpm higher than the HRmax in use. "
                    "Check the test (pace, medication, strap) before storing it.") \
            if change > 0 else \
            _("Warning: the value is {change} bpm lower than the HRmax in use. Check "
              "the test (pace, medication, strap) before storing it.")
        return warning.format(change=format_number(abs(change), 0))

    def on_input_changed(self, event: Input.Changed) -> None:
        """What is said under the box follows the value typed now (the trial: the warning
        for 155 stayed after the value was edited to 15): a value that is not a whole
        number is said at once, a value far from the one in use is warned, the rest clears
        it; a warned value needs its own second Enter again."""
        if event.input.id != "edit":
            return
        self._typed_confirming = None
        value, why = self._typed(event.value)
        if why and not event.value.strip().isdigit():
            self._say(why)  # a range is said on Enter (not while 178 is typed as 1, 17)
        else:
            self._say(self._warning(value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A mistyped number is said under the box, which stays open for another try, with
        what was typed."""
        value, why = self._typed(event.value)
        if value is None:
            self._say(why or _("The HRmax must be a whole number 100–230 bpm: try again "
                               "(esc: later)."))
            event.input.focus()
            return
        warning = self._warning(value)
        if warning and self._typed_confirming != value:
            # the proposal's own warning, and a second Enter (the trial: a typed value 31
            # below the one in use was stored at once, the proposal needed j twice)
            self._typed_confirming = value
            again = _("A large change: press Enter again to store it.") \
                if self._change_warning(value) else _("Press Enter again to store it.")
            self._say(warning + "\n" + again)
            event.input.focus()
            return
        self.dismiss({"decision": "edited", "hr_max_bpm": value})

    def _in_use(self) -> float:
        return float(self.proposal.get("current_hr_max_bpm", self.current.get("hr_max"))
                     or 0)

    def action_cancel(self) -> None:
        self.dismiss(None)
