"""The central monitor's model of every treadmill on a broker (pure: messages in, state out).

Each message from ``clinic/v1/<site>/<device>/...`` updates that treadmill's row. Malformed,
oversized or foreign payloads are ignored with a log line and never stop the monitor. A
treadmill whose last telemetry is older than ``STALE_AFTER_S`` is shown as stale; one whose
retained status says ``offline`` (its last will) as offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from controller.net import telemetry as tm

_log = logging.getLogger(__name__)

STALE_AFTER_S = 5.0


@dataclass
class TreadmillRow:
    site: str
    device: str
    online: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_seen_s: float | None = None
    last_event_seq: int | None = None
    missed_events: int = 0

    def stale(self, now_s: float) -> bool:
        return self.online and (self.last_seen_s is None or now_s - self.last_seen_s >
                                STALE_AFTER_S)

    @property
    def alarms(self) -> list[str]:
        return list(self.telemetry.get("alarms") or self.session.get("alarms") or [])


class Fleet:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], TreadmillRow] = {}
        self.ignored = 0

    def apply(self, topic: str, payload: bytes, now_s: float) -> bool:
        """Apply one broker message; False (and a log line) if it was ignored."""
        try:
            site, device, kind, doc = tm.parse(topic, payload)
        except tm.PayloadError as e:
            self.ignored += 1
            _log.warning("ignored message: %s", e)
            return False
        row = self.rows.setdefault((site, device), TreadmillRow(site, device))
        if kind == "status":
            row.online = doc["state"] == "online"
        elif kind == "meta":
            row.meta = doc
        elif kind == "session":
            row.session = doc
        elif kind == "telemetry":
            row.telemetry = doc
            row.last_seen_s = now_s
            row.online = True
        elif kind == "event":
            seq = doc["seq"]
            if row.last_event_seq is not None and seq <= row.last_event_seq:
                return True  # a duplicate after a reconnect: already shown
            if row.last_event_seq is not None and seq > row.last_event_seq + 1:
                row.missed_events += seq - row.last_event_seq - 1
            row.last_event_seq = seq
            row.events = [*row.events, doc][-50:]
        return True
