"""The units are code: systemd-analyze verify must print nothing; security is assessed."""

import os
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


@pytest.mark.parametrize("unit", ["fourbyfour.service", "fourbyfour-console.service",
                                  "fourbyfour-records.service"])
def test_units_verify_without_any_output(unit, tmp_path):
    # the ExecStart binary must exist for verify; stand it in at the same path inside a root
    text = (UNITS / unit).read_text().replace("/opt/fourbyfour/venv/bin/fourbyfour",
                                              "/bin/true")
    (tmp_path / unit).write_text(text)
    r = subprocess.run([analyze(), "verify", "--man=no", str(tmp_path / unit)],
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", out


@pytest.mark.parametrize(("unit", "worst"), [("fourbyfour.service", 5.0),
                                             ("fourbyfour-console.service", 3.0)])
def test_security_offline_assessment_runs(tmp_path, unit, worst):
    text = (UNITS / unit).read_text().replace(
        "/opt/fourbyfour/venv/bin/fourbyfour", "/bin/true")
    (tmp_path / unit).write_text(text)
    r = subprocess.run([analyze(), "security", "--offline=true", "--no-pager",
                        str(tmp_path / unit)], capture_output=True, text=True)
    assert "Overall exposure level" in r.stdout, r.stdout + r.stderr
    level = float(r.stdout.split("Overall exposure level for")[1].split(":")[1].split()[0])
    # the service: "MEDIUM" or better, with the devices it needs; the console needs only a
    # tty and the control socket, so it can be shut in further
    assert level <= worst, r.stdout


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


# -- the serial wiring: one choice, and every file agrees with it --------------------------

ROOT = UNITS.parent
SERIAL0_TARGETS = ("ttyAMA0", "ttyS0")
"""What Raspberry Pi OS's own udev rules point /dev/serial0 at: the PL011 (Pi 5, Zero, or with
Bluetooth off) or the mini UART (Pi 3/4/Zero 2 with Bluetooth on)."""


def unit_values(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1].strip() for line in (UNITS / unit).read_text().splitlines()
            if line.startswith(f"{key}=")]


def allowed(entries: list[str], node: str) -> bool:
    """Does a DeviceAllow= list let the service open /dev/<node> read-write?"""
    for e in entries:
        what, _, mode = e.partition(" ")
        if "r" not in mode or "w" not in mode:
            continue
        if what == f"/dev/{node}":
            return True
        if what.startswith("char-") and node.rstrip("0123456789") == what[5:]:
            return True
    return False


def test_the_serial_wiring_agrees_everywhere():
    import tomllib

    from controller.service.config import TreadmillSettings, load

    port = TreadmillSettings.port
    assert port == "/dev/serial0"  # the Pi's primary GPIO UART, wired to the Pico's UART0
    assert load(None).treadmill.port == port
    example = tomllib.loads((ROOT / "deploy" / "fourbyfour.toml.example").read_text())
    assert example["treadmill"]["port"] == port
    # the unit lets the service open whatever serial0 points at (and nothing of the Pico's USB)
    allow = unit_values("fourbyfour.service", "DeviceAllow")
    for node in SERIAL0_TARGETS:
        assert allowed(allow, node), f"DeviceAllow= blocks /dev/{node}: {allow}"
    assert not allowed(allow, "ttyACM0"), "the Pico's USB port is its REPL, not our link"
    # our udev rules do not point a treadmill name at the Pico's USB REPL
    rules = [r for r in (UNITS / "99-fourbyfour.rules").read_text().splitlines()
             if r.strip() and not r.lstrip().startswith("#")]
    assert not [r for r in rules if "2e8a" in r and "SYMLINK" in r], rules
    assert not [r for r in rules if "fourbyfour-treadmill" in r], rules
    # the installer makes sure the UART is on and its login console off
    install = (ROOT / "deploy" / "install.sh").read_text()
    assert "check-uart.sh" in install
    # the wiring README says the same
    readme = (ROOT / "firmware" / "README.md").read_text()
    wiring = readme.split("## Wiring", 1)[1].split("\n## ", 1)[0]
    assert "/dev/serial0" in wiring and "UART0" in wiring and "enable_uart=1" in wiring


