"""``fourbyfour demo``: a whole simulated session — headless on the emulated firmware here;
with the console (``demo_console``), in-process (``demo_sim``) by its options."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from controller.app import demo_text
from controller.app.cli_words import DEMO_PLAN_WORDS, choice_word, option_names
from controller.app.commands.demo_console import (
    BELT_URL_LINE,
    _log_line,
    _log_to_file,
    demo_with_console,
)
from controller.app.commands.demo_sim import demo_fast, demo_history, demo_six_minute_test
from controller.app.commands.demo_text import _link_line, _phase_line, _summary
from controller.app.commands.language import _config_in_its_language, _demo_language
from controller.core.i18n import _, format_number
from controller.core.plan import warmup_s
from controller.core.pseudonym import check_pseudonym
from controller.errors import EX_CONFIG, exit_code
from controller.sim import TraceRow

if TYPE_CHECKING:
    from controller.service.config import Config

DEMO_MAX_SPEED = 10.0
"""The fastest simulated time ``--speed`` takes on the emulated firmware: the bound its help
states to staff (``run_demo`` itself runs up to ``MAX_SPEEDUP`` for the tests' and benches'
own use)."""


def _the_clinics_store(store: str, config: Config | None) -> bool:
    """``store`` is the clinic's real session store: the ``[store] path`` of the config
    given (``config``, as read once by the caller), or the service's default one (issue 21:
    a demo's test went into the register the nurse took for the real one). The demo writes
    only a store of its own."""
    from controller.service.config import load

    clinic = (config if config is not None else load(None)).store_path
    return os.path.realpath(store) == os.path.realpath(clinic)


def _registered_misfit(args: argparse.Namespace, config: Config | None) -> str | None:
    """Why the 4x4 cannot run for the ``--patient`` the register knows (its caps: a max
    incline below the intervals' 5 %), in the demo's language; None when it can, or for
    another plan. Said before any service starts (issue 21: the console demo said only «the
    control service did not start», its log the English reason)."""
    if args.patient is None or args.store is None or args.weeks is not None or \
            args.plan == "six-minute-test" or not os.path.exists(args.store):
        return None
    from controller.app.texts import plan_misfit_text
    from controller.core.plan import PlanError
    from controller.protocol import ProfileError, Session
    from controller.records.register import Register
    from controller.records.store import Store
    from controller.service.config import load

    store = Store(args.store)
    try:
        known = Register(store).get(args.patient)
    finally:
        store.close()
    if known is None:
        return None
    try:  # the session's own check of the plan against the caps, as the service makes it
        Session(known.profile(), (config if config is not None else load(None)).plan)
    except PlanError as e:
        return f"{args.patient}: {plan_misfit_text(e)}"
    except ProfileError:  # the profile's own refusal is the service's to say
        return None
    return None


def demo(args: argparse.Namespace) -> int:
    from controller.core.sigint import hand_over_ctrl_c

    if not args.headless or args.fast or args.weeks is not None or \
            args.plan == "six-minute-test":
        # Python's own Ctrl-C (a KeyboardInterrupt, one line at the entry point); the
        # headless run keeps it noted until its controlled stop takes it (app/demo.py)
        hand_over_ctrl_c()
    given = None
    if args.config is not None:  # every kind of demo: a config given is never ignored unread
        from controller.service.config import ConfigError, load

        try:
            given = load(args.config)
        except ConfigError as e:
            print(_("error: {reason}").format(reason=e), file=sys.stderr)
            return exit_code(e)
    _demo_language(args)  # every refusal below in the demo's language (its config read)
    if args.weeks is not None and args.plan == "six-minute-test":
        # the history begins with its own 6-minute test: --plan was dropped without a word
        # (issue 21: «--plan pulstest --uker 6» wrote the history, no test, no «over»)
        print(_("error: {reason}").format(reason=_(
            "{weeks} records a history (a 6-minute test, then 4x4 training) and cannot be "
            "combined with {plan}: run the two demos one after the other").format(
                weeks=option_names(["--weeks"])[0],
                plan=option_names(["--plan"])[0] + " "
                + choice_word(DEMO_PLAN_WORDS, "six-minute-test"))), file=sys.stderr)
        return 2
    if args.patient is not None:
        try:
            check_pseudonym(args.patient, option_names(["--patient"])[0])
        except ValueError as e:
            print(_("error: {reason}").format(reason=e), file=sys.stderr)
            return 2
    if args.store is not None and _the_clinics_store(args.store, given):
        print(_("error: {reason}").format(reason=_(
            "--store {store} is the clinic's own session store (the [store] path of the "
            "service's config): the demo never writes a clinic's store; give the demo a "
            "file of its own").format(store=args.store)), file=sys.stderr)
        return 2
    misfit = _registered_misfit(args, given)
    if misfit is not None:
        print(_("error: {reason}").format(reason=misfit), file=sys.stderr)
        return 2
    emulated = args.weeks is None and args.plan != "six-minute-test" and not args.fast
    if emulated and not 0 < args.speed <= DEMO_MAX_SPEED:  # the bound the help states
        print(_("error: {reason}").format(reason=_(
            "--speed must be above 0 and at most {max} with the emulated firmware (not "
            "{speed})").format(max=format_number(DEMO_MAX_SPEED, 0),
                               speed=format_number(args.speed, 1))), file=sys.stderr)
        return 2
    if args.weeks is not None:
        return demo_history(args)
    if args.plan == "six-minute-test":
        return demo_six_minute_test(args)
    if args.fast:
        return demo_fast(args)
    if not args.headless:
        return demo_with_console(args)
    import asyncio

    from controller.app.demo import DemoAborted, DemoInterrupted, run_demo

    # the service speaks the clinic's language
    cfg = _config_in_its_language(args.config, getattr(args, "lang", None))
    if cfg is None:
        return EX_CONFIG
    if args.patient:
        cfg = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile,
                                                                   pseudonym=args.patient))
    if args.config is None:  # no clinic config: any free port (two demos never collide)
        cfg = dataclasses.replace(cfg, belt_view=dataclasses.replace(cfg.belt_view, port=0))
        # and no broker unless a config names one (issue 21: «MQTT frakoblet» in every demo)
        cfg = dataclasses.replace(cfg, mqtt_enabled=False)
    if args.store is None:
        import tempfile

        args.store = os.path.join(tempfile.mkdtemp(prefix="fourbyfour-"), "sessions.db")
    it_log = _log_to_file(os.path.dirname(os.path.abspath(args.store)))
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
            # the patient staff chose (a console may have changed it), as the session starts,
            # named as staff know it (the pseudonym, the day and the clock, as `sessions`
            # lists it), never by its hex id (issue 21)
            print(demo_text.session_start_line(runtimes[0].profile.pseudonym, time.time()),
                  flush=True)
        rows_seen.append(True)
        st = snap.treadmill
        if st is not None and st.fault not in ("none", "boot") and st.fault not in faults:
            faults.append(st.fault)
        for e in snap.setpoint.events:
            if e.kind not in ("phase", "stopping", "done"):
                print(demo_text.event_line(e), flush=True)
        if snap.mqtt_online is not None and snap.mqtt_online != mqtt_state[0]:
            was = mqtt_state[0]
            mqtt_state[0] = snap.mqtt_online
            where = f"{cfg.mqtt.host}:{cfg.mqtt.port}"
            # a demo with no broker never had contact: nothing is lost, nothing for staff
            # (the IT log says the publisher cannot reach it); a loss after contact is said
            if snap.mqtt_online or was:
                print("  " + (_("MQTT online ({where})") if snap.mqtt_online else
                              _("MQTT offline ({where})")).format(where=where),
                      flush=True)
        if phase_rows and (row.phase, row.interval) != (phase_rows[0].phase,
                                                        phase_rows[0].interval):
            if phase_rows[0].phase != "done":  # the belt running down: the end's line says
                print(_phase_line(phase_rows), flush=True)
            phase_rows.clear()
        phase_rows.append(row)

    def on_belt_view(url: str) -> None:
        print(f"{_(BELT_URL_LINE)}{url}", flush=True)

    def on_ready(rt, emu) -> None:  # type: ignore[no-untyped-def]
        emus.append(emu)
        runtimes.append(rt)
        # the board's device path is IT's (the log named at the end); nobody pressed the
        # reset: the demo re-arms its emulated treadmill itself, as staff do after power-up
        logging.getLogger("controller.app.demo").info(
            "emulated treadmill firmware on %s (%s× real time); the demo pressed its local "
            "reset", emu.link, args.speed)
        print((_("the demo's treadmill is emulated ({speed}× real time); the demo readies "
                 "the treadmill itself; waiting for Start at the console")
               if args.control_socket else
               _("the demo's treadmill is emulated ({speed}× real time); the demo readies "
                 "the treadmill itself")).format(
                  speed=format_number(args.speed, 0 if float(args.speed).is_integer() else 1)),
              flush=True)

    try:
        _rt, rows = asyncio.run(run_demo(cfg, speedup=args.speed, seed=args.seed,
                                        category=args.category, on_tick=on_tick,
                                        on_ready=on_ready,
                                        control_socket=args.control_socket,
                                        store_path=args.store,
                                        linger=args.control_socket is not None,
                                        belt_view=on_belt_view if serve_belt else None,
                                        # with a console, staff choose the patient there
                                        choose_patient=args.control_socket is not None,
                                        # --patient (--pasient): chosen by whoever typed it
                                        pseudonym=args.patient,
                                        # the clinic's warm-up for a 4x4 set up at the console
                                        setup_warmup_s=warmup_s(cfg.plan)))
    except (ValueError, OSError) as e:
        _log_line(it_log)
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    except asyncio.CancelledError:  # SIGTERM with no session running: an orderly end
        print(_("demo ended (SIGTERM); the belt is stopped"), flush=True)
        _log_line(it_log)
        return 0
    except DemoInterrupted:  # Ctrl-C: the controlled stop is done, nothing more to show
        if phase_rows and phase_rows[0].phase != "done":  # the run-down is no phase
            print(_phase_line(phase_rows))
        if args.store and runtimes and runtimes[0].session is not None:
            # the stopped session was recorded (trial 14: nothing said where)
            print(_("recorded in {store}").format(store=args.store))
        print(_("Interrupted: the belt is stopped."), flush=True)
        _log_line(it_log)
        return 130
    except DemoAborted as e:
        if phase_rows and phase_rows[0].phase != "done":
            print(_phase_line(phase_rows))
        _link_line(emus, faults, runtimes)
        _log_line(it_log)
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 1
    if phase_rows and phase_rows[0].phase != "done":
        print(_phase_line(phase_rows))
    if rows:  # as --fast says it: when, and that the belt has stopped
        ended_by = runtimes[0].session.ended_by if runtimes and runtimes[0].session else "plan"
        print(demo_text.session_done_line(rows[-1].t_s, ended_by == "plan"))
    if args.store:
        print(_("recorded in {store}").format(store=args.store))
    _summary(rows, cfg.profile.hr_max)
    _link_line(emus, faults, runtimes)
    _log_line(it_log)
    return 0
