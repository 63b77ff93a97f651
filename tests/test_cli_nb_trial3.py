"""Issue 21 (h21cli3), the bokmål "new nurse" trial of the command line, third round: the
profile's refusals in staff's words (not ``hr_max must be 100–230, got 300``), an unknown
pseudonym told apart from a patient without sessions, the progression CSV's numbers, the
outcome help's date form, the headless demo's words. The CLI runs as a subprocess on a real
store, as a nurse runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT,
                          env=env if env is not None else _env())


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> str:
    """A store whose register holds P-17 (no sessions)."""
    db = str(tmp_path_factory.mktemp("reg") / "s.db")
    r = _cli("patient", "--store", db, "P-17", "--hr-max", "171", "--hr-max-source",
             "measured", "--max-speed", "6.5", "--max-incline", "12")
    assert r.returncode == 0, r.stderr
    return db


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--hr-max", "300", "feil: P-17: Makspuls må være 100–230 slag/min (ikke 300)."),
    ("--max-speed", "30", "feil: P-17: Maks fart må være 2–20 km/t (ikke 30)."),
    ("--max-speed", "20.5", "feil: P-17: Maks fart må være 2–20 km/t (ikke 20,5)."),
    ("--max-incline", "50", "feil: P-17: Maks stigning må være 0–25 % (ikke 50)."),
    ("--hr-rest", "20", "feil: P-17: Hvilepuls må være 30–130 slag/min (ikke 20)."),
])
def test_a_profile_refusal_names_the_field_as_staff_know_it(register, option, value, said):
    """The trial: "feil: P-17: hr_max must be 100–230, got 300" (English, a raw key, no
    unit). The refusal's code and parameters are rendered from the catalog."""
    extra = ["--hr-max-source", "measured"] if option == "--hr-max" else []
    r = _cli("patient", "--store", register, "P-17", option, value, *extra)
    assert r.returncode != 0
    assert r.stderr.strip() == said, r.stderr
    en = _cli("patient", "--store", register, "P-17", option, value, *extra, "--lang", "en")
    assert "_" not in en.stderr.split(":", 2)[2], en.stderr


@pytest.mark.parametrize("command", ["sessions", "handover", "progression"])
def test_an_unknown_pseudonym_is_told_apart_from_a_patient_without_sessions(register,
                                                                             command):
    """The trial: `sessions P-99` (a pseudonym not in the register, a typo) printed "Ingen
    økter for P-99." with exit 0, and hand-over and progression "ingen økter for P-99": the
    nurse goes looking for sessions of a patient who does not exist. A known patient
    without sessions still hears "ingen økter"."""
    def who(p: str) -> list[str]:
        return ["--pseudonym", p] if command == "progression" else [p]

    unknown = _cli(command, "--store", register, *who("P-99"))
    assert unknown.returncode != 0, unknown.stdout
    assert "P-99 finnes ikke i registeret" in unknown.stderr, (unknown.stdout, unknown.stderr)
    assert "økter" not in unknown.stdout + unknown.stderr, unknown
    known = _cli(command, "--store", register, *who("P-17"))
    said = known.stdout + known.stderr
    assert "ingen økter for p-17" in said.lower(), said
    assert "registeret" not in said, said
    assert known.returncode == (0 if command == "sessions" else 2), said


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> str:
    """A store with two recorded 4x4 sessions of P-17 (the in-process demo)."""
    db = str(tmp_path_factory.mktemp("rec") / "s.db")
    for _ in range(2):
        r = _cli("demo", "--fast", "--store", db, "--patient", "P-17")
        assert r.returncode == 0, r.stderr
    return db


def test_the_progression_csv_shows_whole_heart_rates_and_a_tenth_of_speed(recorded,
                                                                         tmp_path):
    """The trial: the bokmål progression CSV showed "121,0"/"157,0" bpm and speeds as
    "4,85;5,99"; rounded as the session CSV rounds (whole bpm, a tenth of km/t and %)."""
    import csv
    import re

    out = tmp_path / "p.csv"
    r = _cli("progression", "--store", recorded, "--pseudonym", "P-17", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(out.open(encoding="utf-8"), delimiter=";"))
    head, body = rows[0], rows[1:]
    assert body, rows
    checked = 0
    for row in body:
        for name, cell in zip(head, row, strict=True):
            if not cell or not re.fullmatch(r"≈?-?[0-9]+(,[0-9]+)?", cell):
                continue
            if "slag/min" in name or name.lower().startswith("puls"):
                assert "," not in cell, (name, cell, head)
                checked += 1
            elif "km/t" in name or "%" in name:
                assert not re.search(r",[0-9]{2}", cell), (name, cell, head)
                checked += 1
    assert checked, rows


def test_the_outcome_help_names_the_date_form_staff_type():
    """The trial: `outcome --help` said "--from DATO ÅÅÅÅ-MM-DD" though DD.MM.ÅÅÅÅ (the
    form a Norwegian nurse types) is accepted; both are said, DD.MM.ÅÅÅÅ first."""
    out = _cli("outcome", "--help").stdout
    for option in ("--from", "--to"):
        line = next(li for li in out.splitlines()  # --fra, --from DATO
                    if re.match(rf"^\s+(--\S+, )*{option}\b", li))
        assert "DD.MM.ÅÅÅÅ" in line, (line, out)
    en = _cli("outcome", "--help", env=_env(FOURBYFOUR_LANG="en")).stdout
    assert "DD.MM.YYYY" in en, en


@pytest.mark.parametrize(("category", "said"), [("typical", "typisk"),
                                                ("unfit", "lite trent")])
def test_the_six_minute_demo_says_the_patients_kind_and_the_treadmill_in_one_form(category,
                                                                                 said):
    """The trial: "virtuell pasient: typical"/"unfit" (the key), "alderformelen", and the
    treadmill as "tredemølla" and "tredemøllen" in one paragraph. The kind in the demo's own
    words (demo_text.CATEGORIES, as the virtual-patient line says it), "aldersformelen", and
    the one form the catalog uses everywhere else ("tredemøllen")."""
    r = _cli("demo", "--plan", "six-minute-test", "--category", category)
    assert r.returncode == 0, r.stderr
    assert f"(virtuell pasient: {said}, " in r.stdout, r.stdout
    assert category not in r.stdout, r.stdout
    assert "aldersformelen" in r.stdout and "alderformelen" not in r.stdout, r.stdout
    assert "tredemølla" not in r.stdout, r.stdout
