"""What `fourbyfour run` writes to the journal (issue 25): an orderly end is no error, every
line has its priority, session lines carry SESSION_ID, and no line names the patient.

The service runs as systemd runs it: a subprocess whose stderr is a stream (``JOURNAL_STREAM``
names it) and a native journal socket — a real Unix datagram socket this test reads, speaking
journald's own protocol (``KEY=value`` lines, one datagram per entry).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from controller.devices.antstick import StickHub, StickPty, Strap
from controller.devices.emulator import Emulator
from controller.service.control_socket import ControlClient
from tests.conftest import run_as_service

ROOT = Path(__file__).resolve().parent.parent


def parse_entry(data: bytes) -> dict[str, str]:
    """One native-protocol datagram: ``KEY=value\\n`` or ``KEY\\n<u64 le length><value>\\n``."""
    out: dict[str, str] = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out[k.decode()] = v.decode()
            i = nl + 1
        else:
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            out[line.decode()] = data[nl + 9:nl + 9 + n].decode()
            i = nl + 9 + n + 1
    return out


def config(tmp_path: Path, emu: Emulator, stick: StickPty) -> Path:
    cfg = tmp_path / "fourbyfour.toml"
    cfg.write_text(f"""
[treadmill]
port = "{emu.link}"
[heart_rate]
source = "ant"
ant_serial_path = "{stick.path}"
[mqtt]
enabled = false
[store]
path = "{tmp_path / 'sessions.db'}"
[service]
control_socket = "{tmp_path / 'control.sock'}"
[belt_view]
port = 0
[patient]
pseudonym = "SECR-7707"
hr_max = 180
max_speed_kmh = 6
""")
    return cfg


async def connect(sock: Path, proc: subprocess.Popen[bytes]) -> ControlClient:
    c = ControlClient(str(sock))
    async with asyncio.timeout(60):
        while True:
            assert proc.poll() is None
            try:
                await c.connect()
                break
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.1)
    updates = c.updates()
    c.last_state = {}  # type: ignore[attr-defined]

    async def drain() -> None:  # the client routes replies while its updates are read
        async for doc in updates:
            c.last_state = doc  # type: ignore[attr-defined]

    c._drain = asyncio.create_task(drain())  # type: ignore[attr-defined]
    return c


def test_an_idle_sigterm_and_a_console_leaving_are_no_errors(tmp_path: Path) -> None:
    hub = StickHub([Strap(3131, lambda t: 96.0)])
    stick = StickPty(hub)
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(str(tmp_path / "journal.socket"))
    journal.setblocking(False)
    err = open(tmp_path / "stderr.txt", "wb")  # noqa: SIM115
    st = os.fstat(err.fileno())
    env = dict(os.environ, PYTHONPATH=str(ROOT), JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
               FOURBYFOUR_JOURNAL_SOCKET=str(tmp_path / "journal.socket"))
    with Emulator(host_in_process=False) as emu:  # the host: the service below
        proc = subprocess.Popen([sys.executable, "-m", "controller", "run", "--config",
                                 str(config(tmp_path, emu, stick))], stdout=err, stderr=err,
                                env=env)
        run_as_service(proc.pid)  # Nice=-5, as systemd/fourbyfour.service runs it
        try:
            async def main() -> str:
                c = await connect(tmp_path / "control.sock", proc)
                setup = await c.command("setup", profile={  # staff choose the patient
                    "pseudonym": "SECR-7707", "hr_max": 180, "hr_max_source": "measured",
                    "max_speed_kmh": 6, "max_incline_pct": 15})
                assert setup["ok"], setup
                pair = await c.command("pair", strap={"kind": "ant", "device_number": 3131})
                assert pair["ok"], pair
                # staff press the reset until the console shows the treadmill ready: Start
                # sent right after one press was refused (the service had not yet heard the
                # board's reset, or the board had not heard the host: a loaded machine)
                async with asyncio.timeout(30):
                    while c.last_state.get("treadmill") != "idle":
                        await asyncio.to_thread(emu.press_reset)
                        await asyncio.sleep(1.0)
                started = await c.command("start")
                assert started["ok"], started
                await asyncio.sleep(2)
                assert (await c.command("stop"))["ok"]
                await asyncio.sleep(1)
                # a console that goes away without a goodbye, mid-stream
                c._writer.transport.abort()  # type: ignore[union-attr]
                c2 = await connect(tmp_path / "control.sock", proc)
                await c2.close()
                async with asyncio.timeout(40):
                    while emu.board.belt_kmh > 0:
                        await asyncio.sleep(0.2)
                await asyncio.sleep(2)
                for client in (c, c2):
                    client._drain.cancel()  # type: ignore[attr-defined]
                await c2.close()
                return "ok"

            asyncio.run(main())
            proc.send_signal(signal.SIGTERM)  # idle now: the next session waits for a person
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            stick.close()
    err.close()
    entries = []
    while True:
        try:
            entries.append(parse_entry(journal.recv(65536)))
        except BlockingIOError:
            break
    journal.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert entries, f"nothing reached the journal socket; stderr: {stderr[-2000:]}"
    text = " ".join(e.get("MESSAGE", "") for e in entries)
    assert all(e.get("PRIORITY") in {"3", "4", "5", "6", "7"} for e in entries)
    errors = [e["MESSAGE"] for e in entries if int(e["PRIORITY"]) <= 3]
    assert errors == [], errors
    assert "Traceback" not in text and "CancelledError" not in text
    assert "SECR-7707" not in text and "SECR-7707" not in stderr
    assert any(e.get("PRIORITY") == "6" and "SIGTERM" in e["MESSAGE"] for e in entries), text
    assert any(e.get("SESSION_ID") for e in entries), entries[:5]
    assert all(e.get("SYSLOG_IDENTIFIER") == "fourbyfour" for e in entries)


LOGS = """
import logging
from controller.service.journal import setup_logging
setup_logging()
logging.getLogger("x").warning("w")
logging.getLogger("x").info("i")
logging.getLogger("x").error("e")
"""


def test_a_bare_journal_stream_gets_priority_prefixes_and_a_terminal_plain_lines(
        tmp_path: Path) -> None:
    """Under systemd without the native socket, journald reads ``<N>`` at a line's start;
    anywhere else (a terminal, a test) the lines stay as they were."""
    for journal in (True, False):
        f = tmp_path / f"stderr-{journal}.txt"
        with open(f, "wb") as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ, PYTHONPATH=str(ROOT),
                       FOURBYFOUR_JOURNAL_SOCKET=str(tmp_path / "none"))
            env.pop("JOURNAL_STREAM", None)
            if journal:
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            subprocess.run([sys.executable, "-c", LOGS], stderr=err, env=env, check=True,
                           timeout=60)
        lines = f.read_text().splitlines()
        if journal:
            assert lines == ["<4>x: w", "<6>x: i", "<3>x: e"]
        else:
            assert lines == ["WARNING x: w", "INFO x: i", "ERROR x: e"]


def test_a_config_error_under_systemd_is_an_error_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[treadmill]\nmax_speed_kmh = 99\n")
    f = tmp_path / "stderr.txt"
    with open(f, "wb") as err:
        st = os.fstat(err.fileno())
        env = dict(os.environ, PYTHONPATH=str(ROOT), JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
                   FOURBYFOUR_JOURNAL_SOCKET=str(tmp_path / "none"))
        r = subprocess.run([sys.executable, "-m", "controller", "run", "--config", str(cfg)],
                           stderr=err, env=env, timeout=60)
    assert r.returncode == 78
    (line,) = f.read_text().splitlines()
    assert line.startswith("<3>error: ") and "max_speed_kmh" in line
