"""A yes/no question before an action that a slip of the finger would make hurt."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Label

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import SAFETY_BINDINGS
from controller.core.i18n import N_, _, language


def yes_key() -> str:
    """The key that says yes in the UI's language: j in bokmål (the glossary), y in
    English. The other language's key answers nothing (the trial: q then y stopped a
    bokmål session and closed the console)."""
    return "j" if language() == "nb" else "y"


def not_the_yes_key() -> str:
    """What a press of the other language's yes key says (the question stays open)."""
    return _("Press {yes} for yes, n for no.").format(yes=yes_key())


def a_key_not_taken(screen: Screen[Any], event: events.Key) -> bool:
    """A printable key a yes/no screen has no binding for (trial 10: k meant for a skip met
    the 4x4's start question and did nothing without a word; the j after it answered it).
    Such a screen says which keys it takes (``not_the_yes_key``) and stays open: the
    confirmation and the makspuls proposal share this."""
    return event.is_printable and event.key not in screen._bindings.key_to_bindings


def localise_yes_no_footer(keys: dict[str, list[Any]]) -> None:
    """A j/n (y/n) screen's footer in the process's language: descriptions translated, only
    the language's yes key shown, and y first in English where j stands in bokmål. Shared
    by the confirmation and the makspuls proposal."""
    for key, bindings in keys.items():
        keys[key] = [dataclasses.replace(b, description=_(b.description))
                     if b.description and b.show else b for b in bindings]
    other = "y" if yes_key() == "j" else "j"  # the footer names the language's key only
    keys[other] = [dataclasses.replace(b, show=False) for b in keys[other]]
    if yes_key() == "y":  # first, where j stood
        moved = {k: keys[k] for k in ["y", *(k for k in keys if k != "y")]}
        keys.clear()
        keys.update(moved)


class Confirm(ModalScreen[bool]):
    """Yes / no question for actions a slip would make hurt: j (bokmål) or y (English) for
    yes, n or esc for no. Pause, Stop and acknowledge work while it is open."""

    # its own footer, over the console's (the trial: under the skip question it still said
    # "k Hopp over e +1 min …"): yes, no and the safety keys, shown where the console's
    # check_action allows them (p while running, r while paused, a with an alarm)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("j", "yes('j')", N_("yes")),
                                             Binding("y", "yes('y')", N_("yes")),
                                             Binding("n", "no", N_("no")),
                                             Binding("escape", "no", show=False),
                                             Binding("p", "app.pause", N_("Pause")),
                                             Binding("r", "app.resume", N_("Resume")),
                                             Binding("x", "stop", N_("Stop")),
                                             Binding("a", "app.ack", N_("Ack alarm")),
                                             *SAFETY_BINDINGS]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        localise_yes_no_footer(self._bindings.key_to_bindings)

    def compose(self) -> ComposeResult:
        # the keys on a line of their own: after a long question they wrapped in two
        yield Label(self.question + "\n" + _("y: yes / n: no"), id="question", markup=False)
        yield CatalogFooter(compact=True)

    def action_yes(self, key: str) -> None:
        if key != yes_key():
            self._say_keys()
            return
        self.dismiss(True)

    def on_key(self, event: events.Key) -> None:
        """A letter the question does not take (trial 10: k meant for a skip met the 4x4's
        start question and did nothing without a word; the j after it answered it): the
        question says which keys it takes, and stays open."""
        if a_key_not_taken(self, event):
            self._say_keys()

    def _say_keys(self) -> None:
        self.query_one("#question", Label).update(
            self.question + "\n" + _("y: yes / n: no") + "\n" + not_the_yes_key())

    def action_no(self) -> None:
        self.dismiss(False)

    async def action_stop(self) -> None:
        """Stop works from every screen: with a session running, its question as
        everywhere; with none, on a question to start something (the 4x4 after a 6-minute
        test), x means do not start it (trial 12: the Stop key was off there, x did nothing
        and said nothing, and the `j` meant for Stop's question started the warm-up)."""
        if self.app.check_action("stop", ()):
            await self.app.run_action("stop")
        else:
            self.dismiss(False)
