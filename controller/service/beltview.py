"""The patient's screen at the belt: a read-only web page served by the control service.

A screen mounted at the treadmill (the Pi's HDMI in a kiosk browser, or a tablet on the clinic
network) opens ``http://<pi>:<port>/``. The page (``beltview_static/``: HTML, CSS and a little
JavaScript, no CDN, nothing from the internet) listens to ``/events``, a server-sent-events
stream of one JSON document per change, and reconnects by itself (``EventSource``); while the
service is down it shows "waiting for the treadmill". ``/state`` is the same document once.

Theory of operation: the HTTP server is a small asyncio stream server from the standard
library, started beside the runtime and outside its safety ``TaskGroup``. It never awaits the
runtime: a ticker reads the runtime's latest snapshot (a replaced reference, never awaited)
every ``push_s`` and puts the built document in a one-value slot; each client's task sends the
slot when it changed. Writes to a client have a timeout and a slow client is dropped, so a
stuck tablet cannot hold anything up. Mastery (today against last time) reads SQLite and runs
in a worker thread once per finished session.

Every text on the page is translated here, on the server, from the gettext catalog in the
configured language (``belt_doc``), so the page holds no language of its own. The only
person-related datum in the document is the pseudonym.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.i18n import N_, format_number, format_percent, format_speed, translations
from controller.core.plan import PhaseKind, PhaseSpec
from controller.records.mastery import Mastery, mastery
from controller.service.runtime import Runtime

_log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("beltview_static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8"}
MAX_CLIENTS = 8
REQUEST_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 1.0
KEEPALIVE_S = 5.0
ANNOUNCE_S = 10.0
"""Seconds before a change of speed or incline the page announces it; the last 3 count down."""

PHASE_LABELS = {"ready": N_("Getting ready"), "warmup": N_("Warm-up"),
                "cooldown": N_("Cool-down"), "done": N_("Finished"),
                "test": N_("6-minute test")}
GUIDANCE = {"ready": N_("Staff will start the belt slowly"),
            "warmup": N_("Warm up: walk easy, the belt finds your pace"),
            "recovery": N_("Recovery: walk easy"),
            "cooldown": N_("Cool-down: walk easy and let your breathing settle"),
            "test": N_("Keep a steady pace you can hold"),
            "done": N_("Well done — the session is complete"),
            "below": N_("Good — the belt brings you up to the zone"),
            "in": N_("You're in the zone — hold it"),
            "above": N_("A little above the zone — the belt eases off")}
STATE_GUIDANCE = {"paused": N_("Paused — staff are with you"),
                  "stopping": N_("The belt slows to a stop"),
                  "hr_hold": N_("Looking for your heart rate — the belt holds steady"),
                  "hr_slow": N_("No heart rate yet — the belt slows to an easy walk")}
ZONE_WORDS = {"below": N_("Below the zone"), "in": N_("In the zone"),
              "above": N_("Above the zone"), None: N_("No heart rate")}
CHANGE_WORDS = {"up": N_("The belt gets heavier"), "down": N_("The belt gets lighter"),
                "stop": N_("The belt slows to a stop")}
PAGE_TEXTS = {"waiting": N_("Waiting for the treadmill"), "title": N_("Belt view"),
              "time_left": N_("Time left in this phase"), "bpm": N_("beats per minute")}


def _direction(now: PhaseSpec | None, nxt: PhaseSpec | None) -> str | None:
    """Which way the belt's load goes at the next phase change (None: no change)."""
    if now is None:
        return None
    if nxt is None:
        return "stop"

    def load(p: PhaseSpec) -> float:
        if p.fixed_speed_kmh is not None:
            return p.fixed_speed_kmh + 0.1 * (p.fixed_incline_pct or 0.0)
        return p.target_frac or 0.0

    a, b = load(now), load(nxt)
    return None if math.isclose(a, b) else ("up" if b > a else "down")


