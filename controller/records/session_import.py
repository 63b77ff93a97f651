"""Importing a session export from another treadmill: every value checked before any is kept.

Why so strict: an imported file feeds the patient's progression, the clinic's outcome and
the journal. A heart rate of ``"abc"`` or ``5000`` must not become a record that crashes a
report later or proposes an HRmax of 5000. ``check_export`` validates the whole document —
types, ranges, units, order of time — and raises ``ImportError_`` naming the field and the
line of the file at fault; ``import_json`` writes it in one transaction, so a refused file
leaves the store exactly as it was.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controller.core.dates import local_day
from controller.core.hrmax import formula_conflict_bpm
from controller.core.i18n import N_, _, format_number
from controller.core.plan import Plan, PlanError
from controller.core.pseudonym import pseudonym_problem
from controller.protocol import HrMaxSource, PatientProfile
from controller.records.store import Store, StoreError

EXPORT_SCHEMA = "fourbyfour.session-export/1"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PHASES = {"warmup", "interval", "recovery", "cooldown", "test", "done"}
STATES = {"running", "hr_hold", "hr_slow", "paused", "stopping", "done"}
SEVERITIES = {"info", "warning", "alarm"}
FINAL_STATUSES = {"finished", "stopped", "incomplete"}
SAMPLE_KEYS = ("session_id", "t_s", "phase", "interval", "state", "hr_bpm", "hr_status",
               "target_bpm", "zone_low_bpm", "zone_high_bpm", "speed_set_kmh", "speed_kmh",
               "incline_set_pct", "incline_pct")
EVENT_KEYS = ("session_id", "t_s", "kind", "severity", "message")
EARLIEST_UNIX_S = 946_684_800.0  # 2000-01-01: nothing of ours is older
SAME_START_S = 1.0
"""Two sessions of one patient starting closer than this are the same session."""


class ImportRefused(StoreError):
    """A file refused as a whole; the message names the field and the line."""


class _Bad(Exception):
    def __init__(self, path: str, why: str) -> None:
        super().__init__(why)
        self.path = path
        self.why = why


def _num(path: str, v: Any, lo: float, hi: float, *, optional: bool = False) -> float | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _Bad(path, _("must be a number, got {value}").format(value=repr(v)))
    if not lo <= v <= hi:
        raise _Bad(path, _("must be {low}–{high}, got {value}").format(
            low=f"{lo:g}", high=f"{hi:g}", value=repr(v)))
    return float(v)


def _str(path: str, v: Any, max_len: int, choices: set[str] | None = None) -> str:
    if not isinstance(v, str) or not 0 < len(v) <= max_len:
        raise _Bad(path, _("must be text of 1–{n} characters, got {value}").format(
            n=max_len, value=repr(v)))
    if choices is not None and v not in choices:
        raise _Bad(path, _("must be one of {choices}, got {value}").format(
            choices=", ".join(sorted(choices)), value=repr(v)))
    return v


def _keys(path: str, d: Any, want: tuple[str, ...]) -> None:
    if not isinstance(d, dict):
        raise _Bad(path, _("must be an object, got {kind}").format(kind=type(d).__name__))
    missing = [k for k in want if k not in d]
    extra = [k for k in d if k not in want]
    if missing:
        raise _Bad(path, _("missing {fields}").format(fields=", ".join(missing)))
    if extra:
        raise _Bad(path, _("unknown field(s) {fields}").format(fields=", ".join(extra)))


def _check_session(s: Any, now_unix_s: float) -> None:
    keys: tuple[str, ...] = ("id", "pseudonym", "started_unix_s", "ended_unix_s", "status",
                             "plan", "profile", "hr_max_bpm", "hr_max_source", "summary")
    if isinstance(s, dict):
        keys += tuple(k for k in ("stop_reason", "clock_offset_s") if k in s)
    _keys("session", s, keys)
    if not isinstance(s["id"], str) or not _ID.match(s["id"]):
        raise _Bad("session.id", f"must be 1–64 letters, digits, '-' or '_', got {s['id']!r}")
    why = pseudonym_problem(s["pseudonym"])
    if why is not None:
        raise _Bad("session.pseudonym", why)
    start = _num("session.started_unix_s", s["started_unix_s"], EARLIEST_UNIX_S,
                 now_unix_s + 86400)
    assert start is not None
    _num("session.ended_unix_s", s["ended_unix_s"], start, now_unix_s + 86400, optional=True)
    _str("session.status", s["status"], 16, FINAL_STATUSES)
    hr_max = _num("session.hr_max_bpm", s["hr_max_bpm"], 100, 230)
    _str("session.hr_max_source", s["hr_max_source"], 32, {m.value for m in HrMaxSource})
    try:
        Plan.from_dict(s["plan"])
    except PlanError as e:
        raise _Bad("session.plan", str(e)) from None
    prof = s["profile"]
    if not isinstance(prof, dict):
        raise _Bad("session.profile", _("must be an object"))
    unknown = set(prof) - set(PatientProfile.__dataclass_fields__)
    if unknown:
        raise _Bad("session.profile", f"unknown field(s) {', '.join(sorted(unknown))}")
    try:
        profile = PatientProfile(**prof)
    except (ValueError, TypeError) as e:
        raise _Bad("session.profile", str(e)) from None
    if profile.pseudonym != s["pseudonym"] or profile.hr_max != hr_max:
        raise _Bad("session.profile", "pseudonym and hr_max must match the session's")
    if s["summary"] is not None:
        _check_summary(s["summary"])
    if "clock_offset_s" in s:
        _num("session.clock_offset_s", s["clock_offset_s"], -1e12, 1e12, optional=True)
    if s.get("stop_reason") is not None:
        _str("session.stop_reason", s["stop_reason"], 200)


SUMMARY_KEYS = ("hr_max_bpm", "intervals", "recoveries", "total_in_zone_s", "alarms")
INTERVAL_SUMMARY_NUMBERS = {"time_to_zone_s": (0, 3600), "in_zone_after_allowance_pct": (0, 100),
                            "above_95_s": (0, 3600), "peak_hr_bpm": (30, 250),
                            "mean_hr_bpm": (30, 250), "mean_speed_kmh": (0, 30),
                            "mean_incline_pct": (-5, 30)}
INTERVAL_SUMMARY_LATER = {"in_zone_s": (0, 3600), "ran_s": (0, 7200)}
"""Fields later versions write: required only where present (older exports lack them)."""
HR_STATUS = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""A heart-rate gate's reason (``ok``, ``frozen``, ``out_of_range`` …): a short key."""


