"""`fourbyfour import` registered a first-seen patient with makspuls 165
as the Nes formula's at age 60 (the formula gives 173), which the patient form then refused
to save, and `fourbyfour pasient` and the control service refuse. The import of a first-seen
patient whose profile breaks the formula rule is refused whole, naming the field and its
line, the formula's value and what to do (register the patient first, then import); a
registered patient keeps what staff decided, so the import then succeeds and the register
is unchanged. The CLI as a subprocess on real stores; the export written by the exporter."""

from __future__ import annotations

import json
import re
from pathlib import Path

from controller.core.plan import default_4x4
from controller.protocol import HrMaxSource, PatientProfile, Setpoint
from controller.records import report
from controller.records.register import Register
from controller.records.store import Store
from tests.records_rig import cli
from tests.test_handover import DAY


def _export(tmp_path: Path, hr_max: float, source: str = "nes", age: float = 60) -> Path:
    """A finished 4x4 of P-60 recorded with makspuls ``hr_max`` from ``source`` at ``age``,
    exported as JSON (with one profile field a line, as the exporter writes it)."""
    store = Store(tmp_path / "other.db")
    profile = PatientProfile(hr_max=hr_max, hr_max_source=HrMaxSource(source), age_years=age,
                             max_speed_kmh=8.0, pseudonym="P-60")
    store.clock = lambda: DAY
    store.begin_session("S-60", profile, default_4x4().to_dict())
    parts = [("warmup", 0, 300, (4.0, 2.0, 0.7 * hr_max))]
    for n in range(1, 5):
        parts.append(("interval", n, 240, (5.0, 6.0, 0.9 * hr_max)))
        if n < 4:
            parts.append(("recovery", n, 180, (4.5, 5.0, 0.75 * hr_max)))
    parts.append(("cooldown", 0, 120, (4.0, 2.0, 0.65 * hr_max)))
    t = 0.0
    for phase, n, seconds, (v, inc, hr) in parts:
        for i in range(seconds):
            store.record("S-60", Setpoint(t, v, inc, phase, n, None, None, None, "running",
                                          float(i), float(seconds - i), hr, "ok"), v, inc)
            t += 1.0
    store.end_session("S-60", "finished", None)
    out = tmp_path / "s60.json"
    report.export_json(store, "S-60", out)
    store.close()
    return out


def _held(db: Path) -> tuple[list[str], list[tuple[str, float, str]]]:
    """The sessions and the register's patients a store holds."""
    store = Store(db, readonly=True)
    try:
        return ([r.id for r in store.sessions()],
                [(p.pseudonym, p.hr_max_bpm, p.hr_max_source)
                 for p in Register(store).patients()])
    finally:
        store.close()


def test_a_first_seen_patient_whose_makspuls_is_not_the_formulas_is_refused_whole(tmp_path):
    exported = _export(tmp_path, 165)
    db = tmp_path / "s.db"
    r = cli("import", str(exported), "--øktlager", str(db))
    assert r.returncode == 2, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    said = r.stderr.strip()
    assert len(said.splitlines()) == 1, said
    assert "session.profile.hr_max" in said, said
    assert "173" in said and "165" in said, said  # the formula's value and the file's
    assert "fourbyfour pasient" in said, said  # what to do first
    line = int(re.search(r"(?:line|linje) (\d+):", said).group(1))
    assert '"hr_max": 165' in exported.read_text().splitlines()[line - 1], line
    assert not db.exists() or _held(db) == ([], [])  # nothing imported, nobody registered


def test_the_refusal_in_english(tmp_path):
    exported = _export(tmp_path, 165)
    r = cli("import", str(exported), "--store", str(tmp_path / "s.db"), lang="en")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "session.profile.hr_max: HRmax 165 bpm is not the age formula's 173 bpm at age 60 " \
           "(source nes)" in r.stderr, r.stderr
    assert "fourbyfour patient" in r.stderr and "nothing imported" in r.stderr, r.stderr


def test_registered_first_the_import_succeeds_and_the_register_is_unchanged(tmp_path):
    exported = _export(tmp_path, 165)
    db = tmp_path / "s.db"
    r = cli("pasient", "--øktlager", str(db), "P-60", "--makspuls", "173", "--makspuls-kilde",
            "nes", "--alder", "60")
    assert r.returncode == 0, r.stderr
    r = cli("import", str(exported), "--øktlager", str(db))
    assert r.returncode == 0, r.stderr
    assert _held(db) == (["S-60"], [("P-60", 173.0, "nes")])


def test_a_formula_consistent_export_of_a_first_seen_patient_imports(tmp_path):
    exported = _export(tmp_path, 173)
    assert json.loads(exported.read_text())["session"]["profile"]["hr_max"] == 173
    db = tmp_path / "s.db"
    r = cli("import", str(exported), "--øktlager", str(db))
    assert r.returncode == 0, r.stderr
    assert _held(db) == (["S-60"], [("P-60", 173.0, "nes")])
