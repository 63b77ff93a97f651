"""The language and config a command speaks: ``--lang``, the config's, ``$FOURBYFOUR_LANG``,
else bokmål."""

from __future__ import annotations

import argparse
import sys

from controller.core.i18n import N_, _


def _config_in_its_language(path: str | None,  # type: ignore[no-untyped-def]
                            lang: str | None = None):
    """The config, with the process's language set from it (or ``lang``, the demo's
    --lang); None (said on stderr) when the config cannot be used."""
    from controller.core.i18n import set_language
    from controller.service.config import ConfigError, load

    try:
        cfg = load(path)
    except ConfigError as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return None
    set_language(lang or cfg.language)
    return cfg


LANG_ENV = "FOURBYFOUR_LANG"
"""The language of a command without --lang or a config (clinic IT sets it for a shell)."""


LANG_HELP = {
    # whole sentences (never built from fragments: bokmål's word order differs)
    "CSV": N_("the CSV's language (default: ${env}, else nb, bokmål)"),
    "report": N_("the report's language (default: ${env}, else nb, bokmål)"),
    "progression": N_("the progression's language (default: ${env}, else nb, bokmål)"),
    "register": N_("the register's language (default: ${env}, else nb, bokmål)"),
    "session list": N_("the session list's language (default: ${env}, else nb, bokmål)"),
    "profile": N_("the profile's language (default: ${env}, else nb, bokmål)"),
    "outcome report": N_("the outcome report's language (default: ${env}, else nb, "
                         "bokmål)"),
    "hand-over": N_("the hand-over's language (default: ${env}, else nb, bokmål)"),
    "import": N_("the language of the command's messages (default: ${env}, else nb, "
                 "bokmål)"),
    "FHIR": N_("the language of the command's messages; the bundle itself is English "
               "(default: ${env}, else nb, bokmål)"),
}


def _lang_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--lang`` with its help in the process's language (``what``: a key of
    ``LANG_HELP``)."""
    from controller.core.i18n import _

    p.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=_(LANG_HELP.get(what, N_("the language (default: ${env}, else nb, "
                                                 "bokmål)"))).format(env=LANG_ENV))


def _chosen_language(args: argparse.Namespace, *, for_process: bool = True) -> str:
    """--lang, else $FOURBYFOUR_LANG, else bokmål (the clinic's, as the config's default);
    with ``for_process`` the process speaks it from here on."""
    import os

    from controller.core.i18n import LANGUAGES, set_language

    lang = getattr(args, "lang", None) or os.environ.get(LANG_ENV) or "nb"
    if lang not in LANGUAGES:
        lang = "nb"
    if for_process:
        set_language(lang)
    return lang


def _demo_language(args: argparse.Namespace) -> None:
    """The demo speaks --lang, else its config's language (bokmål by default, the clinic's),
    else $FOURBYFOUR_LANG."""
    import os

    from controller.core.i18n import LANGUAGES, set_language
    from controller.service.config import load

    lang = getattr(args, "lang", None)
    if lang is None and args.config is None:
        lang = os.environ.get(LANG_ENV)
    if lang is None or lang not in LANGUAGES:
        lang = load(args.config).language  # checked by demo() before
    set_language(lang)
