"""What a treadmill tells the central monitor: MQTT topics and JSON payloads (pure code).

Topics: ``clinic/v1/<site>/<device>/{status,meta,session,telemetry,event}``

==========  ======  ========  ==============================================================
topic       QoS     retained  payload (``controller/net/schemas/<topic>.schema.json``)
==========  ======  ========  ==============================================================
status      1       yes       online / offline (the broker publishes ``offline`` as the will),
                              idle / running, re-sent every ``heartbeat_s`` while online
meta        1       yes       site, device, software version, plan, the paired strap
session     1       yes       the running session: pseudonym, phase, countdown, zone, summary
telemetry   0       no        ~1 Hz: heart rate, target and zone, speed and incline set and
                              measured, phase, alarms
event       1       no        every session event, numbered by ``seq`` so nothing lost or
                              duplicated goes unnoticed
==========  ======  ========  ==============================================================

Every payload carries ``schema`` (name/version), ``time_unix_s`` (UTC wall-clock time when it
was made) and units in its key names. Only the patient's pseudonym ever leaves the treadmill.
A session's and a telemetry's ``alarms`` are names held for staff; from version 2
(``fourbyfour.session/2``, ``fourbyfour.telemetry/2``) ``alarm_severity`` says for each
whether it is an alarm or a warning. A receiver still reads version 1 (an older treadmill),
where a name's severity is ``protocol.alarm_severity``'s (the one list of warnings).
``parse`` is what a receiver uses: the document is validated against its JSON Schema (types and
ranges, not only names; NaN and infinities are not JSON and are refused), and anything
malformed, oversized, out of range or of an unknown schema raises ``PayloadError`` with the
reason — a receiver counts it and carries on.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from controller.core.metrics import shown_bpm
from controller.core.pseudonym import pseudonym_problem
from controller.protocol import Event, Setpoint

TOPIC_PREFIX = "clinic/v1"
KINDS = ("status", "meta", "session", "telemetry", "event")
MAX_PAYLOAD_BYTES = 16 * 1024
SCHEMA_DIR = Path(__file__).with_name("schemas")
HEARTBEAT_S = 5.0
"""How often a treadmill re-sends its status while online (the monitor's "stale" clock)."""
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


def _encode(doc: dict[str, Any], time_unix_s: float | None = None) -> bytes:
    doc["time_unix_s"] = round(time.time() if time_unix_s is None else time_unix_s, 3)
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def _shown(bpm: float | None) -> float | None:
    """A heart rate as every screen shows it (``metrics.shown_bpm``, half up)."""
    return None if bpm is None else float(shown_bpm(bpm))


def status_payload(online: bool, time_unix_s: float | None = None, *,
                   activity: str | None = None, cause: str | None = None,
                   heartbeat_s: float | None = HEARTBEAT_S) -> bytes:
    """online (with ``activity`` idle/running and the heartbeat period) or offline (with the
    ``cause``: will, normal, signal, crash)."""
    doc: dict[str, Any] = {"schema": "fourbyfour.status/1",
                           "state": "online" if online else "offline"}
    if online and activity is not None:
        doc["activity"] = activity
    if online and heartbeat_s is not None:
        doc["heartbeat_s"] = heartbeat_s
    if not online and cause is not None:
        doc["cause"] = cause
    return _encode(doc, time_unix_s)


def will_payload(connected_unix_s: float) -> bytes:
    """The last will (offline, cause will), set when a connection is made. The broker sends it
    when that connection is lost, and MQTT 3.1.1 cannot change a will without reconnecting:
    so it carries no ``time_unix_s`` (which would be the connect time, not the loss), only
    ``connected_unix_s``; every reader dates it by when it received it."""
    doc = {"schema": "fourbyfour.status/1", "state": "offline", "cause": "will",
           "connected_unix_s": round(connected_unix_s, 3)}
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def meta_payload(site: str, device: str, software_version: str, plan_name: str,
                 strap: dict[str, Any] | None = None, *,
                 time_unix_s: float | None = None, intervals: int | None = None) -> bytes:
    """``strap`` (optional): the strap paired for the session, so the site's other treadmills
    can mark it in use — ``{"kind": "ant", "device_number": 12345}``. ``intervals``: how many
    the plan has (the monitor shows "interval 2 of 4")."""
    doc: dict[str, Any] = {"schema": "fourbyfour.meta/1", "site": site, "device": device,
                           "software_version": software_version, "plan": plan_name}
    if intervals is not None:
        doc["intervals"] = intervals
    if strap is not None:
        doc["strap"] = dict(strap)
    return _encode(doc, time_unix_s)


def _severities(sp: Setpoint) -> dict[str, str]:
    """The held names' severities as the session said them (a name it did not say is left
    out: the reader's ``protocol.alarm_severity`` decides, as for a version-1 document)."""
    said = dict(sp.alarm_severity)
    return {a: said[a] for a in sp.alarms if a in said}


def session_payload(session_id: str, pseudonym: str, sp: Setpoint,
                    summary: dict[str, Any] | None = None,
                    time_unix_s: float | None = None, *,
                    late_ticks: int | None = None) -> bytes:
    """The retained session document; a pseudonym that looks like a person is refused
    (ValueError) before anything is published, because retained messages stay.
    ``late_ticks``: session ticks that started > 100 ms late (a loaded controller)."""
    if pseudonym and (why := pseudonym_problem(pseudonym)) is not None:
        raise ValueError(f"pseudonym: {why}")
    doc: dict[str, Any] = {
        "schema": "fourbyfour.session/2", "session_id": session_id, "pseudonym": pseudonym,
        "phase": sp.phase, "interval": sp.interval, "state": sp.state,
        "phase_remaining_s": round(sp.phase_remaining_s),
        # to the hundredth: a tenth rounded 162.45 to 162.5, shown 163 beside the belt's 162
        "zone_low_bpm": _r(sp.zone_low_bpm, 2), "zone_high_bpm": _r(sp.zone_high_bpm, 2),
        "alarms": list(sp.alarms), "alarm_severity": _severities(sp),
    }
    if summary is not None:
        doc["summary"] = summary
    if late_ticks is not None:
        doc["late_ticks"] = late_ticks
    return _encode(doc, time_unix_s)


def telemetry_payload(session_id: str, seq: int, sp: Setpoint, speed_kmh: float,
                      incline_pct: float, time_unix_s: float | None = None) -> bytes:
    return _encode({
        "schema": "fourbyfour.telemetry/2", "session_id": session_id, "seq": seq,
        "t_s": round(sp.now_s, 2), "hr_bpm": _shown(sp.hr_bpm), "hr_status": sp.hr_status,
        "target_bpm": _r(sp.target_bpm), "zone_low_bpm": _r(sp.zone_low_bpm, 2),
        "zone_high_bpm": _r(sp.zone_high_bpm, 2), "speed_set_kmh": round(sp.speed_kmh, 2),
        "speed_kmh": round(speed_kmh, 2), "incline_set_pct": round(sp.incline_pct, 1),
        "incline_pct": round(incline_pct, 1), "phase": sp.phase, "interval": sp.interval,
        "phase_remaining_s": round(sp.phase_remaining_s), "state": sp.state,
        "alarms": list(sp.alarms), "alarm_severity": _severities(sp),
    }, time_unix_s)


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PARAMS_MAX = 32
"""An event's params are a few named numbers and keys (``schemas/event.schema.json``)."""


def event_params(params: dict[str, Any]) -> dict[str, Any]:
    """The event's params the schema carries: keys named as keys, plain values (a number
    within ±1e12, a boolean, null, or a key); anything else stays on the Pi (the session's
    own params are all of these: it is a guard, so one odd value never costs the event)."""
    def plain(v: Any) -> bool:
        if v is None or isinstance(v, bool):
            return True
        if isinstance(v, int | float):
            return math.isfinite(v) and abs(v) <= 1e12
        return isinstance(v, str) and _KEY.match(v) is not None

    kept = {k: v for k, v in params.items() if isinstance(k, str) and _KEY.match(k)
            and plain(v)}
    return dict(list(kept.items())[:PARAMS_MAX])


def event_payload(session_id: str, seq: int, event: Event,
                  time_unix_s: float | None = None) -> bytes:
    """Version 2 with the event's params (a receiver renders the event from its kind and
    these, in its own language); an event without params stays version 1, which an older
    receiver reads too."""
    params = event_params(event.params or {})
    doc: dict[str, Any] = {"schema": "fourbyfour.event/2" if params else "fourbyfour.event/1",
                           "session_id": session_id, "seq": seq,
                           "t_s": round(event.now_s, 2), "kind": event.kind,
                           "severity": event.severity, "message": event.message}
    if params:
        doc["params"] = params
    return _encode(doc, time_unix_s)


_SCHEMA_FOR = {k: f"fourbyfour.{k}/1" for k in KINDS}
READABLE: dict[str, tuple[str, ...]] = {
    k: (f"fourbyfour.{k}/1", f"fourbyfour.{k}/2") if k in ("session", "telemetry", "event")
    else (_SCHEMA_FOR[k],) for k in KINDS}
"""The schema versions a receiver reads, per topic kind (``schemas/<kind>.schema.json``
describes them all: version 2 adds ``alarm_severity``, an event's version 2 its ``params``)."""


@cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    """The compiled JSON Schema of one topic kind (``schemas/<kind>.schema.json``)."""
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):  # 1e999 is valid JSON and becomes infinity in Python
        raise ValueError(f"{text[:20]} is not a finite number")
    return x


def loads_strict(payload: bytes) -> Any:
    """JSON without NaN/Infinity, written or overflowing (``1e999``): Python's json accepts
    them; JSON and our ranges do not. Nesting too deep for the decoder is ValueError too."""
    try:
        return json.loads(payload, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None


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
        doc = loads_strict(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise PayloadError(f"{t}: not JSON ({str(e)[:120]})") from None
    if not isinstance(doc, dict):
        raise PayloadError(f"{t}: payload must be a JSON object")
    if doc.get("schema") not in READABLE[kind]:
        raise PayloadError(f"{t}: schema {str(doc.get('schema'))[:80]!r} is not "
                           f"{' or '.join(repr(v) for v in READABLE[kind])}")
    err = jsonschema.exceptions.best_match(validator(kind).iter_errors(doc))
    if err is not None:
        where = err.json_path.removeprefix("$.") if err.json_path != "$" else "document"
        raise PayloadError(f"{t}: {where}: {err.message[:160]}")
    if kind == "session" and doc["pseudonym"] and \
            (why := pseudonym_problem(doc["pseudonym"])) is not None:
        raise PayloadError(f"{t}: pseudonym refused: {why}")
    return site, device, kind, doc
