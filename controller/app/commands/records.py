"""``fourbyfour export | report | import | progression | patients | sessions | patient |
fhir``: the commands on a session store (one dispatcher, as before the split)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from controller.app import demo_text
from controller.app.commands.language import _chosen_language
from controller.app.commands.patients import (
    patient_command,
    patients_text,
    progression_text,
    sessions_text,
)
from controller.core.i18n import _
from controller.core.pseudonym import check_pseudonym


def records(args: argparse.Namespace) -> int:
    """export / report / import / progression on a session store."""
    import sqlite3

    from controller.records import report
    from controller.records.store import Store, StoreError

    if args.command in ("report", "progression", "export", "patients", "sessions", "patient"):
        _chosen_language(args)
    try:
        if not Path(args.store).exists() and args.command not in ("import", "patient"):
            raise StoreError(f"{args.store}: no such session store")
        # only import and patient write; every other command reads (never the live store)
        store = Store(args.store, readonly=args.command not in ("import", "patient"))
        if args.command == "export":
            (report.export_csv if args.format == "csv" else report.export_json)(
                store, args.session, args.out)
        elif args.command == "report":
            report.render_session(store, args.session, args.out)
        elif args.command == "import":
            print(f"imported session {report.import_json(store, args.file)}")
        elif args.command == "progression":
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
        elif args.command == "patients":
            print(patients_text(store))
        elif args.command == "sessions":
            check_pseudonym(args.pseudonym)
            print(sessions_text(store, args.pseudonym))
        elif args.command == "patient":
            try:
                print(patient_command(store, args))
            except sqlite3.OperationalError as e:  # the service's batch held the lock
                raise StoreError(f"{args.store}: busy (the service is writing: {e}); try "
                                 "again in a moment") from None
        elif args.command == "fhir":
            from controller.records import fhir

            if args.session:
                bundle = fhir.session_bundle(store, args.session)
            elif args.hrmax:
                from controller.records.register import Register

                bundle = fhir.current_hrmax_bundle(Register(store), args.hrmax)
            else:
                raise ValueError(_("give --session ID or --hrmax PSEUDONYM"))
            fhir.write_bundle(bundle, args.out)
        store.close()
    except (StoreError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if getattr(args, "out", None):
        print(demo_text.wrote_line(args.out))
    return 0
