"""``fourbyfour export``: one recorded session as CSV or JSON."""

from __future__ import annotations

import argparse

from controller.app.commands.records import on_store


def export(args: argparse.Namespace) -> int:
    """Write one session's rows (CSV) or its whole record (JSON) to ``--out``."""
    from controller.records import report

    write = report.export_csv if args.format == "csv" else report.export_json
    return on_store(args, lambda store: write(store, args.session, args.out))