def mastery_lines(m: Mastery, lang: str) -> list[str]:
    """The end-of-session words: what grew, the week's high-intensity minutes, the streak."""
    tr = translations(lang)
    lines = []
    sp, inc = m.speed_gain_kmh, m.incline_gain_pct
    if sp is not None and inc is not None and (sp >= 0.1 or inc >= 0.5):
        fmt = {"speed": format_speed(sp, 1, lang), "incline": format_percent(inc, 1, lang)}
        if sp >= 0.1 and inc >= 0.5:
            lines.append(tr.gettext(N_("Same heart rate at {speed} more and {incline} steeper "
                                       "than last time")).format(**fmt))
        elif sp >= 0.1:
            lines.append(tr.gettext(N_("Same heart rate at {speed} more than last time"))
                         .format(**fmt))
        else:
            lines.append(tr.gettext(N_("Same heart rate at {incline} steeper than last time"))
                         .format(**fmt))
    elif m.today is not None:
        lines.append(tr.gettext(N_("You held the zone at {speed} and {incline} incline"))
                     .format(speed=format_speed(m.today.speed_kmh, 1, lang),
                             incline=format_percent(m.today.incline_pct, 1, lang)))
    lines.append(tr.gettext(N_("{minutes} of {goal} minutes at high intensity this week"))
                 .format(minutes=format_number(m.week_hit_min, 0, lang),
                         goal=format_number(m.week_goal_min, 0, lang)))
    if m.sessions_in_a_row >= 1:
        lines.append(tr.ngettext("{n} session in a row completed",
                                 "{n} sessions in a row completed",
                                 m.sessions_in_a_row).format(n=m.sessions_in_a_row))
    return lines


def belt_doc(rt: Runtime, lang: str, mastery_of: Mastery | None = None) -> dict[str, Any]:
    """The page's document, every text translated; reads the runtime, never awaits it."""
    tr = translations(lang).gettext
    sp = rt.snapshot.setpoint
    session = rt.session
    phase = sp.phase if sp else "ready"
    state = sp.state if sp else "ready"
    interval = sp.interval if sp else 0
    total = sum(1 for p in (session.plan.phases if session and session.plan else ())
                if p.kind is PhaseKind.INTERVAL)
    if phase == "interval":
        label = tr(N_("Interval {n} of {total}")).format(n=interval, total=total)
    elif phase == "recovery":
        label = tr(N_("Recovery after interval {n} of {total}")).format(n=interval, total=total)
    else:
        label = tr(PHASE_LABELS.get(phase, N_("Getting ready")))
    remaining = None
    if sp is not None and phase != "done":
        remaining = sp.phase_remaining_s
        if state != "paused":  # between ticks: count down on the runtime's own clock
            remaining = max(0.0, remaining - max(0.0, rt.clock() - sp.now_s))
    hr = rt.live_hr_bpm if phase != "done" else None
    lo, hi = (sp.zone_low_bpm, sp.zone_high_bpm) if sp else (None, None)
    zone = None
    if hr is not None and lo is not None and hi is not None:
        zone = "below" if hr < lo else "above" if hr > hi else "in"
    if state in STATE_GUIDANCE:
        guidance = tr(STATE_GUIDANCE[state])
    elif phase == "interval":
        guidance = tr(GUIDANCE[zone or "below"])
    else:
        guidance = tr(GUIDANCE.get(phase, GUIDANCE["ready"]))
    change = None
    if sp is not None and remaining is not None and state == "running" \
            and remaining <= ANNOUNCE_S and session is not None:
        direction = _direction(session.spec, session.next_spec)
        if direction is not None:
            change = {"direction": direction, "in_s": math.ceil(remaining),
                      "arrow": "↑" if direction == "up" else "↓",
                      "text": tr(CHANGE_WORDS[direction])}
    return {
        "connected": True, "lang": lang, "pseudonym": rt.profile.pseudonym if rt.profile else "",
        "phase": phase, "state": state, "interval": interval, "intervals_total": total,
        "phase_label": label, "remaining_s": None if remaining is None else math.ceil(remaining),
        "hr_bpm": None if hr is None else round(hr),
        "zone": zone, "zone_text": tr(ZONE_WORDS[zone]),
        "zone_low_bpm": None if lo is None else round(lo),
        "zone_high_bpm": None if hi is None else round(hi),
        "target_text": "" if lo is None or hi is None else
        tr(N_("Target {low}–{high} bpm")).format(low=round(lo), high=round(hi)),
        "guidance": guidance, "change": change,
        "mastery": None if mastery_of is None or phase != "done" else
        mastery_lines(mastery_of, lang),
        "mastery_title": tr(GUIDANCE["done"]),
    }


@dataclass
class _Slot:
    """One value, replaced: the latest document and its version number."""

    doc: dict[str, Any]
    version: int = 0


