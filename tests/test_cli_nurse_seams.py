"""Issue 21 (h21cli), what the command line and the demo print or write for a Norwegian
nurse: the service's English IT lines on the demo's terminal, matplotlib's English error for
an unknown ``--out`` suffix, raw keys and English metavars in the bokmål help, English file
names, the session CSV's UTC times and raw decimals, the JSON offered to the nurse by ``w``,
``demo --speed`` above the bound its help states. The CLI runs as a subprocess, as a nurse
runs it; ``w`` through the console's keys against the real service."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.records.store import Store
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env.update(extra)
    return env


def _cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd or ROOT, env=env or _env())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[str, str]:
    """A store with one recorded 4x4 session of P-17 (the in-process demo)."""
    db = tmp_path_factory.mktemp("rec") / "s.db"
    r = _cli("demo", "--fast", "--store", str(db), "--patient", "P-17")
    assert r.returncode == 0, r.stderr
    st = Store(db, readonly=True)
    (rec,) = st.sessions("P-17")
    st.close()
    return str(db), rec.id


# 1. English on the nurse's terminal


def test_the_demo_keeps_the_services_it_log_off_the_terminal_and_says_where_it_is(tmp_path):
    """The trial: the demo's terminal showed the service's IT log in English ("MQTT
    publisher: cannot reach the broker …", "motor board fault: boot …") to a bokmål nurse.
    The log goes to a file in the demo's folder; the demo says where, in bokmål, at the end."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[mqtt]\nenabled = true\nhost = \"127.0.0.1\"\nport = {free_port()}\n"
                   "[belt_view]\nenabled = false\n")
    folder = tmp_path / "demo"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--headless",
                             "--config", str(cfg), "--store", str(folder / "s.db"),
                             "--speed", "10"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    lines = []
    log = folder / "fourbyfour-demo.log"
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if " starter" in line:
                break
        # the broker was tried and is not there: the IT log says so (the terminal does not:
        # a demo with no broker is no alarm for a nurse, tests/test_demo_lines.py)
        while time.monotonic() < deadline and not (
                log.exists() and "cannot reach the broker" in log.read_text()):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + out
    assert not any("MQTT-serveren" in x for x in lines), out
    assert "cannot reach the broker" not in err and "motor board fault" not in err, err
    assert not re.search(r"\b(the|cannot|broker|fault|press|error|lost)\b", err), err
    assert "cannot reach the broker" in log.read_text(), log.read_text()
    last = out.strip().splitlines()[-1]
    assert str(log) in last and "logg" in last.lower(), out


def test_report_refuses_an_unknown_suffix_up_front_in_bokmal(tmp_path):
    """The trial: `report --out x.txt` showed matplotlib's English "Format 'txt' is not
    supported (supported formats: avif, eps, …)"."""
    r = _cli("report", "--store", str(tmp_path / "none.db"), "--session", "x",
             "--out", str(tmp_path / "x.txt"))
    assert r.returncode == 2, r.stderr
    assert "feil:" in r.stderr and "not supported" not in r.stderr, r.stderr
    assert "png" in r.stderr and "pdf" in r.stderr and "x.txt" in r.stderr, r.stderr
    # refused before the store was looked at (the usage line names --øktlager)
    assert "øktlager" not in r.stderr.split("feil:", 1)[1]
    for cmd in (["progression", "--store", "s.db", "--pseudonym", "P-1"],
                ["outcome", "--store", "s.db", "--from", "2026-01-01", "--to", "2026-02-01"],
                ["handover", "P-1", "--store", "s.db"]):
        r = _cli(*cmd, "--out", "x.docx", cwd=tmp_path)
        assert r.returncode == 2 and "feil:" in r.stderr and "pdf" in r.stderr, (cmd, r.stderr)


# 2. Raw keys and English names in the CLI

