"""One patient's sessions and progression, from the service's store."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from controller.app.screens.safety import SAFETY_BINDINGS
from controller.core.dates import local_datetime
from controller.core.i18n import (
    _,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    format_speed,
    ngettext,
)
from controller.core.words import response_words


class HistoryScreen(ModalScreen[None]):
    """This patient's sessions and progression (from the service's store)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,h", "close", "close"),
                                             *SAFETY_BINDINGS]

    def __init__(self, history: dict[str, Any]) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        h = self.history
        lines = ["[b]" + h.get("pseudonym", "") + "[/b] — " + counted_text(h)]
        every = h.get("sessions", [])
        if len(every) > SHOWN:  # the count above is of them all (trial 11: 9 said, 8 shown)
            lines.append(_("(the {shown} newest are shown; the report list, w, has them "
                           "all)").format(shown=SHOWN))
        for p in every[-SHOWN:]:
            when = format_datetime(local_datetime(p["started_unix_s"]).replace(tzinfo=None))
            # the belt as staff set it (km/t and %), not its oxygen cost in ml/kg/min; the
            # learned response's figure is a converted one and says so ("tilsvarer")
            said = _("{speed} at {incline} incline")
            speed, incline = p.get("belt_speed_at_90_kmh"), p.get("belt_incline_at_90_pct")
            if speed is None:
                speed, incline = p.get("speed_at_90_kmh"), p.get("incline_at_90_pct")
                if p.get("at_90_equivalent"):
                    said = _("equivalent to {speed} at {incline} incline")
            lines.append(_("{when}  at 90 % HRmax: {load}  peak {peak} bpm").format(
                when=when, load="—" if speed is None or incline is None else
                said.format(speed=format_speed(speed), incline=format_percent(incline)),
                peak=format_number(p["peak_hr_bpm"], 0) if p["peak_hr_bpm"] else "—"))
        if h.get("vo2max_estimate"):
            lines.append(_("Estimated VO2max {vo2} ml/kg/min").format(
                vo2=format_number(h["vo2max_estimate"], 1)))
        if h.get("hr_max_suggestion"):
            lines.append("[b yellow]" + _("HRmax") + ":[/] " + _(
                "a heart rate of {bpm} bpm was recorded, above the profile's HRmax").format(
                bpm=f"{h['hr_max_suggestion']['hr_max_bpm']:.0f}"))
        kept = h.get("response_model")
        if kept is not None:
            if kept.get("refused"):
                lines.append(_("Learned response not used: {why}").format(why=kept["refused"]))
            else:
                lines.append(_("Learned response ({date}): {words}").format(
                    date=_day(kept.get("date")), words=response_words(kept["model"])))
        lines.append(_("(esc to close)"))
        yield Static("\n".join(lines), id="history")

    def action_close(self) -> None:
        self.dismiss(None)


SHOWN = 8
"""The sessions the history lists (the newest): it fits 80×24 with the lines under them."""


def counted_text(h: dict[str, Any]) -> str:
    """How many 4x4 sessions the history counts, and what it leaves out and why (a list of
    five sessions beside "4 sessions" needs the reason: the 6-minute test is not training)."""
    n = len(h.get("sessions", []))
    said = ngettext("{n} 4x4 session", "{n} 4x4 sessions", n).format(n=n)
    left = h.get("left_out") or {}
    tests, running = left.get("six_minute_test", 0), left.get("running", 0)
    short = left.get("too_short", 0)
    if tests:
        # one number, after the test's name («3 6-minutters pulstester» read as two)
        said += " " + ngettext("(the 6-minute test is not counted: it is not training)",
                               "(the 6-minute tests, {n} in all, are not counted: they are "
                               "not training)", tests).format(n=tests)
    if short:
        # kept, not counted (``stats.counts_as_okt``): the list would not show them either
        said += " " + ngettext("(a session quit in the warm-up is kept but not counted)",
                               "({n} sessions quit in the warm-up are kept but not counted)",
                               short).format(n=short)
    if running:
        said += " " + _("(the session running now is counted when it ends)")
    return said


def _day(iso: object) -> str:
    """A stored ISO day (``2026-11-15``) as staff read dates: ``15.11.2026`` in bokmål."""
    try:
        return format_date(dt.date.fromisoformat(str(iso)))
    except ValueError:
        return "—" if not iso else str(iso)
