"""Issue 21, the bokmål new-nurse trial of `./run demo --headless` and `fourbyfour demo --fast`:
what the demo says to a nurse (the link in staff words, its figures in the IT log; no MQTT
alarm when the demo has no broker, a real loss still said), the order of `--fast`'s lines,
its last line, and a Ctrl-C right after the start. The demo runs as a subprocess, as a nurse
runs it."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ctrl_c_as_at_a_terminal, free_port

INTERRUPTED_NB = "Avbrutt: båndet er stoppet."
JARGON = re.compile(r"host|frames|takter|poll|sultet|uhørt|opphold|\d ms\b|link:|"
                    r"forbindelsen:", re.I)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env.update(extra)
    return env


def _short_demo_config(tmp_path: Path, mqtt_port: int, device: str = "demo-lines") -> Path:
    """The shortest plan the config allows (3 min warm-up): a whole headless session in
    about 3½–4 min at 10× real time; MQTT at ``mqtt_port`` (a port nobody serves: no broker)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'language = "nb"\n[site]\nname = "oslo"\ndevice = "{device}"\n'
                   f"[mqtt]\nport = {mqtt_port}\n[plan]\nwarmup_s = 180\n")
    return cfg


def test_the_headless_demo_says_the_link_in_staff_words_and_no_broker_is_no_alarm(tmp_path):
    """The trial: the end's "forbindelsen: lengste opphold mellom meldinger fra Pi-en 506 ms,
    forsinkede takter 1, motorkortets lengste opphold … (sultet 10 ganger …)" is jargon to a
    nurse, and "mistet kontakt med MQTT-serveren" came at the start of a normal run (the demo
    has no broker: nothing was lost). The figures belong in the IT log the demo names."""
    cfg = _short_demo_config(tmp_path, free_port())
    store = tmp_path / "d.db"
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--headless", "--config",
                        str(cfg), "--store", str(store), "--speed", "10"],
                       capture_output=True, text=True, timeout=900, env=_env())
    out = r.stdout
    # a loaded machine may pause the session (the board's host timeout): the end's lines are
    # the same then (exit 1), and they are what this test reads
    assert r.returncode in (0, 1), (r.returncode, out, r.stderr)
    assert "Økten er ferdig" in out or "feil:" in r.stderr, (out, r.stderr)
    assert "MQTT" not in out, out  # never connected: nothing for staff to worry about
    assert not JARGON.findall(out), (JARGON.findall(out), out)
    tail = out.strip().splitlines()
    it_line = tail[-1]
    assert it_line.startswith("Tjenestens logg (for IT, på engelsk): "), out
    assert any(ln.startswith("Tredemøllen") for ln in tail), out  # the link, in staff words
    it_log = Path(it_line.split(": ", 1)[1])
    figures = [ln for ln in it_log.read_text(encoding="utf-8").splitlines() if "link: " in ln]
    assert figures, it_log.read_text(encoding="utf-8")[-2000:]
    assert re.search(r"link: largest gap between host frames \d+ ms, late ticks \d+, .*"
                     r"motor-board faults: \S", figures[-1]), figures


def test_a_real_loss_of_the_broker_after_a_connection_is_still_said(make_broker, tmp_path):
    """What the demo must keep saying: connected, then the broker goes: "mistet kontakt med
    MQTT-serveren" (after "tilkoblet MQTT-serveren", never before it)."""
    broker = make_broker()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'language = "nb"\n[site]\nname = "oslo"\ndevice = "demo-loss"\n'
                   f"[mqtt]\nport = {broker.port}\n")
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--headless",
                             "--config", str(cfg), "--store", str(tmp_path / "d.db"),
                             "--speed", "5"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env())
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            lines.append(line)
            if "tilkoblet MQTT-serveren" in line:
                broker.stop()
            if "mistet kontakt med MQTT-serveren" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=60)
        lines.append(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(lines)
    online = next(i for i, ln in enumerate(lines) if "tilkoblet MQTT-serveren" in ln)
    lost = [i for i, ln in enumerate(lines) if "mistet kontakt med MQTT-serveren" in ln]
    assert lost and lost[0] > online, text


STAMP = re.compile(r"^\s*\[(\d\d):(\d\d)")


def _first_letter(line: str) -> str:
    m = re.search(r"[^\W\d_]", re.sub(r"^\s*\[[^\]]*\]", "", line))
    assert m, line
    return m.group(0)


def test_demo_fast_prints_its_lines_in_time_order_and_ends_with_a_sentence(tmp_path):
    """The trial: `fourbyfour demo --fast` printed a phase's events before the phase's own
    line ("[00:25] ALARM …" … "[09:40] INFO …", then "[00:00–10:00] oppvarming"), and its
    last line began with a lower-case letter."""
    for extra in ([], ["--store", str(tmp_path / "s.db")]):
        r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--category",
                            "strap_trouble", "--lang", "nb", *extra], capture_output=True,
                           text=True, timeout=300, env=_env())
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        stamps = [(int(m[1]) * 60 + int(m[2]), ln) for ln in lines if (m := STAMP.match(ln))]
        assert len(stamps) > 20, r.stdout  # the phases and the strap's events
        for (a, la), (b, lb) in itertools.pairwise(stamps):
            assert b >= a, f"out of order:\n{la}\n{lb}"
        # the last paragraph's first line (its later ones are indented: 80 columns)
        last = [ln for ln in lines if ln.strip() and not ln.startswith(" ")][-1]
        assert _first_letter(last).isupper(), last
        done = next(ln for ln in lines if "båndet står" in ln)
        assert _first_letter(done).isupper(), done


