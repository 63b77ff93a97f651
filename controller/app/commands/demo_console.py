"""``fourbyfour demo`` with the staff console: the service in a child process, the console in
front (as on the Pi)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from controller.app import demo_text
from controller.app.commands.language import _config_in_its_language
from controller.core.i18n import LANGUAGES, N_, _, translations
from controller.errors import EX_CONFIG


def demo_service_command(args: argparse.Namespace, sock: str, store: str) -> list[str]:
    """The console demo's control service: the headless demo serving ``sock``, with every
    option of the demo that concerns the session (``--patient`` too: the service chooses
    that patient before Start, ``run_demo``'s ``pseudonym``)."""
    cmd = [sys.executable, "-m", "controller", "demo", "--headless", "--control-socket", sock,
           "--store", store, "--speed", str(args.speed), "--seed", str(args.seed),
           "--category", args.category]
    if args.config:
        cmd += ["--config", args.config]
    if getattr(args, "lang", None):
        cmd += ["--lang", args.lang]
    if args.patient:
        cmd += ["--patient", args.patient]
    return cmd


BELT_URL_LINE = N_("belt screen (for the patient): ")
"""The line the headless demo prints before the belt screen's URL, in its language."""


DEMO_LOG = "fourbyfour-demo.log"
"""The demo service's own log (IT's lines, English as the journal's), in the demo's folder
(the store's): never on the terminal of the nurse who runs the demo."""


def _log_to_file(folder: str) -> str | None:
    """The process's log lines (the service's: "MQTT publisher: cannot reach the broker …")
    into ``folder``/``DEMO_LOG`` instead of stderr (Python's last-resort handler printed
    every warning there, and the console demo's terminal is a nurse's); its path, or None
    where the file cannot be written (then the lines stay on stderr)."""
    import logging

    path = os.path.join(folder, DEMO_LOG)
    try:
        handler = logging.FileHandler(path, mode="w", encoding="utf-8")  # this run's only
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def _log_line(path: str | None) -> None:
    if path is not None:
        print(_("The service's log (for IT, in English): {path}").format(path=path),
              flush=True)


def belt_url_in(log: str) -> str | None:
    """The belt screen's URL from the demo service's output, whichever language it spoke
    (the line in every language of the catalog: never one language's prose)."""
    prefixes = tuple({translations(lang).gettext(BELT_URL_LINE) for lang in LANGUAGES})
    url = None
    for line in log.splitlines():
        if line.startswith(prefixes):
            url = next(line.removeprefix(p) for p in prefixes if line.startswith(p)).strip()
    return url


def demo_console_app(sock: str, log: str,  # type: ignore[no-untyped-def]
                     suggested: dict | None = None,  # type: ignore[type-arg]
                     it_log: str | None = None):
    """The demo's console, told where the belt screen is (the service's output says), or,
    when the screen could not start, why in the console's language (never the error as a
    URL: the service's IT log says, ``it_log``, by default ``DEMO_LOG`` beside ``log``).
    ``suggested``: the profile the patient form starts from (``--patient``; staff save it)."""
    from controller.app import texts
    from controller.app.console import StaffConsole

    problem = None
    text = Path(log).read_text()
    url = belt_url_in(text)
    it = Path(it_log) if it_log else Path(log).parent / DEMO_LOG
    if it.exists():
        text += "\n" + it.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        if m := texts.BELT_NOT_SERVED.search(line):
            problem = texts.belt_screen_problem_text(m["port"], m["detail"])
    app = StaffConsole(sock, belt_url=url, suggested=suggested)
    if problem is not None:
        app.message = problem
    return app


def demo_with_console(args: argparse.Namespace) -> int:
    """The control service in a child process, the staff console in front (as on the Pi)."""
    import os
    import subprocess
    import tempfile
    import time as _time

    cfg = _config_in_its_language(args.config, getattr(args, "lang", None))
    if cfg is None:
        return EX_CONFIG
    tmp = tempfile.mkdtemp(prefix="fourbyfour-")
    sock = os.path.join(tmp, "control.sock")
    log = os.path.join(tmp, "service.log")
    store = args.store or os.path.join(tmp, "sessions.db")
    it_log = os.path.join(os.path.dirname(os.path.abspath(store)), DEMO_LOG)
    cmd = demo_service_command(args, sock, store)
    with open(log, "w") as out:
        service = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    belt_url = None
    try:
        deadline = _time.monotonic() + 30
        while not os.path.exists(sock):
            if service.poll() is not None or _time.monotonic() > deadline:
                print(_("error: the control service did not start; see {log}").format(
                    log=log), file=sys.stderr)
                return 1
            _time.sleep(0.1)
        # --patient (--pasient) is chosen by the service (demo_service_command): the console
        # shows that patient, and the form after the session starts empty (issue 21)
        app = demo_console_app(sock, log, it_log=it_log)
        belt_url = app.belt_url
        app.run()
    finally:
        if service.poll() is None:
            # the demo ends with its console (on a Pi the service stays): SIGTERM, the
            # service's controlled stop, bounded
            service.terminate()
            try:
                service.wait(60)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
    print("\n".join(demo_text.demo_over_lines(belt_url, service.returncode or 0, log,
                                              args.store)))
    # the service's IT log, in the store's folder: named where it stays (beside --store, or
    # kept with the rest when the service failed); the temporary folder goes otherwise
    if os.path.exists(it_log) and (args.store or service.returncode != 0):
        _log_line(it_log)
    if service.returncode != 0:  # keep what tells why
        return 1
    kept = leave_reports(tmp)
    if kept is not None:
        print(_("The reports you wrote are kept in {folder}").format(folder=kept))
    return 0


def leave_reports(tmp: str) -> str | None:
    """The demo's temporary folder removed — socket, log and (without ``--store``) the
    store — but the reports staff wrote with `w`: they are in ``exports`` beside the store,
    as the staff docs say, and they stay (issue 23: the console named the folder, and the
    demo deleted it as it ended). The folder kept, or None."""
    import shutil

    exports = os.path.join(tmp, "exports")
    if not os.path.isdir(exports) or not os.listdir(exports):
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    for name in os.listdir(tmp):
        if name != "exports":
            path = os.path.join(tmp, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
    return exports
