"""Command line: ``fourbyfour demo`` runs a whole simulated 4x4 session.

The demo uses the same ``Session`` a clinic uses, driven by a virtual patient from
``controller.sim`` on a simulated belt. ``--speed N`` runs N× faster than real time
(0 = as fast as possible); the headless demo prints a line per phase and a summary table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controller.app import demo_text
from controller.core.i18n import N_, _, format_date, format_number
from controller.core.pseudonym import check_pseudonym
from controller.core.words import SOURCES, word
from controller.errors import EX_CONFIG, EXIT_BROKEN_PIPE, FourByFourError, exit_code
from controller.protocol import PatientProfile
from controller.sim import CATEGORIES, TraceRow, VirtualPatient, make_patient

_clock = demo_text.clock
_phase_line = demo_text.phase_line  # the words: controller/app/demo_text.py


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print("\n".join(demo_text.summary_lines(rows, hr_max)))


def _demo_language(args: argparse.Namespace) -> None:
    """The demo speaks --lang, else its config's language (bokmål by default, the clinic's),
    else $FOURBYFOUR_LANG."""
    from controller.core.i18n import LANGUAGES, set_language
    from controller.service.config import load

    lang = getattr(args, "lang", None)
    if lang is None and args.config is None:
        lang = os.environ.get(LANG_ENV)
    if lang is None or lang not in LANGUAGES:
        lang = load(args.config).language  # checked by demo() before
    set_language(lang)


def demo(args: argparse.Namespace) -> int:
    if args.config is not None:  # every kind of demo: a config given is never ignored unread
        from controller.service.config import ConfigError, load

        try:
            load(args.config)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return exit_code(e)
    if args.patient is not None:
        try:
            check_pseudonym(args.patient, "--patient")
        except ValueError as e:
            print(_("error: {reason}").format(reason=e), file=sys.stderr)
            return 2
    _demo_language(args)
    if args.weeks is not None:
        return demo_history(args)
    if args.plan == "six-minute-test":
        return demo_six_minute_test(args)
    if args.fast:
        return demo_fast(args)
    if not args.headless:
        return demo_with_console(args)
    import asyncio

    from controller.app.demo import DemoAborted, run_demo

    # the service speaks the clinic's language
    cfg = _config_in_its_language(args.config, getattr(args, "lang", None))
    if cfg is None:
        return EX_CONFIG
    if args.patient:
        cfg = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile,
                                                                   pseudonym=args.patient))
    if args.store is None:
        import os
        import tempfile

        args.store = os.path.join(tempfile.mkdtemp(prefix="fourbyfour-"), "sessions.db")
    phase_rows: list[TraceRow] = []
    mqtt_state: list[bool | None] = [None]
    # The belt screen comes with the service (a console attached), as on the Pi.
    serve_belt = cfg.belt_view.enabled and args.control_socket is not None

    faults: list[str] = []
    emus: list = []  # type: ignore[type-arg]
    runtimes: list = []  # type: ignore[type-arg]
    rows_seen: list[bool] = []

    def on_tick(snap, row: TraceRow) -> None:  # type: ignore[no-untyped-def]
        if not phase_rows and not rows_seen and runtimes:
            # the patient staff chose (a console may have changed it), as the session starts
            print(f"session {runtimes[0].session_id} for {runtimes[0].profile.pseudonym} "
                  "starts", flush=True)
        rows_seen.append(True)
        st = snap.treadmill
        if st is not None and st.fault not in ("none", "boot") and st.fault not in faults:
            faults.append(st.fault)
        for e in snap.setpoint.events:
            if e.kind not in ("phase", "stopping", "done"):
                print(demo_text.event_line(e), flush=True)
        if snap.mqtt_online is not None and snap.mqtt_online != mqtt_state[0]:
            mqtt_state[0] = snap.mqtt_online
            where = f"{cfg.mqtt.host}:{cfg.mqtt.port}"
            print(f"  MQTT {'online' if snap.mqtt_online else 'offline'} ({where})", flush=True)
        if phase_rows and (row.phase, row.interval) != (phase_rows[0].phase,
                                                        phase_rows[0].interval):
            print(_phase_line(phase_rows), flush=True)
            phase_rows.clear()
        phase_rows.append(row)

    def on_belt_view(url: str) -> None:
        print(f"{BELT_URL_LINE}{url}", flush=True)

    def on_ready(rt, emu) -> None:  # type: ignore[no-untyped-def]
        emus.append(emu)
        runtimes.append(rt)
        print(f"emulated treadmill firmware on {emu.link}; staff pressed the local reset "
              f"({args.speed:g}× real time)" + ("; waiting for Start at the console"
                                                if args.control_socket else ""), flush=True)

    try:
        _rt, rows = asyncio.run(run_demo(cfg, speedup=args.speed, seed=args.seed,
                                        category=args.category, on_tick=on_tick,
                                        on_ready=on_ready,
                                        control_socket=args.control_socket,
                                        store_path=args.store,
                                        linger=args.control_socket is not None,
                                        belt_view=on_belt_view if serve_belt else None))
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except asyncio.CancelledError:  # SIGTERM with no session running: an orderly end
        print("demo ended (SIGTERM); the belt is stopped", flush=True)
        return 0
    except DemoAborted as e:
        if phase_rows:
            print(_phase_line(phase_rows))
        _link_line(emus, faults, runtimes)
        print(f"error: {e}", file=sys.stderr)
        return 1
    if phase_rows:
        print(_phase_line(phase_rows))
    print("session done: belt stopped, motor board idle")
    if args.store:
        print(f"recorded in {args.store}")
    _summary(rows, cfg.profile.hr_max)
    _link_line(emus, faults, runtimes)
    return 0


def _link_line(emus: list, faults: list[str],  # type: ignore[type-arg]
               runtimes: list) -> None:  # type: ignore[type-arg]
    """How the link to the motor board held up (``./run bench-demo`` reads this line)."""
    if not emus:
        return
    gap_ms = emus[0].port.max_rx_gap_s * 1000 if emus[0].port else float("nan")
    late = runtimes[0].late_ticks if runtimes else 0
    poll_ms = emus[0].max_poll_gap_s * 1000  # the board's own stall: not the host's
    starved = getattr(emus[0], "starved_gaps", 0)
    print(f"link: largest gap between host frames {gap_ms:.0f} ms, late ticks {late}, "
          f"board's longest poll gap {poll_ms:.0f} ms (starved {starved}×, never blamed on the "
          f"host), motor-board faults: {', '.join(faults) or 'none'}", flush=True)


def _config_in_its_language(path: str | None,  # type: ignore[no-untyped-def]
                            lang: str | None = None):
    """The config, with the process's language set from it (or ``lang``, the demo's
    --lang); None (said on stderr) when the config cannot be used."""
    from controller.core.i18n import set_language
    from controller.service.config import ConfigError, load

    try:
        cfg = load(path)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    set_language(lang or cfg.language)
    return cfg


def demo_service_command(args: argparse.Namespace, sock: str, store: str) -> list[str]:
    """The console demo's control service: the headless demo serving ``sock``, with every
    option of the demo that concerns the session (``--patient`` too)."""
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


LANG_ENV = "FOURBYFOUR_LANG"
"""The language of a command without --lang or a config (clinic IT sets it for a shell)."""


def _lang_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--lang", choices=["nb", "en"], default=None,
                   help=f"the {what}'s language (default: ${LANG_ENV}, else nb, bokmål)")


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


BELT_URL_LINE = "belt screen (for the patient): "


def demo_console_app(sock: str, log: str):  # type: ignore[no-untyped-def]
    """The demo's console, told where the belt screen is (the service's log says), or, when
    the screen could not start, why in the console's language (never the error as a URL)."""
    from controller.app import texts
    from controller.app.console import StaffConsole

    url = problem = None
    for line in Path(log).read_text().splitlines():
        if line.startswith(BELT_URL_LINE):
            url = line.removeprefix(BELT_URL_LINE).strip()
        elif m := texts.BELT_NOT_SERVED.search(line):
            problem = texts.belt_screen_problem_text(m["port"], m["detail"])
    app = StaffConsole(sock, belt_url=url)
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
    cmd = demo_service_command(args, sock, args.store or os.path.join(tmp, "sessions.db"))
    with open(log, "w") as out:
        service = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    belt_url = None
    try:
        deadline = _time.monotonic() + 30
        while not os.path.exists(sock):
            if service.poll() is not None or _time.monotonic() > deadline:
                print(f"error: the control service did not start; see {log}", file=sys.stderr)
                return 1
            _time.sleep(0.1)
        app = demo_console_app(sock, log)
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
    if service.returncode != 0:  # keep what tells why
        return 1
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)  # socket, log and (without --store) the store
    return 0


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