def _check_summary(v: Any) -> None:
    """The shape ``core.summary.summarise`` writes (and the service's ``late_ticks``): a
    summary the reports read later must not crash them."""
    p = "session.summary"
    if not isinstance(v, dict):
        raise _Bad(p, _("must be an object or null"))
    present = tuple(k for k in ("late_ticks", "response_model", "test") if k in v)
    _keys(p, v, SUMMARY_KEYS + present)
    if "test" in v:  # a 6-minute test's measures (``core.summary.six_minute_measures``)
        _keys(f"{p}.test", v["test"], ("distance_m", "peak_hr_bpm"))
        _num(f"{p}.test.distance_m", v["test"]["distance_m"], 0, 10000)
        _num(f"{p}.test.peak_hr_bpm", v["test"]["peak_hr_bpm"], 30, 250, optional=True)
    if "response_model" in v:  # issue 26: the session's learned response, whole or refused
        from controller.core.response import ResponseModelError, parse_response_model

        try:
            parse_response_model(v["response_model"])
        except ResponseModelError as e:
            raise _Bad(f"{p}.response_model", str(e)) from None
    _num(f"{p}.hr_max_bpm", v["hr_max_bpm"], 100, 230)
    _num(f"{p}.total_in_zone_s", v["total_in_zone_s"], 0, 86400)
    if "late_ticks" in v:
        _int(f"{p}.late_ticks", v["late_ticks"], 0, 10**7)
    if not isinstance(v["intervals"], list) or len(v["intervals"]) > 20:
        raise _Bad(f"{p}.intervals", "must be a list of at most 20")
    for i, iv in enumerate(v["intervals"]):
        q = f"{p}.intervals[{i}]"
        later = {k: r for k, r in INTERVAL_SUMMARY_LATER.items()
                 if isinstance(iv, dict) and k in iv}
        _keys(q, iv, ("interval", *INTERVAL_SUMMARY_NUMBERS, *later))
        _int(f"{q}.interval", iv["interval"], 1, 20)
        for k, (lo, hi) in {**INTERVAL_SUMMARY_NUMBERS, **later}.items():
            _num(f"{q}.{k}", iv[k], lo, hi, optional=True)
    if not isinstance(v["recoveries"], list) or len(v["recoveries"]) > 20:
        raise _Bad(f"{p}.recoveries", "must be a list of at most 20")
    for i, rc in enumerate(v["recoveries"]):
        q = f"{p}.recoveries[{i}]"
        _keys(q, rc, ("after_interval", "hr_drop_first_minute_bpm"))
        _int(f"{q}.after_interval", rc["after_interval"], 1, 20)
        _num(f"{q}.hr_drop_first_minute_bpm", rc["hr_drop_first_minute_bpm"], -250, 250,
             optional=True)
    if not isinstance(v["alarms"], list) or len(v["alarms"]) > 1000:
        raise _Bad(f"{p}.alarms", "must be a list of at most 1000")
    for i, a in enumerate(v["alarms"]):
        if not isinstance(a, str) or not HR_STATUS.match(a):
            raise _Bad(f"{p}.alarms[{i}]", f"must be an alarm's key, got {a!r}")


