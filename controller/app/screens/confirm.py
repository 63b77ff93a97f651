"""A yes/no question before an action that a slip of the finger would make hurt."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Label

from controller.app.screens.safety import SAFETY_BINDINGS
from controller.core.i18n import _


class Confirm(ModalScreen[bool]):
    """Yes / no question for actions a slip would make hurt: j (bokmål) or y (English) for
    yes, n or esc for no. Pause, Stop and acknowledge work while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("j,y", "yes", "yes"),
                                             Binding("n,escape", "no", "no"), *SAFETY_BINDINGS]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        # the keys on a line of their own: after a long question they wrapped in two
        yield Label(self.question + "\n" + _("y: yes / n: no"), id="question", markup=False)

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
