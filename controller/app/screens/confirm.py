"""A yes/no question before an action that a slip of the finger would make hurt."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Label

from controller.app.screens.safety import SAFETY_BINDINGS
from controller.core.i18n import _, language


def yes_key() -> str:
    """The key that says yes in the UI's language: j in bokmål (the glossary), y in
    English. The other language's key answers nothing (the trial: q then y stopped a
    bokmål session and closed the console)."""
    return "j" if language() == "nb" else "y"


def not_the_yes_key() -> str:
    """What a press of the other language's yes key says (the question stays open)."""
    return _("Press {yes} for yes, n for no.").format(yes=yes_key())


class Confirm(ModalScreen[bool]):
    """Yes / no question for actions a slip would make hurt: j (bokmål) or y (English) for
    yes, n or esc for no. Pause, Stop and acknowledge work while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("j", "yes('j')", "yes"),
                                             Binding("y", "yes('y')", "yes"),
                                             Binding("n,escape", "no", "no"), *SAFETY_BINDINGS]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        # the keys on a line of their own: after a long question they wrapped in two
        yield Label(self.question + "\n" + _("y: yes / n: no"), id="question", markup=False)

    def action_yes(self, key: str) -> None:
        if key != yes_key():
            self.query_one("#question", Label).update(
                self.question + "\n" + _("y: yes / n: no") + "\n" + not_the_yes_key())
            return
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
