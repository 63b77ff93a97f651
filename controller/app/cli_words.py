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
from typing import Any

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
    """The value of the option ``name`` (English) under either of its names."""
    names = (name, OPTION_NAMES.get(name, name))
    for i, a in enumerate(argv):
        if a in names and i + 1 < len(argv):
            return argv[i + 1]
        if a.split("=", 1)[0] in names and "=" in a:
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
        names = list(a.option_strings or [a.dest])  # the English one among them
        keys: list[str | tuple[str, str]] = [(command, n) for n in names]
        message = next((METAVARS[k] for k in keys + names if k in METAVARS), None)
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
    "observed_peak": N_("cli:observed_peak"), "staff_entered": N_("cli:staff_entered"),
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


def choice_word(words: dict[str, str], key: str) -> str:
    """One choice's word as the process's language types it (``pulstest`` in bokmål), for a
    refusal that names the value given (never the English key beside bokmål words)."""
    return i18n._(words[key]).removeprefix(CHOICE_PREFIX)


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


# -- the names staff type: bokmål beside English ----------------------------------------------

COMMAND_NAMES = {
    # English → bokmål (the glossary's and the help texts' own words). Both are taken in
    # every language; --help shows the process's language's name first and the other in
    # brackets. The English names stay: systemd units, clinic IT's scripts and docs/it use
    # them. No ASCII spelling besides (økter/okter): the English name is the ASCII one.
    # demo, import, fhir and monitor are the same word in bokmål.
    "console": "konsoll", "export": "eksport", "report": "rapport",
    "progression": "fremgang", "patients": "pasienter", "sessions": "økter",
    "patient": "pasient", "outcome": "resultat", "handover": "overlevering", "run": "kjør",
    "records-server": "øktdata-tjeneste", "command": "kommando",
}

OPTION_NAMES = {
    # English → bokmål for every long option (same rule); --plan, --format, --pseudonym,
    # --csv, --json, --socket, --db, --alarm and --port are the same word in bokmål
    "--help": "--hjelp", "--version": "--versjon",
    "--store": "--øktlager", "--session": "--økt", "--out": "--ut", "--lang": "--språk",
    "--config": "--konfigurasjon", "--patient": "--pasient",
    "--hr-max": "--makspuls", "--hrmax": "--makspuls", "--hr-max-source": "--makspuls-kilde",
    "--confirm-hr-max": "--bekreft-makspuls", "--hr-rest": "--hvilepuls", "--age": "--alder",
    "--max-speed": "--maks-fart",
    "--max-incline": "--maks-stigning", "--walk-only": "--bare-gange",
    "--from": "--fra", "--to": "--til", "--anonymised": "--anonymisert",
    "--notes": "--notater",
    "--seed": "--startverdi", "--category": "--kategori", "--speed": "--tidsfaktor",
    "--headless": "--uten-konsoll", "--fast": "--straks", "--accept-hrmax": "--godta-makspuls",
    "--weeks": "--uker", "--control-socket": "--styre-socket",
    "--site": "--sted", "--device": "--tredemølle", "--key-file": "--nøkkelfil",
    "--host": "--vertsnavn", "--timeout": "--ventetid",
}
BOKMAL_OPTIONS = frozenset(OPTION_NAMES.values())
NO_PREFIX = {"en": "--no-", "nb": "--ikke-"}
"""A switch's "off" name (``--no-walk-only``, ``--ikke-bare-gange``)."""


def _bokmal_first() -> bool:
    return i18n.language() == "nb"


def option_names(names: Sequence[str]) -> list[str]:
    """An option's names as added: short ones first, then the long ones of the process's
    language (bokmål beside English), then the other language's."""
    short = [n for n in names if not n.startswith("--")]
    english = [n for n in names if n.startswith("--")]
    bokmal = [OPTION_NAMES[n] for n in english if n in OPTION_NAMES]
    return short + (bokmal + english if _bokmal_first() else english + bokmal)


class _Switch(argparse.BooleanOptionalAction):
    """``--walk-only``/``--no-walk-only`` and ``--bare-gange``/``--ikke-bare-gange``
    (argparse's own made ``--no-bare-gange`` and took any ``--no-`` name as off)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        names: list[str] = []
        for n in option_strings:
            names.append(n)
            if n.startswith("--"):
                lang = "nb" if n in BOKMAL_OPTIONS else "en"
                names.append(NO_PREFIX[lang] + n[2:])
        self.option_strings = names
        self._off = frozenset(names[1::2])

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        if option_string in self.option_strings:
            setattr(namespace, self.dest, option_string not in self._off)

    def format_usage(self) -> str:
        return " | ".join(self.option_strings[:2])  # the process's language's pair


class _Formatter(argparse.HelpFormatter):
    """An option's names, then its metavar once: ``--øktlager, --store FIL`` (argparse
    repeated it after each name, and two names pushed the help to the next line)."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        default = self._get_default_metavar_for_optional(action)
        return f"{', '.join(action.option_strings)} {self._format_args(action, default)}"


class NamedParser(argparse.ArgumentParser):
    """A parser whose commands and long options have a bokmål name beside the English one
    (``COMMAND_NAMES``, ``OPTION_NAMES``), added where the options are added: the dest
    stays the English name's, so the commands read ``args.store`` whichever was typed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _NamedCommands)

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action:
        if not names or not all(n.startswith("-") for n in names):
            return super().add_argument(*names, **kwargs)  # a positional argument
        english = [n for n in names if n.startswith("--")]
        if english and "dest" not in kwargs:
            kwargs["dest"] = english[0][2:].replace("-", "_")  # argparse's own rule
        if kwargs.get("action") is argparse.BooleanOptionalAction:
            kwargs["action"] = _Switch
        return super().add_argument(*option_names(names), **kwargs)


class _NamedCommands(argparse._SubParsersAction):
    """Each command under its bokmål name too; ``args.command`` is always the English
    name (the dispatch's), whichever was typed."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        bokmal = COMMAND_NAMES.get(name)
        first = name
        if bokmal is not None:
            first, other = (bokmal, name) if _bokmal_first() else (name, bokmal)
            kwargs["aliases"] = [other, *kwargs.get("aliases", ())]
        p = super().add_parser(first, **kwargs)
        p.set_defaults(**{self.dest: name})
        return p
