"""Issue 21 (h21cli2), what a Norwegian nurse still met after h21cli: the demo's ``--plan``
and ``--category`` choices as raw keys in the bokmål help and refusals, the progression CSV's
time column in UTC, and Ctrl-C on the headless demo ending in English tracebacks from its
processes. The CLI runs as a subprocess, as a nurse runs it."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from zoneinfo import ZoneInfo

import pytest

from controller.records.store import Store
from tests.test_cli_nurse_seams import ROOT, _cli, _env

CATEGORY_KEYS = ("typical", "unfit", "beta_blocked", "slow_kinetics", "long_dead_time",
                 "strap_trouble", "walk_only", "handrails", "unfit_walk_only")


def test_the_bokmal_demo_help_shows_plan_and_category_in_words():
    out = _cli("demo", "--help").stdout
    for key in ("six-minute-test", *CATEGORY_KEYS):
        assert key not in out, (key, out)
    assert "pulstest" in out and "typisk" in out and "betablokker" in out, out
    # English keeps its keys
    en = _cli("demo", "--help", "--lang", "en").stdout
    assert "six-minute-test" in en and "beta_blocked" in en, en


def test_the_demo_takes_bokmal_plan_and_category_words_and_the_english_keys():
    r = _cli("demo", "--category", "ukjent")
    assert r.returncode == 2 and "ugyldig valg: 'ukjent'" in r.stderr, r.stderr
    assert "typisk" in r.stderr and "beta_blocked" not in r.stderr, r.stderr
    r = _cli("demo", "--plan", "sekser")
    assert r.returncode == 2 and "pulstest" in r.stderr, r.stderr
    assert "six-minute-test" not in r.stderr, r.stderr
    # the words and the keys both reach the demo as keys (refused past parsing: --speed)
    for plan, category in (("4x4", "betablokker"), ("4x4", "beta_blocked")):
        r = _cli("demo", "--headless", "--speed", "30", "--plan", plan, "--category", category)
        assert r.returncode == 2 and "--tidsfaktor" in r.stderr, r.stderr  # (--speed)
    r = _cli("demo", "--plan", "pulstest", "--category", "lite-trent", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "unfit" in r.stdout and "HRmax" in r.stdout, r.stdout


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("rec") / "s.db"
    r = _cli("demo", "--fast", "--store", str(db), "--patient", "P-17")
    assert r.returncode == 0, r.stderr
    return str(db)


def test_the_bokmal_progression_csv_shows_oslo_clock_time(tmp_path, recorded):
    """The trial: the progression CSV's "tid (UTC)" column, in UTC."""
    db = recorded
    prog = json.loads(_cli("progression", "--store", db, "--pseudonym", "P-17",
                           "--json").stdout)
    (started,) = [p["started_unix_s"] for p in prog["sessions"]]
    out = tmp_path / "p.csv"
    r = _cli("progression", "--store", db, "--pseudonym", "P-17", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    with open(out, newline="", encoding="utf-8") as f:
        header, row = list(csv.reader(f, delimiter=";"))
    header = [h.lower() for h in header]  # sentence case since h21nums
    assert not any("utc" in h for h in header), header
    oslo = dt.datetime.fromtimestamp(started, ZoneInfo("Europe/Oslo"))
    assert row[header.index("klokkeslett")] == oslo.strftime("%d.%m.%Y %H:%M:%S"), row
    # English unchanged: the UTC instant, ISO
    en = tmp_path / "p-en.csv"
    r = _cli("progression", "--store", db, "--pseudonym", "P-17", "--csv", str(en),
             "--lang", "en")
    assert r.returncode == 0, r.stderr
    with open(en, newline="", encoding="utf-8") as f:
        (row_en,) = list(csv.DictReader(f))
    utc = dt.datetime.fromtimestamp(started, dt.UTC)
    assert row_en["date_utc"].startswith(utc.strftime("%Y-%m-%dT%H:%M:%S")), row_en


@pytest.mark.realtime
def test_ctrl_c_on_the_headless_demo_stops_the_belt_and_says_so_in_bokmal(tmp_path):
    """The trial: Ctrl-C printed KeyboardInterrupt tracebacks (the worker process's and the
    demo's own), exit status -2. Ctrl-C reaches the terminal's whole process group: so here."""
    db = tmp_path / "s.db"
    p = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--headless", "--lang",
                          "nb", "--speed", "10", "--store", str(db)], cwd=ROOT, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while True:  # the first phase line: "[00:10–10:10] oppvarming …"
            line = p.stdout.readline()
            assert line, ("ended before its first phase", seen)
            seen.append(line)
            if line.startswith("["):
                break
        os.killpg(p.pid, signal.SIGINT)
        rest = p.stdout.read()
        p.wait(timeout=90)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    reader.join(10)
    out, stderr = "".join(seen) + rest, "".join(err)
    assert "Traceback" not in stderr + out and "KeyboardInterrupt" not in stderr + out, stderr
    assert p.returncode == 130, (p.returncode, out, stderr)
    assert "Avbrutt: båndet er stoppet." in out + stderr, (out, stderr)
    assert not any(w in (out + stderr) for w in ("interrupted", "SIGINT", "stopped")), out
    # the belt's run-down after the Ctrl-C is no phase of the session: never «ferdig» for a
    # session that was stopped (the s6con trial: «[05:06–05:07] ferdig»)
    assert "ferdig" not in out, out
    st = Store(db, readonly=True)
    try:
        (rec,) = st.sessions("DEMO-1")
        samples = st.samples(rec.id)
    finally:
        st.close()
    assert rec.status == "stopped" and rec.stop_reason == "shutdown", rec  # a controlled stop
    assert samples[-1]["speed_kmh"] < 0.5, samples[-1]
