"""The layers of the package, checked from the source: imports only run downwards.

errors ← core ← protocol/hr/treadmill/sim ← devices | net | records ← service ← app. A module may
import from its own layer's package and from any layer below; the three adapter packages
(devices, net, records) stand side by side and do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import controller

ROOT = Path(controller.__file__).resolve().parent

RANK = {"errors": -1, "core": 0, "api": 1, "devices": 2, "net": 2, "records": 2, "service": 3,
        "app": 4}
API = {"protocol", "hr", "treadmill", "sim"}


def layer_of(module: str) -> str | None:
    """``controller.net.fleet`` → ``net``; ``controller.protocol`` → ``api``."""
    parts = module.split(".")
    if parts[0] != "controller" or len(parts) < 2:
        return None
    if parts[1] in API:
        return "api"
    if parts[1] == "errors":  # controller/errors.py: every layer's exceptions subclass it
        return "errors"
    return parts[1] if parts[1] in RANK else None


def allowed(src: str, dst: str) -> bool:
    if src == dst:
        return True
    if RANK[src] == RANK[dst]:  # side by side: devices, net, records
        return False
    return RANK[dst] < RANK[src]


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # ``from controller.net import telemetry`` names a module of that package
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                    if node.module in ("controller",)]
    return out


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    return ".".join(p for p in rel.parts if p != "__init__")


def violations(root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        src = layer_of(module_name(path, root))
        if src is None:  # controller/__init__.py, __main__.py
            continue
        for line, mod in imports_of(path):
            dst = layer_of(mod)
            if dst is not None and not allowed(src, dst):
                bad.append(f"{path.relative_to(root.parent)}:{line} ({src}) imports {mod} "
                           f"({dst})")
    return bad


def test_every_module_imports_only_downwards():
    assert violations() == []


def test_every_module_belongs_to_a_layer():
    loose = [p.name for p in ROOT.glob("*.py")
             if p.stem not in API | {"__init__", "__main__", "errors"}]
    assert loose == [], "new modules go into a layer's folder"
    # an API module may be a package of its own (controller/hr/)
    assert {p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "__pycache__"} - API \
        == set(RANK) - {"api", "errors"}


def test_the_scan_sees_an_upward_import(tmp_path):
    pkg = tmp_path / "controller"
    (pkg / "core").mkdir(parents=True)
    (pkg / "core" / "rules.py").write_text(
        "import math\nfrom controller.core.plan import Plan\n"
        "def f():\n    from controller.service.runtime import Runtime\n")
    (pkg / "net").mkdir()
    (pkg / "net" / "pub.py").write_text("from controller.records import store\n")
    found = violations(pkg)
    assert len(found) == 2
    assert "core/rules.py:4 (core) imports controller.service.runtime" in found[0]
    assert "net/pub.py:1 (net) imports controller.records" in found[1]


def test_the_rule_of_directions():
    assert not allowed("core", "api")
    assert not allowed("api", "service")
    assert not allowed("net", "records")
    assert not allowed("service", "app")
    assert allowed("app", "core") and allowed("records", "api") and allowed("net", "net")
    assert layer_of("controller.service.runtime") == "service"
    assert layer_of("controller.sim") == "api"
    assert layer_of("numpy") is None


def test_the_researchers_api_keeps_its_import_paths():
    """What the README shows researchers imports from the four public modules."""
    from controller.hr import HrSample, PlausibilityFilter  # noqa: F401
    from controller.protocol import (  # noqa: F401
        PatientProfile,
        Plan,
        Session,
        default_4x4,
        estimate_from_six_minute_test,
        six_minute_test,
    )
    from controller.sim import PatientParams, VirtualPatient, cohort, simulate
    from controller.treadmill import Treadmill  # noqa: F401

    _truth, profile = cohort(1, seed=3)[0]
    plan = default_4x4(warmup_s=300)
    assert isinstance(plan, Plan)
    trace = simulate(VirtualPatient(PatientParams(vo2max=30, seed=3)), profile, plan)
    assert trace.rows[-1].phase == "done"
    assert isinstance(Session(profile), Session)
    assert six_minute_test(4.0, 2.0).phases
