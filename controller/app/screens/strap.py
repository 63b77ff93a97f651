"""The patient's strap (key b): the straps in range, and a person chooses one.

Each row shows the ANT+ device number, signal strength, live heart rate and battery (when
the strap sent it during the scan); the strap this patient wore last time comes first, and a
strap another treadmill of the site has paired is marked. Choosing one pairs it: its heart
rate shows on the main view before Start, so staff check the strap on the patient.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from controller.core.i18n import _


def strap_row(key: int, s: dict[str, Any]) -> str:
    """One line of the list (plain text)."""
    line = _("{key}) strap #{number}  signal {rssi} dBm  {bpm} bpm  battery {battery} %").format(
        key=key, number=s["device_number"],
        rssi="—" if s.get("rssi_dbm") is None else s["rssi_dbm"],
        bpm=s.get("hr_bpm") or "—",
        battery="—" if s.get("battery_pct") is None else s["battery_pct"])
    if s.get("remembered"):
        line += "  " + _("(this patient's strap last time)")
    if s.get("in_use_by"):
        line += "  " + _("(in use on {treadmill})").format(treadmill=s["in_use_by"])
    return line


class StrapScreen(ModalScreen[dict[str, Any] | None]):
    """Scan, then 1–9 pairs that strap; r scans again; esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "close", "close"), Binding("r", "rescan", "scan again"),
        *[Binding(str(i), f"choose({i})", show=False) for i in range(1, 10)]]

    def __init__(self, scan) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._scan = scan
        self.straps: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(_("Scanning for straps in range…"), id="straps", markup=False)

    def on_mount(self) -> None:
        self.action_rescan()

    @work(exclusive=True)
    async def action_rescan(self) -> None:
        box = self.query_one("#straps", Static)
        box.update(_("Scanning for straps in range…"))
        self.straps = []
        reply = await self._scan()
        if not reply.get("ok"):
            box.update(_("Scan refused: {error}").format(error=reply.get("error")))
            return
        self.straps = list(reply.get("straps") or [])[:9]
        if not self.straps:
            box.update(_("No strap in range: is it on the patient, moist and close to the "
                         "treadmill? (r: scan again, esc: close)"))
            return
        lines = [strap_row(i, s) for i, s in enumerate(self.straps, 1)]
        lines.append(_("Press 1–{n} to pair that strap, r to scan again, esc to close.")
                     .format(n=len(self.straps)))
        box.update("\n".join(lines))

    def action_choose(self, i: int) -> None:
        if 1 <= i <= len(self.straps):
            s = self.straps[i - 1]
            self.dismiss({"kind": s["kind"], "device_number": s["device_number"]})

    def action_close(self) -> None:
        self.dismiss(None)
