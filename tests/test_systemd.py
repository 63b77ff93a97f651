"""The units are code: systemd-analyze verify must print nothing; security is assessed."""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from controller.service.sdnotify import Notifier, watchdog_interval_s

UNITS = Path(__file__).resolve().parent.parent / "systemd"


def analyze():
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze missing: apt-get install -y systemd")
    return exe


@pytest.mark.parametrize("unit", ["fourbyfour.service", "fourbyfour-console.service"])
def test_units_verify_without_any_output(unit, tmp_path):
    # the ExecStart binary must exist for verify; stand it in at the same path inside a root
    text = (UNITS / unit).read_text().replace("/opt/fourbyfour/venv/bin/fourbyfour",
                                              "/bin/true")
    (tmp_path / unit).write_text(text)
    r = subprocess.run([analyze(), "verify", "--man=no", str(tmp_path / unit)],
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", out


def test_security_offline_assessment_runs(tmp_path):
    text = (UNITS / "fourbyfour.service").read_text().replace(
        "/opt/fourbyfour/venv/bin/fourbyfour", "/bin/true")
    (tmp_path / "fourbyfour.service").write_text(text)
    r = subprocess.run([analyze(), "security", "--offline=true", "--no-pager",
                        str(tmp_path / "fourbyfour.service")], capture_output=True, text=True)
    assert "Overall exposure level" in r.stdout, r.stdout + r.stderr
    level = float(r.stdout.split("Overall exposure level for")[1].split(":")[1].split()[0])
    assert level <= 5.0  # "MEDIUM" or better, with the devices the service needs


def test_sd_notify_writer_speaks_the_protocol(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    n = Notifier()
    assert n.ready("waiting for a patient")
    assert srv.recv(100) == b"READY=1\nSTATUS=waiting for a patient"
    assert n.watchdog()
    assert srv.recv(100) == b"WATCHDOG=1"
    assert watchdog_interval_s() == 5.0
    srv.close()
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not Notifier().enabled and not Notifier().watchdog()


def test_install_script_parses_and_refuses_without_root(tmp_path):
    script = UNITS.parent / "deploy" / "install.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # as 'nobody', fed on stdin: the checkout may sit in a directory nobody cannot read
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "bash", "-s"], input=script.read_text(), capture_output=True,
                       text=True, cwd="/")
    assert r.returncode == 1 and "run as root" in r.stderr
