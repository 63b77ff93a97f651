"""Into the patient journal: a session and an HRmax result as an HL7 FHIR R4 JSON Bundle.

Plain dicts (no FHIR library at run time); the tests validate them with ``fhir.resources``'
R4B models (R4B's Observation and Bundle are R4's). Following the Physical Activity IG:
Observations with LOINC codes where they exist — heart rate 8867-4 (mean per interval),
heart rate encounter maximum 55422-0, resting heart rate 40443-4, exercise duration 55411-3
— UCUM units (``/min``, ``min``), ``effectivePeriod`` in absolute UTC time, category
``activity``. Heart-rate observations are vital signs in R4: they also carry the category
``vital-signs`` and the vital-signs profile (``heartrate`` for 8867-4) in ``meta.profile``.
What LOINC has no code for (work held at 90 % HRmax, minutes in the zone, an individual
HRmax and its method) carries a code of our own system and a text.

A session bundle holds only what the session measured: the profile's resting heart rate was
not measured then, so it is not sent as if it were. An HRmax bundle holds the patient's
current HRmax with the method and uncertainty of the decision that set *that* value (none
when the value came another way), timed at that decision (date, time and zone). Every
``fullUrl`` is ``urn:uuid:`` with an RFC 4122 UUID (hyphens).

The patient is named only by the pseudonym as an identifier; the hospital's integration
engine maps it to the journal's patient.

The bundle's text is English whatever language the process speaks (plain strings here and
``words.SOURCES``' message ids, never gettext): the journal's integration reads it. Only the
errors speak the user's language (a trial: «error: session … has no samples to report» in a
bokmål process).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from controller.core.i18n import _
from controller.core.words import SOURCES
from controller.records.report import session_facts, utc_iso
from controller.records.store import Store, StoreError

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OURS = "urn:fourbyfour:code"
PSEUDONYM_SYSTEM = "urn:fourbyfour:pseudonym"
HEART_RATE_CODES = {"8867-4", "40443-4", "55422-0"}
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY = {"coding": [{"system": CATEGORY_SYSTEM, "code": "activity", "display": "Activity"}]}
VITAL_SIGNS = {"coding": [{"system": CATEGORY_SYSTEM, "code": "vital-signs",
                           "display": "Vital Signs"}], "text": "Vital Signs"}
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
HEART_RATE_PROFILE = "http://hl7.org/fhir/StructureDefinition/heartrate"


def _subject(pseudonym: str) -> dict[str, Any]:
    return {"identifier": {"system": PSEUDONYM_SYSTEM, "value": pseudonym}}


def _obs(pseudonym: str, code: dict[str, Any], value: float, unit: str, ucum: str,
         when: dict[str, Any], note: str | None = None) -> dict[str, Any]:
    loinc = {c["code"] for c in code["coding"] if c["system"] == LOINC}
    o: dict[str, Any] = {
        "resourceType": "Observation", "id": str(uuid.uuid4()), "status": "final",
        "category": [CATEGORY], "code": code, "subject": _subject(pseudonym), **when,
        "valueQuantity": {"value": round(float(value), 2), "unit": unit, "system": UCUM,
                          "code": ucum},
    }
    if loinc & HEART_RATE_CODES:  # a vital sign: its category and profile
        o["meta"] = {"profile": [HEART_RATE_PROFILE if "8867-4" in loinc
                                 else VITAL_SIGNS_PROFILE]}
        o["category"] = [VITAL_SIGNS, CATEGORY]
    if note:
        o["note"] = [{"text": note}]
    return o


def _loinc(code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}],
            "text": text or display}


def _ours(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": OURS, "code": code, "display": text}], "text": text}


def _bundle(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
            "timestamp": utc_iso(dt.datetime.now(dt.UTC).timestamp()),
            "entry": [{"fullUrl": f"urn:uuid:{e['id']}", "resource": e} for e in entries]}


def session_bundle(store: Store, session_id: str) -> dict[str, Any]:
    """One session: duration, HR mean per interval, peak HR, work at 90 % HRmax and minutes
    in the zone — every time absolute UTC (the profile's resting HR is not sent: the
    session did not measure it)."""
    f = session_facts(store, session_id)
    r, samples, wall = f["record"], f["samples"], f["wall_unix_s"]
    if not samples:  # said in the user's language; the bundle's own text stays English
        raise StoreError(_("{path}: session {id} has no recorded samples").format(
            path=store.path, id=session_id))
    period = {"effectivePeriod": {"start": utc_iso(wall[0]), "end": utc_iso(wall[-1])}}
    p = r.pseudonym
    plan = r.plan_name
    out = [_obs(p, _loinc("55411-3", "Exercise duration"), (wall[-1] - wall[0]) / 60, "min",
                "min", period, note=f"fourbyfour {plan} session {r.id}, {r.status}")]
    if f["peak_hr_bpm"] is not None:
        out.append(_obs(p, _loinc("55422-0", "Heart rate encounter maximum"),
                        f["peak_hr_bpm"], "beats/minute", "/min", period))
    t0 = samples[0]["t_s"]
    for k in sorted({s["interval"] for s in samples if s["phase"] == "interval"}):
        rows = [(s, u) for s, u in zip(samples, wall, strict=True)
                if s["phase"] == "interval" and s["interval"] == k and s["hr_bpm"] is not None]
        if not rows:
            continue
        mean = sum(s["hr_bpm"] for s, _u in rows) / len(rows)
        out.append(_obs(p, _loinc("8867-4", "Heart rate",
                                  f"Heart rate, mean in 4x4 interval {k}"), mean,
                        "beats/minute", "/min",
                        {"effectivePeriod": {"start": utc_iso(rows[0][1]),
                                             "end": utc_iso(rows[-1][1])}},
                        note=f"interval {k} began {rows[0][0]['t_s'] - t0:.0f} s into "
                             "the session"))
    if f["work_at_90_vo2"] is not None:
        out.append(_obs(p, _ours("work-at-90-hrmax",
                                 "Treadmill work held at 90 % HRmax (ACSM oxygen cost)"),
                        f["work_at_90_vo2"], "mL/kg/min", "mL/kg/min", period,
                        note=("equivalent to " if f.get("at_90_equivalent") else "")
                        + f"{f['speed_at_90_kmh']} km/h at {f['incline_at_90_pct']} % "
                             f"incline; HRmax {r.hr_max_bpm:.0f} bpm ({r.hr_max_source})"))
    out.append(_obs(p, _ours("minutes-in-zone-hrmax",
                             "Minutes in the zone (85–95 % HRmax) in the intervals"),
                    f["minutes_at_85"], "min", "min", period))
    learned = (r.summary or {}).get("response_model")
    if learned is not None:
        out.append(_response_obs(p, learned, period))
    return _bundle(out)


def current_hrmax_bundle(reg: Any, pseudonym: str) -> dict[str, Any]:
    """The patient's current HRmax (``Register``) as a bundle: method and uncertainty only
    from the decision that set this very value and source (an older decision's would
    describe another number), timed at that decision; without one, at the register's last
    change of the profile."""
    rec = reg.get(pseudonym)  # a name for a pseudonym: refused in the user's language
    if rec is None:
        raise StoreError(_("{pseudonym} is not in the register ({path})").format(
            pseudonym=pseudonym, path=reg.store.path))
    match = None
    for d in reversed(reg.hrmax_decisions(rec.pseudonym)):
        if d["decision"] == "rejected":
            continue
        if d["hr_max_bpm"] is not None and float(d["hr_max_bpm"]) == float(rec.hr_max_bpm) \
                and d["source"] == rec.hr_max_source:
            match = d
        break  # only the latest accepted or edited decision can describe the current value
    detail = json.loads(match["detail_json"]) if match else {}
    when = match["decided_unix_s"] if match else rec.updated_unix_s
    return hrmax_bundle(rec.pseudonym, rec.hr_max_bpm, rec.hr_max_source, utc_iso(when),
                        detail.get("uncertainty_bpm"), detail.get("method", ""))
RESPONSE_EXTENSION = "urn:fourbyfour:response-model"
"""The learned response's whole ``fourbyfour.response/1`` document, as JSON text."""


