"""One patient's sessions and progression, from the service's store."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static


class HistoryScreen(ModalScreen[None]):
    """This patient's sessions and progression (from the service's store)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,h", "close", "close")]

    def __init__(self, history: dict[str, Any]) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        h = self.history
        lines = [f"[b]{h.get('pseudonym', '')}[/b] — sessions recorded: "
                 f"{len(h.get('sessions', []))}"]
        for p in h.get("sessions", [])[-8:]:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(p["started_unix_s"]))
            work = p["work_at_90_vo2"]
            lines.append(f"{when}  work at 90 % HRmax: "
                         f"{'—' if work is None else f'{work:.1f} ml/kg/min'}  "
                         f"peak {p['peak_hr_bpm'] or '—'} bpm")
        trend = h.get("work_at_90_trend_vo2_per_week")
        if trend is not None:
            lines.append(f"trend {trend:+.2f} ml/kg/min per week")
        if h.get("vo2max_estimate"):
            lines.append(f"estimated VO2max {h['vo2max_estimate']} ml/kg/min")
        if h.get("hr_max_suggestion"):
            lines.append(f"[b yellow]HRmax:[/] {h['hr_max_suggestion']['why']}")
        lines.append("(esc to close)")
        yield Static("\n".join(lines), id="history")

    def action_close(self) -> None:
        self.dismiss(None)
