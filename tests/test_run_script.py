"""`./run tests` names what the suite needs beyond .venv, or installs it as root in CI (issue
25): on a fresh machine mosquitto, chromium and PostgreSQL were needed but only .ci/run said so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["mosquitto", "openssl", "postgresql", "chromium", "chromium-driver", "poppler-utils",
            "gcc", "python3-dev"]


def bare_path(tmp_path: Path) -> str:
    """A PATH with only what the scripts themselves use: none of the suite's programs."""
    b = tmp_path / "bin"
    b.mkdir()
    for tool in ("bash", "ls", "id", "cat", "dirname", "touch", "test", "env"):
        exe = shutil.which(tool)
        assert exe, tool
        (b / tool).symlink_to(exe)
    return str(b)


def test_needs_names_every_missing_package(tmp_path: Path) -> None:
    env = {"PATH": bare_path(tmp_path), "NEEDS_ROOT": str(tmp_path / "fresh")}
    out = subprocess.run(["bash", str(ROOT / ".ci" / "needs")], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == PACKAGES


def test_needs_is_quiet_when_all_is_there(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for p in ("usr/sbin/mosquitto", "usr/bin/openssl", "usr/bin/chromium",
              "usr/lib/postgresql/16/bin/initdb", "usr/bin/pdftotext", "usr/bin/gcc",
              "usr/include/python3.11/Python.h"):
        f = root / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("#!/bin/sh\n")
        f.chmod(0o755)
    env = {"PATH": bare_path(tmp_path), "NEEDS_ROOT": str(root)}
    out = subprocess.run(["bash", str(ROOT / ".ci" / "needs")], env=env, capture_output=True,
                         text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, ""), out.stderr


def test_run_tests_stops_and_says_what_is_missing(tmp_path: Path) -> None:
    """The whole suite does not start without them: one clear message, exit 1, before
    anything else (not even .venv) is touched."""
    env = {**os.environ, "PATH": bare_path(tmp_path), "NEEDS_ROOT": str(tmp_path / "fresh"),
           "CI": ""}
    out = subprocess.run([str(ROOT / "run"), "tests"], env=env, capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert "missing here: " + " ".join(PACKAGES) in out.stderr
    assert "apt-get install -y " + " ".join(PACKAGES) in out.stderr
    assert "passed" not in out.stdout
