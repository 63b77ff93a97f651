"""The records tests' rig: the CLI as a subprocess in a language, as a nurse runs it, and a
PDF read back as text (pdftotext), as a nurse reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, lang: str = "nb") -> subprocess.CompletedProcess[str]:
    """``fourbyfour ARGS`` in ``lang`` ($FOURBYFOUR_LANG), from the checkout's root."""
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env["FOURBYFOUR_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)


def pdf_text(path: Path) -> str:
    """The PDF's text laid out as on the page."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
