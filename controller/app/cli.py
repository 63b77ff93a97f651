"""Command line: ``fourbyfour demo`` runs a whole simulated 4x4 session.

The demo uses the same ``Session`` a clinic uses, driven by a virtual patient from
``controller.sim`` on a simulated belt. ``--speed N`` runs N× faster than real time
(0 = as fast as possible); the headless demo prints a line per phase and a summary table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from controller.core.metrics import interval_metrics
from controller.protocol import Session
from controller.sim import CATEGORIES, Belt, TraceRow, VirtualPatient, make_patient


def _clock(t_s: float) -> str:
    return f"{int(t_s // 60):02d}:{int(t_s % 60):02d}"


def _phase_line(rows: Sequence[TraceRow]) -> str:
    first, last = rows[0], rows[-1]
    hrs = [r.hr_bpm for r in rows if r.hr_bpm is not None]
    speeds = [r.speed_kmh for r in rows]
    inclines = [r.incline_pct for r in rows]
    name = first.phase if not first.interval else f"{first.phase} {first.interval}"
    hr_part = f"HR {hrs[0]:.0f}→{hrs[-1]:.0f} bpm (peak {max(hrs):.0f})" if hrs else "HR —"
    zone = ""
    if first.zone_low_bpm is not None and first.zone_high_bpm is not None:
        zone = f", zone {first.zone_low_bpm:.0f}–{first.zone_high_bpm:.0f}"
    return (f"[{_clock(first.t_s)}–{_clock(last.t_s + 1)}] {name:12s} {hr_part}{zone}; "
            f"speed {min(speeds):.1f}–{max(speeds):.1f} km/h, "
            f"incline {min(inclines):.1f}–{max(inclines):.1f} %")


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print()
    print("interval  time to zone  in zone*  above 95 %  RMS to 90 %  ok")
    ms = interval_metrics([r.scored(true_hr=False) for r in rows], hr_max)
    for m in ms:
        ttz = f"{m.time_to_zone_s:.0f} s" if m.time_to_zone_s is not None else "not reached"
        print(f"{m.interval:8d}  {ttz:>12s}  {m.in_zone_after_allowance * 100:6.0f} %  "
              f"{m.above_95_frac * 100:8.1f} %  {m.rms_to_90_bpm:8.1f} bpm  "
              f"{'yes' if m.ok else 'no'}")
    print("* after the allowance (120 s in interval 1, 60 s later), from the accepted strap "
          "readings")


def demo(args: argparse.Namespace) -> int:
    if args.fast:
        return demo_fast(args)
    if not args.headless:
        return demo_with_console(args)
    import asyncio

    from controller.app.demo import run_demo
    from controller.service.config import ConfigError, load

    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.store is None:
        import os
        import tempfile

        args.store = os.path.join(tempfile.mkdtemp(prefix="fourbyfour-"), "sessions.db")
    phase_rows: list[TraceRow] = []
    mqtt_state: list[bool | None] = [None]
    # The belt screen comes with the service (a console attached), as on the Pi.
    serve_belt = cfg.belt_view.enabled and args.control_socket is not None

    def on_tick(snap, row: TraceRow) -> None:  # type: ignore[no-untyped-def]
        for e in snap.setpoint.events:
            if e.kind not in ("phase", "stopping", "done"):
                print(f"  [{_clock(e.now_s)}] {e.severity.upper()}: {e.message}", flush=True)
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
        print(f"belt screen (for the patient): {url}", flush=True)

    def on_ready(rt, emu) -> None:  # type: ignore[no-untyped-def]
        print(f"emulated treadmill firmware on {emu.link}; staff pressed the local reset; "
              f"session {rt.session_id} for {cfg.profile.pseudonym} starts "
              f"({args.speed:g}× real time)", flush=True)

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
    if phase_rows:
        print(_phase_line(phase_rows))
    print("session done: belt stopped, motor board idle")
    if args.store:
        print(f"recorded in {args.store}")
    _summary(rows, cfg.profile.hr_max)
    return 0


def demo_with_console(args: argparse.Namespace) -> int:
    """The control service in a child process, the staff console in front (as on the Pi)."""
    import os
    import subprocess
    import tempfile
    import time as _time

    from controller.app.console import StaffConsole
    from controller.core.i18n import set_language
    from controller.service.config import ConfigError, load

    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    set_language(cfg.language)
    tmp = tempfile.mkdtemp(prefix="fourbyfour-")
    sock = os.path.join(tmp, "control.sock")
    log = os.path.join(tmp, "service.log")
    cmd = [sys.executable, "-m", "controller", "demo", "--headless", "--control-socket", sock,
           "--store", os.path.join(tmp, "sessions.db"),
           "--speed", str(args.speed), "--seed", str(args.seed), "--category", args.category]
    if args.config:
        cmd += ["--config", args.config]
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
        belt_url = next((line.split(": ", 1)[1].strip()
                         for line in Path(log).read_text().splitlines()
                         if line.startswith("belt screen")), None)
        StaffConsole(sock, belt_url=belt_url).run()
    finally:
        if service.poll() is None:
            service.terminate()  # the demo ends with its console; on a Pi the service stays
            service.wait(30)
    if belt_url:
        print(f"the belt screen was at {belt_url}")
    print(f"demo over; the service's log is {log}")
    return 0


def console(args: argparse.Namespace) -> int:
    from controller.app.console import StaffConsole
    from controller.core.i18n import set_language

    set_language(args.lang)
    StaffConsole(args.socket).run()
    return 0


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from controller.service.config import ConfigError, load
    from controller.service.service import run_service
    from controller.treadmill import LinkDown

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load(args.config)
        asyncio.run(run_service(cfg))
    except (ConfigError, LinkDown, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def monitor(args: argparse.Namespace) -> int:
    from controller.app.monitor import CentralMonitor
    from controller.service.config import ConfigError, load

    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from controller.core.i18n import set_language

    set_language(cfg.language)
    CentralMonitor(cfg.mqtt).run()
    return 0


def records(args: argparse.Namespace) -> int:
    """export / report / import / progression on a session store."""
    from controller.records import report
    from controller.records.store import Store, StoreError

    try:
        if not Path(args.store).exists() and args.command != "import":
            raise StoreError(f"{args.store}: no such session store")
        store = Store(args.store)
        if args.command == "export":
            (report.export_csv if args.format == "csv" else report.export_json)(
                store, args.session, args.out)
        elif args.command == "report":
            report.render_session(store, args.session, args.out)
        elif args.command == "import":
            print(f"imported session {report.import_json(store, args.file)}")
        elif args.command == "progression":
            prog = report.progression(store, args.pseudonym)
            if args.out:
                report.render_progression(store, args.pseudonym, args.out)
            print(json.dumps(prog, indent=1))
        store.close()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if getattr(args, "out", None):
        print(f"wrote {args.out}")
    return 0


def handover(args: argparse.Namespace) -> int:
    """The printable hand-over for the patient's follow-up in the municipality."""
    from controller.records.handover import render_handover
    from controller.records.store import Store, StoreError

    out = args.out or f"{args.pseudonym}-handover.pdf"
    try:
        if not Path(args.store).exists():
            raise StoreError(f"{args.store}: no such session store")
        store = Store(args.store)
        try:
            render_handover(store, args.pseudonym, out, include_notes=args.notes,
                            lang=args.lang)
        finally:
            store.close()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}" + (" (with the clinic's notes)" if args.notes else ""))
    return 0


def demo_fast(args: argparse.Namespace) -> int:
    """The in-process simulation (no firmware emulator): a whole session in well under 1 s."""
    import random

    rng = random.Random(args.seed)
    truth, profile = make_patient(rng, args.category, args.seed)
    print(f"virtual patient: {args.category}, age {truth.age_years:.0f}, HRmax "
          f"{profile.hr_max:.0f} bpm ({profile.hr_max_source}), HRrest {profile.hr_rest} bpm, "
          f"caps {profile.speed_cap_kmh:g} km/h and {profile.max_incline_pct:g} %")
    patient = VirtualPatient(truth)
    session = Session(profile)
    belt = Belt()
    rows: list[TraceRow] = []
    phase_rows: list[TraceRow] = []
    t = 0.0
    while True:
        reading = patient.step(1.0, belt.speed_kmh, belt.incline_pct)
        sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
        for e in sp.events:
            if e.kind not in ("phase", "stopping", "done"):
                print(f"  [{_clock(e.now_s)}] {e.severity.upper()}: {e.message}")
        # The record keeps what the session accepted (artefacts gated out), like a clinic's.
        row = TraceRow(t, sp.phase, sp.interval, sp.state, sp.hr_bpm, patient.true_hr_bpm,
                       belt.speed_kmh, belt.incline_pct, sp.speed_kmh, sp.incline_pct,
                       sp.zone_low_bpm, sp.zone_high_bpm)
        if phase_rows and (row.phase, row.interval) != (phase_rows[0].phase,
                                                        phase_rows[0].interval):
            print(_phase_line(phase_rows), flush=True)
            phase_rows = []
        phase_rows.append(row)
        rows.append(row)
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    print(f"[{_clock(t)}] session done: belt stopped")
    _summary(rows, profile.hr_max)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fourbyfour", description="Closed-loop 4x4 training")
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
    d.add_argument("--control-socket", default=None,
                   help="serve staff consoles on this Unix socket and wait for Start")
    c = sub.add_parser("console", help="the staff console, attached to a running service")
    c.add_argument("--socket", default="/run/fourbyfour/control.sock",
                   help="the control service's Unix socket (default: the service's default)")
    c.add_argument("--lang", choices=["nb", "en"], default="nb",
                   help="the console's language (default: nb, bokmål)")
    e = sub.add_parser("export", help="one recorded session as CSV or JSON")
    e.add_argument("--store", required=True)
    e.add_argument("--session", required=True)
    e.add_argument("--format", choices=["csv", "json"], default="csv")
    e.add_argument("--out", required=True)
    rp = sub.add_parser("report", help="a printable report (PNG or PDF) of one session")
    rp.add_argument("--store", required=True)
    rp.add_argument("--session", required=True)
    rp.add_argument("--out", required=True, help="…png or …pdf")
    im = sub.add_parser("import", help="import a JSON session export into a store")
    im.add_argument("--store", required=True)
    im.add_argument("file")
    pg = sub.add_parser("progression", help="one patient's progression across sessions")
    pg.add_argument("--store", required=True)
    pg.add_argument("--pseudonym", required=True)
    pg.add_argument("--out", default=None, help="also draw it (PNG or PDF)")
    ho = sub.add_parser("handover", help="the hand-over to the municipality (PDF, bokmål)")
    ho.add_argument("pseudonym")
    ho.add_argument("--store", default="/var/lib/fourbyfour/sessions.db")
    ho.add_argument("--out", default=None, help="…pdf (default: PSEUDONYM-handover.pdf)")
    ho.add_argument("--notes", action="store_true",
                    help="include the clinic's notes (only when staff decide to)")
    ho.add_argument("--lang", choices=["nb", "en"], default="nb")
    r = sub.add_parser("run", help="the control service on real hardware (from the config)")
    r.add_argument("--config", required=True, help="the TOML config")
    m = sub.add_parser("monitor", help="the central monitor: every treadmill on the broker")
    m.add_argument("--config", default=None, help="the TOML config ([mqtt] section)")
    args = ap.parse_args(argv)
    if args.command == "demo":
        return demo(args)
    if args.command == "console":
        return console(args)
    if args.command == "monitor":
        return monitor(args)
    if args.command == "run":
        return run(args)
    if args.command in ("export", "report", "import", "progression"):
        return records(args)
    if args.command == "handover":
        return handover(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
