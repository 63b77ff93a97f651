"""One exception hierarchy and one exit-code table for every command (issue 25).

The CLI runs as a subprocess, as systemd and a shell run it: the same config error gives the
same exit code (78, EX_CONFIG: the unit does not restart on it) whatever the command; a
treadmill link that is down exits 69 (EX_UNAVAILABLE: systemd restarts, the port may come
back), never 2 like a usage error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def fourbyfour(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "controller", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def bad_config(tmp_path: Path) -> str:
    p = tmp_path / "bad.toml"
    p.write_text("[mqtt]\nport = \"eighty\"\n")
    return str(p)


@pytest.mark.parametrize("argv", [
    ["run", "--config", "{cfg}"],
    ["demo", "--headless", "--config", "{cfg}"],
    ["demo", "--config", "{cfg}"],
    ["demo", "--fast", "--config", "{cfg}"],
    ["demo", "--plan", "six-minute-test", "--config", "{cfg}"],
    ["monitor", "--config", "{cfg}", "--headless"],
    ["records-server", "--config", "{cfg}"],
    ["command", "stop", "--site", "s", "--device", "d", "--key-file", "/nonexistent",
     "--config", "{cfg}"],
], ids=lambda a: "-".join(w for w in a if w not in ("--config", "{cfg}")))
def test_every_command_exits_78_for_a_config_error(tmp_path: Path, argv: list[str]) -> None:
    cfg = bad_config(tmp_path)
    out = fourbyfour(*(a.format(cfg=cfg) for a in argv), cwd=tmp_path)
    assert out.returncode == 78, (out.returncode, out.stderr)
    assert "port" in out.stderr and "Traceback" not in out.stderr


def test_a_missing_config_file_is_a_config_error_too(tmp_path: Path) -> None:
    out = fourbyfour("run", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert out.returncode == 78, out.stderr


def test_link_down_exits_unavailable_not_usage(tmp_path: Path) -> None:
    cfg = tmp_path / "link.toml"
    cfg.write_text(f"[treadmill]\nport = \"{tmp_path / 'no-such-tty'}\"\n"
                   "[heart_rate]\nsource = \"ant\"\n")
    out = fourbyfour("run", "--config", str(cfg), cwd=tmp_path)
    assert out.returncode == 69, (out.returncode, out.stderr[-2000:])
    assert "no-such-tty" in out.stderr


def test_usage_error_is_2_and_version_is_shown(tmp_path: Path) -> None:
    assert fourbyfour("run", cwd=tmp_path).returncode == 2
    out = fourbyfour("--version", cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith("fourbyfour ") and out.stdout.strip().split()[-1][0].isdigit()


def test_every_error_is_ours_and_a_builtin() -> None:
    from controller import errors
    from controller.core.plan import PlanError
    from controller.net.remote import CommandError
    from controller.net.tls import TlsConfigError
    from controller.protocol import ProfileError, SessionError
    from controller.records.store import StoreError
    from controller.service.config import ConfigError
    from controller.treadmill import CommandRefused, LinkDown, TreadmillError

    for cls, builtin, code in (
            (ConfigError, ValueError, 78), (TlsConfigError, ValueError, 78),
            (LinkDown, ConnectionError, 69), (TreadmillError, RuntimeError, 1),
            (CommandRefused, RuntimeError, 1), (ProfileError, ValueError, 65),
            (PlanError, ValueError, 65), (SessionError, RuntimeError, 1),
            (CommandError, ValueError, 65), (StoreError, RuntimeError, 1)):
        assert issubclass(cls, errors.FourByFourError), cls
        assert issubclass(cls, builtin), cls
        assert errors.exit_code(cls) == code, cls
