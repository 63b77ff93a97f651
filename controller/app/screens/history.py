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
from controller.core.i18n import _, format_date, format_datetime, format_number
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
        lines = ["[b]" + h.get("pseudonym", "") + "[/b] — " + _("sessions recorded: {n}").format(
            n=len(h.get("sessions", [])))]
        for p in h.get("sessions", [])[-8:]:
            when = format_datetime(local_datetime(p["started_unix_s"]).replace(tzinfo=None))
            work = p["work_at_90_vo2"]
            lines.append(_("{when}  work at 90 % HRmax: {work}  peak {peak} bpm").format(
                when=when, work="—" if work is None else _("{vo2} ml/kg/min").format(
                    vo2=format_number(work, 1)),
                peak=format_number(p["peak_hr_bpm"], 0) if p["peak_hr_bpm"] else "—"))
        trend = h.get("work_at_90_trend_vo2_per_week")
        if trend is not None:
            lines.append(_("trend {trend} ml/kg/min per week").format(
                trend=("+" if trend >= 0 else "") + format_number(trend, 2)))
        if h.get("vo2max_estimate"):
            lines.append(_("estimated VO2max {vo2} ml/kg/min").format(
                vo2=format_number(h["vo2max_estimate"], 1)))
        if h.get("hr_max_suggestion"):
            lines.append("[b yellow]HRmax:[/] " + _(
                "a heart rate of {bpm} bpm was recorded, above the profile's HRmax").format(
                bpm=f"{h['hr_max_suggestion']['hr_max_bpm']:.0f}"))
        kept = h.get("response_model")
        if kept is not None:
            if kept.get("refused"):
                lines.append(_("learned response not used: {why}").format(why=kept["refused"]))
            else:
                lines.append(_("learned response ({date}): {words}").format(
                    date=_day(kept.get("date")), words=response_words(kept["model"])))
        lines.append(_("(esc to close)"))
        yield Static("\n".join(lines), id="history")

    def action_close(self) -> None:
        self.dismiss(None)


def _day(iso: object) -> str:
    """A stored ISO day (``2026-11-15``) as staff read dates: ``15.11.2026`` in bokmål."""
    try:
        return format_date(dt.date.fromisoformat(str(iso)))
    except ValueError:
        return "—" if not iso else str(iso)
