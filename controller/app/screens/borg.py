"""The patient's Borg rating (6–20) at the end of an interval, typed as the number.

The patient points at (or says) a number on the scale; staff type it and press Enter ("13"
Enter). Digits only: no letter answers this prompt, so a j or n meant for a yes/no question
never rates an interval (letters beside the numbers once took j as 14 and n as 18, the keys
of the confirmations), and a mistyped number is refused on the prompt, which stays open.
Esc: not now. Pause, Resume, Stop, acknowledge and the report (p, r, x, a, w) work while it
is open. The console keeps at most one prompt open (``ask`` moves it on to the latest
interval). Keys typed in a burst are taken in order, none lost: the typed number is the
prompt's own state, not a widget that must have the focus first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

from controller.app.screens.footer import CatalogFooter
from controller.app.screens.safety import SAFETY_BINDINGS, SAFETY_KEYS
from controller.core.i18n import N_, _

DIGITS = "0123456789"
TEXT_WIDTH = 74
"""The prompt's text width (console.tcss: #borg 78 wide, border and padding)."""
assert not set(DIGITS) & set(SAFETY_KEYS + "w")
BORG_MIN, BORG_MAX = 6, 20


def borg_value(typed: str) -> int | None:
    """The Borg value staff typed (6–20), or None."""
    return int(typed) if typed.isdigit() and BORG_MIN <= int(typed) <= BORG_MAX else None


def digit_bindings() -> list[Binding]:
    """0–9 type the number, backspace takes one back, Enter gives it."""
    return [*(Binding(d, f"digit('{d}')", show=False) for d in DIGITS),
            Binding("backspace", "erase", show=False),
            Binding("enter", "enter", show=False)]


ANCHORS = {6: N_("no exertion at all"), 7: N_("extremely light"), 9: N_("very light"),
           11: N_("light"), 13: N_("somewhat hard"), 15: N_("hard (heavy)"),
           17: N_("very hard"), 19: N_("extremely hard"), 20: N_("maximal exertion")}


