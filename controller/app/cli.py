"""Command line: ``fourbyfour demo`` runs a whole simulated 4x4 session.

The demo uses the same ``Session`` a clinic uses, driven by a virtual patient from
``controller.sim`` on a simulated belt. ``--speed N`` runs N× faster than real time
(0 = as fast as possible); the headless demo prints a line per phase and a summary table.

Here: ``main`` (the console script), ``build_parser`` (every command's options) and the
dispatch; each command lives in its own module under ``controller.app.commands``. Every name
this module held before the split is still importable from it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from controller.app.commands.command import (
    command,
)
from controller.app.commands.console import (
    console,
    console_app,
)
from controller.app.commands.demo import (
    demo,
)
from controller.app.commands.demo_console import (
    BELT_URL_LINE,
    demo_console_app,
    demo_service_command,
    demo_with_console,
)
from controller.app.commands.demo_sim import (
    _new_patient_profile,
    _open_store,
    demo_fast,
    demo_history,
    demo_six_minute_test,
)
from controller.app.commands.demo_text import (
    _clock,
    _link_line,
    _phase_line,
    _summary,
)
from controller.app.commands.export import (
    export,
)
from controller.app.commands.fhir import (
    fhir,
)
from controller.app.commands.handover import (
    handover,
)
from controller.app.commands.import_session import (
    import_session,
)
from controller.app.commands.language import (
    LANG_ENV,
    _chosen_language,
    _config_in_its_language,
    _lang_option,
)
from controller.app.commands.monitor import (
    monitor,
)
from controller.app.commands.outcome import (
    outcome_command,
)
from controller.app.commands.patient import (
    patient,
)
from controller.app.commands.patients import (
    PATIENT_HEADERS,
    SESSION_HEADERS,
    _day,
    _table,
    patient_command,
    patients,
    patients_text,
    progression_text,
    sessions_text,
)
from controller.app.commands.progression import (
    progression,
)
from controller.app.commands.records import (
    records,
)
from controller.app.commands.records_server import (
    records_server,
)
from controller.app.commands.report import (
    report,
)
from controller.app.commands.run import (
    _service_error,
    run,
)
from controller.app.commands.sessions import (
    sessions,
)
from controller.core.i18n import _
from controller.errors import EX_CONFIG, EXIT_BROKEN_PIPE, FourByFourError, exit_code
from controller.sim import CATEGORIES

__all__ = [
    "BELT_URL_LINE",
    "EX_CONFIG",
    "LANG_ENV",
    "PATIENT_HEADERS",
    "SESSION_HEADERS",
    "_chosen_language",
    "_clock",
    "_config_in_its_language",
    "_day",
    "_lang_option",
    "_link_line",
    "_new_patient_profile",
    "_open_store",
    "_phase_line",
    "_service_error",
    "_summary",
    "_table",
    "build_parser",
    "command",
    "console",
    "console_app",
    "demo",
    "demo_console_app",
    "demo_fast",
    "demo_history",
    "demo_service_command",
    "demo_six_minute_test",
    "demo_with_console",
    "handover",
    "main",
    "monitor",
    "outcome_command",
    "parser",
    "patient_command",
    "patients_text",
    "progression_text",
    "records",
    "records_server",
    "run",
    "sessions_text",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Every command's exit code comes from one table (``controller.errors``)."""
    try:
        return _main(argv)
    except FourByFourError as e:  # one no command caught itself: by the same table
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return exit_code(e)
    except BrokenPipeError:
        # The reader (`| head`) has had enough: end quietly, as other command-line tools do,
        # and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE  # 128 + SIGPIPE, what a shell reports for a closed pipe


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fourbyfour")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _main(argv: Sequence[str] | None = None) -> int:
    from controller.app.cli_words import help_language, speaking

    with speaking(help_language(sys.argv[1:] if argv is None else argv)):
        ap = build_parser()
        args = ap.parse_args(argv)
        _one_pseudonym(ap, args)
    return _dispatch(args)


def _pseudonym_argument(p: argparse.ArgumentParser) -> None:
    """The patient's pseudonym, the same way on every command about one patient: as its
    first word (``økter P-17``) or as ``--pseudonym P-17`` (issue 21: ``økter`` took only
    the one, ``fremgang`` only the other; what worked before still does)."""
    p.add_argument("pseudonym", nargs="?", default=None, help=_("the patient's pseudonym"))
    p.add_argument("--pseudonym", dest="pseudonym_option", default=None,
                   help=_("the patient's pseudonym (or as the first word)"))


