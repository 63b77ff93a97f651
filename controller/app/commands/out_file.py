"""The files a command writes where the user names them (``--out``, ``--csv``,
``--anonymised``): checked before anything is read or written, so a folder that does not
exist, a file where a folder should be, or a folder the user may not write in is one clear
line in the command's language and nothing half-written (issue 21/23: ``rapport … --ut
/root/nope/x.pdf`` ended in a Python traceback, ``FileNotFoundError``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from controller.core.i18n import N_, _, translations


class OutFileError(ValueError):
    """A named output file that cannot be written; the message says why, to the user."""


def check_out_files(*paths: str | None, lang: str | None = None) -> None:
    """OutFileError for the first of ``paths`` (None: not asked for) that cannot be
    written: its folder missing, not a folder, or not writable; the file itself a folder
    or read-only. Said in ``lang`` (default: the process's; ``fhir`` keeps the process
    English for its bundle and still says this in the command's language)."""
    t = translations(lang).gettext if lang else _
    for path in paths:
        if path:
            _check(Path(path), t)


def _check(path: Path, t: Callable[[str], str]) -> None:
    folder = path.parent
    if not folder.is_dir():
        existing = next((p for p in folder.parents if p.exists()), None)
        if folder.exists() or (existing is not None and not existing.is_dir()):
            bad = folder if folder.exists() else existing
            raise OutFileError(t(N_("{path} is not a folder")).format(path=bad))
        raise OutFileError(t(N_("the folder {folder} does not exist")).format(folder=folder))
    if path.is_dir():
        raise OutFileError(t(N_("{path} is a folder, not a file")).format(path=path))
    if not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)):
        raise OutFileError(t(N_("no permission to write {path}")).format(path=path))
