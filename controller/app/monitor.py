"""The central monitor: every treadmill on a broker in one Textual view, for a nurse.

Subscribes to the five document topics of ``clinic/v1/+/+`` (aiomqtt), feeds ``fleet.Fleet``
(every message validated, a bad one counted and shown, never fatal) and shows one row per
treadmill, rebuilt in order on every redraw:

- alarm rows first, in red with a ⚠ and the terminal bell when a new alarm appears; then lost
  treadmills, then warnings (amber with a !, no bell: the strap's missing-beats hint, held
  for acknowledgement all the same; ``TreadmillRow.severity`` says which is which) and
  paused / heart-rate hold / slow-down (yellow), running, idle, offline;
- offline, stale (online but quiet: hung), idle and running told apart; seconds since the last
  message; whole values in every column (widths are recomputed from the content each time).

Select a row and press ``s`` to stop that treadmill's session or ``a`` to acknowledge its alarm
(the footer says "warning" when what ``a`` acknowledges on the selected row is one);
both ask for confirmation and are sent signed (``controller.net.remote``) when a command key is
configured. Reconnects with back-off and logs why it could not connect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import aiomqtt
from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from controller.app.screens.footer import CatalogFooter
from controller.app.texts import WARNING_COLOUR
from controller.core.i18n import N_, _, ngettext
from controller.core.metrics import shown_bpm, zone_of
from controller.core.pulse import shown_pulse
from controller.core.text import clean
from controller.core.words import ALARMS as ALARM_WORDS
from controller.core.words import event_text, word
from controller.net import remote
from controller.net import telemetry as tm
from controller.net.fleet import Fleet, TreadmillRow
from controller.net.mqtt import client_id, messages, run_forever
from controller.net.publisher import MqttSettings

_log = logging.getLogger(__name__)

REDRAW_S = 0.25
COMMAND_REPLY_S = 10.0
MONITOR_RECONNECT_MAX_S = 10.0
"""Staff watch this screen: it tries again at least every 10 s, not the treadmills' 30 s."""
MAX_SHOWN = 40
"""Rows drawn at most (in priority order): a redraw's cost must not grow with junk names."""
NEWCOMERS_WAITING = 2000
NEWCOMER_TICK_S = 0.05
NEWCOMERS_PER_TICK = 25
NEWCOMER_BUDGET_S = 0.004
"""Messages from names not on the screen yet: at most 500 a second are looked at, and at most
4 ms of every 50 ms tick (8 % of a core) go to them, measured, so a slower or busier machine
looks at fewer (a clinic's treadmills all appear within a second or two; a flood of made-up
names costs at most that, and what is left of the CPU reads the live rows' messages)."""
MAX_PAYLOAD_BYTES = 65536
"""A document from a name not seen yet that is larger than this, or is not a JSON object, is
dropped (counted) before it is parsed: the largest real one (a session) is a few kB."""
BURST_REDRAW_S = 1.0
"""While names never seen before pour in, the screen is redrawn at most this often."""
SEEN, ZONE, ALARMS = 2, 7, 8
GAP = 1


def column_labels() -> tuple[str, ...]:
    return (_("treadmill"), _("status"), _("seen"), _("patient"), _("phase"), _("left"),
            _("HR"), _("zone"), _("alarms"))


def _name_lines(name: str) -> list[str]:
    """A row's name with its site over two lines: "⚠ site/" and "  device"."""
    site, _, device = name.partition("/")
    return [site + "/", "  " + device] if device else [name]


def _link_label(r: TreadmillRow, now_s: float) -> str:
    link = r.link(now_s)
    if link == "offline":
        return _("offline")
    if link == "stale":
        return _("stale")
    if link == "idle":
        return _("idle")
    return {"paused": _("paused"), "hr_hold": _("HR hold"), "hr_slow": _("slowing (no heart rate)"),
            "stopping": _("stopping"), "done": _("finished")}.get(r.state, _("running"))


