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

from controller.core.i18n import N_, _
from controller.net.fleet import Fleet, TreadmillRow
from controller.net.publisher import MqttSettings

COLUMNS = ("treadmill", "link", "patient", "phase", "left", "HR", "zone", "alarms")
HEADERS = {"treadmill": N_("treadmill"), "link": N_("link"), "patient": N_("patient"),
           "phase": N_("phase"), "left": N_("left"), "HR": N_("HR"), "zone": N_("zone"),
           "alarms": N_("alarms")}
LINK = {"offline": N_("offline"), "stale": N_("stale"), "online": N_("online")}
PHASE = {"warmup": N_("warm-up"), "interval": N_("interval"), "recovery": N_("recovery"),
         "cooldown": N_("cool-down"), "done": N_("done"), "test": N_("6-minute test"),
         "ready": N_("ready")}


def _row(r: TreadmillRow, now_s: float) -> tuple[str, ...]:
    link = _(LINK["offline" if not r.online else ("stale" if r.stale(now_s) else "online")])
    t, s = r.telemetry, r.session
    phase = t.get("phase") or s.get("phase") or "—"
    interval = t.get("interval") or s.get("interval") or 0
    shown = _(PHASE[phase]) if phase in PHASE else phase
    if phase in ("interval", "recovery") and interval:
        shown = f"{shown} {interval}"
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
        alarms = (alarms + " " + _("({n} events missed)").format(n=r.missed_events)).strip()
    return (f"{r.site}/{r.device}", link, str(s.get("pseudonym", "—")), shown, left_txt,
            hr_txt, zone, alarms)


class CentralMonitor(App[None]):
    TITLE = "fourbyfour — central monitor"
    CSS = "DataTable { height: 1fr; } #status { height: 1; padding: 0 1; }"

    def __init__(self, settings: MqttSettings, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.title = _("fourbyfour — central monitor")
        self.settings = settings
        self.clock = clock
        self.fleet = Fleet()
        self.connected = False

    def compose(self) -> ComposeResult:
        yield DataTable(id="fleet", cursor_type="row")
        yield Static(_("connecting…"), id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for c in COLUMNS:
            table.add_column(_(HEADERS[c]), key=c)
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
        self.query_one("#status", Static).update(
            (_("{broker} connected · {n} treadmills · {bad} bad messages ignored")
             if self.connected else
             _("{broker} unreachable, retrying · {n} treadmills · {bad} bad messages ignored"))
            .format(broker=f"{self.settings.host}:{self.settings.port}",
                    n=len(self.fleet.rows), bad=self.fleet.ignored))

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
