"""One language in a bokmål clinic: the service, its reports, the CLI and the console's unit
all speak the config's language (issue 21 item 6)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.console import StaffConsole
from controller.core import i18n
from controller.service.control_socket import ControlClient

ROOT = Path(__file__).resolve().parents[1]


def pdf_title(path: str | Path) -> str:
    """The report's title as the journal system lists it (the PDF's Info /Title)."""
    data = Path(path).read_bytes()
    start = data.rindex(b"/Title (") + len(b"/Title (")
    out, i, depth = bytearray(), start, 0
    while True:
        c = data[i:i + 1]
        if c == b"\\":
            out += data[i + 1:i + 2]
            i += 2
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            if depth == 0:
                break
            depth -= 1
        out += c
        i += 1
    raw = bytes(out)
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def nb_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "nb.toml"
    cfg.write_text('language = "nb"\n[mqtt]\nenabled = false\n[belt_view]\nenabled = false\n')
    return cfg


async def _connect(sock: Path, proc: subprocess.Popen) -> ControlClient:
    c = ControlClient(str(sock))
    async with asyncio.timeout(60):
        while True:  # the socket's file appears at bind, before it listens
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else proc
            try:
                await c.connect()
                return c
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.1)


@pytest.mark.realtime
def test_w_in_a_bokmal_clinic_writes_a_bokmal_report_with_words_in_its_title(tmp_path):
    """The service never called set_language: `w` wrote an English report ("measured",
    "stopped") for a bokmål clinic. The demo's service runs as its own process, as on a Pi."""
    sock, db = tmp_path / "control.sock", tmp_path / "sessions.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller", "demo", "--headless", "--control-socket",
         str(sock), "--store", str(db), "--speed", "10", "--config", str(nb_config(tmp_path))],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)

    async def main() -> str:
        c = await _connect(sock, proc)
        states: list[dict] = []

        async def watch() -> None:
            async for d in c.updates():
                states.append(d)
        watcher = asyncio.create_task(watch())
        async with asyncio.timeout(90):
            reply = await c.command("setup", profile={
                "pseudonym": "P-17", "hr_max": 171, "hr_max_source": "six_minute_test",
                "max_speed_kmh": 6.5, "max_incline_pct": 12})
            assert reply["ok"], reply
            assert (await c.command("start"))["ok"]
            while not (states and states[-1]["phase"] == "warmup"):
                await asyncio.sleep(0.1)
            assert (await c.command("stop"))["ok"]
            while states[-1]["state"] != "done":
                await asyncio.sleep(0.1)
        watcher.cancel()
        await c.close()
        app = StaffConsole(str(sock))
        async with app.run_test(size=(80, 24)) as pilot:
            async with asyncio.timeout(60):
                while not app.state.get("session_id"):
                    await asyncio.sleep(0.1)
                await pilot.press("w")
                while type(app.screen).__name__ != "ReportChooser":  # the newest: Enter
                    await asyncio.sleep(0.1)
                await pilot.press("enter")
                while ".pdf" not in app.message:
                    await asyncio.sleep(0.1)
        return next(f for f in re.split(r"[ ,]+", app.message) if f.endswith(".pdf"))

    i18n.set_language("nb")
    try:
        pdf = asyncio.run(main())
    finally:
        i18n.set_language("en")
        proc.terminate()
        proc.wait(30)
    title = pdf_title(pdf if os.path.isabs(pdf) else tmp_path / "exports" / Path(pdf).name)
    assert "4x4-økt" in title and "6-minutters pulstest" in title, title
    for key in ("six_minute_test", "stopped", "finished", "measured", "session"):
        assert key not in title, (key, title)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env={**environ, **(env or {})})
    assert r.returncode == 0, r.stderr
    return r


def test_report_progression_and_outcome_take_lang_and_default_to_the_clinics(tmp_path):
    """`report`, `progression` and `outcome` had no --lang and wrote English; like the
    console and the hand-over they speak bokmål unless told otherwise (--lang or
    FOURBYFOUR_LANG)."""
    db = tmp_path / "h.db"
    cli("demo", "--fast", "--weeks", "2", "--patient", "P-17", "--store", str(db))
    from controller.records.store import Store

    store = Store(db)
    sid = store.sessions("P-17")[-1].id
    store.close()
    for lang, env, title_word in (("nb", {}, "4x4-økt"), ("en", {"FOURBYFOUR_LANG": "en"},
                                                          "4x4 session")):
        out = tmp_path / f"r-{lang}.pdf"
        cli("report", "--store", str(db), "--session", sid, "--out", str(out), env=env)
        assert title_word in pdf_title(out), (lang, pdf_title(out))
    nb = cli("report", "--store", str(db), "--session", sid, "--out", str(tmp_path / "x.pdf"),
             "--lang", "nb", env={"FOURBYFOUR_LANG": "en"})
    assert "4x4-økt" in pdf_title(tmp_path / "x.pdf") and nb.returncode == 0
    prog = cli("progression", "--store", str(db), "--pseudonym", "P-17").stdout
    assert "Fremgang" in prog and "per uke" in prog and "sessions" not in prog, prog
    prog_en = cli("progression", "--store", str(db), "--pseudonym", "P-17", "--lang",
                  "en").stdout
    assert "per week" in prog_en, prog_en
    outc = cli("outcome", "--store", str(db), "--from", "2020-01-01", "--to",
               "2040-01-01").stdout
    assert outc.startswith("Resultat"), outc
    assert cli("outcome", "--store", str(db), "--from", "2020-01-01", "--to", "2040-01-01",
               "--lang", "en").stdout.startswith("Outcome")


