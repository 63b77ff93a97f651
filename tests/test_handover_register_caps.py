"""the hand-over's suggested 4x4 took its speed cap from the last
session's profile (8 km/t), so a patient whose speed cap staff lowered in the register after
that session (`fourbyfour pasient … --maks-fart 4,0`) was handed over intervals at 5,4 km/t.
The suggestion comes from the register's current caps (speed, incline, walk-only), the last
session's only for a patient the register does not hold. The CLI as a subprocess on a store;
the PDF read back with pdftotext."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.records.register import PatientRecord, Register
from controller.records.store import Store
from tests.records_rig import cli, pdf_text
from tests.test_handover import DAY, HR_MAX, record_4x4


def _store(tmp_path: Path, registered: bool = True,
           intervals: tuple[float, float, float] = (5.0, 5.2, 5.4)) -> str:
    """Three 4x4 sessions of P-17 at max speed 8 (intervals at ``intervals`` km/t and 6–8 %),
    P-17 in the register with the same caps."""
    db = str(tmp_path / "s.db")
    store = Store(db)
    if registered:
        Register(store).save(PatientRecord("P-17", HR_MAX, "measured", max_speed_kmh=8.0))
    for k, (v, inc) in enumerate(zip(intervals, (6.0, 7.0, 8.0), strict=True)):
        record_4x4(store, f"S{k}", DAY + k * 3 * 86400, v, inc)
    store.close()
    return db


def _suggested(pdf: Path) -> dict[str, tuple[float, float]]:
    """The suggested 4x4's parts as the PDF says them: {part: (km/t, %)}."""
    text = " ".join(pdf_text(pdf).split())
    found = re.findall(r"(Oppvarming 10 min|4 intervaller à 4 min|3 aktive pauser à 3 min|"
                       r"Nedkjøling 5 min): (\d+,\d) km/t, stigning (\d+,\d) %", text)
    assert len(found) == 4, text
    return {part: (float(v.replace(",", ".")), float(i.replace(",", ".")))
            for part, v, i in found}


def _handover(db: str, tmp_path: Path) -> dict[str, tuple[float, float]]:
    pdf = tmp_path / "o.pdf"
    r = cli("overlevering", "P-17", "--øktlager", db, "--ut", str(pdf))
    assert r.returncode == 0, r.stderr
    return _suggested(pdf)


def test_a_speed_cap_lowered_in_the_register_after_the_sessions_caps_the_suggestion(tmp_path):
    db = _store(tmp_path)
    before = _handover(db, tmp_path)
    assert before["4 intervaller à 4 min"][0] > 4.0, before  # what the sessions ran
    r = cli("pasient", "--øktlager", db, "P-17", "--maks-fart", "4,0")
    assert r.returncode == 0, r.stderr
    after = _handover(db, tmp_path)
    assert all(speed <= 4.0 for speed, _inc in after.values()), after
    # the intervals at the cap, their incline kept; the pauses lighter than the intervals
    assert after["4 intervaller à 4 min"] == (4.0, 7.0), after
    pause = after["3 aktive pauser à 3 min"]
    assert pause[0] <= 4.0 and pause[1] < 7.0, after


def test_walk_only_and_a_lower_incline_cap_in_the_register_cap_the_suggestion(tmp_path):
    """Intervals run at 7,4–7,8 km/t; then staff tick «bare gange» (a walk: 7 km/t at most)
    and lower the incline cap to 5 %."""
    db = _store(tmp_path, intervals=(7.4, 7.6, 7.8))
    assert _handover(db, tmp_path)["4 intervaller à 4 min"] == (7.6, 7.0)
    r = cli("pasient", "--øktlager", db, "P-17", "--bare-gange", "--maks-stigning", "5")
    assert r.returncode == 0, r.stderr
    after = _handover(db, tmp_path)
    store = Store(db, readonly=True)
    walk_max = Register(store).require("P-17").profile().speed_cap_kmh
    store.close()
    assert walk_max < 7.6
    assert all(speed <= walk_max and incline <= 5.0 for speed, incline in after.values()), \
        after


def test_a_patient_not_in_the_register_keeps_the_last_sessions_caps(tmp_path):
    """Imported sessions of an unregistered patient: the last session's profile (8 km/t)."""
    after = _handover(_store(tmp_path, registered=False), tmp_path)
    assert after["4 intervaller à 4 min"] == (5.2, 7.0), after


@pytest.mark.parametrize("lang", ["en"])
def test_the_capped_suggestion_in_english(tmp_path, lang):
    db = _store(tmp_path)
    assert cli("patient", "--store", db, "P-17", "--max-speed", "4.0",
               lang=lang).returncode == 0
    pdf = tmp_path / "o.pdf"
    r = cli("handover", "P-17", "--store", db, "--out", str(pdf), lang=lang)
    assert r.returncode == 0, r.stderr
    text = " ".join(pdf_text(pdf).split())
    speeds = [float(v) for v in re.findall(r"(\d+\.\d) km/h, incline", text)]
    assert len(speeds) == 4 and max(speeds) <= 4.0, text
