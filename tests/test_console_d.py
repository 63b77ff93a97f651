"""Smaller things a nurse sees in the console (issue 21 item 9): the MQTT link as it is, and
events in bokmål that keep their content."""

from __future__ import annotations

import asyncio
import dataclasses

from textual.widgets import Static

from controller.app.console import StaffConsole
from controller.app.demo import run_demo
from controller.core import i18n
from controller.net.publisher import MqttSettings
from controller.service.config import load
from tests.test_console import wait_for
from tests.test_runtime import SHORT


def test_mqtt_connected_is_shown_as_connected_before_start(tmp_path, broker):
    """Was "MQTT av" (off) while the service was connected to the MQTT server: the state
    said the link only once a session ran."""
    sock = tmp_path / "control.sock"
    cfg = dataclasses.replace(load(None), plan=SHORT, mqtt_enabled=True,
                              mqtt=MqttSettings(port=broker.port))

    async def main() -> str:
        service = asyncio.create_task(run_demo(cfg, speedup=5, seed=2, category="typical",
                                               use_mqtt=True, control_socket=str(sock)))
        await wait_for(sock.exists)
        app = StaffConsole(str(sock))
        async with app.run_test(size=(80, 24)):
            await wait_for(lambda: app.state.get("mqtt") == "online", 20)
            shown = str(app.query_one("#links", Static).render())
        service.cancel()
        return shown

    i18n.set_language("nb")
    try:
        shown = asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        i18n.set_language("en")
    assert "MQTT tilkoblet" in shown, shown


def test_bokmal_events_keep_their_content():
    """Was "Neste del begynner" with no word of which part; the English said "interval 1 of
    4 begins (240 s, zone 156–174 bpm)"."""
    from tests.test_console_words import _text
    from tests.test_snapshots import STATE

    events = [{"kind": "phase", "severity": "info", "message": "interval 1 of 4 begins",
               "params": {"phase": "interval", "interval": 1, "total": 4,
                          "duration_s": 240.0, "zone_low_bpm": 156.0,
                          "zone_high_bpm": 174.0}},
              {"kind": "extend", "severity": "info", "message": "recovery extended by 60 s",
               "params": {"phase": "recovery", "seconds": 60.0}},
              {"kind": "acknowledged", "severity": "info", "message": "alarm hr_lost …",
               "params": {"alarm": "hr_lost"}}]
    shown = _text(dict(STATE, summary=None, event_list=events), "#events")
    assert "Intervall 1 av 4 begynner" in shown and "156–174" in shown, shown
    assert "aktiv pause" in shown.lower() and "1 min" in shown, shown
    assert "finner ikke pulsen" in shown and "hr_lost" not in shown, shown


def test_the_session_core_gives_its_events_content_as_data():
    """The params the console renders come from the session itself, as the service sends
    them in its state (event_list)."""
    from controller.core.plan import default_4x4
    from controller.protocol import Session
    from controller.sim import Belt
    from tests.helpers import drive
    from tests.test_session import PROFILE, steady

    s = Session(PROFILE, default_4x4(180))
    sps = drive(s, steady(150), 190, belt=Belt())
    (begins,) = [e for sp in sps for e in sp.events if e.kind == "phase"
                 and e.params.get("phase") == "interval"]
    assert begins.params == {"phase": "interval", "duration_s": 240.0, "interval": 1,
                             "total": 4, "zone_low_bpm": 0.85 * 183,
                             "zone_high_bpm": 0.95 * 183}
    s.extend(60)
    (ext,) = [e for sp in drive(s, steady(150), 2, t0=190, belt=Belt()) for e in sp.events
              if e.kind == "extend"]
    assert ext.params == {"phase": "interval", "seconds": 60}
    i18n.set_language("nb")
    try:
        from controller.core.words import event_text
        assert event_text(ext.kind, ext.message, ext.params) == \
            "Intervall forlenget med 1 min av personalet"
    finally:
        i18n.set_language("en")


