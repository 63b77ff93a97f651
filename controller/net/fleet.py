"""The central monitor's model of every treadmill on a broker (pure: messages in, state out).

Each message from ``clinic/v1/<site>/<device>/...`` is validated against its JSON Schema
(``telemetry.parse``) and updates that treadmill's row; a bad one is counted (per treadmill
and in total), its reason kept for the screen, and never stops the monitor.

What a nurse must be able to tell apart (``TreadmillRow.link``):

- ``offline``  the treadmill said goodbye, or the broker published its last will;
- ``stale``    it says it is online but has gone quiet: no telemetry for ``STALE_AFTER_S``
               while a session runs, or no status heartbeat for ``HEARTBEAT_MISSES`` periods
               while idle — a hung Pi, a cut cable;
- ``running``  a session is under way and telemetry is fresh;
- ``idle``     online, no session, heartbeat fresh.

What a treadmill holds for staff to acknowledge (``alarms`` in its telemetry and session
documents) is an alarm or a warning (``TreadmillRow.severity``): the document says which
(``alarm_severity``, version 2). An older treadmill's version-1 document does not: then the
session's event of that name does (``severity`` in ``event.schema.json``; the row keeps what
it heard), and without it (the monitor started later, or the event was lost) the core's one
list of warnings (``protocol.alarm_severity``). A severity the monitor does not know is an
alarm. The treadmill's word can raise a known warning to an alarm, never lower a known alarm:
a warning looks calmer, so only for a name the monitor does not know can it make one.

Times are the monitor's wall clock (``now_s``, seconds since the epoch); a retained message
is dated by its own ``time_unix_s`` so a days-old retained "online" is not taken for fresh.
The broker's last will has no time of its own (MQTT 3.1.1 fixes it at connect): heard live it
is dated when it arrived, which is when the connection was lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from controller.core.text import clean
from controller.core.words import ALARMS as ALARM_WORDS
from controller.net import telemetry as tm
from controller.protocol import alarm_severity

_log = logging.getLogger(__name__)

STALE_AFTER_S = 5.0
MAX_ROWS = 300
"""At most this many treadmills are kept: a burst on thousands of made-up device names must
not grow the model (and every redraw) without bound. Over it, the least useful rows go first:
idle and offline ones heard from longest ago; a running, lost or alarming one never."""
AGE_OUT_S = 3600.0
"""An idle or offline treadmill not heard from for an hour leaves the list."""
LOG_EVERY_S = 10.0
LOG_PER_WINDOW = 10
HEARTBEAT_MISSES = 3
ATTENTION_STATES = ("paused", "hr_hold", "hr_slow", "stopping")
SEVERITIES_KEPT = 64
"""At most this many (session, name) severities heard are kept per treadmill."""


@dataclass
class TreadmillRow:
    site: str
    device: str
    online: bool = False
    status_known: bool = False
    activity: str = "idle"
    heartbeat_s: float = tm.HEARTBEAT_S
    offline_cause: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_seen_s: float | None = None
    last_status_s: float | None = None
    last_telemetry_s: float | None = None
    last_event_seq: int | None = None
    missed_events: int = 0
    bad_messages: int = 0
    acknowledged: set[str] = field(default_factory=set)
    severity_heard: dict[tuple[str, str], str] = field(default_factory=dict)
    """(session id, event kind) → the severity its event said ("warning" or "alarm")."""
    believed: tuple[float, float] | None = None
    """(heart rate, the session's ``t_s``) of the last telemetry with a heart rate: the
    screens' one rule (``core.pulse.shown_pulse``) bridges a short gap with it."""
    offline_since_s: float | None = None
    """When it went offline (its goodbye's time, or when the broker's will reached us);
    None while online or when only a retained will, sent before we listened, says so."""

    @property
    def key(self) -> tuple[str, str]:
        return self.site, self.device

    @property
    def running(self) -> bool:
        """A session is under way (by the status, or by a live session document)."""
        if self.activity == "running":
            return True
        state = self.session.get("state")
        return self.last_status_s is None and state is not None and state != "done"

    def link(self, now_s: float) -> str:
        """offline, stale, running or idle (see the module docstring)."""
        if self.status_known and not self.online:
            return "offline"
        if self.running:
            last = self.last_telemetry_s if self.last_telemetry_s is not None else \
                self.last_status_s
            if last is None or now_s - last > STALE_AFTER_S:
                return "stale"
            return "running"
        if self.last_status_s is None:
            return "stale" if self.last_seen_s is None or \
                now_s - self.last_seen_s > STALE_AFTER_S else "idle"
        if now_s - self.last_status_s > HEARTBEAT_MISSES * self.heartbeat_s:
            return "stale"
        return "idle"

    def age_s(self, now_s: float) -> float | None:
        """Seconds since the last message from this treadmill (since the last telemetry
        while a session runs: that is what goes quiet when it hangs)."""
        last = self.last_telemetry_s if self.running and self.last_telemetry_s is not None \
            else self.last_seen_s
        return None if last is None else max(0.0, now_s - last)

    @property
    def doc(self) -> dict[str, Any]:
        """The freshest description of the session: telemetry while running, else the
        retained session document."""
        if self.running and self.telemetry:
            return self.telemetry
        return self.session

    @property
    def state(self) -> str:
        """The session's run state (running, hr_hold, hr_slow, paused, stopping, done)."""
        return str(self.doc.get("state") or "")

    @property
    def alarms(self) -> list[str]:
        if not self.running:
            return []
        return list(self.doc.get("alarms") or [])

    def severity(self, alarm: str) -> str:
        """"alarm" or "warning" for a name held for acknowledgement (the module docstring):
        a warning is amber, sorted below alarms, rings no bell, and is still acknowledged."""
        said = self.doc.get("alarm_severity")
        said = said.get(alarm) if isinstance(said, dict) else None
        if said is None:
            said = self.severity_heard.get((str(self.doc.get("session_id") or ""), alarm))
        if said is None:
            return alarm_severity(alarm)
        if said != "warning":
            return "alarm"  # "alarm", or a word this monitor does not know: the louder one
        if alarm_severity(alarm) == "alarm" and alarm in ALARM_WORDS:
            return "alarm"  # never lowered: a name known to be an alarm
        return "warning"

    @property
    def real_alarms(self) -> list[str]:
        """The held names that are alarms (red, ⚠, the bell)."""
        return [a for a in self.alarms if self.severity(a) == "alarm"]

    @property
    def warnings(self) -> list[str]:
        """The held names that are warnings (amber; still acknowledged)."""
        return [a for a in self.alarms if self.severity(a) == "warning"]

    @property
    def unacknowledged(self) -> list[str]:
        """Alarms first, then warnings, not yet acknowledged."""
        return [a for a in (*self.real_alarms, *self.warnings) if a not in self.acknowledged]

    def priority(self, now_s: float) -> int:
        """Sort order on the screen: alarms first, then lost treadmills that were running,
        then warnings and sessions needing attention (paused, hold, slow-down), running,
        idle, offline."""
        link = self.link(now_s)
        if self.real_alarms:
            return 0
        if link == "stale" or (link == "offline" and self.session.get("state") not in
                               (None, "done")):
            return 1
        if self.warnings or (link == "running" and self.state in ATTENTION_STATES):
            return 2
        return {"running": 3, "idle": 4}.get(link, 5)


def _dated(doc: dict[str, Any], now_s: float) -> float | None:
    """A retained document's own date, never in the future. A last will carries none (the
    broker sends it when the connection is lost; it was made when it was opened): its
    ``connected_unix_s`` says only that the treadmill was alive then."""
    t = doc.get("time_unix_s", doc.get("connected_unix_s"))
    return None if t is None else min(now_s, float(t))


class Fleet:
    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.rows: dict[tuple[str, str], TreadmillRow] = {}
        self.ignored = 0
        self.last_error = ""
        self.max_rows = max_rows
        self.aged_out = 0
        """Rows removed to stay within ``max_rows`` or after ``AGE_OUT_S`` of silence."""
        self._log_window_s = 0.0
        self._logged_in_window = 0
        self._not_logged = 0

    def _log_bad(self, why: str) -> None:
        """A log line per bad message, but at most ``LOG_PER_WINDOW`` per ``LOG_EVERY_S``
        (a flood must not turn into a flood of log lines); the rest are counted."""
        import time

        now = time.monotonic()
        if now - self._log_window_s >= LOG_EVERY_S:
            if self._not_logged:
                _log.warning("ignored %d more bad messages", self._not_logged)
            self._log_window_s, self._logged_in_window, self._not_logged = now, 0, 0
        if self._logged_in_window < LOG_PER_WINDOW:
            self._logged_in_window += 1
            _log.warning("ignored message: %s", why)
        else:
            self._not_logged += 1

    def prune(self, now_s: float) -> None:
        """Age out silent idle/offline rows; over ``max_rows``, drop the least useful ones
        (idle, offline, stale-idle; heard from longest ago) down to 90 % of it. Running,
        lost-while-running and alarming rows are kept first."""
        def keep_first(r: TreadmillRow) -> bool:
            return r.priority(now_s) <= 3

        old = [k for k, r in self.rows.items() if not keep_first(r) and
               (r.last_seen_s is None or now_s - r.last_seen_s > AGE_OUT_S)]
        for k in old:
            del self.rows[k]
        self.aged_out += len(old)
        if len(self.rows) <= self.max_rows:
            return
        ranked = sorted(self.rows.items(), key=lambda kv: (
            not keep_first(kv[1]), -(kv[1].last_seen_s or 0.0)))
        target = max(1, int(self.max_rows * 0.9))
        for k, _r in ranked[target:]:
            del self.rows[k]
            self.aged_out += 1

    def _bad(self, topic: str, why: str) -> None:
        self.ignored += 1
        why = self.last_error = clean(why, 300)  # shown on the screen and logged: data only
        try:
            site, device, _ = tm.split_topic(topic)
        except tm.PayloadError:
            pass
        else:  # counted on a known treadmill's row; a made-up name gets no row
            row = self.rows.get((site, device))
            if row is not None:
                row.bad_messages += 1
        self._log_bad(why)

    def apply(self, topic: str, payload: bytes, now_s: float, retained: bool = False) -> bool:
        """Apply one broker message; False (counted, logged) if it was ignored."""
        try:
            site, device, kind, doc = tm.parse(topic, payload)
        except tm.PayloadError as e:
            self._bad(topic, str(e))
            return False
        except Exception as e:  # never let one message take the monitor down
            self._bad(topic, f"{topic}: {type(e).__name__}: {e}")
            return False
        row = self.rows.get((site, device))
        if row is None:
            row = self.rows[(site, device)] = TreadmillRow(site, device)
            if len(self.rows) > self.max_rows:
                self.prune(now_s)
                if (site, device) not in self.rows:  # the newcomer was the least useful
                    row = TreadmillRow(site, device)
        seen: float | None = now_s
        if retained:  # maybe old: trust its own date, never a date in the future
            seen = _dated(doc, now_s)
        if seen is not None:
            row.last_seen_s = seen if row.last_seen_s is None else max(row.last_seen_s, seen)
        if kind == "status":
            row.status_known = True
            row.online = doc["state"] == "online"
            if seen is not None:
                row.last_status_s = seen
            if row.online:
                row.activity = doc.get("activity", "running" if row.session.get("state") not in
                                       (None, "done") else "idle")
                row.heartbeat_s = float(doc.get("heartbeat_s", tm.HEARTBEAT_S))
                row.offline_cause = ""
                row.offline_since_s = None
            else:
                row.offline_cause = doc.get("cause", "will")
                row.activity = "idle"
                # when it went offline: a will is dated on receipt (it carries no time of
                # its own); a retained one, heard after the fact, has no known time
                row.offline_since_s = seen if "time_unix_s" in doc or not retained else None
        elif kind == "meta":
            row.meta = doc
        elif kind == "session":
            if doc["session_id"] != row.session.get("session_id"):
                row.acknowledged = set()
            row.session = doc
        elif kind == "telemetry":
            if retained:
                return True
            if doc["session_id"] != row.telemetry.get("session_id"):
                row.acknowledged = set()
                row.believed = None
            row.telemetry = doc
            if doc.get("hr_bpm") is not None:
                row.believed = (float(doc["hr_bpm"]), float(doc["t_s"]))
            row.last_telemetry_s = now_s
            if row.status_known and not row.online:
                row.online = True  # it speaks again before its status arrived
                row.offline_since_s = None
            if doc["state"] != "done":
                row.activity = "running"
        elif kind == "event":
            seq = doc["seq"]
            if row.last_event_seq is not None and seq <= row.last_event_seq:
                return True  # a duplicate after a reconnect: already shown
            if row.last_event_seq is not None and seq > row.last_event_seq + 1:
                row.missed_events += seq - row.last_event_seq - 1
            row.last_event_seq = seq
            row.events = [*row.events, doc][-50:]
            if doc["severity"] in ("warning", "alarm"):
                heard = row.severity_heard
                heard.pop((doc["session_id"], doc["kind"]), None)
                heard[(doc["session_id"], doc["kind"])] = doc["severity"]
                for old in list(heard)[:-SEVERITIES_KEPT]:
                    del heard[old]
        return True

    def ordered(self, now_s: float) -> list[TreadmillRow]:
        self.prune(now_s)
        return sorted(self.rows.values(), key=lambda r: (r.priority(now_s), r.site, r.device))
