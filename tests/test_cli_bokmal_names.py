"""Issue 21 (h21cli3): a bokmål-speaking nurse met English command and option names
(`fourbyfour patients`, `report`, `--hr-max`, …) inside bokmål help texts. Every command and
long option now has a bokmål name too; in bokmål `--help` shows it first (usage lines, the
command list, the option lines), in English the English one; both are taken in every
language, so the English names clinic IT's scripts, docs/it and the systemd units use keep
working. The CLI runs as a subprocess on a real store, as a nurse runs it."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import pytest

from controller.records.register import PatientRecord, Register
from controller.records.store import Store
from tests.test_cli_nurse_seams import ROOT, _env

COMMANDS = ("demo", "console", "export", "report", "import", "progression", "patients",
            "sessions", "patient", "fhir", "outcome", "handover", "run", "monitor",
            "records-server", "command")
SAME_WORD = {"--plan", "--format", "--pseudonym", "--csv", "--json", "--socket", "--db",
             "--alarm", "--port"}
"""Long options that are the same word in bokmål (no second name wanted)."""
LONG = re.compile(r"(?<![\w-])--[\w-]+")


def _cli(*args: str, lang: str = "nb") -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env=_env(FOURBYFOUR_LANG=lang))
    assert r.returncode == 0, (args, r.stderr)
    return r


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[str, str]:
    """A real store: one patient's week (a 6-minute test, two 4x4 sessions), as the demo
    records it, and one session's id."""
    db = str(tmp_path_factory.mktemp("names") / "s.db")
    _cli("demo", "--fast", "--weeks", "1", "--store", db, "--patient", "P-17")
    st = Store(db, readonly=True)
    session_id = st.sessions("P-17")[-1].id
    st.close()
    return db, session_id


def test_the_bokmal_commands_and_options_do_what_the_english_ones_do(history, tmp_path):
    db, session_id = history
    english = _cli("patients", "--store", db).stdout
    assert "P-17" in english, english
    assert _cli("pasienter", "--øktlager", db).stdout == english
    assert _cli("pasienter", "--store", db).stdout == english  # the names mix
    sessions = _cli("sessions", "P-17", "--store", db).stdout
    assert session_id in sessions, sessions
    assert _cli("økter", "P-17", "--øktlager", db).stdout == sessions
    assert _cli("fremgang", "--øktlager", db, "--pseudonym", "P-17").stdout == \
        _cli("progression", "--store", db, "--pseudonym", "P-17").stdout
    today = dt.date.today()
    period = [(today - dt.timedelta(days=30)).strftime("%d.%m.%Y"), today.strftime("%d.%m.%Y")]
    assert _cli("resultat", "--øktlager", db, "--fra", period[0], "--til", period[1]).stdout \
        == _cli("outcome", "--store", db, "--from", period[0], "--to", period[1]).stdout
    # the English names under the bokmål language and the bokmål names under English
    _cli("export", "--store", db, "--session", session_id, "--format", "json", "--out",
         str(tmp_path / "en.json"), lang="nb")
    _cli("eksport", "--øktlager", db, "--økt", session_id, "--format", "json", "--ut",
         str(tmp_path / "nb.json"), lang="en")
    assert json.loads((tmp_path / "nb.json").read_text()) == \
        json.loads((tmp_path / "en.json").read_text())
    _cli("rapport", "--øktlager", db, "--økt", session_id, "--ut", str(tmp_path / "r.png"))
    assert (tmp_path / "r.png").stat().st_size > 0
    _cli("overlevering", "P-17", "--øktlager", db, "--ut", str(tmp_path / "h.pdf"),
         "--notater")
    assert (tmp_path / "h.pdf").read_bytes().startswith(b"%PDF")


def _record(db: str, pseudonym: str) -> PatientRecord:
    st = Store(db, readonly=True)
    try:
        (p,) = [p for p in Register(st).patients() if p.pseudonym == pseudonym]
    finally:
        st.close()
    return p


