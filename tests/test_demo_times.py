"""Issue 21/23, the bokmål new-nurse trial of `./run demo` at `--speed 10` with `--store`: a
6-minute test, then a 4x4, then a second 4x4. `fourbyfour sessions` listed the second 4x4
before the first and the test that came first last, none at the real local time, and the
report's title said 18:36 for a session started 19:12 Oslo time. The demo dated each session
back at its end (ended by now, simulated minutes 10× the wall's), so a session's start was
now − its simulated length, and a session that would overlap the one before was moved before
it. The truth: a session starts at the wall-clock instant staff pressed Start (stored UTC,
shown Europe/Oslo); its samples and events follow at simulated pace (docs/demo.md).

The demo's control service (the console demo's own command) as a subprocess, driven as the
console drives it; the records read by the CLI as a subprocess, as staff read them."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
ROW = re.compile(r"^(\d\d\.\d\d\.\d{4})\s+(\d\d:\d\d)\s+([0-9a-f]{12})\b", re.M)


def _env() -> dict[str, str]:
    # the machine's own zone must not matter: people see Europe/Oslo whatever TZ says
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    env["TZ"] = "UTC"
    return env


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=120, env=_env())


async def _drain(updates) -> None:  # type: ignore[no-untyped-def]
    async for _ in updates:
        pass


def _run_sessions(sock: Path, proc: subprocess.Popen[bytes], log: Path,
                  plans: list[dict[str, object]], run_s: float) -> list[float]:
    """One session per plan, one after the other for one patient, as a nurse runs them at
    the console: choose the patient, Start, let it run ``run_s`` wall seconds, Stop, choose
    the patient again for the next. The wall clock when each Start was pressed."""
    from controller.service.control_socket import ControlClient

    profile = {"pseudonym": "P-17", "hr_max": 180, "hr_max_source": "tanaka",
               "max_speed_kmh": 7.0, "max_incline_pct": 12.0}
    pressed: list[float] = []

    async def main() -> None:
        async with asyncio.timeout(240):
            while not sock.exists():
                assert proc.poll() is None, log.read_text()
                await asyncio.sleep(0.1)
            client = ControlClient(str(sock))
            while True:
                try:
                    await client.connect()
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    await asyncio.sleep(0.1)
            reader = asyncio.create_task(_drain(client.updates()))
            for plan in plans:
                while True:  # refused ("session_fixed") until the session before has ended
                    reply = await client.command("setup", profile=profile, plan=plan)
                    if reply["ok"]:
                        break
                    assert reply.get("code") == "session_fixed", reply
                    await asyncio.sleep(0.3)
                pressed.append(time.time())
                assert (await client.command("start"))["ok"]
                await asyncio.sleep(run_s)
                assert (await client.command("stop"))["ok"]
            while True:  # the last one ended: the next patient could be chosen
                reply = await client.command("setup", profile=profile, plan=plans[0])
                if reply["ok"]:
                    break
                await asyncio.sleep(0.3)
            reader.cancel()
            await client.close()

    asyncio.run(main())
    return pressed


def test_the_console_demos_sessions_are_listed_in_real_order_at_the_oslo_time_they_started(
        tmp_path):
    """Three sessions in a row on the demo at 10× (each ran about 150 simulated seconds in
    15 wall seconds): `fourbyfour sessions` lists them in the order they ran, each at the
    Oslo time Start was pressed (within a minute), and each report's title says the list's
    time. Before: each was dated back by its simulated overrun (over 2 minutes) and the
    second and third were moved before the first."""
    from controller.app.cli import demo_service_command

    sock, log, db = tmp_path / "control.sock", tmp_path / "service.log", tmp_path / "s.db"
    args = argparse.Namespace(speed=10.0, seed=2, category="typical", config=None,
                              patient=None, lang="nb")
    with log.open("w") as out:
        proc = subprocess.Popen(demo_service_command(args, str(sock), str(db)), stdout=out,
                                stderr=subprocess.STDOUT, env=_env())
    plans: list[dict[str, object]] = [
        {"name": "six_minute_test", "speed_kmh": 5.0, "incline_pct": 2.0},
        {"name": "4x4"}, {"name": "4x4"}]
    try:
        pressed = _run_sessions(sock, proc, log, plans, run_s=15.0)
    finally:
        proc.terminate()
        proc.wait(60)
    listed = _cli("sessions", "--store", str(db), "P-17")
    assert listed.returncode == 0, listed.stderr
    rows = ROW.findall(listed.stdout)
    assert len(rows) == 3, listed.stdout
    # the list runs in time order: the ids in the order they were started
    plan_words = [ln.split()[3] for ln in listed.stdout.splitlines() if ROW.match(ln)]
    assert plan_words[0].startswith("6-minutters"), listed.stdout
    for (day, hhmm, sid), at in zip(rows, pressed, strict=True):
        shown = dt.datetime.strptime(f"{day} {hhmm}", "%d.%m.%Y %H:%M").replace(tzinfo=OSLO)
        real = dt.datetime.fromtimestamp(at, OSLO).replace(second=0, microsecond=0)
        assert abs((shown - real).total_seconds()) <= 60, (sid, shown, real, listed.stdout)
        pdf = tmp_path / f"{sid}.pdf"
        rep = _cli("report", "--store", str(db), "--session", sid, "--out", str(pdf))
        assert rep.returncode == 0, rep.stderr
        text = subprocess.run(["pdftotext", "-layout", "-l", "1", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        head = " ".join(text.split()[:30])
        assert f"{day} {hhmm}" in head, (day, hhmm, head)
    # the instants behind the list: each start the moment Start was pressed, in that order,
    # every sample and event in order inside its own start..end
    import sqlite3

    con = sqlite3.connect(db)
    try:
        for (_day, _hhmm, sid), at in zip(rows, pressed, strict=True):
            start, end, offset = con.execute(
                "SELECT started_unix_s, ended_unix_s, clock_offset_s FROM sessions WHERE "
                "id = ?", (sid,)).fetchone()
            assert abs(start - at) < 10, (sid, start - at)
            for table in ("samples", "events"):
                ts = [offset + t for (t,) in con.execute(
                    f"SELECT t_s FROM {table} WHERE session_id = ? ORDER BY rowid", (sid,))]
                assert ts and ts == sorted(ts), (sid, table)
                assert start - 1 <= ts[0] and ts[-1] <= end, (sid, table, ts[0] - start,
                                                              ts[-1] - end)
    finally:
        con.close()


def test_the_instant_demos_list_and_report_say_one_time_in_order(tmp_path):
    """`demo --weeks N` (weeks of afternoons before today) and `demo --fast` (an instant
    simulation, dated to end when it ran) on one store: each patient's sessions listed in
    the order they ran, each report's title at the list's time, every sample inside its own
    session's start..end."""
    db = str(tmp_path / "s.db")
    for args in (("--weeks", "1", "--patient", "P-17"), ("--fast", "--patient", "P-18"),
                 ("--fast", "--patient", "P-18")):
        r = _cli("demo", "--store", db, *args)
        assert r.returncode == 0, (args, r.stderr)
    import sqlite3

    con = sqlite3.connect(db)
    try:
        for who in ("P-17", "P-18"):
            listed = _cli("sessions", "--store", db, who)
            rows = ROW.findall(listed.stdout)
            assert len(rows) >= 2, listed.stdout
            starts = []
            for day, hhmm, sid in rows:
                start, end, offset = con.execute(
                    "SELECT started_unix_s, ended_unix_s, clock_offset_s FROM sessions "
                    "WHERE id = ?", (sid,)).fetchone()
                first, last = con.execute("SELECT MIN(t_s), MAX(t_s) FROM samples WHERE "
                                          "session_id = ?", (sid,)).fetchone()
                assert start - 1 <= offset + first and offset + last <= end + 1, sid
                starts.append(start)
                shown = dt.datetime.fromtimestamp(start, OSLO).strftime("%d.%m.%Y %H:%M")
                assert shown == f"{day} {hhmm}", (shown, day, hhmm)
                pdf = tmp_path / f"{sid}.pdf"
                rep = _cli("report", "--store", db, "--session", sid, "--out", str(pdf))
                assert rep.returncode == 0, rep.stderr
                text = subprocess.run(["pdftotext", "-layout", "-l", "1", str(pdf), "-"],
                                      capture_output=True, text=True, check=True).stdout
                assert f"{day} {hhmm}" in " ".join(text.split()[:30]), (day, hhmm, text[:300])
            assert starts == sorted(starts), listed.stdout
    finally:
        con.close()
