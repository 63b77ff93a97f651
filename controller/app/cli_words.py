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
from collections.abc import Callable, Iterator, Sequence

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


METAVARS = {
    # what a person types after an option, in their language (argparse showed the option's
    # English dest: STORE, OUT, HR_MAX); (command, option) first, then the option alone
    ("outcome", "--store"): N_("FILE|URL"), "--db": N_("FILE|URL"),
    "--store": N_("FILE"), "--out": N_("FILE"), "--csv": N_("FILE"),
    "--anonymised": N_("FILE"), "--config": N_("FILE"), "--key-file": N_("FILE"),
    "file": N_("FILE"), "--socket": N_("FILE"), "--control-socket": N_("FILE"),
    "--seed": N_("NUMBER"), "--speed": N_("NUMBER"), "--weeks": N_("WEEKS"),
    "--timeout": N_("SECONDS"), "--port": N_("PORT"), "--session": N_("ID"),
    "--patient": N_("PSEUDONYM"), "--pseudonym": N_("PSEUDONYM"), "pseudonym": N_("PSEUDONYM"),
    "--from": N_("DATE"), "--to": N_("DATE"), "--hr-max": N_("BPM"), "--hr-rest": N_("BPM"),
    "--age": N_("YEARS"),
    "--max-speed": N_("KM/H"), "--max-incline": N_("PERCENT"), "--site": N_("NAME"),
    "--device": N_("NAME"), "--alarm": N_("NAME"), "--host": N_("HOST"),
}


def name_metavars(command: str, p: argparse.ArgumentParser) -> None:
    """Every option of ``command`` without a metavar or choices gets its ``METAVARS`` word in
    the process's language (the option names themselves stay: scripts use them)."""
    for a in p._actions:
        if a.metavar is not None or a.choices is not None or a.nargs == 0:
            continue
        name = a.option_strings[-1] if a.option_strings else a.dest
        message = METAVARS.get((command, name)) or METAVARS.get(name)
        if message is not None:
            a.metavar = i18n._(message)


CHOICE_PREFIX = "cli:"
"""Before a choice word's message: its own msgid, never another text's (a report's
``six_minute_test`` may read differently); English shows the key after it."""

HR_MAX_SOURCE_WORDS = {
    # --hr-max-source as typed: one word each (the report's "Tanaka formula" is not a word
    # for a command line); the keys themselves are taken in every language
    "measured": N_("cli:measured"), "tanaka": N_("cli:tanaka"), "nes": N_("cli:nes"),
    "keteyian": N_("cli:keteyian"), "six_minute_test": N_("cli:six_minute_test"),
    "six_minute_test_edited": N_("cli:six_minute_test_edited"),
    "observed_peak": N_("cli:observed_peak"),
}


DEMO_PLAN_WORDS = {
    # demo --plan as typed (the 6-minute test: "pulstest", as --hr-max-source names it)
    "4x4": N_("cli:4x4"), "six-minute-test": N_("cli:six-minute-test"),
}
DEMO_CATEGORY_WORDS = {
    # demo --category as typed: the virtual patient's kind (controller/sim.py CATEGORIES),
    # one word each (the demo's own line says it in full: app/demo_text.py CATEGORIES)
    "typical": N_("cli:typical"), "unfit": N_("cli:unfit"),
    "beta_blocked": N_("cli:beta_blocked"), "slow_kinetics": N_("cli:slow_kinetics"),
    "long_dead_time": N_("cli:long_dead_time"), "drift": N_("cli:drift"),
    "strap_trouble": N_("cli:strap_trouble"), "walk_only": N_("cli:walk_only"),
    "fit": N_("cli:fit"), "handrails": N_("cli:handrails"),
    "unfit_walk_only": N_("cli:unfit_walk_only"),
}


def choice_words(words: dict[str, str]) -> tuple[str, Callable[[str], str]]:
    """(metavar, type) for an option whose values are keys (``words``: key → message): shown
    as the words of the process's language, any language's word or the key itself taken,
    the key returned; anything else refused with argparse's own words for a bad choice."""
    shown = [i18n._(m).removeprefix(CHOICE_PREFIX) for m in words.values()]
    taken = {k: k for k in words}
    for lang in i18n.LANGUAGES:
        t = i18n.translations(lang).gettext
        taken.update({t(m).removeprefix(CHOICE_PREFIX): k for k, m in words.items()})

    def key_of(text: str) -> str:
        if text in taken:
            return taken[text]
        raise argparse.ArgumentTypeError(
            i18n._("invalid choice: %(value)r (choose from %(choices)s)") % {
                "value": text, "choices": ", ".join(repr(w) for w in shown)})

    return "{" + ",".join(shown) + "}", key_of