def _boot(tmp_path, config: str, cmdline: str):
    d = tmp_path / "boot"
    d.mkdir(exist_ok=True)
    (d / "config.txt").write_text(config)
    (d / "cmdline.txt").write_text(cmdline)
    return d


CHECK_UART = ROOT / "deploy" / "check-uart.sh"
STOCK_CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 "
                 "fsck.repair=yes rootwait\n")


def test_check_uart_refuses_a_stock_pi_and_fixes_it(tmp_path):
    boot = _boot(tmp_path, "dtparam=audio=on\n#enable_uart=1\n[all]\n", STOCK_CMDLINE)
    r = subprocess.run(["bash", str(CHECK_UART), str(boot)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "enable_uart=1" in r.stdout and "console=serial0" in r.stdout
    r = subprocess.run(["bash", str(CHECK_UART), str(boot), "--fix"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "reboot" in r.stdout, r.stdout + r.stderr
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline == ("console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes "
                       "rootwait\n")  # one line, only the serial console gone
    assert (boot / "config.txt").read_text().splitlines()[-1] == "enable_uart=1"
    r = subprocess.run(["bash", str(CHECK_UART), str(boot)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout


@pytest.mark.parametrize(("config", "cmdline", "problem"), [
    ("enable_uart=1\nenable_uart=0\n", "root=/dev/sda2 rootwait\n", "enable_uart=1"),
    ("enable_uart=1\n", "console=ttyS0,115200 root=/dev/sda2\n", "console=ttyS0"),
    ("enable_uart=1\n", "console=ttyAMA0,115200 root=/dev/sda2\n", "console=ttyAMA0"),
    # a conditional section applies to one model only: the Pi may be another
    ("[cm4]\nenable_uart=1\n", "root=/dev/sda2\n", "enable_uart=1"),
    ("[pi4]\nenable_uart=1\n[all]\ndtparam=audio=on\n", "root=/dev/sda2\n", "enable_uart=1"),
    ("enable_uart=1\n[cm4]\nenable_uart=0\n", "root=/dev/sda2\n", "enable_uart=1"),
])
def test_check_uart_finds_each_problem(tmp_path, config, cmdline, problem):
    boot = _boot(tmp_path, config, cmdline)
    r = subprocess.run(["bash", str(CHECK_UART), str(boot)], capture_output=True, text=True)
    assert r.returncode == 1 and problem in r.stdout, r.stdout


@pytest.mark.parametrize("config", ["enable_uart=1\n[cm4]\notg_mode=1\n",
                                    "[cm4]\notg_mode=1\n[all]\nenable_uart=1\n",
                                    "[pi4]\nenable_uart=0\n[all]\nenable_uart=1\n"])
def test_check_uart_counts_only_what_applies_to_every_pi(tmp_path, config):
    boot = _boot(tmp_path, config, "root=/dev/sda2\n")
    r = subprocess.run(["bash", str(CHECK_UART), str(boot)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout


def test_check_uart_fixes_a_uart_enabled_only_for_cm4(tmp_path):
    boot = _boot(tmp_path, "[cm4]\nenable_uart=1\n", "root=/dev/sda2\n")
    r = subprocess.run(["bash", str(CHECK_UART), str(boot), "--fix"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["bash", str(CHECK_UART), str(boot)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout


def _stubbed_install(tmp_path, *args, fail_on=""):
    """Run install.sh into a scratch root with systemctl, apt-get, udevadm … stubbed: each
    stub logs its arguments (and fails on ``fail_on``, which ends the script there)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    for name in ("systemctl", "apt-get", "udevadm", "useradd", "usermod"):
        (bin_dir / name).write_text(
            f'#!/bin/sh\necho "{name} $*" >> "{log}"\n'
            + (f'case "$*" in *"{fail_on}"*) exit 42;; esac\n' if fail_on else "") + "exit 0\n")
        (bin_dir / name).chmod(0o755)
    root = tmp_path / "root"
    boot = root / "boot" / "firmware"  # Raspberry Pi OS bookworm's place
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text("enable_uart=1\n")
    (boot / "cmdline.txt").write_text("console=tty1 root=/dev/sda2\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "FOURBYFOUR_ROOT": str(root)}
    r = subprocess.run(["bash", str(ROOT / "deploy" / "install.sh"), *args], env=env,
                       capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return r, calls


def test_install_updates_the_package_lists_before_installing(tmp_path):
    _r, calls = _stubbed_install(tmp_path, fail_on="install")
    apt = [c for c in calls if c.startswith("apt-get")]
    assert apt and apt[0].startswith("apt-get update"), calls
    assert any(c.startswith("apt-get install") for c in apt[1:]), calls


def test_uninstall_brings_the_login_on_tty1_back(tmp_path):
    r, calls = _stubbed_install(tmp_path, "--uninstall")
    assert r.returncode == 0, r.stderr
    off = next(i for i, c in enumerate(calls) if "disable" in c and "fourbyfour-console" in c)
    back = [i for i, c in enumerate(calls) if c.startswith("systemctl enable")
            and "getty@tty1.service" in c and "--now" in c]
    assert back and back[0] > off, calls


def test_the_unit_gives_gpio_a_writable_working_directory():
    """lgpio writes its notification pipes into the working directory: '/' is read-only
    under ProtectSystem=strict, so the unit starts the service in its runtime directory."""
    (runtime,) = unit_values("fourbyfour.service", "RuntimeDirectory")
    (cwd,) = unit_values("fourbyfour.service", "WorkingDirectory")
    assert cwd == f"/run/{runtime}"
    env = " ".join(unit_values("fourbyfour.service", "Environment"))
    assert f"LG_WD=/run/{runtime}" in env


def test_a_config_error_is_not_restarted_and_a_controlled_stop_has_time():
    from controller.app.cli import EX_CONFIG
    from controller.service.service import SHUTDOWN_BOUND_S

    prevent = " ".join(unit_values("fourbyfour.service", "RestartPreventExitStatus")).split()
    assert str(EX_CONFIG) in prevent
    (stop,) = unit_values("fourbyfour.service", "TimeoutStopSec")
    assert float(stop) > SHUTDOWN_BOUND_S + 10
    # SIGTERM to the main process only: it stops the session itself, workers included
    assert unit_values("fourbyfour.service", "KillMode") == ["mixed"]
    # the watchdog watches the process; it must outlast a paused session's quiet link
    (wd,) = unit_values("fourbyfour.service", "WatchdogSec")
    assert float(wd) >= 10


def test_the_watchdog_ping_follows_the_tick_not_the_link(tmp_path, monkeypatch):
    """The ping task asks one thing: did the session tick lately (or is none ticking)?"""
    import asyncio
    from types import SimpleNamespace

    from controller.service.service import _health_pings

    path = str(tmp_path / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms
    now = [100.0]
    rt = SimpleNamespace(started=True, done=False, tick_s=1.0, clock=lambda: now[0],
                         snapshot=SimpleNamespace(setpoint=SimpleNamespace(now_s=99.0)))

    def pings() -> int:
        n = 0
        while True:
            try:
                n += srv.recv(100) == b"WATCHDOG=1"
            except BlockingIOError:
                return n

    async def main():
        task = asyncio.create_task(_health_pings(lambda: rt, Notifier())())
        await asyncio.sleep(0.3)
        ticking = pings()
        now[0] = 120.0  # the tick is stuck for 21 s: the loop is not healthy
        await asyncio.sleep(0.1)
        pings()
        await asyncio.sleep(0.3)
        stuck = pings()
        task.cancel()
        return ticking, stuck

    ticking, stuck = asyncio.run(main())
    srv.close()
    assert ticking >= 3 and stuck == 0


def test_the_records_service_is_restarted_when_it_ends(tmp_path):
    """issue 24.3: nothing restarted the records server; its unit starts the real command."""
    assert unit_values("fourbyfour-records.service", "Restart") == ["on-failure"]
    (start,) = unit_values("fourbyfour-records.service", "ExecStart")
    assert " records-server " in start + " "
    text = (UNITS / "fourbyfour-records.service").read_text().replace(
        "/opt/fourbyfour/venv/bin/fourbyfour", "/bin/true")
    (tmp_path / "fourbyfour-records.service").write_text(text)
    r = subprocess.run([analyze(), "security", "--offline=true", "--no-pager",
                        str(tmp_path / "fourbyfour-records.service")], capture_output=True,
                       text=True)
    level = float(r.stdout.split("Overall exposure level for")[1].split(":")[1].split()[0])
    assert level <= 5.0