def scale_rows(columns: int = 3) -> list[str]:
    """The scale 6–20 with its words, in ``columns`` columns read down (6–10, 11–15,
    16–20): five rows, not fifteen."""
    from rich.cells import cell_len

    values = list(range(BORG_MIN, BORG_MAX + 1))
    per = -(-len(values) // columns)
    cells = [f"{v:2d} {_(ANCHORS[v])}" if v in ANCHORS else f"{v:2d}" for v in values]
    width = (TEXT_WIDTH - (columns - 1)) // columns
    rows = []
    for r in range(per):
        row = ""
        for c in range(columns):
            i = c * per + r
            if i >= len(values):
                break
            cell = cells[i] if cell_len(cells[i]) <= width else cells[i][:width - 1] + "…"
            bold = f"[b]{cell[:2]}[/b]{cell[2:]}"
            row += bold + " " * (width - cell_len(cell) + 1) if c < columns - 1 else bold
        rows.append(row.rstrip())
    return rows


class BorgScreen(ModalScreen[int | None]):
    """Borg 6–20 for one interval (0: the 6-minute test): the number, then Enter."""

    # Its own footer, over the console's: only what works here (the console's k Skip or
    # q Quit do nothing under the prompt). The app.* actions show
    # only when the console's check_action allows them (p while running, r while paused).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.pause", N_("Pause")), Binding("r", "app.resume", N_("Resume")),
        Binding("x", "app.stop", N_("Stop")), Binding("a", "app.ack", N_("Ack alarm")),
        # the report, as on the console (shown after the session, works during it too)
        Binding("w", "app.export", N_("Report")), Binding("w", "app.export_live", show=False),
        Binding("escape", "later", N_("not now")), *SAFETY_BINDINGS,
        *digit_bindings(),
    ]

    def __init__(self, interval: int,
                 then: Callable[[int, int], int | None] | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.typed = ""
        self.refused = ""
        self.then = then
        """For the ratings owed (b): takes a rating given and names the next interval owed,
        which this prompt asks at once (None: none, the prompt closes with the rating)."""
        self.taken = ""
        """The rating taken just before, said while the prompt asks the next one owed."""
        self.expired = False
        """Closed by the console as the next interval began, the rating not given."""
        self.opened_in: tuple[str, int] | None = None
        """The phase and interval the console opened it in (``expired``)."""
        self.said = ""
        """The console's message said while this prompt is open (it covers the message line:
        a report's «lagret» was hidden behind it), on lines that fit the prompt."""
        self.said_from = ""
        """``said`` as the console gave it, on one line: the console says it again as the
        session moves on (the trial: «Stopper: …» stayed after the session had ended)."""
        keys = self._bindings.key_to_bindings  # the footer in the process's language
        for key, bindings in keys.items():
            keys[key] = [dataclasses.replace(b, description=_(b.description))
                         if b.description and b.show else b for b in bindings]

    def compose(self) -> ComposeResult:
        yield Static(self._text(), id="borg")
        yield CatalogFooter(compact=True)

    def _text(self) -> str:
        from rich.cells import cell_len

        title = _("Borg rating of the 6-minute test") if self.interval == 0 else \
            _("Borg rating of interval {n}").format(n=self.interval)
        hint = _("type the number (6–20), then Enter (esc: not now)")
        # one line where it fits: the prompt is low (``place``), so the alarm lines stay in
        # view above or below it at 80×24 (issue 21: 22 rows in the middle covered them)
        lines = [f"[b]{title}[/b]: {hint}" if cell_len(f"{title}: {hint}") <= TEXT_WIDTH
                 else f"[b]{title}[/b]\n{hint}"]
        if self.taken:
            lines.insert(1, f"[green]{self.taken}[/]")
        if self.said:
            from rich.markup import escape

            lines.insert(1, escape(self.said))
        lines += scale_rows()
        typed = _("Borg rating: {typed}").format(typed=self.typed + "▏")
        lines.append(typed + (f"  [b red]{self.refused}[/]" if self.refused and
                              cell_len(f"{typed}  {self.refused}") <= TEXT_WIDTH else ""))
        if self.refused and not lines[-1].endswith("[/]"):
            lines.append(f"[b red]{self.refused}[/]")
        return "\n".join(lines)

    def _show(self) -> None:
        self.query_one("#borg", Static).update(self._text())

    def place(self, avoid: Region, bottom: int) -> None:
        """Lay the prompt out clear of ``avoid`` (the console's alarm lines): under them
        where it fits above row ``bottom`` (the footer), else over them (the chart), so they
        are never covered. Its width stays; only its top row moves."""
        box = self.query_one("#borg", Static)
        height = box.outer_size.height
        below = avoid.bottom
        top = below if below + height <= bottom else max(avoid.y - height, 0)
        if box.styles.margin.top != top:
            box.styles.margin = (top, 0, 0, 0)

    def note(self, said: str, said_from: str = "") -> None:
        """Show the console's message (plain text, wrapped to the prompt's width) while the
        prompt is open; ``said_from``: the same before it was wrapped."""
        self.said = said
        self.said_from = said_from or said
        if self.is_mounted:
            self._show()

    def ask(self, interval: int) -> None:
        """The same prompt, now for a later interval (never a second prompt)."""
        self.interval = interval
        self.typed = ""  # begun for the interval before: never given to this one
        self.taken = ""
        self._show()

    def on_key(self, event: events.Key) -> None:
        """A letter (or other sign) that is not one of this prompt's keys is said, never
        dropped without a word; the digits typed stay."""
        if event.is_printable and event.character and event.key != "b" and \
                event.key not in self._bindings.key_to_bindings:  # b: this prompt, open
            event.stop()
            self.refused = _("«{key}» is not a Borg rating: type the number 6–20").format(
                key=event.character)
            self._show()

    def action_digit(self, digit: str) -> None:
        self.typed = (self.typed + digit)[-2:]
        self.refused = ""
        self._show()

    def action_erase(self) -> None:
        self.typed = self.typed[:-1]
        self._show()

    def action_enter(self) -> None:
        value = borg_value(self.typed)
        if value is None:
            self.refused = _("{typed} is not a Borg rating: type a number 6–20").format(
                typed=self.typed) if self.typed else _("type a number 6–20, then Enter")
            self.typed = ""
            self._show()
            return
        following = self.then(self.interval, value) if self.then is not None else None
        if following is not None:
            # the next rating owed, in this same prompt: keys typed straight after Enter are
            # its (the trial: «16 Enter» typed quickly went to the main screen, lost)
            taken = _("Borg rating {borg} taken for interval {n}.").format(
                borg=value, n=self.interval)
            self.ask(following)
            self.taken = taken
            self.refused = ""
            self._show()
            return
        self.dismiss(value)

    def action_later(self) -> None:
        self.dismiss(None)
