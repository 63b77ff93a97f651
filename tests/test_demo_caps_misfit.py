"""Issue 21, a bokmål trial: ``demo --pasient P-23`` for a patient whose max incline (4 %) the
4x4 cannot meet (its intervals need 5 %) printed only «feil: kontrolltjenesten startet ikke;
se …/service.log», and the log said why in English with the field's key. The demo refuses
before it starts a service, in the patient form's words and the demo's language. As a
subprocess on a real store, as staff run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def store(tmp_path) -> str:
    db = str(tmp_path / "s.db")
    r = _cli("pasient", "--øktlager", db, "P-23", "--makspuls", "173", "--makspuls-kilde",
             "nes", "--alder", "60", "--maks-stigning", "4")
    assert r.returncode == 0, r.stderr
    return db


@pytest.mark.parametrize("way", [(), ("--fast",), ("--headless",)],
                         ids=["console", "fast", "headless"])
def test_the_demo_refuses_a_patient_the_4x4_cannot_fit_in_bokmal_before_its_service(
        store, way):
    r = _cli("demo", "--pasient", "P-23", "--øktlager", store, *way)
    assert r.returncode != 0, r.stdout
    assert r.stderr.strip() == "feil: P-23: 4x4-planen trenger maks stigning på minst 5 %", \
        r.stderr
    assert "max_incline" not in r.stdout + r.stderr and "service.log" not in r.stderr


def test_the_demo_says_it_in_english_with_lang_en(store):
    r = _cli("demo", "--lang", "en", "--patient", "P-23", "--store", store, "--fast")
    assert r.returncode != 0, r.stdout
    assert r.stderr.strip() == "error: P-23: the 4x4 plan needs a max incline of at least 5 %"