def _one_pseudonym(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``args.pseudonym`` from either form; refused, in argparse's words, when missing or
    given twice differently."""
    if not hasattr(args, "pseudonym_option"):
        return
    # the command's own parser: its usage above the refusal (trial 15: `økter` without a
    # pseudonym printed «bruk: fourbyfour [-h] [--versjon] KOMMANDO ...»)
    sub = next((a for a in ap._actions if isinstance(a, argparse._SubParsersAction)), None)
    ap = sub.choices.get(args.command, ap) if sub is not None else ap
    given = {v for v in (args.pseudonym, args.pseudonym_option) if v is not None}
    if not given and getattr(args, "command", None) == "report":
        if args.session is None:  # `report` takes a session or a patient (their latest)
            ap.error(_("give the patient's pseudonym (their latest session) or --session ID"))
        return
    if not given:
        ap.error(_("the following arguments are required: %s") % _("PSEUDONYM"))
    if len(given) > 1:
        ap.error(_("two pseudonyms given ({first}, {second}): one patient at a time").format(
            first=args.pseudonym, second=args.pseudonym_option))
    args.pseudonym = given.pop()


def _decimal(text: str) -> float:
    """A number as staff type it: ``6,5`` or ``6.5`` (argparse's float refused the comma)."""
    from controller.core.i18n import parse_number

    try:
        value = parse_number(text)
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(_("{text!r}: a number such as 6,5 or 6.5").format(
            text=text))
    return value


def _whole(field: str) -> Callable[[str], float]:
    """A whole number as staff type it, for a field the patient form takes only whole (age,
    makspuls, hvilepuls): a fraction is refused with the form's words (issue 21: the CLI saved
    ``--makspuls 178,5`` as 179 and said nothing; the console refuses it)."""
    from controller.app.texts import WHOLE_NUMBER_EXAMPLES, WHOLE_NUMBER_WORDS

    def parse(text: str) -> float:
        words = _(WHOLE_NUMBER_WORDS[field]).format(example=WHOLE_NUMBER_EXAMPLES[field])
        try:
            value = _decimal(text)
        except argparse.ArgumentTypeError:
            # what was typed, and the field's own example (trial 15: `--alder abc` was
            # answered with «et tall som 6,5 eller 6.5», a fraction for whole years)
            raise argparse.ArgumentTypeError(f"{text!r}: {words}") from None
        if not value.is_integer():
            raise argparse.ArgumentTypeError(words)
        return value

    return parse


def _drawn(text: str) -> str:
    """An ``--out`` file drawn by matplotlib, by its name's ending (PDF or PNG): checked
    before anything runs, in the command's language (matplotlib refused ``x.txt`` only at
    the end, in English, naming twenty formats)."""
    if text.lower().rsplit(".", 1)[-1] not in ("pdf", "png") or "." not in text:
        raise argparse.ArgumentTypeError(_(
            "{path!r}: the file's name must end in .pdf or .png (the kind of file is "
            "chosen by it)").format(path=text))
    return text


def build_parser() -> argparse.ArgumentParser:
    """Every command's options (also for tests that start a command as a unit does, and for
    the docs' generated CLI reference), in the process's language (``cli_words.speaking``)."""
    from controller.app.cli_words import (
        CHOICE_PREFIX,
        DEMO_CATEGORY_WORDS,
        DEMO_PLAN_WORDS,
        HR_MAX_SOURCE_WORDS,
        NamedParser,
        choice_words,
        name_metavars,
    )

    ap = NamedParser(prog="fourbyfour", description=_("Closed-loop 4x4 training"))
    ap.add_argument("--version", action="version", version=f"fourbyfour {_version()}",
                    help=_("show the program's version and exit"))
    sub = ap.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))
    d = sub.add_parser("demo", help=_("a whole session with a virtual patient and belt"))
    d.add_argument("--seed", type=int, default=1,
                   help=_("the virtual patient's random seed"))
    category_words, category_key = choice_words(
        {k: DEMO_CATEGORY_WORDS[k] for k in dict.fromkeys(CATEGORIES)})
    d.add_argument("--category", metavar=category_words, type=category_key, default="typical",
                   help=_("the kind of virtual patient"))
    d.add_argument("--speed", type=_decimal, default=10.0,
                   help=_("times faster than real time (≤ 10 with the emulated firmware; "
                          "with --fast, 0 = as fast as possible)"))
    d.add_argument("--headless", action="store_true",
                   help=_("no console: the session starts at once and prints its progress "
                          "and a summary (with --control-socket it waits for a console's "
                          "Start)"))
    d.add_argument("--fast", action="store_true",
                   help=_("in-process simulation without the firmware emulator (instant)"))
    d.add_argument("--config", default=None,
                   help=_("the TOML config (default: demo values)"))
    d.add_argument("--store", default=None,
                   help=_("record the session in this SQLite file (default: a temporary "
                          "one)"))
    plan_words, plan_key = choice_words(DEMO_PLAN_WORDS)
    d.add_argument("--plan", metavar=plan_words, type=plan_key, default="4x4",
                   help=_("{six_minute_test}: the 6-minute test end to end (in-process)"
                          ).format(six_minute_test=_(DEMO_PLAN_WORDS["six-minute-test"])
                                   .removeprefix(CHOICE_PREFIX)))
    d.add_argument("--accept-hrmax", action="store_true",
                   help=_("{six_minute_test}: staff accept the proposed HRmax and the register "
                          "keeps it (without this option it is only shown)").format(
                       six_minute_test=_(DEMO_PLAN_WORDS["six-minute-test"])
                       .removeprefix(CHOICE_PREFIX)))
    d.add_argument("--weeks", type=int, default=None,
                   help=_("record a history of this many weeks for one patient into "
                          "--store"))
    d.add_argument("--patient", default=None, help=_("the virtual patient's pseudonym"))
    d.add_argument("--control-socket", default=None,
                   help=_("serve staff consoles on this Unix socket and wait for Start"))
    d.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=_("the demo's language (default: the config's, nb; without --config "
                          "${env} if set)").format(env=LANG_ENV))
    c = sub.add_parser("console", help=_("the staff console, attached to a running service"))
    c.add_argument("--socket", default="/run/fourbyfour/control.sock",
                   help=_("the control service's Unix socket (default: the service's "
                          "default)"))
    c.add_argument("--config", default=None,
                   help=_("the service's TOML config: the console speaks its language"))
    c.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=_("the console's language (default: the config's, else ${env}, "
                          "else nb, bokmål)").format(env=LANG_ENV))
    e = sub.add_parser("export", help=_("one recorded session as CSV or JSON"))
    e.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    e.add_argument("--session", required=True, help=_("the session's id (see sessions)"))
    e.add_argument("--format", choices=["csv", "json"], default="csv",
                   help=_("csv: a spreadsheet for people, in the chosen language (bokmål: "
                          "semicolons and a decimal comma); json: the machine form, "
                          "always the same"))
    e.add_argument("--out", required=True, help=_("the file to write"))
    _lang_option(e, "CSV")
    rp = sub.add_parser("report", help=_("a printable report (PNG or PDF) of one session"))
    rp.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    rp.add_argument("--session", default=None,
                    help=_("the session's id (see sessions); without it, the patient's "
                           "latest session"))
    _pseudonym_argument(rp)  # the patient's latest session (issue 23), as `sessions` takes it
    rp.add_argument("--out", required=True, type=_drawn, help=_("…png or …pdf"))
    _lang_option(rp, "report")
    im = sub.add_parser("import", help=_("import a JSON session export into a store"))
    im.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    im.add_argument("file", help=_("the JSON export"))
    _lang_option(im, "import")
    pg = sub.add_parser("progression", help=_("one patient's progression across sessions"))
    pg.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    _pseudonym_argument(pg)
    pg.add_argument("--out", default=None, type=_drawn, help=_("also draw it (PNG or PDF)"))
    pg.add_argument("--csv", default=None,
                    help=_("also write one row per session: a spreadsheet for people, in "
                           "the chosen language (bokmål: semicolons and a decimal comma)"))
    pg.add_argument("--json", action="store_true",
                    help=_("print JSON instead of text (the machine form, always the same)"))
    _lang_option(pg, "progression")
    pa = sub.add_parser("patients", help=_("every patient in the register"))
    pa.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    _lang_option(pa, "register")
    ss = sub.add_parser("sessions",
                        help=_("one patient's sessions (ids for export and report)"))
    ss.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    _pseudonym_argument(ss)
    _lang_option(ss, "session list")
    pt = sub.add_parser("patient", help=_("show, create or update a patient's profile"))
    pt.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    _pseudonym_argument(pt)
    pt.add_argument("--hr-max", type=_whole("hr_max"), default=None, help=_("HRmax, bpm"))
    source_words, source_key = choice_words(HR_MAX_SOURCE_WORDS)
    pt.add_argument("--hr-max-source", default=None, metavar=source_words, type=source_key,
                    help=_("where HRmax comes from (needed when it changes)"))
    pt.add_argument("--confirm-hr-max", action="store_true",
                    help=_("store an HRmax far above the usual one at the patient's age "
                           "(asked for, as the patient form asks)"))
    pt.add_argument("--hr-rest", type=_whole("hr_rest"), default=None,
                    help=_("resting heart rate, bpm"))
    pt.add_argument("--age", type=_whole("age"), default=None, help=_("age, years"))
    pt.add_argument("--max-speed", type=_decimal, default=None,
                    help=_("the speed cap, km/h (6,5 or 6.5)"))
    pt.add_argument("--max-incline", type=_decimal, default=None,
                    help=_("the incline cap, percent"))
    pt.add_argument("--walk-only", default=None, action=argparse.BooleanOptionalAction,
                    help=_("walking only (no running)"))
    _lang_option(pt, "profile")
    fh = sub.add_parser("fhir", help=_("a session or an HRmax result as a FHIR R4 Bundle"))
    fh.add_argument("--store", required=True, help=_("the session store (SQLite file)"))
    fh.add_argument("--session", default=None, help=_("the session's id (see sessions)"))
    fh.add_argument("--hrmax", default=None, metavar="PSEUDONYM",
                    help=_("send the HRmax of the patient PSEUDONYM as a FHIR bundle "
                           "(instead of a session)"))
    fh.add_argument("--out", required=True, help=_("the file to write (JSON)"))
    _lang_option(fh, "FHIR")
    oc = sub.add_parser("outcome", help=_("the clinic's documented effect over a period"))
    oc.add_argument("--store", required=True, action="append",
                    help=_("a session store (repeat for every treadmill of the site), or the "
                           "clinic's records database as a postgresql:// URL"))
    oc.add_argument("--from", dest="from_day", required=True,
                    help=_("DD.MM.YYYY or YYYY-MM-DD"))
    oc.add_argument("--to", dest="to_day", required=True,
                    help=_("DD.MM.YYYY or YYYY-MM-DD"))
    oc.add_argument("--out", default=None, type=_drawn, help=_("the report (PDF or PNG)"))
    oc.add_argument("--csv", default=None,
                    help=_("one row per patient: a spreadsheet for people, in the chosen "
                           "language (bokmål: semicolons and a decimal comma)"))
    oc.add_argument("--anonymised", default=None,
                    help=_("an anonymised CSV for quality registers and research (the "
                           "machine form: English column names, the same in every "
                           "language)"))
    _lang_option(oc, "outcome report")
    ho = sub.add_parser("handover",
                        help=_("the hand-over to the municipality (PDF, bokmål)"))
    _pseudonym_argument(ho)
    ho.add_argument("--store", default="/var/lib/fourbyfour/sessions.db",
                    help=_("the session store (SQLite file)"))
    ho.add_argument("--out", default=None, type=_drawn,
                    help=_("…pdf (default: PSEUDONYM-handover.pdf)"))
    ho.add_argument("--notes", action="store_true",
                    help=_("include the clinic's notes (only when staff decide to)"))
    _lang_option(ho, "hand-over")
    r = sub.add_parser("run", help=_("the control service on real hardware (from the config)"))
    r.add_argument("--config", required=True, help=_("the TOML config"))
    m = sub.add_parser("monitor",
                       help=_("the central monitor: every treadmill on the broker"))
    m.add_argument("--config", default=None, help=_("the TOML config ([mqtt] section)"))
    m.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    rs = sub.add_parser("records-server", help=_("the clinic's records service (beside the "
                                                 "monitor): every finished session, profiles "
                                                 "at session start"))
    rs.add_argument("--config", default=None,
                    help=_("the TOML config ([mqtt], [records])"))
    rs.add_argument("--db", default=None,
                    help=_("SQLite file or postgresql:// URL (default: [records] db)"))
    cm = sub.add_parser("command", help=_("send a signed stop or alarm acknowledgement"))
    cm.add_argument("action", choices=["stop", "ack"],
                    help=_("stop: stop the session; ack: acknowledge an alarm"))
    cm.add_argument("--site", required=True, help=_("the site's name (the config's [site])"))
    cm.add_argument("--device", required=True, help=_("the treadmill's name"))
    cm.add_argument("--alarm", default=None, help=_("the alarm to acknowledge (ack)"))
    cm.add_argument("--key-file", required=True,
                    help=_("the treadmill's or monitor's key"))
    cm.add_argument("--config", default=None, help=_("the TOML config ([mqtt] section)"))
    cm.add_argument("--host", default=None, help=_("the MQTT server's host"))
    cm.add_argument("--port", type=int, default=None, help=_("the MQTT server's port"))
    cm.add_argument("--timeout", type=_decimal, default=10.0,
                    help=_("seconds to wait for the treadmill's answer (default 10)"))
    for p in dict.fromkeys(sub.choices.values()):  # each command once, not per name
        name_metavars(p.get_default("command"), p)
    return ap


parser = build_parser  # the name before issue 25's split


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return demo(args)
    if args.command == "console":
        return console(args)
    if args.command == "monitor":
        return monitor(args)
    if args.command == "command":
        return command(args)
    if args.command == "records-server":
        return records_server(args)
    if args.command == "run":
        return run(args)
    if args.command == "outcome":
        return outcome_command(args)
    if args.command == "export":
        return export(args)
    if args.command == "report":
        return report(args)
    if args.command == "import":
        return import_session(args)
    if args.command == "progression":
        return progression(args)
    if args.command == "patients":
        return patients(args)
    if args.command == "sessions":
        return sessions(args)
    if args.command == "patient":
        return patient(args)
    if args.command == "fhir":
        return fhir(args)
    if args.command == "handover":
        return handover(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