BOKMAL_METAVARS = {"KOMMANDO", "FIL", "TALL", "ID", "PSEUDONYM", "DATO", "NAVN", "SLAG/MIN",
                   "KM/T", "PROSENT", "SEKUNDER", "FIL|URL", "MASKIN", "PORT", "UKER", "ÅR"}


def _metavars(help_text: str) -> set[str]:
    usage = help_text.split("\n\n", 1)[0]
    found = set(re.findall(r"-[-a-z]+ ([A-ZÆØÅ][A-ZÆØÅ_/|]*)\b", usage))
    found |= set(re.findall(r"(?<=[\] ])([A-ZÆØÅ][A-ZÆØÅ_/|]+)(?=\s|$)", usage))
    return found


def test_the_bokmal_help_has_bokmal_metavars_and_a_command_list():
    top = _cli("--help").stdout
    assert "{demo," not in top, top  # the English names as one brace list
    assert "KOMMANDO" in top, top
    for cmd in ("demo", "report", "handover", "records-server"):  # scripts use the names
        # the English name beside the bokmål one: "rapport (report)"
        assert re.search(rf"^\s+(\S+ \()?{cmd}\)?\s+\S", top, re.M), (cmd, top)
    for cmd in ("demo", "console", "export", "report", "import", "progression", "patients",
                "sessions", "patient", "fhir", "outcome", "handover", "run", "monitor",
                "records-server", "command"):
        out = _cli(cmd, "--help").stdout
        english = _metavars(out) - BOKMAL_METAVARS
        assert not english, (cmd, english, out)
    out = _cli("patient", "--help").stdout
    assert "six_minute_test" not in out and "pulstest" in out, out
    assert "PSEUDONYM" in out.split("\n\n")[0] and "FIL" in out, out
    # English keeps its own words
    en = _cli("patient", "--help", "--lang", "en").stdout
    assert "six_minute_test" in en and "FILE" in en, en


def test_hr_max_source_takes_bokmal_words_and_the_english_keys(tmp_path):
    db = str(tmp_path / "s.db")
    r = _cli("patient", "--store", db, "P-3", "--hr-max", "171", "--hr-max-source", "pulstest")
    assert r.returncode == 0, r.stderr
    assert "pulstest" in r.stdout, r.stdout
    r = _cli("patient", "--store", db, "P-4", "--hr-max", "180", "--hr-max-source",
             "six_minute_test")
    assert r.returncode == 0, r.stderr
    r = _cli("patient", "--store", db, "P-5", "--hr-max", "180", "--hr-max-source", "nope")
    assert r.returncode == 2 and "ugyldig valg: 'nope'" in r.stderr, r.stderr
    assert "pulstest" in r.stderr and "six_minute_test" not in r.stderr, r.stderr
    from controller.records.register import Register

    st = Store(db, readonly=True)
    try:
        reg = Register(st)
        assert reg.get("P-3").hr_max_source == "six_minute_test"
        assert reg.get("P-4").hr_max_source == "six_minute_test"
    finally:
        st.close()


def test_the_hand_overs_default_file_name_speaks_the_hand_overs_language(tmp_path, recorded):
    db, _sid = recorded
    r = _cli("handover", "P-17", "--store", db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "P-17-overlevering.pdf").stat().st_size > 1000, r.stdout
    assert "P-17-overlevering.pdf" in r.stdout and "handover" not in r.stdout, r.stdout
    r = _cli("handover", "P-17", "--store", db, "--lang", "en", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "P-17-handover.pdf").exists(), r.stderr


# 3. Files written for staff