def test_the_patient_options_in_bokmal_change_the_register(tmp_path):
    db = str(tmp_path / "s.db")
    out = _cli("pasient", "--øktlager", db, "P-3", "--makspuls", "171", "--makspuls-kilde",
               "pulstest", "--maks-fart", "6,5", "--maks-stigning", "12", "--alder", "52",
               "--hvilepuls", "60", "--bare-gange").stdout
    assert "171" in out and "pulstest" in out, out
    p = _record(db, "P-3")
    assert (p.hr_max_bpm, p.hr_max_source, p.max_speed_kmh, p.max_incline_pct) == \
        (171, "six_minute_test", 6.5, 12), p
    assert (p.age_years, p.hr_rest_bpm, p.walk_only) == (52, 60, True), p
    _cli("pasient", "--øktlager", db, "P-3", "--ikke-bare-gange")
    assert _record(db, "P-3").walk_only is False
    _cli("patient", "--store", db, "P-3", "--walk-only")  # the English pair still works
    assert _record(db, "P-3").walk_only is True
    _cli("patient", "--store", db, "P-3", "--no-walk-only")
    assert _record(db, "P-3").walk_only is False


def _usage(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _option_lines(text: str) -> list[list[str]]:
    """Each option's names as its help line gives them (an option line starts with two
    spaces and a dash; its help follows after two spaces or on the next line)."""
    return [LONG.findall(line.strip().split("  ")[0])
            for line in text.splitlines() if re.match(r"^  -", line)]


def _without_names(text: str) -> str:
    """The help without the option lines' names: the usage and the help texts."""
    out = []
    for line in text.splitlines():
        if re.match(r"^  -", line):
            parts = line.strip().split("  ", 1)
            line = parts[1] if len(parts) > 1 else ""
        out.append(line)
    return "\n".join(out)


def test_the_bokmal_report_help_names_no_english_option_first():
    nb = _cli("rapport", "--help").stdout
    assert nb.startswith("bruk: fourbyfour rapport "), nb
    usage = LONG.findall(_usage(nb))
    assert usage and not {"--store", "--session", "--out", "--lang"} & set(usage), nb
    for names in _option_lines(nb):
        assert names[0] not in {"--help", "--store", "--session", "--out", "--lang"}, (names, nb)
    en = _cli("report", "--help", lang="en").stdout
    # the session, or the patient's latest one by the pseudonym (issue 23): both optional
    assert en.startswith("usage: fourbyfour report [-h] --store FILE [--session ID]"), en
    # --språk chooses the help's language as --lang does, and the English name is there
    assert _cli("rapport", "--help", "--språk", "en").stdout == en
    assert _cli("report", "--help", "--lang", "nb", lang="en").stdout == nb


def test_the_bokmal_command_list_names_the_bokmal_word_with_the_english_beside_it():
    nb = _cli("--help").stdout
    for english, bokmal in (("patients", "pasienter"), ("sessions", "økter"),
                            ("report", "rapport"), ("handover", "overlevering"),
                            ("run", "kjør")):
        assert re.search(rf"^    {bokmal} \({english}\)", nb, re.M), (bokmal, nb)
    en = _cli("--help", lang="en").stdout
    assert re.search(r"^    patients \(pasienter\)", en, re.M), en
    assert re.search(r"^    run \(kjør\)", en, re.M), en


@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_bokmal_help_pairs_each_english_option_with_its_bokmal_name(command):
    """The bokmål help names each option by its bokmål name first and the English one
    after it on the option's own line; nowhere else (usage line, help texts) an English
    name. The English help is the reference for what the English names are."""
    en = _cli(command, "--help", lang="en").stdout
    nb = _cli(command, "--help").stdout
    en_lines, nb_lines = _option_lines(en), _option_lines(nb)
    assert len(en_lines) == len(nb_lines), (en, nb)
    english: set[str] = set()
    for en_names, nb_names in zip(en_lines, nb_lines, strict=True):
        first = en_names[0]
        assert first in nb_names, (command, first, nb_names)  # the English name is kept
        if first in SAME_WORD:
            continue
        assert nb_names[0] != first, (command, "English first", nb_names)
        english.update(en_names[:en_names.index(nb_names[0])] if nb_names[0] in en_names
                       else en_names)
    said = set(LONG.findall(_without_names(nb)))
    assert not said & english, (command, sorted(said & english), nb)
