"""`demo --fast --store FILE` without `--pasient` recorded a session of nobody: «Lagret:
økten for  07.12.2026» (two spaces where the patient goes), a report named «x_…», and a row
in the clinic's list with an empty pseudonym. The demo's patient is DEMO-1, as the console
demo's and the 6-minute test demo's are. The CLI runs as a subprocess, as a nurse runs it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_an_instant_demo_on_a_store_records_its_session_for_the_demo_patient(tmp_path: Path):
    db = tmp_path / "s.db"
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--store",
                        str(db)], capture_output=True, text=True, timeout=300, env=env,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    saved = next(line for line in r.stdout.splitlines() if line.startswith("Lagret:"))
    assert saved.startswith("Lagret: økten for DEMO-1 "), saved
    command = next(line for line in r.stdout.splitlines() if line.startswith("Rapporten:"))
    assert "--ut DEMO-1_" in command, command
    with sqlite3.connect(db) as con:
        assert [p for (p,) in con.execute("SELECT pseudonym FROM sessions")] == ["DEMO-1"]


def test_an_instant_demo_of_a_registered_patient_simulates_their_age(tmp_path: Path):
    """Trial (issue 21): `demo --fast --pasient P-23`, P-23 60 years old in the register,
    printed «virtuell pasient: typisk, alder 26, makspuls 173 … (Nes-formelen)»: the
    register's makspuls beside the made-up patient's age. The simulated patient is of the
    register's age, as the pulse test demo's is."""
    db = str(tmp_path / "s.db")
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "controller", *args],
                              capture_output=True, text=True, timeout=300, env=env,
                              cwd=tmp_path)

    assert cli("pasient", "--øktlager", db, "P-23", "--makspuls", "173", "--makspuls-kilde",
               "nes", "--alder", "60").returncode == 0
    r = cli("demo", "--fast", "--pasient", "P-23", "--øktlager", db)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("virtuell pasient:"))
    assert ", alder 60, makspuls 173 slag/min (Nes-formelen)" in line, line


def test_a_demo_refuses_a_name_for_a_pseudonym_in_the_demos_language(tmp_path: Path):
    """`demo --pasient kari-nordmann` with no language set said «Error: --patient: A
    pseudonym is the clinic's code …» in English, naming the English option, while the demo
    speaks bokmål and every other CLI refusal was bokmål (b2rec noticed it)."""
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--pasient",
                        "kari-nordmann"], capture_output=True, text=True, timeout=120,
                       env=env, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("feil: --pasient: Et pseudonym er klinikkens kode"), r.stderr
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--lang", "en",
                        "--patient", "kari-nordmann"], capture_output=True, text=True,
                       timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: --patient: A pseudonym is the clinic's code"), r.stderr
