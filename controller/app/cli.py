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
from collections.abc import Sequence

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
    SESSION_PROGRESS_HEADERS,
    _day,
    _t_row,
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
from controller.errors import EX_CONFIG, EXIT_BROKEN_PIPE, FourByFourError, exit_code
from controller.sim import CATEGORIES

__all__ = [
    "BELT_URL_LINE",
    "EX_CONFIG",
    "LANG_ENV",
    "PATIENT_HEADERS",
    "SESSION_HEADERS",
    "SESSION_PROGRESS_HEADERS",
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
    "_t_row",
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
        print(f"error: {e}", file=sys.stderr)
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
    args = build_parser().parse_args(argv)
    return _dispatch(args)


def _decimal(text: str) -> float:
    """A number as staff type it: ``6,5`` or ``6.5`` (argparse's float refused the comma)."""
    from controller.core.i18n import parse_number

    try:
        value = parse_number(text)
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: a number such as 6,5 or 6.5")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Every command's options (also for tests that start a command as a unit does, and for
    the docs' generated CLI reference)."""
    ap = argparse.ArgumentParser(prog="fourbyfour", description="Closed-loop 4x4 training")
    ap.add_argument("--version", action="version", version=f"fourbyfour {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="a whole session with a virtual patient and belt")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--category", choices=sorted(set(CATEGORIES)), default="typical")
    d.add_argument("--speed", type=float, default=10.0,
                   help="times faster than real time (≤ 10 with the emulated firmware; "
                   "with --fast, 0 = as fast as possible)")
    d.add_argument("--headless", action="store_true",
                   help="no console: the session starts at once and prints its progress and "
                   "a summary (with --control-socket it waits for a console's Start)")
    d.add_argument("--fast", action="store_true",
                   help="in-process simulation without the firmware emulator (instant)")
    d.add_argument("--config", default=None, help="the TOML config (default: demo values)")
    d.add_argument("--store", default=None,
                   help="record the session in this SQLite file (default: a temporary one)")
    d.add_argument("--plan", choices=["4x4", "six-minute-test"], default="4x4",
                   help="six-minute-test: the HRmax test end to end (in-process)")
    d.add_argument("--weeks", type=int, default=None,
                   help="record a history of this many weeks for one patient into --store")
    d.add_argument("--patient", default=None, help="the virtual patient's pseudonym")
    d.add_argument("--control-socket", default=None,
                   help="serve staff consoles on this Unix socket and wait for Start")
    d.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=f"the demo's language (default: the config's, nb; without --config "
                   f"${LANG_ENV} if set)")
    c = sub.add_parser("console", help="the staff console, attached to a running service")
    c.add_argument("--socket", default="/run/fourbyfour/control.sock",
                   help="the control service's Unix socket (default: the service's default)")
    c.add_argument("--config", default=None,
                   help="the service's TOML config: the console speaks its language")
    c.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=f"the console's language (default: the config's, else ${LANG_ENV}, "
                   "else nb, bokmål)")
    e = sub.add_parser("export", help="one recorded session as CSV or JSON")
    e.add_argument("--store", required=True)
    e.add_argument("--session", required=True)
    e.add_argument("--format", choices=["csv", "json"], default="csv")
    e.add_argument("--out", required=True)
    _lang_option(e, "CSV")
    rp = sub.add_parser("report", help="a printable report (PNG or PDF) of one session")
    rp.add_argument("--store", required=True)
    rp.add_argument("--session", required=True)
    rp.add_argument("--out", required=True, help="…png or …pdf")
    _lang_option(rp, "report")
    im = sub.add_parser("import", help="import a JSON session export into a store")
    im.add_argument("--store", required=True)
    im.add_argument("file")
    pg = sub.add_parser("progression", help="one patient's progression across sessions")
    pg.add_argument("--store", required=True)
    pg.add_argument("--pseudonym", required=True)
    pg.add_argument("--out", default=None, help="also draw it (PNG or PDF)")
    pg.add_argument("--csv", default=None, help="also write one row per session (CSV)")
    pg.add_argument("--json", action="store_true", help="print JSON instead of text")
    _lang_option(pg, "progression")
    pa = sub.add_parser("patients", help="every patient in the register")
    pa.add_argument("--store", required=True)
    _lang_option(pa, "register")
    ss = sub.add_parser("sessions", help="one patient's sessions (ids for export and report)")
    ss.add_argument("--store", required=True)
    ss.add_argument("pseudonym")
    _lang_option(ss, "session list")
    pt = sub.add_parser("patient", help="show, create or update a patient's profile")
    pt.add_argument("--store", required=True)
    pt.add_argument("pseudonym")
    pt.add_argument("--hr-max", type=_decimal, default=None)
    pt.add_argument("--hr-max-source", default=None,
                    choices=["measured", "tanaka", "nes", "keteyian", "six_minute_test",
                             "six_minute_test_edited", "observed_peak"])
    pt.add_argument("--hr-rest", type=_decimal, default=None)
    pt.add_argument("--max-speed", type=_decimal, default=None)
    pt.add_argument("--max-incline", type=_decimal, default=None)
    pt.add_argument("--walk-only", default=None, action=argparse.BooleanOptionalAction)
    _lang_option(pt, "profile")
    fh = sub.add_parser("fhir", help="a session or an HRmax result as a FHIR R4 Bundle")
    fh.add_argument("--store", required=True)
    fh.add_argument("--session", default=None)
    fh.add_argument("--hrmax", default=None, metavar="PSEUDONYM")
    fh.add_argument("--out", required=True)
    oc = sub.add_parser("outcome", help="the clinic's documented effect over a period")
    oc.add_argument("--store", required=True, action="append",
                    help="a session store (repeat for every treadmill of the site), or the "
                    "clinic's records database as a postgresql:// URL")
    oc.add_argument("--from", dest="from_day", required=True, help="YYYY-MM-DD")
    oc.add_argument("--to", dest="to_day", required=True, help="YYYY-MM-DD")
    oc.add_argument("--out", default=None, help="the report (PDF or PNG)")
    oc.add_argument("--csv", default=None, help="one row per patient")
    oc.add_argument("--anonymised", default=None,
                    help="an anonymised CSV for quality registers and research")
    _lang_option(oc, "outcome report")
    ho = sub.add_parser("handover", help="the hand-over to the municipality (PDF, bokmål)")
    ho.add_argument("pseudonym")
    ho.add_argument("--store", default="/var/lib/fourbyfour/sessions.db")
    ho.add_argument("--out", default=None, help="…pdf (default: PSEUDONYM-handover.pdf)")
    ho.add_argument("--notes", action="store_true",
                    help="include the clinic's notes (only when staff decide to)")
    _lang_option(ho, "hand-over")
    r = sub.add_parser("run", help="the control service on real hardware (from the config)")
    r.add_argument("--config", required=True, help="the TOML config")
    m = sub.add_parser("monitor", help="the central monitor: every treadmill on the broker")
    m.add_argument("--config", default=None, help="the TOML config ([mqtt] section)")
    m.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    rs = sub.add_parser("records-server", help="the clinic's records service (beside the "
                        "monitor): every finished session, profiles at session start")
    rs.add_argument("--config", default=None, help="the TOML config ([mqtt], [records])")
    rs.add_argument("--db", default=None,
                    help="SQLite file or postgresql:// URL (default: [records] db)")
    cm = sub.add_parser("command", help="send a signed stop or alarm acknowledgement")
    cm.add_argument("action", choices=["stop", "ack"])
    cm.add_argument("--site", required=True)
    cm.add_argument("--device", required=True)
    cm.add_argument("--alarm", default=None, help="the alarm to acknowledge (ack)")
    cm.add_argument("--key-file", required=True, help="the treadmill's or monitor's key")
    cm.add_argument("--config", default=None, help="the TOML config ([mqtt] section)")
    cm.add_argument("--host", default=None)
    cm.add_argument("--port", type=int, default=None)
    cm.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for the treadmill's answer (default 10)")
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
