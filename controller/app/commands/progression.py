"""``fourbyfour progression``: one patient's progression across sessions."""

from __future__ import annotations

import argparse
import json

from controller.app.commands.patients import progression_text
from controller.app.commands.records import on_store
from controller.core.i18n import _
from controller.core.pseudonym import check_pseudonym


def progression(args: argparse.Namespace) -> int:
    """As text (or ``--json``), and also drawn (``--out``) or one row per session
    (``--csv``)."""
    from controller.records import report

    def work(store) -> None:  # type: ignore[no-untyped-def]
        check_pseudonym(args.pseudonym, "--pseudonym")
        prog = report.progression(store, args.pseudonym)
        if args.out:
            report.render_progression(store, args.pseudonym, args.out)
        if args.csv:
            report.progression_csv(prog, args.csv)
            print(_("wrote {path}").format(path=args.csv))
        if args.json:
            print(json.dumps(prog, indent=1))
        else:
            print(progression_text(prog))

    return on_store(args, work)
