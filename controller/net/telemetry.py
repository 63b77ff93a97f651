"""What a treadmill tells the central monitor: MQTT topics and JSON payloads (pure code).

Topics: ``clinic/v1/<site>/<device>/{status,meta,session,telemetry,event}``

==========  ======  ========  ==============================================================
topic       QoS     retained  payload (``schemas/<topic>.schema.json``)
==========  ======  ========  ==============================================================
status      1       yes       online / offline (the broker publishes ``offline`` as the will)
meta        1       yes       site, device, software version, plan
session     1       yes       the running session: pseudonym, phase, countdown, zone, summary
telemetry   0       no        ~1 Hz: heart rate, target and zone, speed and incline set and
                              measured, phase, alarms
event       1       no        every session event, numbered by ``seq`` so nothing lost or
                              duplicated goes unnoticed
==========  ======  ========  ==============================================================

Every payload carries ``schema`` (name/version) and units in its key names. Only the patient's
pseudonym ever leaves the treadmill. ``parse`` is what a receiver uses: anything malformed,
oversized or of an unknown schema raises ``PayloadError`` with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from controller.core.pseudonym import pseudonym_problem
from controller.protocol import Event, Setpoint

TOPIC_PREFIX = "clinic/v1"
KINDS = ("status", "meta", "session", "telemetry", "event")
MAX_PAYLOAD_BYTES = 16 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class PayloadError(ValueError):
    """A payload that is not one of ours, or is broken; the message says why."""


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what} must be 1–64 letters, digits, '-' or '_', got {value!r}")
    return value


def topic(site: str, device: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{TOPIC_PREFIX}/{check_name('site', site)}/{check_name('device', device)}/{kind}"


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def status_payload(online: bool, now_s: float | None = None) -> bytes:
    doc: dict[str, Any] = {"schema": "fourbyfour.status/1",
                           "state": "online" if online else "offline"}
    if now_s is not None:
        doc["time_unix_s"] = round(now_s, 3)
    return _encode(doc)


def meta_payload(site: str, device: str, software_version: str, plan_name: str) -> bytes:
    return _encode({"schema": "fourbyfour.meta/1", "site": site, "device": device,
                    "software_version": software_version, "plan": plan_name})


def session_payload(session_id: str, pseudonym: str, sp: Setpoint,
                    summary: dict[str, Any] | None = None) -> bytes:
    """The retained session document; a pseudonym that looks like a person is refused
    (ValueError) before anything is published, because retained messages stay."""
    if pseudonym and (why := pseudonym_problem(pseudonym)) is not None:
        raise ValueError(f"pseudonym: {why}")
    doc: dict[str, Any] = {
        "schema": "fourbyfour.session/1", "session_id": session_id, "pseudonym": pseudonym,
        "phase": sp.phase, "interval": sp.interval, "state": sp.state,
        "phase_remaining_s": round(sp.phase_remaining_s), "zone_low_bpm": _r(sp.zone_low_bpm),
        "zone_high_bpm": _r(sp.zone_high_bpm), "alarms": list(sp.alarms),
    }
    if summary is not None:
        doc["summary"] = summary
    return _encode(doc)


def telemetry_payload(session_id: str, seq: int, sp: Setpoint, speed_kmh: float,
                      incline_pct: float) -> bytes:
    return _encode({
        "schema": "fourbyfour.telemetry/1", "session_id": session_id, "seq": seq,
        "t_s": round(sp.now_s, 2), "hr_bpm": _r(sp.hr_bpm, 0), "hr_status": sp.hr_status,
        "target_bpm": _r(sp.target_bpm), "zone_low_bpm": _r(sp.zone_low_bpm),
        "zone_high_bpm": _r(sp.zone_high_bpm), "speed_set_kmh": round(sp.speed_kmh, 2),
        "speed_kmh": round(speed_kmh, 2), "incline_set_pct": round(sp.incline_pct, 1),
        "incline_pct": round(incline_pct, 1), "phase": sp.phase, "interval": sp.interval,
        "phase_remaining_s": round(sp.phase_remaining_s), "state": sp.state,
        "alarms": list(sp.alarms),
    })


def event_payload(session_id: str, seq: int, event: Event) -> bytes:
    return _encode({"schema": "fourbyfour.event/1", "session_id": session_id, "seq": seq,
                    "t_s": round(event.now_s, 2), "kind": event.kind,
                    "severity": event.severity, "message": event.message})


_SCHEMA_FOR = {k: f"fourbyfour.{k}/1" for k in KINDS}
_REQUIRED = {
    "status": {"state"},
    "meta": {"site", "device", "software_version", "plan"},
    "session": {"session_id", "pseudonym", "phase", "interval", "state", "phase_remaining_s"},
    "telemetry": {"session_id", "seq", "t_s", "hr_bpm", "speed_kmh", "incline_pct", "phase",
                  "state"},
    "event": {"session_id", "seq", "t_s", "kind", "severity", "message"},
}


def split_topic(t: str) -> tuple[str, str, str]:
    """(site, device, kind) of one of our topics; PayloadError otherwise."""
    parts = t.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_PREFIX or parts[4] not in KINDS \
            or not _NAME.match(parts[2]) or not _NAME.match(parts[3]):
        raise PayloadError(f"not a fourbyfour topic: {t!r}")
    return parts[2], parts[3], parts[4]


def parse(t: str, payload: bytes) -> tuple[str, str, str, dict[str, Any]]:
    """Check and decode a message from the broker: (site, device, kind, document)."""
    site, device, kind = split_topic(t)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"{t}: payload of {len(payload)} bytes is over the "
                           f"{MAX_PAYLOAD_BYTES}-byte limit")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as e:
        raise PayloadError(f"{t}: not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise PayloadError(f"{t}: payload must be a JSON object")
    if doc.get("schema") != _SCHEMA_FOR[kind]:
        raise PayloadError(f"{t}: schema {doc.get('schema')!r} is not {_SCHEMA_FOR[kind]!r}")
    missing = _REQUIRED[kind] - set(doc)
    if missing:
        raise PayloadError(f"{t}: missing {', '.join(sorted(missing))}")
    if kind == "session" and doc["pseudonym"] and \
            (why := pseudonym_problem(doc["pseudonym"])) is not None:
        raise PayloadError(f"{t}: pseudonym refused: {why}")
    return site, device, kind, doc
