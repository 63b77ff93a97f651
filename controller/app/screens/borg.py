"""The patient's Borg rating (6–20) at the end of an interval, with one key press.

Fifteen values need fifteen keys: letters stand beside the numbers, so the patient points
at (or says) a number and staff press the one key next to it. Esc: not now. The letters leave
out a, p, r, w and x: acknowledge, Pause, Resume, the report and Stop work while the prompt
is open. The console keeps
at most one prompt open (``ask`` moves it on to the latest interval).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import SAFETY_BINDINGS, SAFETY_KEYS
from controller.core.i18n import N_, _

KEYS = "bcdefghijklmnoq"
assert not set(KEYS) & set(SAFETY_KEYS + "w")
ANCHORS = {6: N_("no exertion at all"), 7: N_("extremely light"), 9: N_("very light"),
           11: N_("light"), 13: N_("somewhat hard"), 15: N_("hard (heavy)"),
           17: N_("very hard"), 19: N_("extremely hard"), 20: N_("maximal exertion")}


class BorgScreen(ModalScreen[int | None]):
    """Borg 6–20 for one interval (0: the 6-minute test), one key press."""

    # Its own footer, over the console's: only what works here (the letters are Borg values,
    # so "k Skip" or "q Quit" below the prompt would rate 15 or 20). The app.* actions show
    # only when the console's check_action allows them (p while running, r while paused).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.pause", N_("Pause")), Binding("r", "app.resume", N_("Resume")),
        Binding("x", "app.stop", N_("Stop")), Binding("a", "app.ack", N_("Ack alarm")),
        # the report, as on the console (shown after the session, works during it too)
        Binding("w", "app.export", N_("Report")), Binding("w", "app.export_live", show=False),
        Binding("escape", "later", N_("not now")), *SAFETY_BINDINGS,
        *(Binding(k, f"rate({6 + i})", str(6 + i), show=False) for i, k in enumerate(KEYS)),
    ]

    def __init__(self, interval: int) -> None:
        super().__init__()
        self.interval = interval
        keys = self._bindings.key_to_bindings  # the footer in the process's language
        for key, bindings in keys.items():
            keys[key] = [dataclasses.replace(b, description=_(b.description))
                         if b.description and b.show else b for b in bindings]

    def compose(self) -> ComposeResult:
        yield Static(self._text(), id="borg")
        yield CatalogFooter(compact=True)

    def _text(self) -> str:
        title = _("Borg rating of the 6-minute test") if self.interval == 0 else \
            _("Borg rating of interval {n}").format(n=self.interval)
        lines = [f"[b]{title}[/b]", _("press the letter beside the number (esc: not now)")]
        for i, key in enumerate(KEYS):
            value = 6 + i
            anchor = _(ANCHORS[value]) if value in ANCHORS else ""
            lines.append(f"[b]{key}[/b]  {value:2d}  {anchor}")
        return "\n".join(lines)

    def ask(self, interval: int) -> None:
        """The same prompt, now for a later interval (never a second prompt)."""
        self.interval = interval
        self.query_one("#borg", Static).update(self._text())

    def action_rate(self, value: int) -> None:
        self.dismiss(value)

    def action_later(self) -> None:
        self.dismiss(None)
