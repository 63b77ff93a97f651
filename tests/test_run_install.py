"""Issue 21 (h21cli): the first `./run demo` printed pip's warnings while it made the .venv
("WARNING: Location 'file:///opt/pypi-more/simple/pip/' is ignored …", setuptools' editable
warnings) to a nurse. The install is quiet: one line in the demo's language, pip's words in a
log in .venv, and on failure the log's tail. Tested on a copy of the `run` script with a fake
Python (its venv and pip): the real .venv is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAKE_PYTHON = r"""#!/usr/bin/env bash
# a stand-in for python3: `-m venv DIR` makes DIR/bin/python (this script), `-m pip …` talks
# as pip does on this machine and installs a `fourbyfour` that says how it was called
if [ "$1" = -m ] && [ "$2" = venv ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
if [ "$1" = -m ] && [ "$2" = pip ]; then
    echo "WARNING: Location 'file:///opt/pypi-more/simple/pip/' is ignored: …" >&2
    echo "Looking in indexes: file:///opt/pypi/simple"
    echo "  !! ********** SetuptoolsDeprecationWarning: editable install" >&2
    if [ -n "${FAKE_PIP_FAILS:-}" ]; then
        echo "ERROR: No matching distribution found for textual>=0.80" >&2
        exit 1
    fi
    bin=$(dirname "$0")
    printf '#!/usr/bin/env bash\necho "fourbyfour $*"\n' > "$bin/fourbyfour"
    chmod +x "$bin/fourbyfour"
    exit 0
fi
echo "fake python: $*" >&2
exit 3
"""


def _tree(tmp_path: Path) -> Path:
    """A copy of the run script beside a pyproject.toml, and the fake Python."""
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "run", tree / "run")
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    return tree


def _run(tree: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    e.update(PYTHON=str(tmp_path / "python3"), **env)
    return subprocess.run([str(tree / "run"), *args], capture_output=True, text=True,
                          timeout=60, env=e)


def test_the_first_run_installs_quietly_with_one_line_in_the_demos_language(tmp_path):
    tree = _tree(tmp_path)
    r = _run(tree, tmp_path, "demo", "--seed", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    said = r.stdout + r.stderr
    assert "WARNING" not in said and "Setuptools" not in said and "!!" not in said, said
    assert r.stderr.count("\n") == 1, r.stderr  # the one line
    assert r.stderr.startswith("Installerer") and "første gang, ca. 2 min" in r.stderr, said
    assert r.stdout == "fourbyfour demo --seed 2\n", r.stdout  # then the demo, as asked
    log = (tree / ".venv" / "install.log").read_text()
    assert "WARNING: Location" in log and "Looking in indexes" in log, log
    # installed: the next run says nothing of it
    r = _run(tree, tmp_path, "demo")
    assert (r.stdout, r.stderr) == ("fourbyfour demo\n", ""), r
    # English where the demo speaks English
    shutil.rmtree(tree / ".venv")
    r = _run(tree, tmp_path, "demo", "--lang", "en")
    assert r.stderr.startswith("Installing") and "first time" in r.stderr, r


def test_a_failed_install_shows_the_logs_tail_and_stops(tmp_path):
    tree = _tree(tmp_path)
    r = _run(tree, tmp_path, "demo", FAKE_PIP_FAILS="1")
    assert r.returncode != 0, r.stdout
    assert "No matching distribution found for textual" in r.stderr, r.stderr
    assert str(tree / ".venv" / "install.log") in r.stderr or ".venv/install.log" in r.stderr
    assert "fourbyfour demo" not in r.stdout, r.stdout
    assert not (tree / ".venv" / ".installed").exists()
    # the next run tries again (it was not marked installed)
    r = _run(tree, tmp_path, "demo")
    assert r.returncode == 0 and r.stdout.strip() == "fourbyfour demo", r