def test_the_bokmal_session_csv_shows_oslo_clock_time_and_rounded_numbers(tmp_path, recorded):
    """The trial: the session CSV's time column was UTC (ISO) and speeds read "8,5143"."""
    db, sid = recorded
    out = tmp_path / "s.csv"
    r = _cli("export", "--store", db, "--session", sid, "--out", str(out), "--lang", "nb")
    assert r.returncode == 0, r.stderr
    with open(out, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = [h.lower() for h in rows[0]], rows[1:]  # the headers are in sentence case
    assert not any("utc" in h for h in header), header
    clock = header.index("klokkeslett")
    st = Store(db, readonly=True)
    rec, samples = st.session(sid), st.samples(sid)
    st.close()
    from controller.records.report import wall_clock

    wall = wall_clock(rec, samples)
    oslo = ZoneInfo("Europe/Oslo")
    for row, u in zip(body, wall, strict=True):
        assert row[clock] == dt.datetime.fromtimestamp(u, oslo).strftime("%d.%m.%Y %H:%M:%S")
    for name, decimals in (("fart (km/t)", 1), ("fart satt (km/t)", 1), ("stigning (%)", 1),
                           ("stigning satt (%)", 1), ("puls (slag/min)", 0),
                           ("mål (slag/min)", 0), ("sone fra (slag/min)", 0),
                           ("sone til (slag/min)", 0), ("tid (s)", 0)):
        i = header.index(name)
        cells = [row[i] for row in body if row[i]]
        assert cells, name
        longest = max(len(c.split(",")[1]) if "," in c else 0 for c in cells)
        assert longest <= decimals, (name, sorted(set(cells))[:20])
    speeds = [float(row[header.index("fart (km/t)")].replace(",", ".")) for row in body]
    exact = [s["speed_kmh"] for s in samples]
    assert all(abs(a - b) <= 0.05 + 1e-9 for a, b in zip(speeds, exact, strict=True))
    # the machine form keeps full precision
    js = tmp_path / "s.json"
    assert _cli("export", "--store", db, "--session", sid, "--format", "json", "--out",
                str(js)).returncode == 0
    assert json.loads(js.read_text())["samples"] == samples


@pytest.mark.realtime
def test_w_gives_the_nurse_the_pdf_and_the_csv_not_the_json(tmp_path):
    """The trial: `w` wrote and listed a JSON file (the machine export) beside the PDF and
    the CSV for the nurse. The nurse's files are the report and the spreadsheet; IT gets the
    JSON with `fourbyfour export --format json`."""
    from tests.console_rig import (
        demo_console,
        run_console,
        skip_to,
        start_session,
        stop_session,
        wait_for,
    )

    async def main() -> str:
        async with demo_console(tmp_path, str(tmp_path / "sessions.db"),
                                linger=True) as (app, pilot):
            await start_session(pilot, 60)
            await skip_to(pilot, "interval", 60)  # skip the warm-up: interval 1
            await pilot.press("w")
            await wait_for(lambda: type(app.screen).__name__ == "ReportChooser", 30)
            await pilot.press("enter")  # the newest: the session running
            await wait_for(lambda: ".pdf" in app.message, 60)
            message = app.message
            await stop_session(pilot, "j", 60)
        return message

    message = run_console(main(), 240, "nb")
    assert message.startswith("Rapporten er lagret: "), message  # h21keys: in words
    files = re.findall(r"\S+\.(?:pdf|csv|json)", message)
    assert [f.rsplit(".", 1)[1] for f in files] == ["pdf", "csv"], message
    assert not list((tmp_path / "exports").glob("*.json"))


# 4. The demo itself


def test_the_demo_refuses_a_speed_above_the_bound_its_help_states():
    """The trial: `./run demo --speed 30` was accepted while the help says ≤ 10."""
    assert "≤ 10" in _cli("demo", "--help").stdout
    for speed in ("30", "10,5", "0"):
        r = _cli("demo", "--headless", "--speed", speed)
        assert r.returncode == 2, (speed, r.stdout, r.stderr)
        assert r.stderr.startswith("feil: ") and "10" in r.stderr, (speed, r.stderr)
        # the option by its bokmål name, as the bokmål help names it first
        assert "--tidsfaktor" in r.stderr and "must" not in r.stderr, r.stderr
        assert "emulert" not in r.stdout, r.stdout  # refused before anything started
