"""The patient register: profiles kept over time, in the store file, with a schema-2
migration that keeps old files readable."""

import sqlite3

import pytest

from controller.core.pseudonym import PseudonymError
from controller.protocol import PatientProfile
from controller.records.register import PatientRecord, Register, RegisterError
from controller.records.store import Store


def test_profiles_are_kept_and_give_the_next_session_its_profile(tmp_path):
    store = Store(tmp_path / "s.db", clock=lambda: 1.78e9)
    reg = Register(store)
    reg.save(PatientRecord("P-17", 178, "tanaka", hr_rest_bpm=70, max_speed_kmh=6.0,
                           walk_only=True, strap={"ant_device_number": 4711}))
    reg.save(PatientRecord("P-18", 190, "measured"))
    assert [p.pseudonym for p in reg.patients()] == ["P-17", "P-18"]
    prof = reg.require("P-17").profile()
    assert (prof.hr_max, prof.hr_max_source, prof.walk_only) == (178, "tanaka", True)
    new = reg.decide_hrmax("P-17", "accepted", 184, "six_minute_test",
                           {"rpe": 15, "uncertainty_bpm": 15}, "S1")
    assert new.hr_max_bpm == 184 and new.hr_max_date == "2026-05-28"
    assert new.strap == {"ant_device_number": 4711}  # another engineer's field survives
    store.close()
    again = Register(Store(tmp_path / "s.db"))
    rec = again.require("P-17")
    assert (rec.hr_max_bpm, rec.hr_max_source) == (184, "six_minute_test")
    assert again.hrmax_decisions("P-17")[0]["decision"] == "accepted"
    assert again.require("P-18").profile().hr_max == 190  # never the other patient's


def test_rejected_and_invalid_leave_the_profile(tmp_path):
    reg = Register(Store(tmp_path / "s.db"))
    reg.remember(PatientProfile(hr_max=180, pseudonym="P-2"))
    assert reg.decide_hrmax("P-2", "rejected", None, "six_minute_test", {}) is None
    assert reg.require("P-2").hr_max_bpm == 180
    with pytest.raises(RegisterError, match="hr_max"):
        reg.save(PatientRecord("P-2", 5000, "measured"))
    with pytest.raises(PseudonymError):
        reg.save(PatientRecord("KariNordmann", 180, "measured"))
    with pytest.raises(RegisterError, match="no patient"):
        reg.decide_hrmax("P-9", "accepted", 180, "six_minute_test", {})


def test_a_schema_1_file_is_migrated_and_keeps_its_sessions(tmp_path):
    path = tmp_path / "old.db"
    from controller.records.store import MIGRATIONS
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + ";PRAGMA user_version = 1;")
    db.execute("INSERT INTO sessions VALUES ('S1', 'P-1', 1.7e9, 1.7e9, 'finished', "
               "'{\"name\": \"4x4\"}', '{}', 180, 'measured', NULL)")
    db.commit()
    db.close()
    store = Store(path)
    (rec,) = store.sessions()
    assert rec.id == "S1" and rec.clock_offset_s is None
    assert Register(store).patients() == []
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_schema_number_from_another_build_is_refused_clearly(tmp_path):
    from controller.records.store import MIGRATIONS, StoreError

    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + ";PRAGMA user_version = 2;")
    db.close()
    with pytest.raises(StoreError, match="written by another build"):
        Store(path)