def test_sigterm_to_the_demos_service_is_a_controlled_stop(tmp_path):
    """Quitting the demo's console sends its service SIGTERM: that cancelled everything
    (CancelledError tracebacks, the session recorded as cut off) instead of the controlled
    stop `fourbyfour run` makes: ramp down, summary, the record says "shutdown"."""
    import signal
    import sqlite3
    import subprocess
    import sys

    from controller.service.control_socket import ControlClient
    from tests.test_one_language import ROOT, _connect

    sock, db = tmp_path / "control.sock", tmp_path / "s.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text("[mqtt]\nenabled = false\n[belt_view]\nenabled = false\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller", "demo", "--headless", "--control-socket",
         str(sock), "--store", str(db), "--speed", "5", "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)

    async def main() -> None:
        c: ControlClient = await _connect(sock, proc)
        states: list[dict] = []

        async def watch() -> None:
            async for d in c.updates():
                states.append(d)
        watcher = asyncio.create_task(watch())
        async with asyncio.timeout(60):
            # the console demo's service has no patient until staff choose one (issue 21)
            assert (await c.command("setup", profile={
                "pseudonym": "P-17", "hr_max": 180, "hr_max_source": "measured",
                "max_speed_kmh": 8, "max_incline_pct": 15}))["ok"]
            assert (await c.command("start"))["ok"]
            while not (states and (states[-1]["speed_kmh"] or 0) > 1.0):
                await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        watcher.cancel()

    try:
        asyncio.run(main())
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "CancelledError" not in out, out
    row = sqlite3.connect(db).execute("SELECT status, stop_reason, summary_json FROM sessions"
                                      ).fetchone()
    assert row[0] == "stopped" and row[1] == "shutdown" and row[2], (row, out)


def test_the_demo_with_its_console_cleans_up_and_ends_quietly(tmp_path):
    """`fourbyfour demo` left its temporary folder (store, log, socket) behind and ended
    with CancelledError tracebacks. Run as a person does: in a terminal, q to quit."""
    import os
    import pty
    import select
    import shutil
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    from tests.test_one_language import ROOT

    cfg = tmp_path / "c.toml"
    cfg.write_text("[mqtt]\nenabled = false\n[belt_view]\nenabled = false\n")
    # the demo's $TMPDIR, short: under pytest's workers tmp_path/…/control.sock is over the
    # 107 bytes a Unix socket's path may have
    tmp = Path(tempfile.mkdtemp(prefix="fbf-demo-"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--config", str(cfg)],
                            stdin=follower, stdout=follower, stderr=follower, cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(tmp), "TERM": "xterm-256color",
                                 "COLUMNS": "80", "LINES": "24"})
    os.close(follower)
    out = b""

    def read_for(seconds: float) -> None:
        nonlocal out
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    out += os.read(leader, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 60
        # the console has the service's state: no patient chosen yet (issue 21)
        shown = b"ingen pasient valgt"
        while shown not in out and time.monotonic() < deadline:
            read_for(0.5)
        assert shown in out, out[-2000:]
        os.write(leader, b"q")
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            read_for(0.5)
        read_for(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    text = out.decode(errors="replace")
    left = [p.name for p in tmp.iterdir() if p.name.startswith("fourbyfour-")
            and p.is_dir()]
    shutil.rmtree(tmp, ignore_errors=True)
    assert proc.returncode == 0, text[-2000:]
    assert "Traceback" not in text and "CancelledError" not in text, text[-3000:]
    assert left == [], left


def test_a_control_socket_the_demo_cannot_serve_ends_its_service_with_why(tmp_path):
    """A socket path over the 107 bytes AF_UNIX allows (a long $TMPDIR, as under pytest's
    workers) left the demo's service running without its socket: the console waited 30 s
    and said only "did not start". The service ends at once and names the socket."""
    import subprocess
    import sys

    from tests.test_one_language import ROOT

    cfg = tmp_path / "c.toml"
    cfg.write_text("[mqtt]\nenabled = false\n[belt_view]\nenabled = false\n")
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    sock = deep / "control.sock"
    try:
        r = subprocess.run([sys.executable, "-m", "controller", "demo", "--headless",
                            "--control-socket", str(sock), "--store", str(tmp_path / "s.db"),
                            "--config", str(cfg)], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"the service ran on without its socket: {e.stdout!r}") from None
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    assert f"control socket {sock}" in r.stderr and "too long" in r.stderr, r.stderr
