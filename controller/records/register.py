"""The patient register: pseudonymous profiles kept over time, beside the sessions.

Why a register: a session must start from *this* patient's profile (HRmax with its source and
date, resting heart rate, caps, walk-only, the strap they wear), never from whoever trained
before, and an HRmax accepted after a 6-minute test must still be there for the next 4x4.

It lives in the session store's SQLite file (schema 2: ``patients``, ``hrmax_decisions``) and
is used through the small interface below (``Register(store)``), so a central records service
can later offer the same methods over another backend. Every pseudonym passes the one rule
(``controller.core.pseudonym``); every profile passes ``PatientProfile``'s ranges.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from controller.core.dates import local_day
from controller.core.i18n import _
from controller.core.pseudonym import check_pseudonym
from controller.core.response import ResponseModel, ResponseModelError, parse_response_model
from controller.protocol import HrMaxSource, PatientProfile, ProfileError
from controller.records.store import Store, StoreError


class RegisterError(ValueError):
    """A register operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class PatientRecord:
    """What the clinic keeps about one patient between sessions (no names, ever)."""

    pseudonym: str
    hr_max_bpm: float
    hr_max_source: str
    hr_max_date: str | None = None
    """ISO date the HRmax was set (a 6-minute test, a lab test, a formula)."""
    hr_rest_bpm: float | None = None
    max_speed_kmh: float = 6.0
    max_incline_pct: float = 15.0
    walk_only: bool = False
    age_years: float | None = None
    strap: dict[str, Any] | None = None
    """The patient's remembered chest strap (e.g. ``{"ant_device_number": 4711}``)."""
    response_model: dict[str, Any] | None = None
    """The latest learned heart-rate response (``fourbyfour.response/1``, issue 26), with the
    session it came from and its date: the next session starts from it."""
    response_model_session: str | None = None
    response_model_date: str | None = None
    created_unix_s: float = 0.0
    updated_unix_s: float = 0.0

    def profile(self) -> PatientProfile:
        """The session profile; ProfileError names a field out of range."""
        return PatientProfile(
            hr_max=self.hr_max_bpm, hr_rest=self.hr_rest_bpm, max_speed_kmh=self.max_speed_kmh,
            max_incline_pct=self.max_incline_pct, hr_max_source=HrMaxSource(self.hr_max_source),
            walk_only=self.walk_only, age_years=self.age_years, pseudonym=self.pseudonym)

    def carried_response(self) -> tuple[ResponseModel | None, str | None]:
        """(the learned response to start the next session from, or None; why not, if one is
        kept but refused — e.g. written by a newer version). Never half-used."""
        if self.response_model is None:
            return None, None
        try:
            return parse_response_model(self.response_model), None
        except ResponseModelError as e:
            return None, str(e)

    @classmethod
    def from_profile(cls, profile: PatientProfile, hr_max_date: str | None = None,
                     strap: dict[str, Any] | None = None) -> PatientRecord:
        return cls(pseudonym=profile.pseudonym, hr_max_bpm=float(profile.hr_max),
                   hr_max_source=str(profile.hr_max_source), hr_max_date=hr_max_date,
                   hr_rest_bpm=profile.hr_rest, max_speed_kmh=profile.max_speed_kmh,
                   max_incline_pct=profile.max_incline_pct, walk_only=profile.walk_only,
                   age_years=profile.age_years, strap=strap)


_FIELDS = {f for f in PatientRecord.__dataclass_fields__} - {"pseudonym", "created_unix_s",
                                                             "updated_unix_s"}


def _today(unix_s: float) -> str:
    return local_day(unix_s).isoformat()  # the clinic's day (Europe/Oslo)