class BeltView:
    """The belt screen's web server.

    >>> view = BeltView(lambda: runtime, "nb", "0.0.0.0", 8080)
    >>> asyncio.create_task(view.serve())     # beside the runtime, never inside its TaskGroup
    """

    def __init__(self, runtime_of: Callable[[], Runtime], lang: str, host: str, port: int,
                 *, push_s: float = 0.1, now_unix: Callable[[], float] = time.time) -> None:
        translations(lang)  # an unknown language is refused here, not on the first request
        self.runtime_of = runtime_of
        self.lang = lang
        self.host = host
        self.port = port
        self.push_s = push_s
        self.now_unix = now_unix
        self.clients = 0
        self._slot = _Slot({"connected": True})
        self._changed = asyncio.Event()
        self._mastery: dict[str, Mastery | None] = {}
        self._mastery_tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Bind the port (an ``OSError`` says if it is taken) and start the ticker."""
        self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                  limit=8192)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick())

    async def serve(self) -> None:
        """Serve until cancelled (binds first unless ``start`` did)."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            async with self._server:
                await self._server.serve_forever()
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
            for t in list(self._mastery_tasks):
                t.cancel()
            for w in list(self._writers):  # the open event streams end with the server
                w.close()

    # -- the one-value slot -----------------------------------------------------------------

    async def _tick(self) -> None:
        last = ""
        while True:
            try:
                doc = self._build()
            except Exception:  # a view must never take anything down: log, try again
                _log.exception("belt view: building the document failed")
                doc = {"connected": True}
            text = json.dumps(doc, sort_keys=True)
            if text != last:
                last = text
                self._slot = _Slot(doc, self._slot.version + 1)
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(self.push_s)

    def _build(self) -> dict[str, Any]:
        rt = self.runtime_of()
        sp = rt.snapshot.setpoint
        if sp is not None and sp.state == "done" and rt.store is not None \
                and rt.session_id not in self._mastery:
            self._mastery[rt.session_id] = None
            task = asyncio.create_task(self._compute_mastery(rt))
            self._mastery_tasks.add(task)
            task.add_done_callback(self._mastery_tasks.discard)
        return belt_doc(rt, self.lang, self._mastery.get(rt.session_id))

    async def _compute_mastery(self, rt: Runtime) -> None:
        assert rt.store is not None and rt.profile is not None
        try:
            self._mastery[rt.session_id] = await asyncio.to_thread(
                mastery, rt.store.path, rt.profile.pseudonym, rt.session_id, self.now_unix())
        except Exception:
            _log.exception("belt view: mastery of session %s", rt.session_id)

    # -- HTTP -------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.clients >= MAX_CLIENTS:
                await self._respond(writer, 503, "text/plain", b"too many screens\n")
                return
            self.clients += 1
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    request = await reader.readline()
                    while await reader.readline() not in (b"\r\n", b"\n", b""):
                        pass  # headers: nothing in them changes the answer
                parts = request.decode("latin-1").split()
                if len(parts) != 3 or parts[0] != "GET":
                    await self._respond(writer, 405, "text/plain", b"GET only\n")
                    return
                await self._route(parts[1].split("?", 1)[0], writer)
            finally:
                self.clients -= 1
        except (ConnectionError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _route(self, path: str, writer: asyncio.StreamWriter) -> None:
        if path == "/events":
            await self._events(writer)
        elif path == "/state":
            await self._respond(writer, 200, "application/json",
                                json.dumps(self._slot.doc).encode())
        elif path == "/":
            await self._respond(writer, 200, CONTENT_TYPES[".html"], self._page())
        elif path in ("/belt.css", "/belt.js"):
            f = STATIC_DIR / path[1:]
            await self._respond(writer, 200, CONTENT_TYPES[f.suffix], f.read_bytes())
        else:
            await self._respond(writer, 404, "text/plain", b"not found\n")

    def _page(self) -> bytes:
        tr = translations(self.lang).gettext
        html = (STATIC_DIR / "index.html").read_text()
        html = html.replace("{{lang}}", self.lang)
        for key, msg in PAGE_TEXTS.items():
            html = html.replace("{{" + key + "}}", tr(msg))
        return html.encode()

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, ctype: str,
                       body: bytes) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
                  503: "Service Unavailable"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                     f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)

    async def _events(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\nretry: 1000\n\n")
        sent = -1
        last_write = 0.0
        loop = asyncio.get_running_loop()
        while True:
            slot = self._slot
            if slot.version != sent:
                writer.write(b"data: " + json.dumps(slot.doc).encode() + b"\n\n")
                sent = slot.version
                last_write = loop.time()
            elif loop.time() - last_write >= KEEPALIVE_S:
                writer.write(b": keep-alive\n\n")
                last_write = loop.time()
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
            if self._slot.version == sent:  # no await between this check and the wait
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), KEEPALIVE_S)
