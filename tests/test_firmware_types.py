"""The firmware type-checked against MicroPython's own stubs for the Pico (RP2040).

The firmware runs on MicroPython, whose ``time``, ``machine`` and ``struct`` are not
CPython's: ``time.sleep_ms`` and ``machine.reset_cause`` exist only there, and a name CPython
has may take other arguments. So mypy checks ``firmware/*.py`` here with the board's stubs
(``micropython-rp2-rpi_pico-stubs``, in the test extra) as the only library and MicroPython's
reduced stdlib (``micropython-stdlib-stubs``) as the typeshed, bodies of unannotated
functions included (the firmware has no annotations). 0 errors, kept so.

The stubs' own faults (a few in ``machine.pyi``) are theirs: silenced, as mypy silences an
installed package's."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
BOARD_STUBS = "micropython-rp2-rpi_pico-stubs"
STDLIB_STUBS = "micropython-stdlib-stubs"


def _top_level(dist_name: str) -> dict[str, Path]:
    """The distribution's top-level stub modules and packages: name → installed path."""
    dist = importlib.metadata.distribution(dist_name)
    found: dict[str, Path] = {}
    for f in dist.files or ():
        first = f.parts[0]
        if first.endswith(".pyi") or (len(f.parts) > 1 and f.name.endswith(".pyi")
                                      and ".dist-info" not in first):
            found[first.removesuffix(".pyi")] = Path(str(dist.locate_file(first)))
    return found


def check_firmware(work: Path, files: dict[str, str] | None = None) -> tuple[int, str]:
    """mypy over the firmware (``files`` replaces some of them by name); (exit code, output).
    Everything is laid out in ``work``: a typeshed of MicroPython's stdlib, the board's stubs
    on the search path, a copy of the firmware as top-level modules (as on the Pico)."""
    typeshed, board, src = work / "typeshed", work / "board", work / "src"
    for d in (typeshed, board, src):
        d.mkdir(parents=True)
    stdlib = _top_level(STDLIB_STUBS)
    for name in ("stdlib", "stubs"):
        (typeshed / name).symlink_to(stdlib[name], target_is_directory=True)
    stub_modules = {**_top_level(BOARD_STUBS), "_mpy_shed": stdlib["_mpy_shed"]}
    for path in stub_modules.values():
        (board / path.name).symlink_to(path)
    names = []
    for f in sorted(FIRMWARE.glob("*.py")):
        if f.name != "__init__.py":
            shutil.copy(f, src / f.name)
            names.append(f.name)
    for name, text in (files or {}).items():
        (src / name).write_text(text)
    silenced = ",".join(sorted(f"{m},{m}.*" for m in stub_modules))
    cfg = work / "mypy.ini"
    cfg.write_text(f"[mypy]\ncustom_typeshed_dir = {typeshed}\nmypy_path = {board}\n"
                   f"check_untyped_defs = True\ncache_dir = {work / 'cache'}\n"
                   f"[mypy-{silenced}]\nignore_errors = True\n")
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    p = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(cfg), *names],
                       cwd=src, capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout + p.stderr


def test_the_firmware_type_checks_against_the_rp2_stubs_with_no_error(tmp_path):
    rc, out = check_firmware(tmp_path)
    assert rc == 0 and "Success: no issues found in" in out, out


def test_a_call_the_pico_would_refuse_is_caught(tmp_path):
    """The check sees MicroPython's API, not CPython's: ``time.sleep_ms`` exists only on
    MicroPython (so the stubs are in use), and takes an int."""
    main = (FIRMWARE / "main.py").read_text()
    assert "time.sleep_ms(2)" in main and "machine.WDT_RESET" in main
    broken = main.replace("time.sleep_ms(2)", 'time.sleep_ms("2")')
    broken = broken.replace("machine.WDT_RESET", "machine.WDT_RESETS")
    rc, out = check_firmware(tmp_path, {"main.py": broken})
    assert rc == 1, out
    assert re.search(r'main\.py:\d+: error: Argument 1 to "sleep_ms" has incompatible type '
                     r'"str"; expected "int"', out), out
    assert re.search(r'main\.py:\d+: error: Module has no attribute "WDT_RESETS"', out), out
    assert "Found 2 errors in 1 file" in out, out
