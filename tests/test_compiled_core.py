"""The hot core compiled by mypyc (issue 23): it runs where it was built from these very
sources, it gives the Python source's numbers to the last bit, an edited source is never
shadowed by an older build, and a machine without a C compiler installs the Python core.

``controller.core.compiled`` decides at import which build runs; ``setup.py`` builds it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from controller.core import compiled

ROOT = Path(__file__).resolve().parents[1]

# every tick's set-points and target of three whole sessions, as exact numbers (repr), with
# the ANT+ halving detector feeding one of them through the heart-rate gate
_TRACE = """
import json, sys
from bench.closed_loop import _ours
from bench.detector import StrapStream
from controller.core import compiled
from controller.protocol import Session
from controller.sim import VirtualPatient, cohort, simulate

out = {"build": compiled.BUILD, "runs": []}
people = cohort(12, seed=2026)
for index, strap in ((0, False), (5, False), (7, True)):
    truth, profile = people[index]
    session = Session(profile, control=_ours(profile))
    if strap:
        stream = StrapStream(session, VirtualPatient(truth), radio="ant", halving_s=20.0)
        trace = simulate(stream.patient, profile, session=stream)
    else:
        trace = simulate(VirtualPatient(truth), profile, session=session)
    out["runs"].append([[repr(r.speed_sp_kmh), repr(r.incline_sp_pct), r.phase, r.state]
                        for r in trace.rows])
print(json.dumps(out))
"""


def _python(code: str, *, env: dict[str, str] | None = None, cwd: Path = ROOT
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def _trace(pure: bool) -> dict[str, object]:
    env = {"FOURBYFOUR_PURE": "1" if pure else "0", "PYTHONPATH": str(ROOT)}
    done = _python(_TRACE, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_core_runs_as_built_from_its_sources() -> None:
    """The install compiled the core (``.ci/needs`` asks for gcc and Python's headers), and
    the package runs that build: the year of sessions takes 8–10 s, not 18."""
    import controller.core.control as control
    import controller.core.hrgate as hrgate
    import controller.core.workload as workload

    assert compiled.BUILD == "compiled", compiled.BUILD
    for module in (control, hrgate, workload):
        assert not str(module.__file__).endswith(".py"), module.__file__


def test_the_compiled_core_gives_the_sources_numbers_to_the_last_bit() -> None:
    built, source = _trace(pure=False), _trace(pure=True)
    assert (built["build"], source["build"]) == ("compiled", "python")
    runs = built["runs"]
    assert isinstance(runs, list) and [len(r) for r in runs] and all(len(r) > 2000 for r in runs)
    assert runs == source["runs"]


def _package_copy(tmp_path: Path, *, with_build: bool) -> Path:
    """The package (sources, and the extensions beside them with ``with_build``) in
    ``tmp_path``, as an installed copy of it is laid out."""
    def skip(folder: str, names: list[str]) -> set[str]:
        dropped = {n for n in names if n == "__pycache__"}
        if not with_build:
            dropped |= {n for n in names if n.endswith(".so")}
        return dropped
    shutil.copytree(ROOT / "controller", tmp_path / "controller", ignore=skip)
    return tmp_path


_WHICH = ("import controller.core.control as c, controller.core.workload as w; "
          "from controller.core import compiled; "
          "print(compiled.BUILD, c.__file__, w.__file__, sep='\\n')")


def test_an_edited_source_runs_as_written_not_as_an_older_build(tmp_path: Path) -> None:
    root = _package_copy(tmp_path, with_build=True)
    env = {"PYTHONPATH": str(root), "FOURBYFOUR_PURE": "0"}
    as_built = _python(_WHICH, env=env, cwd=root)
    assert as_built.returncode == 0, as_built.stderr
    build, control_file, workload_file = as_built.stdout.splitlines()
    assert build == "compiled" and not control_file.endswith(".py") \
        and not workload_file.endswith(".py")

    workload = root / "controller" / "core" / "workload.py"
    workload.write_text(workload.read_text() + "\nEDITED_AFTER_THE_BUILD = True\n")
    edited = _python(_WHICH + "; print(w.EDITED_AFTER_THE_BUILD)", env=env, cwd=root)
    assert edited.returncode == 0, edited.stderr
    build, control_file, workload_file, flag = edited.stdout.splitlines()
    assert build == "python (build is stale)"
    assert control_file.endswith("core/control.py") and workload_file.endswith("workload.py")
    assert flag == "True"


def test_pure_runs_the_source_even_where_the_build_matches(tmp_path: Path) -> None:
    root = _package_copy(tmp_path, with_build=True)
    done = _python(_WHICH, env={"PYTHONPATH": str(root), "FOURBYFOUR_PURE": "1"}, cwd=root)
    assert done.returncode == 0, done.stderr
    build, control_file, _ = done.stdout.splitlines()
    assert build == "python" and control_file.endswith("control.py")


def test_setup_without_a_c_compiler_installs_the_python_core(tmp_path: Path) -> None:
    """``CC=false``: mypyc writes its C, the compiler cannot run, the install goes on and the
    package runs the source (the same numbers, only slower)."""
    root = _package_copy(tmp_path, with_build=False)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, root / name)
    built = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=root,
                           capture_output=True, text=True, timeout=300,
                           env={**os.environ, "CC": "false", "FOURBYFOUR_PURE": "0"})
    assert built.returncode == 0, built.stderr[-3000:]
    core = root / "controller" / "core"
    assert not list(core.glob("*.so")), list(core.glob("*.so"))
    assert "failed" in (built.stdout + built.stderr).lower()
    done = _python(_WHICH, env={"PYTHONPATH": str(root), "FOURBYFOUR_PURE": "0"}, cwd=root)
    assert done.returncode == 0, done.stderr
    build, control_file, _ = done.stdout.splitlines()
    assert build == "python" and control_file.endswith("control.py")


def test_a_build_that_does_not_load_runs_the_source_and_says_so(tmp_path: Path) -> None:
    """A damaged library (a half-copied install, another machine's build): the package
    still imports, runs the source, and a warning in the journal says why."""
    root = _package_copy(tmp_path, with_build=True)
    (lib,) = (root / "controller" / "core").glob("_compiled_*__mypyc*")
    lib.write_bytes(b"not a shared library")
    done = _python(_WHICH, env={"PYTHONPATH": str(root), "FOURBYFOUR_PURE": "0"}, cwd=root)
    assert done.returncode == 0, done.stderr
    build, control_file, workload_file = done.stdout.splitlines()
    assert build == "python (the build does not load)"
    assert control_file.endswith("control.py") and workload_file.endswith("workload.py")
    assert "the compiled core does not load" in done.stderr, done.stderr
