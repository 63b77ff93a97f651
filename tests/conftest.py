"""A real mosquitto broker on a free port, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def clinic_today():  # -> datetime.date
    """Today in the clinic (Europe/Oslo), as the product dates what people see: the machine's
    own date (UTC here) is yesterday's from 00:00 to 01:00 Oslo time (a full run at 23:05 UTC
    failed four tests on it)."""
    from controller.core.dates import local_day

    return local_day(time.time())


def earlier_this_week(now_s: float, ago_s: float) -> float:
    """``now_s − ago_s``, or just after the clinic's week began (Monday 00:00 Oslo) when that
    falls in last week: a test of "this week" run early on a Monday counted last week's."""
    import datetime as dt

    from controller.core.dates import day_start_unix_s, local_day

    day = local_day(now_s)
    week_start_s = day_start_unix_s(day - dt.timedelta(days=day.weekday()))
    return max(now_s - ago_s, min(week_start_s + 1.0, now_s - 1.0))


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` for a program a test sends Ctrl-C (SIGINT): it starts with SIGINT's
    default, as a command typed at a terminal does. A process started in the background by a
    shell without job control (``nohup … &``, a CI runner's script) ignores SIGINT and its
    children inherit that: the early Ctrl-C tests then waited 120 s for a demo that never
    heard the signal (the lead's own full runs, started that way)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
"""Rows the drills of this process added (a pytest-xdist worker, or the only process)."""
_MATRIX_SHOWN: list[tuple[str, str, str, str]] = []
"""Rows every process reported, gathered where the terminal summary is written."""


def pytest_runtest_setup(item):
    """A test that patches the core's objects needs its Python source: with the compiled
    build loaded it says how to run it instead of failing on a read-only attribute."""
    from controller.core import compiled

    if item.get_closest_marker("pure_core") is not None and compiled.BUILD == "compiled":
        pytest.skip("patches the core's Python objects: FOURBYFOUR_PURE=1 runs it on the "
                    "source (./run tests does)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A drill's rows travel with its report: under pytest-xdist the drills run in worker
    processes, and only the reports reach the process that prints the summary."""
    outcome = yield
    report = outcome.get_result()
    # a new list: the report shares item.user_properties with the later phases
    report.user_properties = [*report.user_properties,
                              *(("fault_matrix", row) for row in FAULT_MATRIX)]
    FAULT_MATRIX.clear()


def pytest_runtest_logreport(report):
    _MATRIX_SHOWN.extend(tuple(v) for k, v in report.user_properties if k == "fault_matrix")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The fault drills' matrix: fault, expected, observed."""
    if not _MATRIX_SHOWN:
        return
    tr = terminalreporter
    tr.section("fault matrix")
    for fault, expected, observed, verdict in _MATRIX_SHOWN:
        tr.write_line(f"[{verdict}] {fault}")
        tr.write_line(f"    expected: {expected}")
        tr.write_line(f"    observed: {observed}")


class Pki:
    """A clinic CA, a server certificate for localhost and client certificates, made with
    openssl for one test."""

    def __init__(self, d: Path) -> None:
        self.d = d
        d.mkdir(parents=True, exist_ok=True)
        self._run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                  "ca.key", "-out", "ca.crt", "-subj", "/CN=fourbyfour test CA")
        self.ca = d / "ca.crt"
        self.server_crt, self.server_key = self.cert("localhost", server=True)

    def _run(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.d)

    def cert(self, cn: str, server: bool = False) -> tuple[Path, Path]:
        name = cn.replace("/", "_")
        if (self.d / f"{name}.crt").exists():
            return self.d / f"{name}.crt", self.d / f"{name}.key"
        subject = "/CN=" + cn.replace("/", "\\/")
        self._run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                  f"{name}.csr", "-subj", subject)
        ext = self.d / f"{name}.cnf"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n" if server else
                       "extendedKeyUsage=clientAuth\n")
        self._run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", str(ext))
        return self.d / f"{name}.crt", self.d / f"{name}.key"


@pytest.fixture
def mtls_broker(tmp_path):
    """mosquitto that requires a client certificate from the clinic CA (the CN is the user
    name) and applies systemd/mosquitto-acl.example."""
    pki = Pki(tmp_path / "pki")
    acl = Path(__file__).resolve().parent.parent / "systemd" / "mosquitto-acl.example"
    d = tmp_path / "mtls"
    d.mkdir()
    b = Broker(d, f"cafile {pki.ca}\ncertfile {pki.server_crt}\nkeyfile {pki.server_key}\n"
                  "require_certificate true\nuse_identity_as_username true\n"
                  f"allow_anonymous false\nacl_file {acl}\n")
    b.pki = pki  # type: ignore[attr-defined]
    b.start()
    yield b
    b.stop()


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language():
    """A command run in-process (``main([...])``) speaks its --lang for the rest of the
    process, as a CLI process should; a test that follows must not inherit it."""
    from controller.core.i18n import DEFAULT_LANGUAGE, set_language

    set_language(DEFAULT_LANGUAGE)
    yield
    set_language(DEFAULT_LANGUAGE)


@pytest.fixture
def service_nice():
    """This test's host (the treadmill link, and an in-process board) at the control
    service's priority, as systemd/fourbyfour.service (``Nice=-5``) and the demo run it:
    at nice 0 beside a loaded machine's other programs the heartbeat thread waited over the
    firmware's 500 ms for a CPU, and the board rightly latched ``host_silent`` — a host no
    clinic runs. Threads started in the test inherit it; restored after (where not allowed,
    the test runs as it is)."""
    from controller.app.demo import SERVICE_NICE

    before = os.getpriority(os.PRIO_PROCESS, 0)
    with contextlib.suppress(OSError):
        if before > SERVICE_NICE:
            os.setpriority(os.PRIO_PROCESS, 0, SERVICE_NICE)
    yield
    os.setpriority(os.PRIO_PROCESS, 0, before)


def run_as_service(pid: int) -> None:
    """A `fourbyfour run` subprocess at the priority its unit gives it (``Nice=-5``), set
    before it starts its threads (they inherit it); where not allowed, as it is."""
    from controller.app.demo import SERVICE_NICE

    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, SERVICE_NICE)
