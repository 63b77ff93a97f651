"""Issue 21 (c3con), seams a bokmål trial met at the command line: ``patient --makspuls
178,5`` saved 179 without a word (the console's form refuses it), and ``fhir --help`` showed
«--makspuls PSEUDONYM» with no word of what it sends. The CLI runs as a subprocess, as a
nurse runs it."""

from __future__ import annotations

import pytest

from controller.records.register import Register
from controller.records.store import Store
from tests.test_cli_nb_trial3 import _cli


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--makspuls", "178,5", "makspuls er et helt tall (slag/min), f.eks. 178"),
    ("--makspuls", "180.4", "makspuls er et helt tall (slag/min), f.eks. 178"),
    ("--hvilepuls", "65,5", "hvilepuls er et helt tall (slag/min), f.eks. 65"),
    ("--alder", "45,5", "alder er et tall i hele år, f.eks. 45"),
])
def test_the_cli_refuses_a_heart_rate_or_age_that_is_not_whole(tmp_path, option, value, said):
    """The trial: 178,5 was saved as 179 (exit 0, no message) where the form refuses it with
    these words. Refused before anything is stored, in the CLI's language."""
    db = str(tmp_path / "s.db")
    args = ["patient", "--øktlager", db, "P-31", "--makspuls-kilde", "målt"]
    if option != "--makspuls":
        args += ["--makspuls", "178"]
    r = _cli(*args, option, value)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert said in r.stderr and option in r.stderr, r.stderr
    if (tmp_path / "s.db").exists():
        st = Store(db)
        try:
            assert Register(st).get("P-31") is None
        finally:
            st.close()
    ok = _cli(*args, option, value.split(",")[0].split(".")[0])
    assert ok.returncode == 0, ok.stderr
    en = _cli(*args, option, value, "--lang", "en")
    assert en.returncode == 2 and "whole" in en.stderr, en.stderr


def test_the_fhir_help_says_the_makspuls_option_sends_a_patients_makspuls():
    """The trial: «--makspuls, --hrmax PSEUDONYM», an option named makspuls taking a
    pseudonym, with no word that it sends that patient's makspuls as a FHIR bundle."""
    out = " ".join(_cli("fhir", "--help").stdout.split())
    assert "makspulsen til pasienten PSEUDONYM som FHIR-bunt" in out, out
    en = " ".join(_cli("fhir", "--help", "--lang", "en").stdout.split())
    assert "HRmax of the patient PSEUDONYM as a FHIR bundle" in en, en


def test_the_demo_refuses_a_history_with_the_pulstest_plan_before_writing_anything(tmp_path):
    """The trial: ``demo --plan pulstest --pasient P-23 --uker 6`` wrote the history and
    ignored ``--plan pulstest`` without a word (no «Demoen er over»). The combination is
    refused before anything is written, in the demo's language, naming both options."""
    db = tmp_path / "s.db"
    r = _cli("demo", "--plan", "pulstest", "--pasient", "P-23", "--uker", "6",
             "--øktlager", str(db))
    assert r.returncode == 2, (r.stdout, r.stderr)
    said = " ".join(r.stderr.split())
    assert said.startswith("feil: ") and "--uker" in said and "--plan pulstest" in said, said
    assert "six-minute-test" not in said and "--weeks" not in said, said
    assert not db.exists() or not Store(str(db)).sessions("P-23"), "something was written"
    en = _cli("demo", "--plan", "six-minute-test", "--patient", "P-23", "--weeks", "6",
              "--store", str(db), "--lang", "en")
    assert en.returncode == 2 and "--weeks" in en.stderr, en.stderr
    assert "--plan six-minute-test" in " ".join(en.stderr.split()), en.stderr
