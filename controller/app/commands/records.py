"""What the commands on a session store share (``export``, ``report``, ``import``,
``progression``, ``patients``, ``sessions``, ``patient``, ``fhir``: one module each): the
store opened read-only unless the command writes, one error line and exit status 2 for a
store or value it cannot use, and the "wrote …" line for an ``--out`` file.

``records(args)`` is the one dispatcher these commands had before issue 25's split, kept for
callers that still use it: it hands each command to its own function.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from controller.app import demo_text
from controller.app.commands.language import _chosen_language
from controller.app.commands.out_file import OutFileError, check_out_files
from controller.core.i18n import N_, _, translations

if TYPE_CHECKING:
    from controller.records.store import Store


def on_store(args: argparse.Namespace, work: Callable[[Store], None], *,
             writes: bool = False, speaks: bool = True) -> int:
    """Run ``work`` on ``--store``: read-only (never the live store's writer) unless the
    command ``writes``, which may also create the store; ``speaks``: the process speaks the
    command's --lang from here on."""
    from controller.records.store import Store, StoreError

    lang = _chosen_language(args, for_process=speaks)
    try:  # before anything is read or written: nothing half (issue 21/23)
        check_out_files(getattr(args, "out", None), getattr(args, "csv", None), lang=lang)
    except OutFileError as e:
        print(translations(lang).gettext(N_("error: {reason}")).format(reason=e),
              file=sys.stderr)
        return 2
    try:
        if not writes and not Path(args.store).exists():
            raise StoreError(_("{path}: no such session store").format(path=args.store))
        store = Store(args.store, readonly=not writes)
        work(store)
        store.close()
    except (StoreError, ValueError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    if getattr(args, "out", None):
        print(demo_text.wrote_line(args.out))
    return 0


def records(args: argparse.Namespace) -> int:
    """The command named by ``args.command``, by its own function (the dispatcher before
    the split)."""
    from controller.app.commands.export import export
    from controller.app.commands.fhir import fhir
    from controller.app.commands.import_session import import_session
    from controller.app.commands.patient import patient
    from controller.app.commands.patients import patients
    from controller.app.commands.progression import progression
    from controller.app.commands.report import report
    from controller.app.commands.sessions import sessions

    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "export": export, "report": report, "import": import_session,
        "progression": progression, "patients": patients, "sessions": sessions,
        "patient": patient, "fhir": fhir}
    return commands[args.command](args)
