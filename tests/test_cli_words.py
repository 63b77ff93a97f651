"""Issue 21 (new-nurse trial): what the command line prints, in the chosen language. In
bokmål `demo --fast` printed an English table, `demo --weeks` and `handover` "wrote …", and
the console demo English lines after its console closed. Every line now comes from the
catalog (the CLI as a subprocess, as a nurse runs it)."""

from __future__ import annotations

import re
import subprocess
import sys

ENGLISH = re.compile(r"\b(interval|time to zone|in zone|above|virtual patient|session done|"
                     r"belt stopped|HR|bpm|speed|incline|zone|peak|wrote|yes|no|not reached|"
                     r"after the allowance|After the allowance|Session done|recorded|demo over|"
                     r"with the clinic's notes|"
                     r"warmup|recovery|cooldown|WARNING)\b")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return r


def test_the_fast_demo_speaks_bokmal(tmp_path):
    out = _cli("demo", "--fast", "--lang", "nb", "--store", str(tmp_path / "s.db"),
               "--patient", "P-4").stdout
    english = ENGLISH.findall(out)
    assert not english, (english, out)
    assert "oppvarming" in out and "aktiv pause 1" in out and "intervall" in out, out
    assert "slag/min" in out and "km/t" in out and "Lagret: økten for P-4 " in out, out
    # the table: one row per interval, numbers with a decimal comma
    rows = [line for line in out.splitlines() if re.match(r"^\s+[1-4]\s", line)]
    assert len(rows) == 4 and all(("ja" in r or "nei" in r) for r in rows), rows


def test_history_and_handover_say_what_they_wrote_in_bokmal(tmp_path):
    db = str(tmp_path / "h.db")
    out = _cli("demo", "--fast", "--weeks", "2", "--lang", "nb", "--store", db,
               "--patient", "P-17").stdout
    assert out.startswith("Lagret ") and not ENGLISH.findall(out), out
    pdf = str(tmp_path / "h.pdf")
    out = _cli("handover", "P-17", "--store", db, "--out", pdf, "--lang", "nb",
               "--notes").stdout
    assert out.strip().startswith(f"skrev {pdf}") and not ENGLISH.findall(out), out
    out = _cli("progression", "--store", db, "--pseudonym", "P-17", "--out",
               str(tmp_path / "p.png"), "--lang", "nb").stdout
    assert "wrote" not in out and f"skrev {tmp_path / 'p.png'}" in out, out


def test_the_console_demos_last_lines_are_in_the_configs_language():
    """What the console demo prints once its console has closed."""
    from controller.app.demo_text import demo_over_lines
    from controller.core import i18n

    i18n.set_language("nb")
    try:
        said = demo_over_lines("http://127.0.0.1:8080/", 0, "/tmp/x/service.log",
                               "/tmp/s.db")
        failed = demo_over_lines(None, 1, "/tmp/x/service.log", None)
    finally:
        i18n.set_language("en")
    assert said == ["Båndskjermen var på http://127.0.0.1:8080/",
                    "Demoen er over; økten er lagret i /tmp/s.db"], said
    assert failed == ["Demoen er over; tjenesten sluttet med kode 1: se "
                      "/tmp/x/service.log"], failed


def test_the_register_and_its_sessions_speak_bokmal(tmp_path):
    """``patients`` and ``sessions`` had no --lang and printed raw plan and status keys
    ("6-minute test", "finished") and English headers in a bokmål clinic."""
    db = str(tmp_path / "r.db")
    _cli("demo", "--fast", "--weeks", "1", "--lang", "nb", "--store", db, "--patient", "P-17")
    out = _cli("sessions", "--store", db, "P-17", "--lang", "nb").stdout
    assert not re.search(r"\b(finished|stopped|incomplete|6-minute test|date|time|session|"
                         r"minutes|intervals ok)\b", out), out
    assert "fullført" in out and "6-minutters pulstest" in out and "Dato" in out, out
    out = _cli("patients", "--store", db, "--lang", "nb").stdout
    assert not re.search(r"\b(source|set on|sessions|last session|caps)\b", out), out
    assert "P-17" in out and "km/t" in out, out
    english = _cli("sessions", "--store", db, "P-17", "--lang", "en").stdout
    assert "finished" in english and "6-minute test" in english, english


def test_the_patient_command_takes_a_decimal_comma(tmp_path):
    """Trial: `patient --max-speed 6,5` was refused with argparse's "invalid float value"."""
    db = str(tmp_path / "p.db")
    _cli("patient", "--store", db, "P-8", "--hr-max", "181", "--hr-max-source", "measured",
         "--max-speed", "6,5", "--max-incline", "7.5")
    out = _cli("patients", "--store", db, "--lang", "nb").stdout
    assert "6,5 km/t" in out and "7,5 %" in out, out
    r = subprocess.run([sys.executable, "-m", "controller", "patient", "--store", db, "P-8",
                        "--max-speed", "6,5,1", "--lang", "en"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "6,5 or 6.5" in r.stderr, r.stderr
