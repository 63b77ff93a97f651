"""Which build of the hot core runs: the C extensions mypyc built from these very sources, or
the Python source (issue 23).

The control law, the heart-rate gate and the workload model run every tick; a year of one
patient's sessions is 200,000 ticks of them. ``setup.py`` compiles the three modules with
mypyc where the machine has a C compiler, into extensions beside the sources. The Python
source stays the reference: the compiled modules are loaded only when they were built from
exactly these sources (their shared library is named for the sources' digest), so an edited
source is never shadowed by an older build. ``FOURBYFOUR_PURE=1`` runs the source even when a
build matches (the tests that patch the core's objects, and anyone reading it with a debugger).

This module is loaded by ``setup.py`` by its path, before the package is importable: it
imports nothing from the package.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

MODULES = ("control", "hrgate", "workload")
"""The modules compiled, in the order their sources enter the digest."""
PURE_ENV = "FOURBYFOUR_PURE"
"""Set to 1: the Python source runs even where a matching build is present."""
_PACKAGE = "controller.core"


def pure_requested() -> bool:
    """Whether ``FOURBYFOUR_PURE`` asks for the Python source (any value but empty or 0):
    the package then loads no build, and ``setup.py`` builds none."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def sources_digest(core_dir: Path) -> str:
    """16 hex digits of the SHA-256 of the compiled modules' sources, concatenated in
    ``MODULES`` order (``./run`` computes the same with ``cat … | sha256sum``)."""
    h = hashlib.sha256()
    for name in MODULES:
        h.update((core_dir / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


def group_name(digest: str) -> str:
    """The mypyc group of a build of sources with ``digest``: its shared library is
    ``controller/core/_compiled_<digest>__mypyc`` + the extension suffix."""
    return f"{_PACKAGE}._compiled_{digest}"


def built_for(core_dir: Path, digest: str) -> bool:
    """Whether the extensions beside the sources were built from sources with ``digest``."""
    lib = group_name(digest).rpartition(".")[2] + "__mypyc"
    return any((core_dir / f"{lib}{suffix}").is_file()
               and (core_dir / f"{MODULES[0]}{suffix}").is_file()
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' Python sources before the extensions beside them."""

    def __init__(self, core_dir: Path) -> None:
        self._paths = {f"{_PACKAGE}.{name}": core_dir / f"{name}.py" for name in MODULES}

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        source = self._paths.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


BUILD = "python"
"""What runs: ``"compiled"``, ``"python"`` (no build here, or ``FOURBYFOUR_PURE``),
``"python (build is stale)"`` (the sources changed since ``setup.py`` built them) or
``"python (the build does not load)"`` (its library is damaged or not for this Python)."""


def choose(core_dir: Path) -> str:
    """Decide, before any of ``MODULES`` is imported, which build they load; returns it
    (``BUILD``). Called once, by ``controller.core``."""
    global BUILD
    present = any((core_dir / f"{MODULES[0]}{suffix}").is_file()
                  for suffix in importlib.machinery.EXTENSION_SUFFIXES)
    if not present:
        BUILD = "python"
        return BUILD
    if pure_requested():
        BUILD = "python"
    elif built_for(core_dir, digest := sources_digest(core_dir)):
        try:  # a damaged or foreign library: the source runs, and the journal says why
            importlib.import_module(group_name(digest) + "__mypyc")
        except ImportError as e:
            BUILD = "python (the build does not load)"
            warnings.warn(f"fourbyfour: the compiled core does not load ({e}); the Python "
                          "source runs (the same numbers, slower)", RuntimeWarning,
                          stacklevel=2)
        else:
            BUILD = "compiled"
            return BUILD
    else:
        BUILD = "python (build is stale)"
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(core_dir))
    return BUILD
