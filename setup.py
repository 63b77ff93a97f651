"""Compiles the hot core with mypyc where this machine can (issue 23); pyproject.toml holds
everything else.

The control law, the heart-rate gate and the workload model (``controller.core.compiled``
names them) run every tick. Built as C extensions they take a year of simulated sessions from
about 18 s to 8–10 s. The build is optional: without a C compiler, Python's headers or mypy, the
package installs as pure Python and runs the same numbers, only slower. The extensions are
named for the sources' digest, so the package loads them only while they match the sources.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
CORE = HERE / "controller" / "core"


def _compiled_rules() -> ModuleType:
    """``controller/core/compiled.py`` loaded by its path (the package is not importable
    while it is being built)."""
    spec = importlib.util.spec_from_file_location("_fourbyfour_compiled", CORE / "compiled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _extensions() -> list[Extension]:
    rules = _compiled_rules()
    if rules.pure_requested():
        return []
    digest = rules.sources_digest(CORE)
    for old in CORE.glob("_compiled_*__mypyc*"):  # earlier builds' libraries, in place
        if not old.name.startswith(f"_compiled_{digest}__mypyc"):
            old.unlink()
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("fourbyfour: mypyc is not installed; the core runs as Python", file=sys.stderr)
        return []
    sources = [f"controller/core/{name}.py" for name in rules.MODULES]
    try:  # (pip runs this in the project's folder: the paths are relative to it)
        extensions = mypycify(["--no-warn-unused-configs", *sources],
                              group_name=rules.group_name(digest), opt_level="3")
    except (Exception, SystemExit) as e:  # mypy's errors end in SystemExit
        print(f"fourbyfour: mypyc could not compile the core ({e!r}); it runs as Python",
              file=sys.stderr)
        return []
    for ext in extensions:
        # no C compiler or headers: a warning, and the pure-Python package
        ext.optional = True
        # a * b + c stays two roundings on every CPU (an ARM's fused multiply-add would
        # change the last bit of the law's sums): the same numbers as the Python source
        ext.extra_compile_args = [*ext.extra_compile_args, "-ffp-contract=off"]
    return extensions


setup(ext_modules=_extensions())