def _unit_exec_start(unit: str) -> list[str]:
    import shlex

    text = (ROOT / "systemd" / unit).read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.parametrize("lang, connecting", [("en", "connecting"), ("nb", "kobler til")])
def test_the_console_unit_speaks_the_configs_language(tmp_path, lang, connecting):
    """The console's unit started it without the config, so a clinic that chose English (or
    bokmål) in the config got whatever the console's default was."""
    from controller.app import cli

    service = _unit_exec_start("fourbyfour.service")
    config_path = service[service.index("--config") + 1]
    argv = _unit_exec_start("fourbyfour-console.service")[1:]
    assert argv[0] == "console" and "--config" in argv, argv
    assert argv[argv.index("--config") + 1] == config_path  # the service's own config
    cfg = tmp_path / "clinic.toml"
    cfg.write_text(f'language = "{lang}"\n')
    argv[argv.index("--config") + 1] = str(cfg)
    argv[argv.index("--socket") + 1] = str(tmp_path / "none.sock")
    args = cli.parser().parse_args(argv)

    async def main() -> str:
        app = cli.console_app(args)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            return str(app.query_one("#links").render()) + str(app.query_one("#phase").render())

    try:
        shown = asyncio.run(main())
    finally:
        i18n.set_language("en")
    assert connecting in shown.lower() or ("unreachable" if lang == "en" else "nås ikke") \
        in shown.lower(), shown


def test_a_refused_connection_reaches_a_bokmal_console_as_a_bokmal_sentence(tmp_path):
    """Was "styringstjenesten svarer ikke: [Errno 111] Connection refused – prøver igjen":
    the OS's English first. Now what it means and what to do, the detail last."""
    import socket

    stale = tmp_path / "control.sock"  # a socket file nobody listens on (a crashed service)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()

    async def main() -> str:
        app = StaffConsole(str(stale))
        async with app.run_test(size=(80, 24)) as pilot:
            async with asyncio.timeout(10):
                while "111" not in str(app.query_one("#links").render()):
                    await pilot.pause(0.05)
            return str(app.query_one("#links").render())

    i18n.set_language("nb")
    try:
        shown = asyncio.run(main())
    finally:
        i18n.set_language("en")
    sentence, _, detail = shown.partition("(")
    assert "Errno" not in sentence and "refused" not in sentence, shown
    assert "systemctl" in sentence or "starter" in sentence, shown  # what to do
    assert "111" in detail, shown  # the technical detail is kept, second


def test_a_busy_belt_screen_port_is_said_in_bokmal_not_shown_as_its_url(tmp_path):
    """The demo's console took the service's "belt screen not served …: [Errno 98] … address
    already in use" for the belt screen's URL and showed it as one."""
    import socket

    from controller.app import cli

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cfg = tmp_path / "nb.toml"
    cfg.write_text(f'language = "nb"\n[mqtt]\nenabled = false\n[belt_view]\nenabled = true\n'
                   f'host = "127.0.0.1"\nport = {port}\n')
    sock, log = tmp_path / "control.sock", tmp_path / "service.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "controller", "demo", "--headless", "--control-socket",
             str(sock), "--store", str(tmp_path / "s.db"), "--config", str(cfg)],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    async def main() -> str:
        c = await _connect(sock, proc)
        await c.close()
        it_log = tmp_path / "fourbyfour-demo.log"  # the service's IT log, beside its store
        async with asyncio.timeout(20):
            while "belt screen" not in log.read_text() + (
                    it_log.read_text() if it_log.exists() else ""):
                await asyncio.sleep(0.1)
        app = cli.demo_console_app(str(sock), str(log))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            return app.message

    i18n.set_language("nb")
    try:
        shown = asyncio.run(main())
    finally:
        i18n.set_language("en")
        proc.terminate()
        proc.wait(30)
        busy.close()
    sentence, _, detail = shown.partition("(")
    assert "Errno" not in sentence and "address" not in sentence, shown
    assert str(port) in sentence and "i bruk" in sentence, shown
    assert "98" in detail, shown
