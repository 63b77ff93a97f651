"""``fourbyfour outcome``: the clinic's documented effect over a period."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from controller.app.commands.language import _chosen_language
from controller.app.commands.out_file import check_out_files
from controller.app.texts import terminal_lines
from controller.core.i18n import _, ngettext


def outcome_command(args: argparse.Namespace) -> int:
    """The clinic's documented effect over a period, from one or more stores of a site."""

    from controller.records import outcome
    from controller.records.store import Store, StoreError

    _chosen_language(args)
    try:
        start, end = _day(args.from_day), _day(args.to_day)
    except ValueError:
        print(_("error: --from and --to are dates (DD.MM.YYYY or YYYY-MM-DD)"),
              file=sys.stderr)
        return 2
    try:
        check_out_files(args.out, args.csv, args.anonymised)
        stores: list[Any] = []  # session stores and the clinic's records db
        for s in args.store:
            if s.startswith(("postgresql://", "postgres://")):  # the clinic's records db
                from controller.records.clinic_db import PgClinicDb

                stores.append(PgClinicDb(s))
                continue
            if not Path(s).exists():
                raise StoreError(f"{s}: no such session store")
            stores.append(Store(s, readonly=True))  # readers never write
        result = outcome.outcome(stores, start, end)
        # each sentence wrapped at 80 columns, its lines after the first indented (trial 16:
        # «Frafall: …» ran to 110, «Telling: …» to 153)
        print("\n".join(line for said in outcome.outcome_lines(result)
                        for line in terminal_lines(said, 2)))
        if args.out:
            outcome.render_outcome(result, args.out)
            print(_("wrote {path}").format(path=args.out))
        if args.csv:
            outcome.write_outcome_csv(result, args.csv)
            print(_("wrote {path}").format(path=args.csv))
        if args.anonymised:
            try:
                n, left_out = outcome.anonymised_export(stores, start, end, args.anonymised)
            except outcome.TooFewForExport as e:
                # the privacy rule held: nothing to release is the export working, not an
                # error; the rest was made and this one says why (issue 21: exit 1 after the
                # PDF was written read as a failure)
                print("\n".join(terminal_lines(_("note: {reason}").format(reason=e), 2)),
                      file=sys.stderr)
                return 0
            print(ngettext("wrote {path} ({n} patient in groups of at least {k}, banded "
                           "figures, no dates; {left_out} in smaller groups left out)",
                           "wrote {path} ({n} patients in groups of at least {k}, banded "
                           "figures, no dates; {left_out} in smaller groups left out)",
                           n).format(
                path=args.anonymised, n=n, k=outcome.ANON_K, left_out=left_out))
    except (StoreError, ValueError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    return 0


def _day(text: str) -> dt.date:
    """A day as staff write it (06.12.2026, as every page shows it) or ISO (2026-12-06)."""
    if "." in text:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    return dt.date.fromisoformat(text)
