"""A patient's learned heart-rate response, carried from one session to the next.

Why: the same patient trains twice a week for months, and every session used to start cold,
spending the warm-up and the first interval learning what the last session already knew. A
session hands what it learned (``Session.response_model()``) to the register as a small,
versioned JSON document; the next session starts from it (``PatientProfile(response_model=…)``).

What travels is the *dynamics* (time constants, dead time, the fast vagal share) and the gain
(bpm per ml/kg/min of work), which change slowly over weeks; the offset (resting level of the
day) is re-learned in every warm-up, because it moves ±5 bpm from day to day.

A document is used whole or not at all: ``parse_response_model`` refuses anything malformed,
of another schema or version, or outside what a human heart can do, with a
``ResponseModelError`` (a ``ValueError``) whose message says why. A carried model is advice to
the control law only; caps and rate limits never read it.

From the same model comes fitness with no test (``fitness``): the work at 90 % HRmax and the
heart rate at a fixed, easy workload, so the clinic sees training effects between tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from controller.core.workload import REST_VO2, speed_for_cost

SCHEMA = "fourbyfour.response/2"
"""Version 2 (issue 26): the fast phase (``fast_frac``, ``tau_fast_s``) and the off-kinetics
ratio are estimated, and the drift rate is carried. Version 1 documents (the register's older
rows) stay readable: their three structure numbers were the fixed population values, so they
are read as such (``structure_learned`` False: the next session learns them afresh) and
they carry no drift."""
READABLE = {"fourbyfour.response/1": 1, SCHEMA: 2}
MAX_DOC_BYTES = 2048

FIXED_WORKLOAD_VO2 = 15.0
"""ml/kg/min: the fixed workload whose heart rate is reported (the records' own, ≈ a brisk
walk up 4 %: everyone can)."""

FITNESS_INCLINE_PCT = 5.0
"""The incline at which the speed for 90 % HRmax is expressed (the 4x4's minimum)."""
LEARNED_MIN_EVIDENCE_S = 780.0
"""Seconds of heart rate a session must have seen before its learned response is kept (the
service) or read as a measurement (the records: VO2max, speed at 90 % HRmax)."""

PLAUSIBLE: dict[str, tuple[float, float]] = {
    "gain_bpm_per_vo2": (0.5, 20.0),
    "offset_bpm": (30.0, 150.0),
    "rest_ref_bpm": (30.0, 150.0),
    "tau_s": (10.0, 300.0),
    "dead_time_s": (0.0, 30.0),
    "fast_frac": (0.0, 0.5),
    "tau_fast_s": (1.0, 40.0),
    "tau_off_ratio": (0.8, 3.0),
    "drift_bpm_per_min": (0.0, 5.0),
    "hrv_bpm": (0.0, 15.0),
    "evidence_s": (0.0, 24 * 3600.0),
    "hr_max_bpm": (100.0, 230.0),
}
"""Each number's accepted range: wider than the published ranges (so a real patient is never
refused), narrower than nonsense (so a corrupted file is)."""

OPTIONAL = {"drift_bpm_per_min", "hrv_bpm", "evidence_s", "hr_max_bpm"}
TEXT_FIELDS = {"schema", "session_id", "date"}
FITNESS_FIELD = "fitness"


class ResponseModelError(ValueError):
    """A carried response model that cannot be used; the message says why."""


@dataclass(frozen=True)
class ResponseModel:
    """A patient's heart-rate response: HR = offset + gain·x(work) + drift, with x the work
    above rest (ml/kg/min) through dead time, a fast vagal share and a slow sympathetic path."""

    gain_bpm_per_vo2: float
    offset_bpm: float
    rest_ref_bpm: float
    """The resting level the offset was learned against (profile or first reading)."""
    tau_s: float
    dead_time_s: float
    fast_frac: float
    tau_fast_s: float
    tau_off_ratio: float
    drift_bpm_per_min: float | None = None
    hrv_bpm: float | None = None
    evidence_s: float | None = None
    hr_max_bpm: float | None = None
    session_id: str | None = None
    date: str | None = None
    version: int = 2
    """The schema version it was read from (1: the structure numbers were fixed values)."""

    @property
    def structure_learned(self) -> bool:
        """Whether the fast phase and off-kinetics were estimated (version 2 on)."""
        return self.version >= 2

    def to_doc(self) -> dict[str, Any]:
        """The JSON-able document (with fitness when the HRmax is known)."""
        doc: dict[str, Any] = {"schema": f"fourbyfour.response/{self.version}"}
        for k in PLAUSIBLE:
            v = getattr(self, k)
            if v is not None:
                doc[k] = round(float(v), 3)
        if self.session_id is not None:
            doc["session_id"] = self.session_id
        if self.date is not None:
            doc["date"] = self.date
        if self.hr_max_bpm is not None:  # from the numbers as written: a reader agrees
            rounded = ResponseModel(**{**self.__dict__, **{k: v for k, v in doc.items()
                                                           if k in PLAUSIBLE}})
            doc[FITNESS_FIELD] = fitness(rounded, self.hr_max_bpm)
        return doc

    def with_origin(self, session_id: str | None, date: str | None) -> ResponseModel:
        return ResponseModel(**{**self.__dict__, "session_id": session_id, "date": date})


def parse_response_model(doc: object) -> ResponseModel:
    """The model in ``doc`` (a dict or its JSON text), or ``ResponseModelError`` saying why."""
    if isinstance(doc, ResponseModel):
        return doc
    if isinstance(doc, str | bytes):
        if len(doc) > MAX_DOC_BYTES:
            raise ResponseModelError(f"response model is {len(doc)} bytes, more than "
                                     f"{MAX_DOC_BYTES}")
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise ResponseModelError(f"response model is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ResponseModelError(f"response model must be an object, got {type(doc).__name__}")
    schema = doc.get("schema")
    if schema not in READABLE:
        if isinstance(schema, str) and schema.startswith("fourbyfour.response/"):
            raise ResponseModelError(f"response model version {schema!r} is not supported "
                                     f"(this version reads "
                                     f"{' and '.join(map(repr, READABLE))})")
        raise ResponseModelError(f"not a response model: schema is {schema!r}, "
                                 f"expected {SCHEMA!r}")
    size = len(json.dumps(doc, default=str))
    if size > MAX_DOC_BYTES:
        raise ResponseModelError(f"response model is {size} bytes, more than {MAX_DOC_BYTES}")
    unknown = set(doc) - set(PLAUSIBLE) - TEXT_FIELDS - {FITNESS_FIELD}
    if unknown:
        raise ResponseModelError(f"response model has unknown field(s): "
                                 f"{', '.join(sorted(map(str, unknown)))}")
    values: dict[str, Any] = {}
    for name, (lo, hi) in PLAUSIBLE.items():
        v = doc.get(name)
        if v is None:
            if name in OPTIONAL:
                values[name] = None
                continue
            raise ResponseModelError(f"response model lacks {name}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ResponseModelError(f"response model {name} must be a number, got {v!r}")
        if not lo <= v <= hi:
            raise ResponseModelError(f"response model {name} = {v:g} is implausible "
                                     f"(expected {lo:g}–{hi:g})")
        values[name] = float(v)
    for name in ("session_id", "date"):
        v = doc.get(name)
        if v is not None and (not isinstance(v, str) or len(v) > 64):
            raise ResponseModelError(f"response model {name} must be a short text")
        values[name] = v
    values["version"] = READABLE[schema]
    return ResponseModel(**values)


def fitness(model: ResponseModel, hr_max_bpm: float) -> dict[str, float]:
    """Fitness from the learned static map, no test needed.

    ``vo2_at_90_ml_kg_min``: the work (ACSM oxygen cost) that holds 90 % HRmax;
    ``speed_at_90_kmh``: that work as a speed at ``FITNESS_INCLINE_PCT`` (walking or running);
    ``hr_at_fixed_workload_bpm``: the heart rate at ``FIXED_WORKLOAD_VO2`` — falling over
    weeks as the patient gets fitter. Drift is left out: these are the rested values.
    """
    k, a = model.gain_bpm_per_vo2, model.offset_bpm
    vo2_90 = REST_VO2 + max(0.9 * hr_max_bpm - a, 0.0) / k
    speed = speed_for_cost(vo2_90, FITNESS_INCLINE_PCT, 0.5, 25.0)
    hr_fixed = a + k * (FIXED_WORKLOAD_VO2 - REST_VO2)
    return {"vo2_at_90_ml_kg_min": round(vo2_90, 1), "speed_at_90_kmh": round(speed, 1),
            "incline_pct": FITNESS_INCLINE_PCT,
            "hr_at_fixed_workload_bpm": round(min(hr_fixed, hr_max_bpm), 0)}


def describe_seconds(model: ResponseModel) -> tuple[float, float]:
    """(how soon the heart answers, when it is nearly there) in s, for staff's words: the dead
    time, and the dead time plus three time constants of the slow path (95 % of the way)."""
    return model.dead_time_s, model.dead_time_s + 3.0 * model.tau_s
