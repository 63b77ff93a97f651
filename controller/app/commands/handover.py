"""``fourbyfour handover``: the printable hand-over to the municipality."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.app import demo_text
from controller.app.commands.language import _chosen_language


def handover(args: argparse.Namespace) -> int:
    """The printable hand-over for the patient's follow-up in the municipality."""
    from controller.records.handover import render_handover
    from controller.records.store import Store, StoreError

    out = args.out or f"{args.pseudonym}-handover.pdf"
    lang = _chosen_language(args, for_process=False)
    try:
        if not Path(args.store).exists():
            raise StoreError(f"{args.store}: no such session store")
        store = Store(args.store, readonly=True)
        try:
            render_handover(store, args.pseudonym, out, include_notes=args.notes,
                            lang=lang)
        finally:
            store.close()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(demo_text.wrote_line(out, with_notes=args.notes, lang=lang))
    return 0
