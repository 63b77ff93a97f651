"""The firmware's portable modules, loaded by file so the host can run them unchanged.

The frame codec (``linkcodec``) is one file shared by the firmware and the host; the
firmware imports its modules by their bare names (as on the Pico's flat filesystem:
``import linkcodec as lc``). Putting ``firmware/`` on ``sys.path`` would let its ``app.py``
and ``main.py`` replace a researcher's own (issue 25), so each module is loaded from its file
under a private name (``controller._firmware.<name>``). While one executes, the bare names of
the firmware modules it imports are lent to ``sys.modules`` and taken back afterwards: the
firmware's code runs as written and nothing outside this loader sees the bare names. One
module object per file then serves the client, the emulator and the tests.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

import firmware

FIRMWARE_DIR = Path(firmware.__file__).resolve().parent
PREFIX = "controller._firmware."

_DEPENDS = {
    "linkcodec": (),
    "pulses": (),
    "simpico": (),
    "supervisor": ("linkcodec",),
    "app": ("linkcodec", "supervisor"),
    "simboard": ("pulses", "simpico", "supervisor"),
}
"""Each portable module and the firmware modules it imports by bare name (``hal``,
``main`` and ``bootmode`` need the Pico's ``machine`` and are not loaded on the host)."""

_lock = threading.RLock()


def load(name: str) -> ModuleType:
    """The firmware module ``name`` (``linkcodec``, ``supervisor``, ``app``, ``simboard``…)."""
    if name not in _DEPENDS:
        raise ValueError(f"no portable firmware module {name!r}: {sorted(_DEPENDS)}")
    private = PREFIX + name
    with _lock:
        module = sys.modules.get(private)
        if module is not None:
            return module
        deps = {dep: load(dep) for dep in _DEPENDS[name]}
        spec = importlib.util.spec_from_file_location(private, FIRMWARE_DIR / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        lent = {dep: sys.modules.get(dep) for dep in deps}
        sys.modules[private] = module
        try:
            sys.modules.update(deps)
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[private]
            raise
        finally:
            for dep, before in lent.items():
                if before is None:
                    sys.modules.pop(dep, None)
                else:
                    sys.modules[dep] = before
        return module


linkcodec = load("linkcodec")


__all__ = ["FIRMWARE_DIR", "linkcodec", "load"]