def _fourbyfour() -> list[str]:
    script = Path(sys.executable).parent / "fourbyfour"
    return [str(script)] if script.exists() else [sys.executable, "-m", "controller"]


MARK_SITE = """import os, sys
if os.environ.get("DEMO_STARTED_MARK"):
    import controller  # the package's first line: where the project's code begins
    open(os.environ["DEMO_STARTED_MARK"], "w").close()
"""
"""A ``sitecustomize`` (Python runs it at the end of its start-up, before the program):
it imports the package, as the program's first import does, and marks the moment."""


def test_ctrl_c_right_after_the_start_is_one_line_and_130(tmp_path):
    """The trial: Ctrl-C in the first moments after `fourbyfour demo --headless` started
    printed a KeyboardInterrupt traceback (or "Exception ignored in … _get_module_lock" and
    the demo ran on; or "demo ended (SIGTERM)" and status 0), until the demo's own handler
    was in place. From the first line of the project's code on, every Ctrl-C ends with the
    one bokmål line and exit status 130.

    Before that line no code of the project runs (Python's own start, its ``site`` step with
    the editable install's finder: 0.05–0.1 s, measured in the report): the Ctrl-Cs here come
    at small delays after the package's first line (``MARK_SITE``)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(MARK_SITE)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    problems = []
    runs = 0
    for cmd in (_fourbyfour(), [sys.executable, "-m", "controller"]):
        for delay_s in (0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02, 0.04,
                        0.07, 0.1, 0.15, 0.25, 0.4, 0.7):
            mark = tmp_path / f"started-{runs}"
            runs += 1
            proc = subprocess.Popen([*cmd, "demo", "--headless", "--speed", "10",
                                     "--store", str(tmp_path / f"{runs}.db")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=_env(FOURBYFOUR_LANG="nb", PYTHONPATH=path,
                                                        DEMO_STARTED_MARK=str(mark),
                                                        PYTHONFAULTHANDLER="1"),
                                    start_new_session=True, preexec_fn=ctrl_c_as_at_a_terminal)
            deadline = time.monotonic() + 30
            while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0002)
            time.sleep(delay_s)
            os.killpg(proc.pid, signal.SIGINT)  # the whole group, as the terminal's Ctrl-C
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                # the demo ran on (two fresh-clone CI runs, not reproduced in 94 tries): its
                # signal masks (ignored, blocked, pending: a disposition inherited from this
                # process?) and its threads' stacks (faulthandler on SIGABRT) say where the
                # Ctrl-C went
                status = Path(f"/proc/{proc.pid}/status").read_text()
                masks = " ".join(ln for ln in status.splitlines()
                                 if ln.startswith(("SigIgn", "SigBlk", "SigPnd", "ShdPnd")))
                ours = (signal.getsignal(signal.SIGINT),
                        signal.pthread_sigmask(signal.SIG_BLOCK, []))
                os.kill(proc.pid, signal.SIGABRT)
                out, err = proc.communicate(timeout=30)
                err = f"ran on after the Ctrl-C; its {masks}; the test's {ours}; stacks: " + \
                    err[-6000:]
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            said = out.strip().splitlines()
            after = said[said.index(INTERRUPTED_NB) + 1:] if INTERRUPTED_NB in said else None
            # the line, then at most the IT log's name (once the demo had made it)
            if (proc.returncode != 130 or "Traceback" in out + err or after is None
                    or out.count(INTERRUPTED_NB) != 1
                    or not all(ln.startswith("Tjenestens logg (for IT") for ln in after)):
                problems.append((cmd[-1], delay_s, proc.returncode, out[-400:],
                                 err if err.startswith("ran on") else err[-1200:]))
    assert not problems, problems


def test_sigterm_to_the_whole_group_mid_session_stops_the_belt_in_order(tmp_path):
    """Found by `timeout 90 ./run demo --headless`: `timeout` (like systemd's stop of a
    control group) sends SIGTERM to every process of the group. The emulated motor board's
    process ended on it, the session's controlled stop reached no board, and the demo ended
    with a traceback ("RuntimeError: the belt did not come to rest … state='running'"). The
    board is its own MCU: it takes no Unix signal, the demo's controlled stop ramps the belt
    down and the demo ends it. The same end as SIGTERM to the demo alone: the session stopped
    and summarised, exit status 0, no traceback."""
    cfg = _short_demo_config(tmp_path, free_port(), device="demo-group-term")
    proc = subprocess.Popen([*_fourbyfour(), "demo", "--headless", "--config", str(cfg),
                             "--store", str(tmp_path / "d.db"), "--speed", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(FOURBYFOUR_LANG="nb"), start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "oppvarming" in line:  # the warm-up is done: the belt runs at pace
                break
        time.sleep(2.0)
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = "".join(lines) + out
    assert proc.returncode == 0, (proc.returncode, text, err[-3000:])
    assert "Traceback" not in text + err, err[-3000:]
    assert "did not come to rest" not in text + err, err[-3000:]
    # said as what happened: no person at the console stopped it; an interval stopped
    # within its allowance has nothing to score («–», not «NaN»)
    assert "Stoppet: kontrolltjenesten ble avsluttet" in text, text
    assert "Stoppet av personalet" not in text, text
    assert "NaN" not in text, text
    assert "Økten er avsluttet" in text, text
    # the report worker ends with the control process, not on the group's SIGTERM (it died
    # and was started again in the middle of the controlled stop)
    it_log = Path(text.strip().splitlines()[-1].split(": ", 1)[1])
    assert "worker process died" not in it_log.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_demo_fast_lines_fit_an_80_column_terminal(tmp_path, lang):
    """Trial 13: a phase line («[10:00–14:00] intervall 1  puls 134→180 slag/min (topp 182),
    sone 169–189; fart 5,1–8,6 km/t, stigning …», 143 characters), the strap's warnings and
    the virtual patient's line wrapped mid-word in an 80-column terminal. Every line fits;
    a phase says its belt on a line of its own under it; no word is split."""
    r = subprocess.run([sys.executable, "-m", "controller", "demo", "--fast", "--category",
                        "strap_trouble", "--lang", lang], capture_output=True, text=True,
                       timeout=300, env=_env())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    long = [ln for ln in lines if len(ln) > 80]
    assert not long, "\n".join(long)
    belt = "fart " if lang == "nb" else "speed "
    phases = [i for i, ln in enumerate(lines) if re.match(r"^\[\d\d:\d\d–\d\d:\d\d\] ", ln)]
    assert len(phases) >= 9, r.stdout
    for i in phases:  # its heart rate and zone on the line, its belt on the next
        assert belt not in lines[i], lines[i]
        assert lines[i + 1].startswith(" " * 14 + belt), lines[i:i + 2]
    # a belt too long for one line goes on at its incline, never «… ned til» / «0,0 %»
    assert not [ln for ln in lines if ln.rstrip().endswith((" til", " to"))], r.stdout
    # a wrapped event goes on under its text, never under its time
    events = [i for i, ln in enumerate(lines) if re.match(r"^  \[\d\d:\d\d\] ", ln)]
    assert events, r.stdout
    wrapped = [i for i in events if i + 1 < len(lines) and lines[i + 1].startswith("   ")
               and not lines[i + 1].lstrip().startswith("[")]
    assert wrapped, "no event was long enough to wrap: the check saw nothing"
    assert all(lines[i + 1].startswith(" " * 10) and lines[i + 1][10] != " "
               for i in wrapped), [lines[i:i + 2] for i in wrapped]


def test_ctrl_c_mid_session_says_where_the_stopped_session_was_recorded(tmp_path):
    """Trial 14: Ctrl-C in a headless demo with --store ended with «Avbrutt: båndet er
    stoppet.» and no word of the record, though the controlled stop had recorded the session
    (`økter` listed it). Where it was recorded is said before the last line."""
    cfg = _short_demo_config(tmp_path, free_port(), device="demo-ctrl-c-store")
    store = tmp_path / "d.db"
    proc = subprocess.Popen([*_fourbyfour(), "demo", "--headless", "--config", str(cfg),
                             "--store", str(store), "--speed", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(FOURBYFOUR_LANG="nb"), start_new_session=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "starter" in line:  # the session has begun
                break
        time.sleep(3.0)
        os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    said = ("".join(lines) + out).strip().splitlines()
    assert proc.returncode == 130, (proc.returncode, said, err[-2000:])
    assert f"Lagret i {store}" in said, said
    assert said.index(f"Lagret i {store}") < said.index(INTERRUPTED_NB), said
    r = subprocess.run([*_fourbyfour(), "økter", "DEMO-1", "--øktlager", str(store)],
                       capture_output=True, text=True, timeout=60, env=_env())
    assert r.returncode == 0 and "avsluttet" in r.stdout, (r.stdout, r.stderr)
