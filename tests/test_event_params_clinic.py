"""Issue 21: events keep their parameters in the clinic's database too (SQLite and
PostgreSQL), so a report made centrally says them in its language like one on the Pi."""

from __future__ import annotations

from controller.protocol import PatientProfile, Session
from controller.records.clinic_db import PgClinicDb, SqliteClinicDb
from controller.records.store import Store
from tests.test_records_hostile import pg  # noqa: F401  (the fixture: a real PostgreSQL)


def _doc(tmp_path) -> dict:
    store = Store(tmp_path / "tm.db")
    profile = PatientProfile(hr_max=183.0, max_speed_kmh=7.0, pseudonym="P-3")
    s = Session(profile)
    store.begin_session("S1", profile, s.plan.to_dict())
    for k in range(30):
        if k == 20:
            s.skip()
        store.record("S1", s.step(float(k), 100.0, 3.0, 0.0), 3.0, 0.0)
    store.end_session("S1", "stopped", None)
    doc = store.export_session("S1")
    store.close()
    return doc


def test_the_clinic_databases_keep_event_parameters(tmp_path, pg):  # noqa: F811
    doc = _doc(tmp_path)
    (skip,) = [e for e in doc["events"] if e["kind"] == "skip"]
    assert skip["params"] == {"phase": "warmup"}, skip
    for db in (SqliteClinicDb(tmp_path / "clinic.db"), PgClinicDb(pg.url)):
        assert db.add_session("oslo", "tm-1", doc)
        (kept,) = [e for e in db.events("S1") if e["kind"] == "skip"]
        assert kept["params"] == {"phase": "warmup"}, (type(db).__name__, kept)
        db.close()
