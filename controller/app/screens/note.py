"""A staff note on the session: stored with it, shown in the report, exported; left out of
the hand-over to the municipality unless staff tick it in."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import TEXT_STOP_BINDING
from controller.core.i18n import N_, _
from controller.records.store import NOTE_MAX_CHARS


class NoteScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel")),
                                             TEXT_STOP_BINDING]

    def compose(self) -> ComposeResult:
        with Vertical(id="note"):
            yield Label(_("Note on this session (enter: save, esc: cancel)"))
            yield Input(id="notetext", max_length=NOTE_MAX_CHARS, compact=True)
        yield CatalogFooter(compact=True)  # its own keys: the console's x is a letter here

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Esc closes an empty note; a typed one is thrown away only when staff say so."""
        if not self.query_one("#notetext", Input).value.strip():
            self.dismiss(None)
            return
        from controller.app.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(Confirm(_("Throw away the note you typed?")), answered)