class Register:
    """Patients and their profiles in a session store.

    >>> reg = Register(Store("sessions.db"))
    >>> reg.save(PatientRecord("P-17", 178, "tanaka"))
    >>> reg.get("P-17").profile()          # the next session's profile
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def patients(self) -> list[PatientRecord]:
        rows = self.db.execute("SELECT pseudonym, created_unix_s, updated_unix_s, profile_json "
                               "FROM patients ORDER BY pseudonym").fetchall()
        return [self._from_row(r) for r in rows]

    def get(self, pseudonym: str) -> PatientRecord | None:
        check_pseudonym(pseudonym)
        r = self.db.execute("SELECT pseudonym, created_unix_s, updated_unix_s, profile_json "
                            "FROM patients WHERE pseudonym = ?", (pseudonym,)).fetchone()
        return None if r is None else self._from_row(r)

    def require(self, pseudonym: str) -> PatientRecord:
        rec = self.get(pseudonym)
        if rec is None:
            raise RegisterError(f"no patient {pseudonym!r} in {self.store.path}")
        return rec

    @staticmethod
    def _from_row(r: tuple[Any, ...]) -> PatientRecord:
        doc = json.loads(r[3])
        known = {k: v for k, v in doc.items() if k in _FIELDS}
        return PatientRecord(pseudonym=r[0], created_unix_s=r[1], updated_unix_s=r[2], **known)

    def save(self, rec: PatientRecord) -> PatientRecord:
        """Create or replace the patient's profile (validated first, committed at once)."""
        check_pseudonym(rec.pseudonym)
        try:
            rec.profile()
        except (ProfileError, ValueError) as e:
            raise RegisterError(f"{rec.pseudonym}: {e}") from None
        if rec.strap is not None and not isinstance(rec.strap, dict):
            raise RegisterError(f"{rec.pseudonym}: strap must be an object")
        now = self.store.clock()
        old = self.get(rec.pseudonym)
        created = old.created_unix_s if old else now
        doc = {k: v for k, v in asdict(rec).items() if k in _FIELDS}
        self.store._commit()
        self.db.execute("INSERT OR REPLACE INTO patients VALUES (?, ?, ?, ?)",
                        (rec.pseudonym, created, now, json.dumps(doc)))
        return replace(rec, created_unix_s=created, updated_unix_s=now)

    def remember(self, profile: PatientProfile) -> PatientRecord:
        """At a session's start: register a new patient, or bring the profile's HRmax and
        caps into the register (keeping its date and strap when the HRmax did not change)."""
        old = self.get(profile.pseudonym)
        rec = PatientRecord.from_profile(profile, strap=old.strap if old else None)
        if old is not None:
            rec = replace(rec, response_model=old.response_model,
                          response_model_session=old.response_model_session,
                          response_model_date=old.response_model_date)
        if old is not None and (old.hr_max_bpm, old.hr_max_source) == (rec.hr_max_bpm,
                                                                       rec.hr_max_source):
            rec = replace(rec, hr_max_date=old.hr_max_date)
        elif rec.hr_max_date is None:
            rec = replace(rec, hr_max_date=_today(self.store.clock()))
        return self.save(rec)

    def decide_hrmax(self, pseudonym: str, decision: str, hr_max_bpm: float | None,
                     source: str, detail: dict[str, Any], session_id: str | None = None
                     ) -> PatientRecord | None:
        """Record staff's decision on a proposed HRmax; accepted or edited, it becomes the
        patient's HRmax with ``source`` and today's date (the next session starts from it)."""
        if decision not in ("accepted", "edited", "rejected"):
            raise RegisterError(f"decision must be accepted, edited or rejected, not {decision!r}")
        rec = self.require(pseudonym)
        now = self.store.clock()
        new = None
        if decision != "rejected":
            if hr_max_bpm is None:
                raise RegisterError("an accepted HRmax needs a value")
            new = replace(rec, hr_max_bpm=float(hr_max_bpm), hr_max_source=source,
                          hr_max_date=_today(now))
            new = self.save(new)
        self.store._commit()
        self.db.execute("INSERT INTO hrmax_decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (pseudonym, now, session_id, hr_max_bpm, source, decision,
                         json.dumps(detail)))
        return new

    def keep_response_model(self, pseudonym: str, doc: dict[str, Any],
                            session_id: str | None) -> PatientRecord:
        """Keep ``doc`` as the patient's latest learned response, with the session and today's
        date; a document the next session would refuse is refused here (RegisterError)."""
        rec = self.require(pseudonym)
        try:
            parse_response_model(doc)
        except ResponseModelError as e:
            raise RegisterError(f"{pseudonym}: {e}") from None
        return self.save(replace(rec, response_model=dict(doc),
                                 response_model_session=session_id,
                                 response_model_date=_today(self.store.clock())))

    def hrmax_decisions(self, pseudonym: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM hrmax_decisions WHERE pseudonym = ? "
                              "ORDER BY decided_unix_s", (pseudonym,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def unknown_patient(store: Store, pseudonym: str) -> StoreError | None:
    """A pseudonym the clinic never used (not in the register, no session: a typo, most
    likely), said as such: "no sessions" would send the nurse looking for sessions of a
    patient who does not exist. None for a known patient."""
    if store.sessions(pseudonym) or Register(store).get(pseudonym) is not None:
        return None
    return StoreError(_("{pseudonym} is not in the register ({path})").format(
        path=store.path, pseudonym=pseudonym))


def no_sessions_error(store: Store, pseudonym: str) -> StoreError:
    """Why there is nothing to show for ``pseudonym``: unknown (``unknown_patient``) or no
    sessions yet."""
    return unknown_patient(store, pseudonym) or StoreError(
        _("{path}: no sessions for {pseudonym}").format(path=store.path, pseudonym=pseudonym))
