"""The patient's strap (key b): the straps in range, and a person chooses one.

ANT+ and Bluetooth LE straps are listed together, each marked by kind: ANT+ with its device
number, signal strength, live heart rate and battery; BLE with its name and signal strength
(its adverts carry no heart rate: that shows once paired). The list stays live while the
screen is open — the service scans again and again, so an ANT+ strap's battery page (about
once a minute) shows when it arrives. The strap this patient wore last time comes first. A
strap another treadmill of the site has paired is marked, and choosing it asks for a second
keypress. Choosing pairs it: its heart rate shows on the main view before Start, so staff
check the strap on the patient.

A scan in flight is never abandoned (its reply would be taken for the next command's): a
choice, or esc, takes effect when the current scan ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from controller.app import texts
from controller.core.i18n import _

LIVE_SCAN_S = 3.0
"""One scan of the live list: short, so a choice waits at most this long."""


def battery_text(s: dict[str, Any]) -> str:
    pct = s.get("battery_pct")
    if pct is None:
        return "—"
    return _("{pct} % LOW").format(pct=pct) if s.get("battery_low") else f"{pct} %"


def strap_name(s: dict[str, Any]) -> str:
    """How staff tell straps apart: the ANT+ device number, or the BLE name (Polar and
    Garmin put the strap's own number in it) or address."""
    if s.get("kind") == "ble":
        name = s.get("name") or s.get("address") or "?"
        return name if len(name) <= 20 else name[:19] + "…"
    return f"#{s.get('ant_id') or s['device_number']}"  # the full 20-bit id (issue 22)


def strap_row(key: int, s: dict[str, Any]) -> str:
    """One line of the list (plain text)."""
    rssi = "—" if s.get("rssi_dbm") is None else s["rssi_dbm"]
    if s.get("kind") == "ble":
        line = _("{key}) BLE strap {name}  signal {rssi} dBm  battery {battery}").format(
            key=key, name=strap_name(s), rssi=rssi, battery=battery_text(s))
    else:
        line = _("{key}) ANT+ strap #{number}  signal {rssi} dBm  {bpm} bpm  battery "
                 "{battery}").format(key=key, number=s.get("ant_id") or s["device_number"],
                                     rssi=rssi,
                                     bpm=s.get("hr_bpm") or "—", battery=battery_text(s))
    if s.get("gone"):
        line += "  " + _("(not heard in the last scan)")
    if s.get("remembered"):
        line += "  " + _("(this patient's strap last time)")
    if s.get("in_use_by"):
        line += "  " + _("(in use on {treadmill})").format(treadmill=s["in_use_by"])
    return line


def choice_of(s: dict[str, Any]) -> dict[str, Any]:
    if s.get("kind") == "ble":
        return {"kind": "ble", "address": s["address"]}
    if s.get("transmission_type"):  # pinned on the full id (issue 22)
        return {"kind": "ant", "device_number": s["device_number"],
                "transmission_type": s["transmission_type"]}
    return {"kind": "ant", "device_number": s["device_number"]}


def merge_rows(shown: list[dict[str, Any]], fresh: list[dict[str, Any]],
               limit: int = 9) -> list[dict[str, Any]]:
    """The live list keeps each strap on its key while the screen is open (a person reads
    "3" and presses 3): known straps keep their place, updated, or marked gone; new ones
    come after them."""
    by_choice = {str(choice_of(r)): r for r in fresh}
    rows = [dict(by_choice.pop(str(choice_of(r)), None) or {**r, "gone": True})  # type: ignore[arg-type]
            for r in shown]
    rows += [r for r in fresh if str(choice_of(r)) in by_choice]
    return rows[:limit]


class StrapScreen(ModalScreen[dict[str, Any] | None]):
    """The live list; 1–9 pairs that strap (twice for one in use elsewhere); esc closes.

    Dismissed with ``{"strap": {...}, "confirm_in_use": bool}`` or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "close", "close"),
        *[Binding(str(i), f"choose({i})", show=False) for i in range(1, 10)]]

    def __init__(self, scan: Callable[[float], Awaitable[dict[str, Any]]],
                 scan_s: float = LIVE_SCAN_S) -> None:
        super().__init__()
        self._scan = scan
        self.scan_s = scan_s
        self.straps: list[dict[str, Any]] = []
        self.note: str | None = None
        self.confirming: dict[str, Any] | None = None
        """The strap in use elsewhere, chosen once: its key again pairs it."""
        self._result: dict[str, Any] | None = None
        self._leaving = False
        self._worker: Any = None

    def compose(self) -> ComposeResult:
        yield Static(_("Scanning for straps in range…"), id="straps", markup=False)

    def on_mount(self) -> None:
        self._worker = self.live()

    @work(exclusive=True)
    async def live(self) -> None:
        """Scan again and again until staff choose or close (then leave after the scan)."""
        while not self._leaving:
            reply = await self._scan(self.scan_s)
            if self._leaving:
                break
            if not reply.get("ok"):
                self.query_one("#straps", Static).update(
                    _("Scan refused: {error}").format(error=texts.reply_text(reply)))
                return
            self.note = reply.get("note")
            self.straps = merge_rows(self.straps, list(reply.get("straps") or []))
            self.show()
        self.dismiss(self._result)

    def show(self, waiting: str | None = None) -> None:
        lines = [strap_row(i, s) for i, s in enumerate(self.straps, 1)]
        if not self.straps:
            lines.append(_("No strap in range: is it on the patient, moist and close to the "
                           "treadmill? (esc: close)"))
        if self.note:
            lines.append(self.note)
        if waiting:
            lines.append(waiting)
        elif (key := self._confirming_row()) is not None:
            s = self.straps[key - 1]
            lines.append(_("Strap {strap} is in use on treadmill {treadmill}: press {key} "
                           "again to pair it here anyway.").format(
                strap=strap_name(s), treadmill=s["in_use_by"], key=key))
        elif self.straps:
            lines.append(_("Press 1–{n} to pair that strap, esc to close. The list updates "
                           "as straps are heard.").format(n=len(self.straps)))
        self.query_one("#straps", Static).update("\n".join(lines))

    def _confirming_row(self) -> int | None:
        for i, s in enumerate(self.straps, 1):
            if self.confirming is not None and choice_of(s) == self.confirming:
                return i
        return None

    def _leave(self, result: dict[str, Any] | None) -> None:
        self._result = result
        self._leaving = True
        if self.straps or self.note:
            self.show(_("Finishing this scan…"))
        if self._worker is None or self._worker.is_finished:
            self.dismiss(result)

    def action_choose(self, i: int) -> None:
        if self._leaving or not 1 <= i <= len(self.straps):
            return
        s = self.straps[i - 1]
        if s.get("in_use_by") and self.confirming != choice_of(s):
            self.confirming = choice_of(s)  # a neighbour's strap: never on one keypress
            self.show()
            return
        self._leave({"strap": choice_of(s), "confirm_in_use": bool(s.get("in_use_by"))})

    def action_close(self) -> None:
        if not self._leaving:
            self._leave(None)