def _int(path: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _Bad(path, _("must be a whole number {low}–{high}, got {value}").format(
            low=lo, high=hi, value=repr(v)))
    return v


def _check_sample(i: int, r: Any, sid: str, prev_t: float, n_intervals: int = 20) -> float:
    p = f"samples[{i}]"
    _keys(p, r, SAMPLE_KEYS)
    if r["session_id"] != sid:
        raise _Bad(f"{p}.session_id", f"must be the session's id {sid!r}")
    t = _num(f"{p}.t_s", r["t_s"], -1e9, 1e12)
    assert t is not None
    if t < prev_t:
        raise _Bad(f"{p}.t_s", _("time goes backwards ({time} after {before})").format(
            time=f"{t:g}", before=f"{prev_t:g}"))
    _str(f"{p}.phase", r["phase"], 16, PHASES)
    # an interval number only in the intervals and their pauses, and within the plan
    if r["phase"] in ("interval", "recovery"):
        _int(f"{p}.interval", r["interval"], 1, n_intervals)
    else:
        _int(f"{p}.interval", r["interval"], 0, 0)
    _str(f"{p}.state", r["state"], 16, STATES)
    _num(f"{p}.hr_bpm", r["hr_bpm"], 30, 250, optional=True)
    if r["hr_status"] is not None and (not isinstance(r["hr_status"], str)
                                       or not HR_STATUS.match(r["hr_status"])):
        raise _Bad(f"{p}.hr_status", "must be a heart-rate status key (a–z, digits, _; at "
                   f"most 32), got {str(r['hr_status'])[:40]!r}")
    for k in ("target_bpm", "zone_low_bpm", "zone_high_bpm"):
        _num(f"{p}.{k}", r[k], 30, 250, optional=True)
    if r["zone_low_bpm"] is not None and r["zone_high_bpm"] is not None and \
            r["zone_low_bpm"] > r["zone_high_bpm"]:
        raise _Bad(f"{p}.zone_low_bpm", f"above zone_high_bpm ({r['zone_low_bpm']:g} > "
                   f"{r['zone_high_bpm']:g})")
    for k in ("speed_set_kmh", "speed_kmh"):
        _num(f"{p}.{k}", r[k], 0, 30)
    for k in ("incline_set_pct", "incline_pct"):
        _num(f"{p}.{k}", r[k], -5, 30)
    return t


PARAMS_MAX = 32
"""An event's parameters are a few named numbers and keys (``Event.params``)."""


def _check_params(path: str, params: Any) -> None:
    """An event's parameters (exports from schema 7 on): a small object of plain values."""
    if not isinstance(params, dict) or len(params) > PARAMS_MAX:
        raise _Bad(path, f"must be an object of at most {PARAMS_MAX} values")
    for k, v in params.items():
        if not isinstance(k, str) or not HR_STATUS.match(k):
            raise _Bad(path, f"a parameter's name is a key (a–z, digits, _), got {k!r:.40}")
        if isinstance(v, str):
            _str(f"{path}.{k}", v, 200)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            _num(f"{path}.{k}", v, -1e12, 1e12)
        elif v is not None and not isinstance(v, bool):
            raise _Bad(f"{path}.{k}", f"must be a number, a text or null, got "
                       f"{type(v).__name__}")


def _check_event(i: int, e: Any, sid: str) -> None:
    p = f"events[{i}]"
    _keys(p, e, EVENT_KEYS + (("params",) if isinstance(e, dict) and "params" in e else ()))
    if "params" in e:
        _check_params(f"{p}.params", e["params"])
    if e["session_id"] != sid:
        raise _Bad(f"{p}.session_id", f"must be the session's id {sid!r}")
    _num(f"{p}.t_s", e["t_s"], -1e9, 1e12)
    _str(f"{p}.kind", e["kind"], 64)
    _str(f"{p}.severity", e["severity"], 16, SEVERITIES)
    _str(f"{p}.message", e["message"], 1000)


def check_export(doc: Any, now_unix_s: float) -> None:
    """Raise ``_Bad(path, why)`` at the first value that is not what a session export
    holds."""
    if not isinstance(doc, dict) or doc.get("schema") != EXPORT_SCHEMA:
        raise _Bad("schema", _("not a {schema} file").format(schema=EXPORT_SCHEMA))
    _keys("(file)", doc, ("schema", "session", "samples", "events",
                          *(k for k in ("ratings", "notes") if k in doc)))
    _check_session(doc["session"], now_unix_s)
    sid = doc["session"]["id"]
    if not isinstance(doc["samples"], list):
        raise _Bad("samples", _("must be a list"))
    if not isinstance(doc["events"], list):
        raise _Bad("events", _("must be a list"))
    if not doc["samples"]:
        raise _Bad("samples", _("no samples: a session export holds its recorded trace"))
    n_intervals = sum(1 for ph in doc["session"]["plan"].get("phases", [])
                      if ph.get("kind") == "interval")
    prev = -math.inf
    for i, r in enumerate(doc["samples"]):
        prev = _check_sample(i, r, sid, prev, n_intervals)
    for i, e in enumerate(doc["events"]):
        _check_event(i, e, sid)
    ratings = doc.get("ratings", [])
    if not isinstance(ratings, list):
        raise _Bad("ratings", _("must be a list"))
    # a rating belongs to an interval of the plan, or (interval 0) to a 6-minute test's test
    # phase — what ``Store.rate`` takes, so every export imports back
    phases = doc["session"]["plan"].get("phases", [])
    n_intervals = sum(1 for ph in phases if ph.get("kind") == "interval")
    has_test = any(ph.get("kind") == "test" for ph in phases)
    seen: set[int] = set()
    for i, r in enumerate(ratings):
        _keys(f"ratings[{i}]", r, ("interval", "borg",
                                   *(("rated_unix_s",) if isinstance(r, dict)
                                     and "rated_unix_s" in r else ())))
        lo_i = 0 if has_test else 1
        hi_i = max(n_intervals, lo_i)
        for k, lo, hi in (("interval", lo_i, hi_i), ("borg", 6, 20)):
            v = r[k]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise _Bad(f"ratings[{i}].{k}", _("must be a whole number {low}–{high}, got "
                                                   "{value}").format(low=lo, high=hi,
                                                                     value=repr(v)))
        if r["interval"] in seen:
            raise _Bad(f"ratings[{i}].interval", f"interval {r['interval']} rated twice")
        seen.add(r["interval"])
        if "rated_unix_s" in r:
            _num(f"ratings[{i}].rated_unix_s", r["rated_unix_s"], EARLIEST_UNIX_S,
                 now_unix_s + 86400)
    notes = doc.get("notes", [])
    if not isinstance(notes, list):
        raise _Bad("notes", _("must be a list"))
    for i, n in enumerate(notes):
        _keys(f"notes[{i}]", n, ("written_unix_s", "text"))
        _num(f"notes[{i}].written_unix_s", n["written_unix_s"], EARLIEST_UNIX_S,
             now_unix_s + 86400)
        _str(f"notes[{i}].text", n["text"], 2000)


# -- where in the file ----------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")


def _positions(text: str) -> dict[str, int]:
    """Character offsets of the top-level keys' values and of each element of the samples
    and events lists (``samples[3]`` …), found by walking the document with the decoder."""
    dec = json.JSONDecoder()
    out: dict[str, int] = {}

    def ws(i: int) -> int:
        m = _WS.match(text, i)
        return m.end() if m else i

    i = ws(0)
    if text[i:i + 1] != "{":
        return out
    i = ws(i + 1)
    while i < len(text) and text[i] != "}":
        key, i = dec.raw_decode(text, i)
        i = ws(ws(i) + 1)  # the colon
        out[str(key)] = i
        if key in ("samples", "events") and text[i:i + 1] == "[":
            j, n = ws(i + 1), 0
            while j < len(text) and text[j] != "]":
                out[f"{key}[{n}]"] = j
                _, j = dec.raw_decode(text, j)
                j = ws(j)
                if text[j:j + 1] == ",":
                    j = ws(j + 1)
                n += 1
            i = j + 1
        else:
            _, i = dec.raw_decode(text, i)
        i = ws(i)
        if text[i:i + 1] == ",":
            i = ws(i + 1)
    return out


def _line_of(text: str, path: str) -> int | None:
    try:
        pos = _positions(text)
    except ValueError:
        return None
    head = path.split(".")[0]
    at = pos.get(head, pos.get(head.split("[")[0]))
    if at is None:
        return None
    if path == "session.profile.hr_max":  # its own line, where the exporter wrote one
        k = text.find('"profile"', at)
        j = text.find('"hr_max"', k) if k >= 0 else -1
        if 0 <= j < text.find("}", k):
            at = j
    if path.startswith(("samples[", "events[")) and "." in path:
        # the field's own line inside the element, where the exporter wrote one per line
        field = path.split(".", 1)[1]
        k = text.find(f'"{field}"', at)
        end = text.find("}", at)
        if 0 <= k < end:
            at = k
    return text.count("\n", 0, at) + 1


IMPORT_FORMULA_CONFLICT = N_(
    "HRmax {typed} bpm is not the age formula's {bpm} bpm at age {age} (source {source}): a "
    "patient not in the register is registered from the file, so register {pseudonym} first "
    "with the right HRmax (fourbyfour patient), then import the file again")
"""The formula rule the patient form, ``fourbyfour patient`` and the control service keep
(``hrmax.FORMULA_CONFLICT``), said where the import would register the patient."""


def _is_registered(store: Store, pseudonym: str) -> bool:
    return store.db.execute("SELECT 1 FROM patients WHERE pseudonym = ?",
                            (pseudonym,)).fetchone() is not None


def _check_formula_rule(store: Store, s: dict[str, Any]) -> None:
    """A first-seen patient enters the register from the file's profile (``_register``), so
    that profile keeps the register's one rule: an HRmax from an age formula is the
    formula's value at the patient's age (a trial: 165 as Nes at 60 entered the register, and
    the patient form then refused to save the patient: 173). A registered patient keeps what
    staff decided, and the session keeps its own history, so nothing is checked then."""
    if _is_registered(store, s["pseudonym"]):
        return
    profile = _profile(s)
    bpm = formula_conflict_bpm(profile.hr_max, str(profile.hr_max_source), profile.age_years,
                               profile.hr_rest)
    if bpm is None:
        return
    typed = float(profile.hr_max)
    raise _Bad("session.profile.hr_max", _(IMPORT_FORMULA_CONFLICT).format(
        typed=format_number(typed, 0 if typed.is_integer() else 1),
        bpm=format_number(bpm, 0), source=str(profile.hr_max_source),
        age=format_number(float(profile.age_years or 0), 0), pseudonym=profile.pseudonym))


def _profile(s: dict[str, Any]) -> PatientProfile:
    """The session's profile as checked (``_check_session``), its strap left out."""
    return PatientProfile(**{k: v for k, v in s["profile"].items() if k != "strap"})


def _register(store: Store, s: dict[str, Any]) -> None:
    """A patient first seen in an import enters the register with the session's profile
    (HRmax, source, caps; the HRmax dated by the session's day), so the next session starts
    from it. A patient already registered keeps what staff decided."""
    if _is_registered(store, s["pseudonym"]):
        return
    from controller.records.register import PatientRecord

    rec = PatientRecord.from_profile(_profile(s), hr_max_date=local_day(
        s["started_unix_s"]).isoformat())
    doc = {k: v for k, v in asdict(rec).items()
           if k not in ("pseudonym", "created_unix_s", "updated_unix_s")}
    now = store.clock()
    store.db.execute("INSERT INTO patients VALUES (?, ?, ?, ?)",
                     (s["pseudonym"], now, now, json.dumps(doc)))


def _unreadable(e: Exception) -> str:
    """Why a file is no session export before any field is read, in the user's words (not
    Python's «Expecting value: line 1 column 1 (char 0)»)."""
    if isinstance(e, json.JSONDecodeError):
        return _("not JSON at line {line}, column {column}").format(line=e.lineno,
                                                                    column=e.colno)
    if isinstance(e, FileNotFoundError):
        return _("no such file")
    if isinstance(e, IsADirectoryError):
        return _("a folder, not a file")
    if isinstance(e, UnicodeDecodeError):
        return _("not UTF-8 text")
    if isinstance(e, OSError):
        return _("cannot be read ({why})").format(why=e.strerror or type(e).__name__)
    return str(e)


def _not_an_export(p: Path, why: str) -> ImportRefused:
    return ImportRefused(_("{file}: not a session export ({reason}); nothing imported").format(
        file=p, reason=why))


def _bad_field(p: Path, text: str, bad: _Bad) -> ImportRefused:
    """The refusal of a field: the file, the line (where it is found), the field's path in
    the file (as the file names it, in any language) and why."""
    try:
        line = _line_of(text, bad.path)
    except RecursionError:
        line = None
    if line is None:
        return ImportRefused(_("{file}: {field}: {reason}; nothing imported").format(
            file=p, field=bad.path, reason=bad.why))
    return ImportRefused(_("{file}: line {line}: {field}: {reason}; nothing imported").format(
        file=p, line=line, field=bad.path, reason=bad.why))


def import_json(store: Store, path: str | Path) -> str:
    """Import an ``export_json`` file, all or nothing; a refused file names field and line,
    in the process's language (the field's path as the file spells it)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        doc = json.loads(text)
    except RecursionError:
        raise _not_an_export(p, _("nested too deeply")) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _not_an_export(p, _unreadable(e)) from None
    try:
        check_export(doc, store.clock())
    except _Bad as bad:
        if bad.path == "schema":  # no export at all: no field of one to name (trial 11)
            raise ImportRefused(_("{file}: not a session export of fourbyfour; nothing "
                                  "imported").format(file=p)) from None
        raise _bad_field(p, text, bad) from None
    except RecursionError:
        raise _not_an_export(p, _("nested too deeply")) from None
    s = doc["session"]
    if store.db.execute("SELECT 1 FROM sessions WHERE id = ?", (s["id"],)).fetchone():
        raise ImportRefused(_("{file}: session {id} is already in {store}; nothing "
                              "imported").format(file=p, id=s["id"], store=store.path))
    # the same session under another id (exported twice, renamed by hand): one patient
    # cannot start two sessions within the same second
    same = store.db.execute("SELECT id FROM sessions WHERE pseudonym = ? AND "
                            "abs(started_unix_s - ?) < ?",
                            (s["pseudonym"], s["started_unix_s"], SAME_START_S)).fetchone()
    if same:
        raise ImportRefused(_("{file}: this session of {pseudonym} is already in {store} as "
                              "session {id}; nothing imported").format(
            file=p, pseudonym=s["pseudonym"], store=store.path, id=same[0]))
    try:
        _check_formula_rule(store, s)
    except _Bad as bad:
        raise _bad_field(p, text, bad) from None
    db = store.db
    store._commit()
    try:
        db.execute("BEGIN")
        db.execute("INSERT INTO sessions (id, pseudonym, started_unix_s, ended_unix_s, status, "
                   "plan_json, profile_json, hr_max_bpm, hr_max_source, summary_json, "
                   "clock_offset_s, stop_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (s["id"], s["pseudonym"], s["started_unix_s"], s["ended_unix_s"],
                    s["status"], json.dumps(s["plan"]), json.dumps(s["profile"]),
                    s["hr_max_bpm"], s["hr_max_source"],
                    json.dumps(s["summary"]) if s["summary"] is not None else None,
                    s.get("clock_offset_s"), s.get("stop_reason")))
        db.executemany("INSERT INTO samples VALUES (:session_id, :t_s, :phase, :interval, "
                       ":state, :hr_bpm, :hr_status, :target_bpm, :zone_low_bpm, "
                       ":zone_high_bpm, :speed_set_kmh, :speed_kmh, :incline_set_pct, "
                       ":incline_pct)", doc["samples"])
        db.executemany("INSERT INTO events (session_id, t_s, kind, severity, message, "
                       "params_json) VALUES (:session_id, :t_s, :kind, :severity, :message, "
                       ":params_json)",
                       [{**e, "params_json": json.dumps(e["params"]) if e.get("params")
                         else None} for e in doc["events"]])
        db.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?)",
                       [(s["id"], r["interval"], r["borg"],
                         r.get("rated_unix_s", s["started_unix_s"]))
                        for r in doc.get("ratings", [])])
        db.executemany("INSERT INTO notes VALUES (?, ?, ?)",
                       [(s["id"], n["written_unix_s"], n["text"]) for n in doc.get("notes", [])])
        _register(store, s)
        store.refresh_stats(s["id"])
        db.execute("COMMIT")
    except Exception as e:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise ImportRefused(_("{file}: could not be stored ({reason}); nothing imported"
                              ).format(file=p, reason=f"{type(e).__name__}: {e}")) from None
    return str(s["id"])
