"""``fourbyfour report``: a printable report (PNG or PDF) of one session."""

from __future__ import annotations

import argparse

from controller.app.commands.records import on_store


def report(args: argparse.Namespace) -> int:
    """Draw one session's report to ``--out``."""
    from controller.records import report as reports

    return on_store(args, lambda store: reports.render_session(store, args.session, args.out))