def _phase_label(doc: dict, total: object = None) -> str:
    phase, n = doc.get("phase"), doc.get("interval") or 0
    if phase == "interval" and n and isinstance(total, int) and total >= n:
        return _("interval {n} of {total}").format(n=n, total=total)
    if phase == "interval" and n:
        return _("interval {n}").format(n=n)
    if phase == "recovery" and n:
        return _("recovery {n}").format(n=n)
    return {"warmup": _("warm-up"), "interval": _("interval"), "recovery": _("recovery"),
            "cooldown": _("cool-down"), "test": _("6-minute test"), "done": _("done")}.get(
        str(phase), "—")


def _age_label(age_s: float | None) -> str:
    if age_s is None:
        return "—"
    if age_s < 100:
        return _("{s} s").format(s=int(age_s))
    if age_s < 6000:
        return _("{m} min").format(m=int(age_s // 60))
    return _("{h} h").format(h=int(age_s // 3600))


def _translate_bindings(node: App[None] | ModalScreen[bool]) -> None:
    """The footer in the process's language: the class's bindings are made at import,
    before the config has chosen the language (they showed English in a bokmål monitor)."""
    keys = node._bindings.key_to_bindings
    for key, bindings in keys.items():
        keys[key] = [dataclasses.replace(b, description=_(b.description))
                     if b.description else b for b in bindings]


@dataclass(frozen=True)
class Cells:
    key: str
    values: tuple[str, ...]
    style: str
    alarm: bool


def row_cells(r: TreadmillRow, now_s: float, show_site: bool) -> Cells:
    """What one row shows, as whole strings, and how it is marked."""
    link = r.link(now_s)
    running = link == "running"
    doc = r.doc if r.running else {}
    name = f"{r.site}/{r.device}" if show_site else r.device
    alarms, warnings = r.real_alarms, r.warnings
    mark = "⚠ " if alarms else "! " if warnings else (
        "✕ " if link == "offline" and r.priority(now_s) == 1 else
        "? " if link == "stale" else "  ")
    left = doc.get("phase_remaining_s")
    # m:ss, as the console and the belt screen count down (the trial: "02:31" beside "2:31")
    left_txt = "—" if left is None else f"{int(left) // 60}:{int(left) % 60:02d}"
    # the one rule the console and the belt page follow (core.pulse): no number while the
    # session holds or slows for a lost heart rate (the trial: 150 beside «finner ikke
    # pulsen»), the last believed one through a short gap, on the session's clock
    hr = shown_pulse(float(doc.get("t_s") or 0.0), r.state, r.believed) \
        if running and doc is r.telemetry else None
    lo, hi = doc.get("zone_low_bpm"), doc.get("zone_high_bpm")
    # heart rate and zone edges as the belt screen and the console show them (half up)
    hr_txt = "—" if hr is None else str(shown_bpm(hr))
    if hr is not None and lo is not None and hi is not None:
        hr_txt += {"below": " ↓", "above": " ↑"}.get(
            zone_of(shown_bpm(hr), shown_bpm(lo), shown_bpm(hi)), " ✓")
    zone = "—" if lo is None or hi is None else f"{shown_bpm(lo)}–{shown_bpm(hi)}"
    notes = [("✓ " if a in r.acknowledged else "") + word(ALARM_WORDS, a)
             for a in (*alarms, *warnings)]
    if r.missed_events:
        notes.append(ngettext("{n} event missed", "{n} events missed",
                              r.missed_events).format(n=r.missed_events))
    if r.bad_messages:
        notes.append(ngettext("{n} bad message", "{n} bad messages",
                              r.bad_messages).format(n=r.bad_messages))
    patient = str(r.session.get("pseudonym", "—")) if r.running else "—"
    values = tuple(clean(v) for v in (  # text from the network is data, never drawn raw
        mark + name, _link_label(r, now_s), _age_label(r.age_s(now_s)), patient,
        _phase_label(doc, r.meta.get("intervals")) if doc else "—",
        left_txt if doc else "—", hr_txt, zone, ", ".join(notes)))
    unacknowledged = r.unacknowledged
    if alarms:
        style = "bold white on dark_red" if set(unacknowledged) & set(alarms) else "bold red"
    elif warnings:  # amber: a warning, not an alarm
        style = f"bold black on {WARNING_COLOUR}" if unacknowledged else WARNING_COLOUR
    elif link == "stale" or r.priority(now_s) == 1:
        style = "bold yellow"
    elif running and r.state not in ("running", "done"):
        style = "yellow"
    elif link == "offline":
        style = "dim"
    else:
        style = ""
    return Cells(f"{r.site}/{r.device}", values, style, bool(alarms))


class ConfirmScreen(ModalScreen[bool]):
    """Yes / no before anything is sent to a treadmill."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,y", "answer(True)", N_("Yes")),
        Binding("n,escape", "answer(False)", N_("No"))]
    DEFAULT_CSS = ("ConfirmScreen { align: center middle; } "
                   "#question { width: 60; height: auto; border: thick $error; "
                   "padding: 1 2; background: $surface; }")

    def __init__(self, question: str) -> None:
        super().__init__()
        _translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="question"):
            yield Static(self.question)
            yield Static(_("Press y to send, n to cancel."))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


KeyFor = Callable[[str, str], bytes | None]
ACK_LABELS = {"alarm": N_("Acknowledge alarm"), "warning": N_("Acknowledge warning")}
"""The ``a`` key's label by the severity of what it acknowledges on the selected row."""


class CentralMonitor(App[None]):
    TITLE = "fourbyfour"
    ENABLE_COMMAND_PALETTE = False  # its "^p palette" was English on a bokmål screen
    CSS = ("DataTable { height: 1fr; } "
           "#status { height: auto; min-height: 2; max-height: 5; padding: 0 1; }")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("s", "stop", N_("Stop treadmill")),
                Binding("a", "ack", ACK_LABELS["alarm"]),
                Binding("q", "quit", N_("Quit"))]

    def __init__(self, settings: MqttSettings, clock: Callable[[], float] = time.time,
                 command_key: KeyFor | None = None) -> None:
        super().__init__()
        _translate_bindings(self)
        self.settings = settings
        self.clock = clock
        self.command_key = command_key
        self.fleet = Fleet()
        self.connected = False
        self.connect_error = ""
        self.notice = ""
        self._client: aiomqtt.Client | None = None
        self._dirty = False
        self._replies: dict[str, asyncio.Future[dict]] = {}
        self._newcomers: deque[tuple[str, bytes, bool]] = deque(maxlen=NEWCOMERS_WAITING)
        self.newcomers_dropped = 0
        self._rung: set[tuple[str, str, str]] = set()
        self._widths: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        self._drawn: tuple[object, ...] = ()
        self.name_wrapped = False
        self._last_redraw_s = 0.0

    def compose(self) -> ComposeResult:
        yield DataTable(id="fleet", cursor_type="row", zebra_stripes=False, cell_padding=0)
        yield Static(_("Connecting…"), id="status")
        yield CatalogFooter()

    def action_help_quit(self) -> None:
        """ctrl+c: Textual's own notice was English; ours names the key that quits."""
        self.notify(_("Press q to quit."))

    def on_mount(self) -> None:
        self.title = _("fourbyfour — central monitor")
        self.set_interval(1.0, self._redraw_every_second)
        self.set_interval(REDRAW_S, self._redraw_if_dirty)
        self.set_interval(NEWCOMER_TICK_S, self._admit_newcomers)
        self.listen()
        self.redraw()

    # -- drawing ------------------------------------------------------------------------------

    def _redraw_if_dirty(self) -> None:
        # while names never seen before are pouring in, once a second is enough: redrawing
        # is what a burst would otherwise cost, and the live rows' messages come first
        if self._dirty and (not self._newcomers or
                            time.monotonic() - self._last_redraw_s >= BURST_REDRAW_S):
            self.redraw()

    def _redraw_every_second(self) -> None:
        # the "seen" seconds move on; during a burst one redraw a second in all, not two
        if time.monotonic() - self._last_redraw_s >= 0.9 * BURST_REDRAW_S or \
                not self._newcomers:
            self.redraw()

    def selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
                       .row_key.value)
        except Exception:
            return None

    def layout_widths(self, cells: list[Cells]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(visible column indexes, their widths): every value whole. When the screen is too
        narrow the zone column goes first (the HR arrow still says below/in/above), and the
        alarms column wraps between alarm names (and between the words of a long one, when
        the screen is narrow) instead of cutting one."""
        labels = column_labels()
        natural = [max([cell_len(lab), *(cell_len(c.values[i]) for c in cells)])
                   for i, lab in enumerate(labels)]
        longest_alarm = max([cell_len(labels[ALARMS]), *(
            cell_len(part) for c in cells for part in c.values[ALARMS].split(", "))])
        space = max(self.size.width, 40) - 2  # the vertical scrollbar
        visible = list(range(len(labels)))

        def used(cols: list[int]) -> int:  # one space between columns (GAP)
            return sum(natural[i] + GAP for i in cols if i != ALARMS) + GAP

        if used(visible) + natural[ALARMS] > space:
            visible.remove(ZONE)
        self.name_wrapped = False
        if used(visible) + longest_alarm > space and any("/" in c.values[0] for c in cells):
            # still too narrow with the site shown: "site/" over "device", each whole
            self.name_wrapped = True
            natural[0] = max([cell_len(labels[0]), *(
                cell_len(part) for c in cells for part in _name_lines(c.values[0]))])
        if used(visible) + longest_alarm > space:
            visible.remove(SEEN)  # the status already says stale or offline
        widths = [natural[i] for i in visible]
        longest_word = max([cell_len(labels[ALARMS]), *(
            cell_len(w) for c in cells for w in c.values[ALARMS].split())])
        widths[visible.index(ALARMS)] = max(longest_word, min(longest_alarm,
                                                              space - used(visible)),
                                            min(natural[ALARMS], space - used(visible)))
        return tuple(visible), tuple(widths)

    def redraw(self) -> None:
        self._dirty = False
        self._last_redraw_s = time.monotonic()
        try:
            table = self.query_one(DataTable)
        except NoMatches:  # the app is closing
            return
        now = self.clock()
        rows = self.fleet.ordered(now)
        show_site = len({r.site for r in rows}) > 1
        cells = [row_cells(r, now, show_site) for r in rows[:MAX_SHOWN]]
        labels = column_labels()
        visible, widths = self.layout_widths(cells)
        if (cells, visible, widths, self.name_wrapped) == self._drawn:  # nothing changed
            self._ring_for_new_alarms(rows)
            self._update_status(rows, now)
            self._update_ack_label()
            return
        self._drawn = (cells, visible, widths, self.name_wrapped)
        selected = self.selected_key()
        if (visible, widths) != self._widths:
            table.clear(columns=True)
            for i, w in zip(visible, widths, strict=True):
                table.add_column(" " * GAP + labels[i], width=w + GAP, key=str(i))
            self._widths = (visible, widths)
        else:
            table.clear()
        alarm_w = widths[visible.index(ALARMS)]
        pad = " " * GAP
        for c in cells:
            alarm_lines = Text(c.values[ALARMS]).wrap(self.console, alarm_w)
            cells_shown = [Text(pad + c.values[i], style=c.style) for i in visible[:-1]]
            height = max(1, len(alarm_lines))
            if self.name_wrapped and "/" in c.values[0]:
                cells_shown[0] = Text(pad + ("\n" + pad).join(_name_lines(c.values[0])),
                                      style=c.style)
                height = max(2, height)
            cells_shown.append(Text(pad + ("\n" + pad).join(str(x) for x in alarm_lines),
                                    style=c.style))
            table.add_row(*cells_shown, key=c.key, height=height)
        if selected is not None:
            for i, c in enumerate(cells):
                if c.key == selected:
                    table.move_cursor(row=i, animate=False)
        self._ring_for_new_alarms(rows)
        self._update_status(rows, now)
        self._update_ack_label()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._update_ack_label()

    def _update_ack_label(self) -> None:
        """``a`` says what it acknowledges on the selected row: «Kvitter advarsel» for a
        warning (the trial: «Kvitter alarm» on the strap's amber hint), else the alarm's."""
        r = self._selected_row()
        pending = r.unacknowledged if r is not None else []
        said = _(ACK_LABELS["warning" if pending and r is not None and
                            r.severity(pending[0]) == "warning" else "alarm"])
        keys = self._bindings.key_to_bindings
        bindings = keys.get("a", [])
        if any(b.action == "ack" and b.description != said for b in bindings):
            keys["a"] = [dataclasses.replace(b, description=said) if b.action == "ack" else b
                         for b in bindings]
            self.refresh_bindings()

    def _ring_for_new_alarms(self, rows: list[TreadmillRow]) -> None:
        current = {(r.site, r.device, a) for r in rows for a in r.unacknowledged
                   if r.severity(a) == "alarm"}  # a warning rings no bell
        if current - self._rung:
            self.bell()
        self._rung = current

    def _update_status(self, rows: list[TreadmillRow], now: float) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        if self.connected:
            # the bad messages' count goes on the second line: in bokmål the one line
            # wrapped at 80 columns
            line = " · ".join((_("{where} connected").format(where=where),
                               _("treadmills: {n}").format(n=len(rows)),
                               _("with alarms: {alarms}").format(
                                   alarms=sum(1 for r in rows if r.real_alarms))))
            if len(rows) > MAX_SHOWN:  # alarms, lost and running ones are first: shown
                line += " · " + _("{n} more not shown").format(n=len(rows) - MAX_SHOWN)
        else:
            line = _("{where} unreachable, retrying: {error}").format(
                where=where, error=self.connect_error or "…")
        bad = _("bad messages: {bad}").format(bad=self.fleet.ignored)
        detail = self.notice or (_("Last bad message: {why}").format(why=self.fleet.last_error)
                                 if self.fleet.last_error else "")
        lines = [clean(line), self._last_event_text(), *([bad] if self.connected else []),
                 clean(detail, 300)]
        # a notice or the last bad message on a line of its own
        self.query_one("#status", Static).update(Text("\n".join(x for x in lines if x)
                                                      or " "))

    def _last_event_text(self) -> str:
        """The selected treadmill's last event, as the console says it: rendered from its
        kind and params in the monitor's language (the catalog; issue 21: the monitor had
        only the English message), cleaned (text from the network is data)."""
        r = self._selected_row()
        if r is None or not r.events:
            return ""
        e = r.events[-1]
        params = e.get("params")
        said = event_text(str(e["kind"]), str(e["message"]),
                          params if isinstance(params, dict) else None)
        return clean(_("last event on {device}: {event}").format(device=r.device, event=said),
                     300)

    # -- commands -----------------------------------------------------------------------------

    def _selected_row(self) -> TreadmillRow | None:
        key = self.selected_key()
        if key is None:
            return None
        site, device = key.split("/", 1)
        return self.fleet.rows.get((site, device))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop and acknowledge are offered only where they can be sent: a monitor with no
        command keys (network commands off) shows neither (trial: it offered both and said
        "nothing was sent" after the question)."""
        return not (action in ("stop", "ack") and self.command_key is None)

    def action_stop(self) -> None:
        r = self._selected_row()
        if r is None:
            return
        if not r.running or not r.session.get("session_id"):
            self._say(_("{device} runs no session: nothing to stop.").format(device=r.device))
            return
        question = _("Stop the session of {patient} on {site}/{device}? The belt slows down "
                     "and stops.").format(patient=r.session.get("pseudonym", "—"),
                                          site=r.site, device=r.device)
        self.push_screen(ConfirmScreen(clean(question)),
                         lambda yes: self._send(r, "stop", None) if yes else None)

    def action_ack(self) -> None:
        r = self._selected_row()
        if r is None:
            return
        pending = r.unacknowledged
        if not pending or not r.session.get("session_id"):
            self._say(_("{device} has no alarm to acknowledge.").format(device=r.device))
            return
        alarm = pending[0]
        question = (_("Acknowledge the alarm {alarm} on {site}/{device}?")
                    if r.severity(alarm) == "alarm" else
                    _("Acknowledge the warning {alarm} on {site}/{device}?")).format(
            alarm=word(ALARM_WORDS, alarm), site=r.site, device=r.device)
        self.push_screen(ConfirmScreen(clean(question)),
                         lambda yes: self._send(r, "ack", alarm) if yes else None)

    def _say(self, text: str) -> None:
        self.notice = text
        self.redraw()

    def _send(self, r: TreadmillRow, cmd: str, alarm: str | None) -> None:
        key = self.command_key(r.site, r.device) if self.command_key else None
        if key is None:
            self._say(_("No command key for {site}/{device}: nothing was sent.").format(
                site=r.site, device=r.device))
            return
        if self._client is None:
            self._say(_("Not connected to the broker: nothing was sent."))
            return
        nonce = secrets.token_hex(16)
        payload = remote.sign(key, cmd, site=r.site, device=r.device,
                              session_id=str(r.session["session_id"]), alarm=alarm,
                              nonce=nonce)
        self.publish_command(r.site, r.device, payload, cmd, alarm, nonce)

    @work(group="commands")
    async def publish_command(self, site: str, device: str, payload: bytes, cmd: str,
                              alarm: str | None, nonce: str = "") -> None:
        """Send, then wait for the treadmill's answer: only "done" counts as done."""
        client = self._client
        answer: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._replies[nonce] = answer
        try:
            if client is None:
                raise aiomqtt.MqttError("not connected")
            await client.publish(remote.command_topic(site, device), payload, qos=1)
            self._say(_("Sent to {site}/{device}.").format(site=site, device=device))
            async with asyncio.timeout(COMMAND_REPLY_S):
                reply = await answer
        except aiomqtt.MqttError as e:
            self._say(_("Sending to {site}/{device} failed: {error}").format(
                site=site, device=device, error=e))
            return
        except TimeoutError:
            self._say(_("No answer from {site}/{device} in {s} s: the command may not have "
                        "been carried out.").format(site=site, device=device,
                                                    s=int(COMMAND_REPLY_S)))
            return
        finally:
            self._replies.pop(nonce, None)
        if not reply["ok"]:
            self._say(_("{site}/{device} refused it: {why}").format(
                site=site, device=device, why=reply["reason"]))
            return
        if cmd == "ack" and alarm is not None:
            row = self.fleet.rows.get((site, device))
            if row is not None:
                row.acknowledged.add(alarm)
        self._say(_("{site}/{device} carried it out.").format(site=site, device=device))

    # -- network ------------------------------------------------------------------------------

    def route_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Treadmills already on the screen first: their messages are handled at once. One
        from a name not seen before waits in a bounded queue handled at a bounded rate, so a
        burst on thousands of made-up names cannot put the live rows behind (the oldest
        waiting ones are dropped and counted)."""
        parts = topic.split("/", 4)
        key = (parts[2], parts[3]) if len(parts) == 5 else None
        if key in self.fleet.rows or topic.endswith("/command-reply"):
            self.on_message(topic, payload, retained)
            return
        if len(payload) > MAX_PAYLOAD_BYTES or payload.lstrip()[:1] != b"{":
            self.newcomers_dropped += 1  # cannot be one of our documents: not parsed,
            self.fleet.ignored += 1  # but counted as a bad message
            return
        if len(self._newcomers) == self._newcomers.maxlen:
            self.newcomers_dropped += 1
        self._newcomers.append((topic, payload, retained))

    def _admit_newcomers(self) -> None:
        start = time.perf_counter()
        for _i in range(min(NEWCOMERS_PER_TICK, len(self._newcomers))):
            self.on_message(*self._newcomers.popleft())
            if time.perf_counter() - start > NEWCOMER_BUDGET_S:
                break

    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic.endswith("/command-reply"):
            try:
                reply = remote.parse_reply(payload)
            except remote.CommandError:
                return
            waiting = self._replies.get(reply["nonce"])
            if waiting is not None and not waiting.done():
                waiting.set_result(reply)
            return
        self.fleet.apply(topic, payload, self.clock(), retained)
        self._dirty = True

    @work(exclusive=True, group="listen")
    async def listen(self) -> None:
        s = self.settings

        async def watch(client: aiomqtt.Client) -> None:
            self.connected = True
            self.connect_error = ""
            self._client = client
            for kind in (*tm.KINDS, "command-reply"):
                await client.subscribe(f"{tm.TOPIC_PREFIX}/+/+/{kind}", qos=1)
            self.redraw()
            async for m in messages(client):
                self.route_message(str(m.topic), bytes(m.payload), bool(m.retain))

        def down(why: str) -> None:  # a TLS refusal says so, not "timed out"
            self.connected = False
            self.connect_error = why
            self._client = None
            self.redraw()

        await run_forever(s, client_id("monitor", s.site, secrets.token_hex(3)), watch,
                          who="monitor", log=_log, on_down=down,
                          max_backoff_s=MONITOR_RECONNECT_MAX_S)