def _response_obs(pseudonym: str, doc: dict[str, Any], when: dict[str, Any]
                  ) -> dict[str, Any]:
    """The session's learned heart-rate response (issue 26): the slow time constant as the
    value, dead time and gain as components, the document itself in an extension."""
    o = _obs(pseudonym, _ours("heart-rate-response", "Learned heart-rate response to load "
                              "(time constant)"), doc["tau_s"], "s", "s", when,
             note=f"the heart rate answers after about {doc['dead_time_s']:.0f} s; gain "
                  f"{doc['gain_bpm_per_vo2']:.2f} bpm per mL/kg/min")
    o["component"] = [
        {"code": _ours("heart-rate-response-dead-time", "Dead time"),
         "valueQuantity": {"value": doc["dead_time_s"], "unit": "s", "system": UCUM,
                           "code": "s"}},
        {"code": _ours("heart-rate-response-gain", "Heart rate per work"),
         "valueQuantity": {"value": doc["gain_bpm_per_vo2"], "unit": "/min per mL/kg/min",
                           "system": UCUM, "code": "/min/(mL/kg/min)"}}]
    o["extension"] = [{"url": RESPONSE_EXTENSION, "valueString": json.dumps(doc)}]
    return o


def hrmax_bundle(pseudonym: str, hr_max_bpm: float, source: str, date_iso: str,
                 uncertainty_bpm: float | None = None, method: str = "") -> dict[str, Any]:
    """An HRmax result (e.g. accepted after a 6-minute test) with its source and when it was
    decided (``date_iso``: a date-time with zone; a bare date is refused)."""
    if "T" not in date_iso:
        raise ValueError(f"an HRmax result needs a date, time and zone, got {date_iso!r}")
    note = f"source: {source}"
    if method:
        note += f"; method: {method}"
    if uncertainty_bpm:
        note += f"; uncertainty ± {uncertainty_bpm:.0f} bpm"
    obs = _obs(pseudonym, _ours("hrmax-individual", "Individual maximum heart rate for "
                                "training zones"), hr_max_bpm, "beats/minute", "/min",
               {"effectiveDateTime": date_iso}, note=note)
    # people read the text (the journal shows it): the hand-over's words, in English as the
    # bundle's other texts; the code is for machines
    words = SOURCES.get(source, source)
    obs["method"] = {"coding": [{"system": OURS, "code": source, "display": words}],
                     "text": words}
    return _bundle([obs])


def write_bundle(bundle: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(bundle, indent=1))
