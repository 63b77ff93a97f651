"""The command line's language for its help and argparse's own words.

argparse says "usage:", "options:", "show this help message and exit" and its errors ("the
following arguments are required") through ``gettext``'s global domain, which follows the
operating system's locale, not the clinic's language. Here those very messages are in our
catalog (``ARGPARSE_WORDS``, marked so ``./run i18n`` keeps them) and ``speaking`` binds
argparse's ``_`` to it while the command line is parsed, so its words follow the language the
command itself would choose (``help_language``): ``--lang``, else the ``--config``'s language,
else ``$FOURBYFOUR_LANG``, else bokmål — as the commands choose theirs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Sequence

from controller.core import i18n
from controller.core.i18n import N_

ARGPARSE_WORDS = (
    # argparse's own msgids (Python 3.11+), what a person meets in help and errors
    N_("usage: "), N_("options"), N_("positional arguments"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"), N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)


def _option(argv: Sequence[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def help_language(argv: Sequence[str]) -> str:
    """The language a command line speaks before it is parsed: ``--lang``, else its
    ``--config``'s language (a config that cannot be read: the next rule), else
    ``$FOURBYFOUR_LANG``, else bokmål."""
    from controller.app.commands.language import LANG_ENV

    lang = _option(argv, "--lang")
    if lang in i18n.LANGUAGES:
        return lang
    config = _option(argv, "--config")
    if config is not None:
        from controller.service.config import ConfigError, load

        try:
            return load(config).language
        except (ConfigError, OSError):
            pass
    lang = os.environ.get(LANG_ENV)
    return lang if lang in i18n.LANGUAGES else "nb"


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """argparse (and the help texts built meanwhile) in ``lang``; the process's language
    and argparse's own functions as they were afterwards (each command chooses its own)."""
    before = i18n.language()
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    i18n.set_language(lang)
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]
        i18n.set_language(before)
