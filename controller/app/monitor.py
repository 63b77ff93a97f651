"""The central monitor: every treadmill on a broker in one Textual view.

Subscribes to ``clinic/v1/#`` (aiomqtt), feeds ``fleet.Fleet`` and shows one row per treadmill:
online / stale / offline, phase and countdown, heart rate against its zone, alarms. Bad
payloads are ignored with a log line (``Fleet.apply``). Reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import aiomqtt
from textual import work
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Static

from controller.net.fleet import Fleet, TreadmillRow
from controller.net.publisher import MqttSettings

COLUMNS = ("treadmill", "link", "patient", "phase", "left", "HR", "zone", "alarms")


def _row(r: TreadmillRow, now_s: float) -> tuple[str, ...]:
    link = "offline" if not r.online else ("stale" if r.stale(now_s) else "online")
    t, s = r.telemetry, r.session
    phase = t.get("phase") or s.get("phase") or "—"
    interval = t.get("interval") or s.get("interval") or 0
    if phase in ("interval", "recovery") and interval:
        phase = f"{phase} {interval}"
    left = t.get("phase_remaining_s", s.get("phase_remaining_s"))
    left_txt = "—" if left is None else f"{int(left) // 60:02d}:{int(left) % 60:02d}"
    hr = t.get("hr_bpm")
    lo, hi = t.get("zone_low_bpm"), t.get("zone_high_bpm")
    hr_txt = "—" if hr is None else f"{hr:.0f}"
    if hr is not None and lo is not None and hi is not None:
        hr_txt += " ↓" if hr < lo else " ↑" if hr > hi else " ✓"
    zone = "—" if lo is None or hi is None else f"{lo:.0f}–{hi:.0f}"
    alarms = ", ".join(r.alarms) or ""
    if r.missed_events:
        alarms = (alarms + f" ({r.missed_events} events missed)").strip()
    return (f"{r.site}/{r.device}", link, str(s.get("pseudonym", "—")), phase, left_txt,
            hr_txt, zone, alarms)


class CentralMonitor(App[None]):
    TITLE = "fourbyfour — central monitor"
    CSS = "DataTable { height: 1fr; } #status { height: 1; padding: 0 1; }"

    def __init__(self, settings: MqttSettings, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.fleet = Fleet()
        self.connected = False

    def compose(self) -> ComposeResult:
        yield DataTable(id="fleet", cursor_type="row")
        yield Static("connecting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for c in COLUMNS:
            table.add_column(c, key=c)
        self.set_interval(1.0, self.redraw)
        self.listen()

    def redraw(self) -> None:
        table = self.query_one(DataTable)
        now = self.clock()
        for key, r in sorted(self.fleet.rows.items()):
            cells = _row(r, now)
            rk = "/".join(key)
            if rk in table.rows:
                for c, v in zip(COLUMNS, cells, strict=True):
                    table.update_cell(rk, c, v)
            else:
                table.add_row(*cells, key=rk)
        state = "connected" if self.connected else "broker unreachable, retrying"
        self.query_one("#status", Static).update(
            f"{self.settings.host}:{self.settings.port} {state} · "
            f"{len(self.fleet.rows)} treadmills · {self.fleet.ignored} bad messages ignored")

    @work(exclusive=True)
    async def listen(self) -> None:
        s = self.settings
        tls = ssl.create_default_context(cafile=s.tls_ca_file) if s.tls_ca_file else None
        backoff = 0.5
        while True:
            try:
                async with aiomqtt.Client(s.host, s.port, username=s.username,
                                          password=s.password, tls_context=tls,
                                          keepalive=10) as client:
                    self.connected = True
                    backoff = 0.5
                    await client.subscribe("clinic/v1/#", qos=1)
                    async for m in client.messages:
                        self.fleet.apply(str(m.topic), bytes(m.payload), self.clock())
                        self.redraw()
            except aiomqtt.MqttError:
                self.connected = False
                self.redraw()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
