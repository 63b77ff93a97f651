"""A real mosquitto broker on a free port, started and stopped by the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, workdir: Path, extra_conf: str = "", port: int | None = None) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            pytest.fail("mosquitto is not installed: apt-get install -y mosquitto "
                        "(.ci/run installs it)")
        self.exe = exe
        self.port = port or free_port()
        self.conf = workdir / "mosquitto.conf"
        (workdir / "data").mkdir(exist_ok=True)
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"persistence true\npersistence_location {workdir / 'data'}/\n"
            "autosave_interval 1\n"
            # as root, mosquitto would switch to the 'mosquitto' user and lose our files
            + ("user root\n" if os.geteuid() == 0 else "")
            + (extra_conf or "allow_anonymous true\n")
        )
        self.log = workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def make_broker(tmp_path):
    made = []

    def make(extra_conf: str = "") -> Broker:
        d = tmp_path / f"b{len(made)}"
        d.mkdir()
        b = Broker(d, extra_conf)
        made.append(b)
        b.start()
        return b

    yield make
    for b in made:
        b.stop()


FAULT_MATRIX: list[tuple[str, str, str, str]] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The fault drills' matrix: fault, expected, observed."""
    if not FAULT_MATRIX:
        return
    tr = terminalreporter
    tr.section("fault matrix")
    for fault, expected, observed, verdict in FAULT_MATRIX:
        tr.write_line(f"[{verdict}] {fault}")
        tr.write_line(f"    expected: {expected}")
        tr.write_line(f"    observed: {observed}")
