"""`w`: which of the chosen patient's sessions the report is written for.

A nurse writes a report after a session, or later for an earlier one (issue 21 trial: `w`
wrote only the latest). The list is the patient's sessions, the newest first and highlighted,
so Enter at once is the quick path; each line says what a nurse knows a session by: its date
and time (Europe/Oslo), its plan and how it ended. Esc closes it without writing. Pause, Stop
and the alarm's acknowledgement work while it is open, and its footer says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import SAFETY_BINDINGS
from controller.core.dates import local_datetime
from controller.core.i18n import N_, _, format_date
from controller.core.words import PLANS, word

SHOWN = 8
"""Lines on screen at once at 80×24 (older sessions: scroll with ↓). The box is 78 columns
wide (74 inside): a 4x4 skipped through (``27.11.2026  18:40  4x4  avsluttet, intervaller
hoppet over``, 58 characters) fits on its line; a longer line wraps and its option grows."""


def session_line(s: dict[str, Any]) -> str:
    """``06.12.2026 18:40  4x4  fullført``: the clinic's date and time, plan, how it ended."""
    from controller.records.report import status_word

    start = local_datetime(float(s["started_unix_s"]))
    return "  ".join((format_date(start.date()), start.strftime("%H:%M"),
                      word(PLANS, str(s.get("plan") or "")),
                      status_word(str(s.get("status") or ""), bool(s.get("complete")),
                                  str(s.get("plan") or ""))))


class ReportChooser(ModalScreen[str | None]):
    """The patient's sessions, the newest first; Enter writes the highlighted one's report
    (dismissed with its id), Esc cancels (None)."""

    # its own footer, over the console's (whose k Skip or q Quit do nothing here): the
    # app.* keys show only when the console's check_action allows them, as under the Borg
    # prompt
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.pause", N_("Pause")), Binding("r", "app.resume", N_("Resume")),
        Binding("x", "app.stop", N_("Stop")), Binding("a", "app.ack", N_("Ack alarm")),
        Binding("escape", "cancel", N_("Cancel")), *SAFETY_BINDINGS]

    def __init__(self, pseudonym: str, sessions: list[dict[str, Any]]) -> None:
        super().__init__()
        self.pseudonym = pseudonym
        self.sessions = sessions
        keys = self._bindings.key_to_bindings  # the footer in the process's language
        for key, bindings in keys.items():
            keys[key] = [dataclasses.replace(b, description=_(b.description))
                         if b.description and b.show else b for b in bindings]

    def compose(self) -> ComposeResult:
        with Vertical(id="chooser"):
            yield Label(_("Report for {pseudonym}: which session?").format(
                pseudonym=self.pseudonym), markup=False)
            # Text, not markup: whatever the store holds is shown as it is
            yield OptionList(*(Option(Text(session_line(s)), id=str(s["session_id"]))
                               for s in self.sessions), id="sessions", compact=True)
            yield Label(_("↑/↓ choose · enter: write the report · esc: cancel"),
                        markup=False)
        yield CatalogFooter(compact=True)

    def on_mount(self) -> None:
        found = self.query_one("#sessions", OptionList)
        # as high as its lines, a status wrapped onto a second line too (the trial: at
        # 80×24 «avsluttet, intervaller hoppet over» was cut and the oldest session hidden)
        found.styles.height = "auto"
        found.styles.max_height = SHOWN
        found.highlighted = 0  # the newest: Enter at once writes it
        found.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
