"""Where the firmware's portable modules live, so the host can run them unchanged.

The frame codec (``linkcodec``) is one file shared by the firmware and the host; the
firmware imports its modules by their bare names (as on the Pico's flat filesystem), so the
host puts the firmware folder on ``sys.path`` and imports them the same way. One module
object then serves the client, the emulator and the tests.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import firmware

FIRMWARE_DIR = Path(firmware.__file__).resolve().parent

if str(FIRMWARE_DIR) not in sys.path:
    sys.path.insert(0, str(FIRMWARE_DIR))



def load(name: str) -> ModuleType:
    """Import a firmware module (``app``, ``supervisor``, ``simboard``) by its bare name."""
    return importlib.import_module(name)


linkcodec = load("linkcodec")


__all__ = ["FIRMWARE_DIR", "linkcodec", "load"]
