"""The staff console (Textual): watch and steer one treadmill's session.

It is a client of the control service's local socket (``controller.service.control_socket``), so
closing or crashing it never touches the session; reopening it finds the session again.
Keyboard first, readable on an 80×24 Linux console with 16 colours (no braille):

    n patient & plan (before start)   s start   p pause   r resume   k skip phase
    e extend 1 min   x stop   a acknowledge alarm   h history   w write the report
    + / - speed ±0.5 km/h and ] / [ incline ±2 % (the 6-minute test only)
    b Borg rating at the end of the 6-minute test (asked on its own when the test ends)
    q quit the console (the session goes on)

Stop and skip ask for confirmation: a slip of the finger must not end an interval.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Digits,
    Footer,
    Static,
)

from controller.app.screens import (
    Confirm,
    HistoryScreen,
    HrMaxProposalScreen,
    PatientScreen,
    TestBorgScreen,
)
from controller.core.i18n import _
from controller.service.control_socket import ControlClient


def _mmss(s: float | None) -> str:
    if s is None:
        return "--:--"
    s = max(0, round(s))
    return f"{s // 60:02d}:{s % 60:02d}"


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if x is None else fmt.format(x)


def hr_chart(history: list[float], lo: float | None, hi: float | None, width: int,
             rows: int = 5) -> str:
    """The last ``width`` heart rates as columns of block characters, the zone band shaded
    behind them (Rich markup; block glyphs only, so a Linux console can show it)."""
    data = history[-width:]
    if not data:
        return ""
    top = max(max(data), hi or 0.0) + 3.0
    bottom = min(min(data), lo if lo is not None else min(data)) - 3.0
    step = (top - bottom) / rows
    eighths = " ▁▂▃▄▅▆▇█"
    lines = []
    for r in range(rows - 1, -1, -1):
        floor = bottom + r * step
        mid = floor + step / 2
        in_zone = lo is not None and hi is not None and lo <= mid <= hi
        cells = []
        for h in data:
            fill = min(max((h - floor) / step, 0.0), 1.0)
            cells.append(eighths[round(fill * 8)])
        text = "".join(cells).ljust(width)
        label = f"{floor + step:5.0f} "
        lines.append(label + (f"[on green]{text}[/]" if in_zone else text))
    return "\n".join(lines)


class StaffConsole(App[None]):
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "fourbyfour"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "patient", "Patient"),
        Binding("s", "start", "Start"), Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"), Binding("k", "skip", "Skip"),
        Binding("e", "extend", "+1 min"), Binding("x", "stop", "Stop"),
        Binding("a", "ack", "Ack alarm"), Binding("h", "history", "History"),
        Binding("w", "export", "Write report"), Binding("q", "quit", "Quit console"),
        Binding("plus,equals_sign", "adjust(0.5, 0)", "Speed +", show=False),
        Binding("minus", "adjust(-0.5, 0)", "Speed -", show=False),
        Binding("right_square_bracket", "adjust(0, 2)", "Incline +", show=False),
        Binding("left_square_bracket", "adjust(0, -2)", "Incline -", show=False),
        Binding("b", "borg", "Borg", show=False),
    ]

    def __init__(self, socket_path: str) -> None:
        super().__init__()
        self.socket_path = socket_path
        self.client: ControlClient | None = None
        self.state: dict[str, Any] = {}
        self.message = ""
        self._borg_asked_for = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with Vertical(id="hrbox"):
                yield Digits("---", id="hr")
                yield Static("", id="zone")
            with Vertical(id="phasebox"):
                yield Static("connecting…", id="phase")
                yield Static("", id="countdown")
                yield Static("", id="belt")
        yield Static("", id="chart")
        yield Static("", id="links")
        yield Static("", id="alarms")
        yield Static("", id="events")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.listen()

    @work(exclusive=True)
    async def listen(self) -> None:
        while True:
            client = ControlClient(self.socket_path)
            try:
                await client.connect()
                self.client = client
                async for doc in client.updates():
                    self.state = doc
                    self.refresh_view()
            except (OSError, ConnectionError) as e:
                self.client = None
                self.query_one("#links", Static).update(
                    f"[b red]control service unreachable[/]: {e} — retrying")
                await asyncio.sleep(1.0)

    def refresh_view(self) -> None:
        d = self.state
        hr = d.get("hr_bpm")
        lo, hi = d.get("zone_low_bpm"), d.get("zone_high_bpm")
        digits = self.query_one("#hr", Digits)
        digits.update("---" if hr is None else f"{hr:.0f}")
        digits.remove_class("below", "inzone", "above")
        if hr is not None and lo is not None and hi is not None:
            digits.add_class("below" if hr < lo else "above" if hr > hi else "inzone")
        target = d.get("target_bpm")
        self.query_one("#zone", Static).update(
            f"zone {_num(lo, '{:.0f}')}–{_num(hi, '{:.0f}')} bpm · target "
            f"{_num(target, '{:.0f}')}")
        phase = d.get("phase", "ready")
        if d.get("interval"):
            phase = f"{phase} {d['interval']}/4" if phase == "interval" else \
                f"{phase} after interval {d['interval']}"
        if d.get("hr_max") is None:
            who = _("no patient chosen (n)")
        else:
            who = (f"{d.get('pseudonym', '')} (HRmax {d.get('hr_max', 0):.0f}, "
                   f"{d.get('hr_max_source', '')})")
        self.query_one("#phase", Static).update(
            f"[b]{phase.upper()}[/b] · {d.get('state', '')} · {who}")
        self.query_one("#countdown", Static).update(
            f"phase ends in [b]{_mmss(d.get('phase_remaining_s'))}[/b]"
            + ("" if d.get("started") else " · press [b]s[/b] to start"))
        belt = (f"speed {_num(d.get('speed_set_kmh'))} set / {_num(d.get('speed_kmh'))} km/h · "
                f"incline {_num(d.get('incline_set_pct'))} set / {_num(d.get('incline_pct'))} %")
        if d.get("phase") == "test":
            belt += "\n" + _("6-minute test: +/- speed, ]/[ incline")
        self.query_one("#belt", Static).update(belt)
        hist = [h for h in d.get("hr_history", []) if h is not None]
        chart = self.query_one("#chart", Static)
        chart.update(hr_chart(hist, lo, hi, max(10, chart.size.width - 8)))
        mqtt = d.get("mqtt") or "off"
        self.query_one("#links", Static).update(
            f"strap: {d.get('strap', '?')} · treadmill: {d.get('treadmill', '?')} · "
            f"MQTT {mqtt}")
        alarms = d.get("alarms") or {}
        self.query_one("#alarms", Static).update(
            "\n".join(f"[b red]ALARM[/] {m}  (a: acknowledge)" for m in alarms.values()))
        summary = d.get("summary")
        if summary:
            lines = [f"interval {iv['interval']}: zone after {iv['time_to_zone_s']} s, "
                     f"{iv['in_zone_after_allowance_pct']} % in zone, peak {iv['peak_hr_bpm']}"
                     for iv in summary["intervals"]]
            lines.append(f"total in zone {summary['total_in_zone_s'] // 60} min "
                         f"{summary['total_in_zone_s'] % 60} s")
            self.query_one("#events", Static).update("\n".join(lines[-5:]))
        else:
            self.query_one("#events", Static).update("\n".join(d.get("events", [])[-3:]))
        self.query_one("#message", Static).update(self.message)
        self._maybe_ask_borg()

    # -- the 6-minute test ------------------------------------------------------------------

    def _test_ended(self) -> bool:
        d = self.state
        return d.get("plan") == "6-minute test" and d.get("started", False) and \
            d.get("phase") in ("cooldown", "done") and not d.get("hrmax_proposal")

    def _maybe_ask_borg(self) -> None:
        """When the test phase ends, ask the Borg rating once (b asks again)."""
        sid = self.state.get("session_id", "")
        if self._test_ended() and self._borg_asked_for != sid and \
                not isinstance(self.screen, TestBorgScreen):
            self._borg_asked_for = sid
            self.action_borg()

    async def action_adjust(self, speed_delta_kmh: float, incline_delta_pct: float) -> None:
        await self._send("adjust", speed_delta_kmh=speed_delta_kmh,
                         incline_delta_pct=incline_delta_pct)

    def action_borg(self) -> None:
        if not self._test_ended():
            return

        async def rated(rpe: int | None) -> None:
            if rpe is None or self.client is None:
                return
            reply = await self.client.command("rpe", rpe=rpe)
            if not reply.get("ok"):
                self.message = _("[b red]Borg rating refused[/]: {error}").format(
                    error=reply.get("error"))
                self.query_one("#message", Static).update(self.message)
                return
            self.push_screen(HrMaxProposalScreen(reply["proposal"], dict(self.state)),
                             decided)

        async def decided(choice: dict[str, Any] | None) -> None:
            if choice is None or self.client is None:
                return
            reply = await self.client.command("hrmax", **choice)
            if reply.get("ok") and reply.get("profile"):
                self.message = _("HRmax {hr_max} bpm stored ({source}, {date}); the next 4x4 "
                                 "starts from it.").format(
                    hr_max=f"{reply['profile']['hr_max_bpm']:.0f}",
                    source=reply["profile"]["hr_max_source"],
                    date=reply["profile"]["hr_max_date"])
            elif reply.get("ok"):
                self.message = _("HRmax proposal rejected; the HRmax in use is kept.")
            else:
                self.message = _("[b red]HRmax decision refused[/]: {error}").format(
                    error=reply.get("error"))
            self.query_one("#message", Static).update(self.message)

        self.push_screen(TestBorgScreen(), rated)

    async def _send(self, cmd: str, **kw: Any) -> None:
        if self.client is None:
            self.message = "not connected to the control service"
        else:
            reply = await self.client.command(cmd, **kw)
            self.message = f"{cmd}: ok" if reply.get("ok") else \
                f"[b red]{cmd} refused[/]: {reply.get('error')}"
        self.query_one("#message", Static).update(self.message)

    async def action_history(self) -> None:
        if self.client is None:
            return
        reply = await self.client.command("history")
        if reply.get("ok"):
            self.push_screen(HistoryScreen(reply["history"]))
        else:
            self.message = f"[b red]history refused[/]: {reply.get('error')}"
            self.query_one("#message", Static).update(self.message)

    async def action_export(self) -> None:
        if self.client is None:
            return
        reply = await self.client.command("export")
        self.message = ("wrote " + ", ".join(reply["files"])) if reply.get("ok") else \
            f"[b red]export refused[/]: {reply.get('error')}"
        self.query_one("#message", Static).update(self.message)

    def action_patient(self) -> None:
        if self.state.get("started"):
            self.message = "the session has started: patient and plan are fixed"
            self.query_one("#message", Static).update(self.message)
            return

        async def done(result: dict[str, Any] | None) -> None:
            if result is not None:
                await self._send("setup", **result)

        self.push_screen(PatientScreen(self.state), done)

    async def action_start(self) -> None:
        await self._send("start")

    async def action_pause(self) -> None:
        await self._send("pause")

    async def action_resume(self) -> None:
        await self._send("resume")

    async def action_extend(self) -> None:
        await self._send("extend", seconds=60)

    async def action_ack(self) -> None:
        for alarm in list(self.state.get("alarms") or {}):
            await self._send("ack", alarm=alarm)

    def action_skip(self) -> None:
        self.push_screen(Confirm("Skip the rest of this phase?"), self._confirmed("skip"))

    def action_stop(self) -> None:
        self.push_screen(Confirm("Stop the session (the belt slows to a stop)?"),
                         self._confirmed("stop"))

    def _confirmed(self, cmd: str):  # type: ignore[no-untyped-def]
        async def done(yes: bool | None) -> None:
            if yes:
                await self._send(cmd)
            else:
                self.message = f"{cmd} cancelled"
                self.query_one("#message", Static).update(self.message)
        return done
