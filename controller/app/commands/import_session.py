"""``fourbyfour import``: a JSON session export into a store."""

from __future__ import annotations

import argparse

from controller.app.commands.records import on_store
from controller.core.i18n import _


def import_session(args: argparse.Namespace) -> int:
    """Add the exported session in ``args.file`` to ``--store`` (created if missing)."""
    from controller.records import report

    def work(store) -> None:  # type: ignore[no-untyped-def]
        print(_("imported session {id}").format(id=report.import_json(store, args.file)))

    return on_store(args, work, writes=True, speaks=True)
