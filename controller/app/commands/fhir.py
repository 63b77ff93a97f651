"""``fourbyfour fhir``: a session or an HRmax result as a FHIR R4 Bundle."""

from __future__ import annotations

import argparse

from controller.app.commands.records import on_store
from controller.core.i18n import _


def fhir(args: argparse.Namespace) -> int:
    """``--session ID`` or ``--hrmax PSEUDONYM`` as a Bundle in ``--out``."""
    from controller.records import fhir as bundles

    def work(store) -> None:  # type: ignore[no-untyped-def]
        if args.session:
            bundle = bundles.session_bundle(store, args.session)
        elif args.hrmax:
            from controller.records.register import Register

            bundle = bundles.current_hrmax_bundle(Register(store), args.hrmax)
        else:
            raise ValueError(_("give --session ID or --hrmax PSEUDONYM"))
        bundles.write_bundle(bundle, args.out)

    # the process speaks --lang (its errors are the user's); the bundle is English in any
    # language (``records.fhir``: no gettext in it)
    return on_store(args, work)
