"""``fourbyfour sessions``: one patient's sessions (the ids for export and report)."""

from __future__ import annotations

import argparse

from controller.app.commands.patients import sessions_text
from controller.app.commands.records import on_store
from controller.core.pseudonym import check_pseudonym


def sessions(args: argparse.Namespace) -> int:
    """The patient's sessions as a table."""
    def work(store) -> None:  # type: ignore[no-untyped-def]
        from controller.records.register import unknown_patient

        check_pseudonym(args.pseudonym)
        if (unknown := unknown_patient(store, args.pseudonym)) is not None:
            raise unknown  # a typo is not "no sessions": said, exit 2
        print(sessions_text(store, args.pseudonym))

    return on_store(args, work)
