"""The firmware's modules load under private names: a researcher's own ``app.py`` or
``main.py`` is never replaced by the firmware's (issue 25)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_own_app_and_main_are_not_shadowed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("WHO = 'researcher app'\n")
    (tmp_path / "main.py").write_text("WHO = 'researcher main'\n")
    (tmp_path / "supervisor.py").write_text("WHO = 'researcher supervisor'\n")
    script = textwrap.dedent("""
        import sys
        import controller.treadmill
        import controller.devices.emulator as emu
        import app, main, supervisor
        print(app.WHO, main.WHO, supervisor.WHO, sep='|')
        fw = [p for p in sys.path if p.rstrip('/').endswith('firmware')]
        print('firmware on sys.path:', fw)
        print(emu.supervisor.__name__, emu.fw_app.Firmware.__name__)
        print(emu.supervisor.Config().host_timeout_ms)
        print(sorted(m for m in ('linkcodec', 'supervisor', 'simboard', 'pulses', 'simpico')
                     if m in sys.modules
                     and '/firmware/' in (getattr(sys.modules[m], '__file__', '') or '')))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env={"PYTHONPATH": str(ROOT),
                                                     "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "researcher app|researcher main|researcher supervisor"
    assert lines[1] == "firmware on sys.path: []"
    assert lines[2].startswith("controller._firmware.") and lines[2].endswith(" Firmware")
    assert lines[3] == "500"
    assert lines[4] == "[]", "the firmware's bare names must not stay in sys.modules"


def test_one_codec_module_serves_everyone() -> None:
    from controller import treadmill
    from controller.core import fwpath
    from controller.devices import emulator

    assert treadmill.lc is fwpath.linkcodec
    assert emulator.supervisor.lc is fwpath.linkcodec
    assert emulator.fw_app.lc is fwpath.linkcodec
    assert fwpath.load("supervisor") is emulator.supervisor
