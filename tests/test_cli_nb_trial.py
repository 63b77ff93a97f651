"""Issue 21, the bokmål "new nurse" trial of the command line and the records it writes:
help texts (argparse's own words too), the headless demo's lines, the outcome and progression
CSVs, the report's axes and event times, plural forms, the glossary's words. The CLI runs as
a subprocess on a real store, as a nurse runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

# English a help text or argparse's words would show (lower case: not the option names)
ENGLISH_HELP = re.compile(r"\b(usage|options|positional arguments|show this help message|"
                          r"the|and|with|of|this|from|default|every|which|one|session|"
                          r"patient)\b")
COMMANDS = ("demo", "console", "export", "report", "import", "progression", "patients",
            "sessions", "patient", "fhir", "outcome", "handover", "run", "monitor",
            "records-server", "command")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None,
         ok: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300, env=env if env is not None else _env())
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def _help_text(out: str) -> str:
    """The help without the command and option names, metavars and choices (keys, not
    words)."""
    out = re.sub(r"^(\s+)[a-z][a-z-]*(?=\s{2,}|$)", r"\1", out, flags=re.M)  # patient
    out = re.sub(r"fourbyfour [a-z-]+", "", out)
    out = re.sub(r"\{[^}]*\}", "", out)          # {csv,json}
    out = re.sub(r"--?[a-z][a-z0-9-]*", "", out)  # --store
    return re.sub(r"\b[A-Z_]{2,}\b", "", out)      # STORE, FROM_DAY


def test_every_commands_help_speaks_bokmal_in_a_bokmal_setting():
    """The trial: `fourbyfour --help` and every `fourbyfour <cmd> --help` were English only,
    argparse's "usage:", "options:" and "show this help message and exit" too."""
    top = _cli("--help").stdout
    assert top.startswith("bruk: fourbyfour"), top
    assert "valg:" in top and "vis denne hjelpeteksten og avslutt" in top, top
    assert not ENGLISH_HELP.findall(_help_text(top)), (ENGLISH_HELP.findall(top), top)
    for cmd in COMMANDS:
        out = _cli(cmd, "--help").stdout
        english = ENGLISH_HELP.findall(_help_text(out))
        assert not english, (cmd, english, out)
        assert out.startswith(f"bruk: fourbyfour {cmd}"), (cmd, out)


def test_argparse_errors_speak_bokmal():
    r = _cli("outcome", ok=False)
    assert r.returncode == 2 and "følgende argumenter må oppgis" in r.stderr, r.stderr
    assert "fourbyfour outcome: feil:" in r.stderr and "error" not in r.stderr, r.stderr
    r = _cli("demo", "--category", "nope", ok=False)
    assert r.returncode == 2 and "ugyldig valg: 'nope'" in r.stderr, r.stderr
    r = _cli("nope", ok=False)
    assert "ugyldig valg" in r.stderr and "invalid choice" not in r.stderr, r.stderr
    r = _cli("patient", "--store", "x.db", "P-1", "--max-speed", "6;5", ok=False)
    assert "et tall som 6,5 eller 6.5" in r.stderr, r.stderr


def test_english_stays_available_by_lang_env_and_config(tmp_path):
    assert _cli("report", "--help", "--lang", "en").stdout.startswith("usage: fourbyfour report")
    out = _cli("outcome", "--help", env=_env(FOURBYFOUR_LANG="en")).stdout
    assert "show this help message and exit" in out and "one row per patient" in out, out
    en = tmp_path / "en.toml"
    en.write_text('language = "en"\n')
    out = _cli("console", "--config", str(en), "--help").stdout
    assert out.startswith("usage:") and "the console's language" in out, out
    r = _cli("outcome", "--lang", "en", ok=False)
    assert "the following arguments are required" in r.stderr, r.stderr
    # the config's language before $FOURBYFOUR_LANG, as the commands choose it
    nb = tmp_path / "nb.toml"
    nb.write_text('language = "nb"\n')
    out = _cli("run", "--config", str(nb), "--help", env=_env(FOURBYFOUR_LANG="en")).stdout
    assert out.startswith("bruk:"), out


def test_the_docs_cli_reference_stays_english_and_current():
    """The generated CLI reference (docs/it/cli.md, for IT) is built in English."""
    from controller.app import docgen

    text = docgen.cli_reference()
    assert "the clinic's documented effect over a period" in text, text[:2000]
