"""``fourbyfour handover``: the printable hand-over to the municipality."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.app import demo_text
from controller.app.commands.language import _chosen_language
from controller.app.commands.out_file import OutFileError, check_out_files
from controller.core.i18n import N_, _, language, set_language, translations


def handover(args: argparse.Namespace) -> int:
    """The printable hand-over for the patient's follow-up in the municipality."""
    from controller.records.handover import render_handover
    from controller.records.store import Store, StoreError

    before = language()
    lang = _chosen_language(args)  # its refusals too; the caller's language comes back after
    # the default file's name in the hand-over's language (bokmål: P-17-overlevering.pdf)
    out = args.out or translations(lang).gettext(N_("{pseudonym}-handover.pdf")).format(
        pseudonym=args.pseudonym)
    try:
        if not Path(args.store).exists():
            raise StoreError(_("{path}: no such session store").format(path=args.store))
        check_out_files(out)
        store = Store(args.store, readonly=True)
        try:
            render_handover(store, args.pseudonym, out, include_notes=args.notes,
                            lang=lang)
        finally:
            store.close()
    except (StoreError, OutFileError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    finally:
        set_language(before)
    print(demo_text.wrote_line(out, with_notes=args.notes, lang=lang))
    return 0