def _service_error(e: BaseException) -> None:
    """The one line a service ends with; under systemd, journald files it as an error."""
    from controller.service.journal import under_journal

    print(f"{'<3>' if under_journal() else ''}error: {e}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from controller.core.i18n import set_language
    from controller.service.config import ConfigError, load
    from controller.service.journal import setup_logging
    from controller.service.service import run_service
    from controller.treadmill import LinkDown

    setup_logging(logging.INFO)
    try:
        cfg = load(args.config)
        set_language(cfg.language)  # reports and refusals in the clinic's language
        asyncio.run(run_service(cfg))
    except ConfigError as e:  # a restart cannot mend it: RestartPreventExitStatus=78
        _service_error(e)
        return EX_CONFIG
    except LinkDown as e:  # the port may come back: systemd restarts the service
        _service_error(e)
        return exit_code(e)
    except KeyboardInterrupt:
        return 0
    return 0


def monitor(args: argparse.Namespace) -> int:
    """The central monitor; a crash exits non-zero (Textual keeps the code in return_code)."""
    cfg = _config_in_its_language(args.config)
    if cfg is None:
        return EX_CONFIG
    from controller.app.monitor import CentralMonitor  # after the language is chosen
    from controller.net.tls import TlsConfigError, client_context

    try:  # a certificate or key that cannot be loaded: one line, not a traceback
        client_context(cfg.mqtt)
    except TlsConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app = CentralMonitor(cfg.mqtt, command_key=cfg.monitor_key)
    app.run(headless=args.headless)
    return app.return_code or 0


def records_server(args: argparse.Namespace) -> int:
    """The clinic's records service: finished sessions in, profiles out."""
    import asyncio
    import logging

    from controller.net.tls import TlsConfigError
    from controller.records.clinic_db import open_clinic_db
    from controller.records.store import StoreError
    from controller.service.config import ConfigError, load
    from controller.service.journal import setup_logging
    from controller.service.records_server import RecordsServer
    from controller.service.shutdown import stop_on_sigterm

    setup_logging(logging.INFO)
    try:
        cfg = load(args.config)
        db = open_clinic_db(args.db or cfg.records_db)
    except (ConfigError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_code(e, default=2)

    async def serve() -> None:
        stop_on_sigterm()
        await RecordsServer(cfg.mqtt, db).run()

    try:
        asyncio.run(serve())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except TlsConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_code(e)
    finally:
        db.close()
    return 0


def command(args: argparse.Namespace) -> int:
    """Send one signed stop or acknowledgement to a treadmill's running session."""
    import asyncio
    import dataclasses

    from controller.core.text import clean
    from controller.net.remote import CommandError, send
    from controller.net.tls import TlsConfigError
    from controller.service.config import ConfigError, load

    try:
        cfg = load(args.config)
        secret = Path(args.key_file).read_bytes().strip()
        if len(secret) < 16:
            raise ConfigError(f"{args.key_file}: the key must be at least 16 bytes")
        settings = dataclasses.replace(cfg.mqtt, **{k: v for k, v in (
            ("host", args.host), ("port", args.port)) if v is not None})
        if args.action == "ack" and not args.alarm:
            raise ConfigError("ack needs --alarm KIND")
        session_id, done = asyncio.run(send(settings, args.site, args.device, secret,
                                            args.action, args.alarm, args.timeout))
    except CommandError as e:  # refused by the treadmill, or no answer: not carried out
        print(f"error: {clean(e)}", file=sys.stderr)
        return 1
    except (ConfigError, TlsConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_code(e, default=2)
    except Exception as e:  # aiomqtt.MqttError and friends: the broker said no
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"{args.site}/{args.device}, session {session_id}: {done}")
    return 0


def _day(unix_s: float) -> str:

    from controller.core.dates import local_day

    return format_date(local_day(unix_s))


PATIENT_HEADERS = (N_("pseudonym"), N_("HRmax"), N_("source"), N_("set on"), N_("HRrest"),
                   N_("caps"), N_("sessions"), N_("last session"))
SESSION_HEADERS = (N_("date"), N_("time"), N_("session"), N_("plan"), N_("status"),
                   N_("minutes"), N_("intervals ok"))


def _table(headers: Sequence[str], rows: list[list[str]]) -> str:
    cols = [_(h) for h in headers]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def patients_text(store) -> str:  # type: ignore[no-untyped-def]
    """Every patient in the register with HRmax, source and date, and their sessions."""
    import datetime as dt

    from controller.records.register import Register

    rows = []
    for p in Register(store).patients():
        recs = store.sessions(p.pseudonym)
        caps = _("{speed} km/h, {incline} %").format(speed=format_number(p.max_speed_kmh),
                                                      incline=format_number(p.max_incline_pct))
        if p.walk_only:
            caps = _("{caps}, walk only").format(caps=caps)
        rows.append([p.pseudonym, format_number(p.hr_max_bpm, 0), word(SOURCES, p.hr_max_source),
                     format_date(dt.date.fromisoformat(p.hr_max_date)) if p.hr_max_date
                     else "—",
                     "—" if p.hr_rest_bpm is None else format_number(p.hr_rest_bpm, 0), caps,
                     str(len(recs)), _day(recs[-1].started_unix_s) if recs else "—"])
    if not rows:
        return _("No patients in {store}.").format(store=store.path)
    return _table(PATIENT_HEADERS, rows)


def sessions_text(store, pseudonym: str) -> str:  # type: ignore[no-untyped-def]
    """One patient's sessions: date, plan, duration, intervals ok (the id for export and
    report)."""

    from controller.core.dates import local_datetime

    rows = []
    kept = {st["session_id"]: st for st in store.stats(pseudonym)}  # figures kept at the end
    for r in store.sessions(pseudonym):
        st = kept.get(r.id) or store.stats_of(r.id)  # a running session: computed now
        minutes = st["minutes"]
        ok = f"{st['intervals_ok']}/{st['intervals_n']}" if st["intervals_n"] else "—"
        start = local_datetime(r.started_unix_s)  # the clinic's wall clock, whatever TZ says
        rows.append([format_date(start.date()), start.strftime("%H:%M"), r.id, r.plan_name,
                     r.status, format_number(minutes, 0), ok])
    if not rows:
        return _("No sessions for {pseudonym}.").format(pseudonym=pseudonym)
    return _table(SESSION_HEADERS, rows)


def progression_text(prog: dict) -> str:  # type: ignore[type-arg]
    def num(x, d=1):  # type: ignore[no-untyped-def]
        return "—" if x is None else format_number(x, d)

    lines = [_("Progression of {pseudonym}: {n} sessions, {per_week} per week (the clinic "
               "aims for {target}).").format(pseudonym=prog["pseudonym"],
                                             n=len(prog["sessions"]),
                                             per_week=num(prog["sessions_per_week"]),
                                             target=prog["sessions_per_week_target"])]
    for key, text in (("work_at_90_trend_vo2_per_week",
                       N_("Work at 90 % HRmax: trend {trend} ml/kg/min per week ({rule}).")),
                      ("vo2max_trend_per_week",
                       N_("Estimated VO2max: trend {trend} ml/kg/min per week ({rule}).")),
                      ("hr_at_fixed_workload_trend_bpm_per_week",
                       N_("Heart rate at 15 ml/kg/min: trend {trend} bpm per week ({rule})."))):
        trend = prog[key]
        lines.append(_(text).format(trend="—" if trend is None else f"{trend:+.2f}",
                                    rule=prog["trend_rule"]))
    lines.append(_t_row(SESSION_PROGRESS_HEADERS))
    for p in prog["sessions"]:
        lines.append(_t_row([_day(p["started_unix_s"]), num(p["work_at_90_vo2"]),
                             num(p["speed_at_90_kmh"]), num(p["incline_at_90_pct"]),
                             num(p["vo2max_estimate"]), num(p["hr_at_fixed_workload_bpm"], 0),
                             num(p["minutes_at_85"])], translate=False))
    if prog["hr_max_suggestion"]:
        lines.append(_("HRmax: {why}.").format(why=prog["hr_max_suggestion"]["why"]))
    return "\n".join(lines)


SESSION_PROGRESS_HEADERS = (N_("date"), N_("work ml/kg/min"), N_("km/h"), N_("incline %"),
                            N_("VO2max"), N_("HR at 15"), N_("min ≥ 85 %"))


def _t_row(cells: Sequence[str], translate: bool = True) -> str:
    return "  ".join((_(c) if translate else c).rjust(14) for c in cells)


def patient_command(store, args: argparse.Namespace) -> str:  # type: ignore[no-untyped-def]
    """Show, create or update one patient's profile in the register."""
    from controller.records.register import PatientRecord, Register

    reg = Register(store)
    check_pseudonym(args.pseudonym)
    old = reg.get(args.pseudonym)
    changes = {k: v for k, v in (("hr_max_bpm", args.hr_max),
                                 ("hr_max_source", args.hr_max_source),
                                 ("hr_rest_bpm", args.hr_rest),
                                 ("max_speed_kmh", args.max_speed),
                                 ("max_incline_pct", args.max_incline),
                                 ("walk_only", args.walk_only)) if v is not None}
    if changes:
        if old is None:
            if "hr_max_bpm" not in changes or "hr_max_source" not in changes:
                raise ValueError(_("a new patient needs --hr-max and --hr-max-source"))
            old = PatientRecord(args.pseudonym, changes["hr_max_bpm"],
                                changes["hr_max_source"])
        if "hr_max_bpm" in changes and "hr_max_source" not in changes:
            raise ValueError(_("a changed HRmax needs its source (--hr-max-source)"))
        rec = dataclasses.replace(old, **changes)
        if "hr_max_bpm" in changes:

            from controller.core.dates import local_day

            rec = dataclasses.replace(rec, hr_max_date=local_day(store.clock()).isoformat())
        reg.save(rec)
        if "hr_max_bpm" in changes:  # staff's decision, kept like the console's
            reg.decide_hrmax(rec.pseudonym, "edited", rec.hr_max_bpm, rec.hr_max_source,
                             {"via": "command line"})
    elif old is None:
        raise ValueError(_("no patient {pseudonym} in the register").format(
            pseudonym=args.pseudonym))
    out = patients_text(store).splitlines()[0] + "\n" + next(
        line for line in patients_text(store).splitlines()[1:]
        if line.split()[0] == args.pseudonym)
    kept = reg.get(args.pseudonym)
    if kept is not None and kept.response_model is not None:  # issue 26
        from controller.core.words import response_words

        carried, why = kept.carried_response()
        out += "\n" + (_("learned response not used: {why}").format(why=why) if carried is None
                       else _("learned response ({date}): {words}").format(
                           date=kept.response_model_date or "—",
                           words=response_words(kept.response_model)))
    return out


def outcome_command(args: argparse.Namespace) -> int:
    """The clinic's documented effect over a period, from one or more stores of a site."""
    import datetime as dt

    from controller.records import outcome
    from controller.records.store import Store, StoreError

    _chosen_language(args)
    try:
        start, end = dt.date.fromisoformat(args.from_day), dt.date.fromisoformat(args.to_day)
    except ValueError:
        print(_("error: --from and --to are dates (YYYY-MM-DD)"), file=sys.stderr)
        return 2
    try:
        stores: list[Any] = []  # session stores and the clinic's records db
        for s in args.store:
            if s.startswith(("postgresql://", "postgres://")):  # the clinic's records db
                from controller.records.clinic_db import PgClinicDb

                stores.append(PgClinicDb(s))
                continue
            if not Path(s).exists():
                raise StoreError(f"{s}: no such session store")
            stores.append(Store(s, readonly=True))  # readers never write
        result = outcome.outcome(stores, start, end)
        print("\n".join(outcome.outcome_lines(result)))
        if args.out:
            outcome.render_outcome(result, args.out)
            print(_("wrote {path}").format(path=args.out))
        if args.csv:
            outcome.write_outcome_csv(result, args.csv)
            print(_("wrote {path}").format(path=args.csv))
        if args.anonymised:
            n, left_out = outcome.anonymised_export(stores, start, end, args.anonymised)
            print(_("wrote {path} ({n} patients in groups of at least {k}, banded figures, "
                    "no dates; {left_out} in smaller groups left out)").format(
                path=args.anonymised, n=n, k=outcome.ANON_K, left_out=left_out))
    except (StoreError, ValueError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    return 0


def records(args: argparse.Namespace) -> int:
    """export / report / import / progression on a session store."""
    import sqlite3

    from controller.records import report
    from controller.records.store import Store, StoreError

    if args.command in ("report", "progression", "export"):
        _chosen_language(args)
    try:
        if not Path(args.store).exists() and args.command not in ("import", "patient"):
            raise StoreError(f"{args.store}: no such session store")
        # only import and patient write; every other command reads (never the live store)
        store = Store(args.store, readonly=args.command not in ("import", "patient"))
        if args.command == "export":
            (report.export_csv if args.format == "csv" else report.export_json)(
                store, args.session, args.out)
        elif args.command == "report":
            report.render_session(store, args.session, args.out)
        elif args.command == "import":
            print(f"imported session {report.import_json(store, args.file)}")
        elif args.command == "progression":
            check_pseudonym(args.pseudonym, "--pseudonym")
            prog = report.progression(store, args.pseudonym)
            if args.out:
                report.render_progression(store, args.pseudonym, args.out)
            if args.csv:
                report.progression_csv(prog, args.csv)
                print(_("wrote {path}").format(path=args.csv))
            if args.json:
                print(json.dumps(prog, indent=1))
            else:
                print(progression_text(prog))
        elif args.command == "patients":
            print(patients_text(store))
        elif args.command == "sessions":
            check_pseudonym(args.pseudonym)
            print(sessions_text(store, args.pseudonym))
        elif args.command == "patient":
            try:
                print(patient_command(store, args))
            except sqlite3.OperationalError as e:  # the service's batch held the lock
                raise StoreError(f"{args.store}: busy (the service is writing: {e}); try "
                                 "again in a moment") from None
        elif args.command == "fhir":
            from controller.records import fhir

            if args.session:
                bundle = fhir.session_bundle(store, args.session)
            elif args.hrmax:
                from controller.records.register import Register

                bundle = fhir.current_hrmax_bundle(Register(store), args.hrmax)
            else:
                raise ValueError(_("give --session ID or --hrmax PSEUDONYM"))
            fhir.write_bundle(bundle, args.out)
        store.close()
    except (StoreError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if getattr(args, "out", None):
        print(demo_text.wrote_line(args.out))
    return 0


def handover(args: argparse.Namespace) -> int:
    """The printable hand-over for the patient's follow-up in the municipality."""
    from controller.records.handover import render_handover
    from controller.records.store import Store, StoreError

    out = args.out or f"{args.pseudonym}-handover.pdf"
    lang = _chosen_language(args, for_process=False)
    try:
        if not Path(args.store).exists():
            raise StoreError(f"{args.store}: no such session store")
        store = Store(args.store, readonly=True)
        try:
            render_handover(store, args.pseudonym, out, include_notes=args.notes,
                            lang=lang)
        finally:
            store.close()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(demo_text.wrote_line(out, with_notes=args.notes, lang=lang))
    return 0


def demo_fast(args: argparse.Namespace) -> int:
    """The in-process simulation (no firmware emulator): a whole session in well under 1 s."""
    import random

    rng = random.Random(args.seed)
    truth, profile = make_patient(rng, args.category, args.seed)
    if args.patient:
        profile = dataclasses.replace(profile, pseudonym=args.patient)
    print(demo_text.virtual_patient_line(args.category, truth, profile))
    from controller.app.simdemo import run_session

    store = _open_store(args.store)
    phase_rows: list[TraceRow] = []

    def on_tick(_session, sp, t) -> None:  # type: ignore[no-untyped-def]
        for e in sp.events:
            if e.kind not in ("phase", "stopping", "done"):
                print(demo_text.event_line(e))
        # The record keeps what the session accepted (artefacts gated out), like a clinic's.
        row = TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm, None, sp.speed_kmh,
                       sp.incline_pct, sp.speed_kmh, sp.incline_pct, sp.zone_low_bpm,
                       sp.zone_high_bpm)
        if phase_rows and (row.phase, row.interval) != (phase_rows[0].phase,
                                                        phase_rows[0].interval):
            print(_phase_line(phase_rows), flush=True)
            phase_rows.clear()
        phase_rows.append(row)

    sid, rows, _s = run_session(VirtualPatient(truth), profile, store=store, on_tick=on_tick)
    print(demo_text.session_done_line(rows[-1].t_s))
    _summary(rows, profile.hr_max)
    if store is not None:
        store.close()
        print(_("Recorded as session {id} in {store}.").format(id=sid, store=args.store))
    return 0


def _open_store(path: str | None):  # type: ignore[no-untyped-def]
    if path is None:
        return None
    from controller.records.store import Store

    return Store(path)


def _new_patient_profile(truth, measured: PatientProfile,  # type: ignore[no-untyped-def]
                         pseudonym: str | None) -> PatientProfile:
    """A new patient's first profile, as a clinic makes it before any test: HRmax from the
    age formula, the rest as measured."""
    return PatientProfile.from_age(round(truth.age_years), "tanaka", hr_rest=measured.hr_rest,
                                   max_speed_kmh=measured.max_speed_kmh,
                                   max_incline_pct=measured.max_incline_pct,
                                   walk_only=measured.walk_only,
                                   pseudonym=pseudonym or "DEMO-1")


def demo_six_minute_test(args: argparse.Namespace) -> int:
    """The 6-minute test end to end with a virtual patient: staff change the load, the
    patient answers the Borg rating, the HRmax proposal is shown and accepted."""
    import random

    from controller.app.simdemo import run_six_minute_test
    from controller.core.hrmax import hr_max_tanaka

    truth, measured = make_patient(random.Random(args.seed), args.category, args.seed)
    profile = _new_patient_profile(truth, measured, args.patient)
    store = _open_store(args.store)
    # Said first, so nobody takes this for the test on the treadmill: --headless and --speed
    # have no meaning for an instant simulation.
    print(_("An instant simulation of the 6-minute test as staff run it (no treadmill "
            "emulator, no console). For the test on the emulated treadmill, run the demo with "
            "the console and choose the plan '6-minute test' in the patient form."))
    res = run_six_minute_test(VirtualPatient(truth), profile, store=store)
    print(_("6-minute test for {pseudonym} (virtual patient: {category}, true HRmax {true} "
            "bpm; the age formula says {tanaka} bpm).").format(
                pseudonym=profile.pseudonym, category=args.category,
                true=format_number(truth.hr_max_bpm, 0),
                tanaka=format_number(hr_max_tanaka(round(truth.age_years)), 0)))
    print(_("Load at the start of the test {speed} km/h at {incline} %, at its end {speed_end} "
            "km/h at {incline_end} %.").format(
                speed=format_number(res.start_load[0]),
                incline=format_number(res.start_load[1]),
                speed_end=format_number(res.final_load[0]),
                incline_end=format_number(res.final_load[1])))
    est = res.estimate
    print(_("Borg rating at the end: {rpe}.").format(rpe=res.rpe))
    print(_("Proposed HRmax: {hr_max} ± {unc} bpm ({method}; {why}).").format(
        hr_max=format_number(est.hr_max_bpm, 0), unc=format_number(est.uncertainty_bpm, 0),
        method=est.method, why=est.explanation))
    if store is not None:
        store.close()
        print(_("Accepted by staff: stored for {pseudonym} with source {source} in {store}, "
                "session {id}.").format(pseudonym=profile.pseudonym, source=est.source,
                                        store=args.store, id=res.session_id))
    return 0


def demo_history(args: argparse.Namespace) -> int:
    """Months of one patient's training into a store, so every view has data."""
    import random
    import time as _time

    from controller.app.simdemo import history

    if args.store is None:
        print(_("error: --weeks needs --store FILE"), file=sys.stderr)
        return 2
    if not 1 <= args.weeks <= 52:
        print(_("error: --weeks must be 1–52"), file=sys.stderr)
        return 2
    truth, measured = make_patient(random.Random(args.seed), args.category, args.seed)
    truth = dataclasses.replace(truth, vo2max=min(truth.vo2max, 30.0))
    profile = _new_patient_profile(truth, measured, args.patient)
    store = _open_store(args.store)
    start = _time.time() - (args.weeks * 7 + 7) * 86400
    start -= start % 86400 - 13 * 3600  # an afternoon
    made = history(store, truth, profile, weeks=args.weeks, seed=args.seed,
                   start_unix_s=start)
    store.close()
    print(_("Recorded {n} sessions of {pseudonym} over {weeks} weeks (a 6-minute test, then "
            "4x4 training) in {store}.").format(n=len(made), pseudonym=profile.pseudonym,
                                                weeks=args.weeks, store=args.store))
    return 0


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
    args = parser().parse_args(argv)
    return _dispatch(args)


def parser() -> argparse.ArgumentParser:
    """Every command's options (also for tests that start a command as a unit does)."""
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
                   help="print progress and a summary (the only mode until the console lands)")
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
    ss = sub.add_parser("sessions", help="one patient's sessions (ids for export and report)")
    ss.add_argument("--store", required=True)
    ss.add_argument("pseudonym")
    pt = sub.add_parser("patient", help="show, create or update a patient's profile")
    pt.add_argument("--store", required=True)
    pt.add_argument("pseudonym")
    pt.add_argument("--hr-max", type=float, default=None)
    pt.add_argument("--hr-max-source", default=None,
                    choices=["measured", "tanaka", "nes", "keteyian", "six_minute_test",
                             "six_minute_test_edited", "observed_peak"])
    pt.add_argument("--hr-rest", type=float, default=None)
    pt.add_argument("--max-speed", type=float, default=None)
    pt.add_argument("--max-incline", type=float, default=None)
    pt.add_argument("--walk-only", default=None, action=argparse.BooleanOptionalAction)
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
    if args.command in ("export", "report", "import", "progression", "patients", "sessions",
                        "patient", "fhir"):
        return records(args)
    if args.command == "handover":
        return handover(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
