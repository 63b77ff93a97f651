"""``fourbyfour console``: the staff console, attached to a running service."""

from __future__ import annotations

import argparse
import sys

from controller.app.commands.language import _chosen_language


def console_app(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The staff console in the clinic's language: --lang, else the config's (the unit
    passes the service's config), else $FOURBYFOUR_LANG, else bokmål. A config the console
    cannot read is said on stderr and does not keep the console (and its Stop) away."""
    from controller.app.console import StaffConsole
    from controller.service.config import ConfigError, load

    if args.lang is None and args.config is not None:
        try:
            args.lang = load(args.config).language
        except (ConfigError, OSError) as e:
            print(f"warning: {e}", file=sys.stderr)
    _chosen_language(args)
    return StaffConsole(args.socket)


def console(args: argparse.Namespace) -> int:
    console_app(args).run()
    return 0
