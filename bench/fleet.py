"""Fleet benchmark: N emulated treadmills against one mosquitto, with the central monitor's
model and the records service, across a broker restart.

    python -m bench.fleet [--n 50] [--scan 10,25,50,100] [--duration 90]

Each treadmill is the production code without hardware or UI: a ``Session`` stepped at 1 Hz
(real time; each tick advances simulated time by ``--sim-step`` seconds so sessions end within
the run), a virtual patient and belt, the real ``MqttPublisher`` (telemetry 1 Hz, events,
retained session) and ``RecordsLink`` uploading each finished session from its own SQLite
store. Sessions last a random 20–50 s of real time, so some end around the broker restart.

The central side runs in a process of its own: ``Fleet`` (every message validated) and the
``RecordsServer`` with an SQLite clinic database. Measured there:

- display lag: monitor receive time − the telemetry document's ``time_unix_s`` (p50, p99);
- sessions lost: ended on a treadmill but not in the clinic database after the drain;
- CPU of the central process and of mosquitto per treadmill (% of one core).

A size holds when p99 lag ≤ 1 s and no session is lost. The machine may be shared: the table
says how many cores it has and its load average at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LAG_LIMIT_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir / 'data'}/\nautosave_interval 1\n"
            "max_queued_messages 100000\n"
            + ("user root\n" if os.geteuid() == 0 else ""))
        self.log = workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu_s_before = 0.0

    def start(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def cpu_s(self) -> float:
        if self.proc is None:
            return 0.0
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None:
            self.cpu_s_before += self.cpu_s()
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


# -- the central side (its own process) ------------------------------------------------------

def central(port: int, db_path: str, measure_s: float, drain_s: float,
            out: mp.Queue) -> None:  # type: ignore[type-arg]
    import logging

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_central(port, db_path, measure_s, drain_s, out))


async def _central(port: int, db_path: str, measure_s: float, drain_s: float,
                   out: mp.Queue) -> None:  # type: ignore[type-arg]
    import json

    import aiomqtt

    from controller.net import telemetry as tm
    from controller.net.fleet import Fleet
    from controller.net.publisher import MqttSettings
    from controller.records.clinic_db import SqliteClinicDb
    from controller.service.records_server import RecordsServer

    fleet = Fleet()
    lags: list[float] = []
    db = SqliteClinicDb(db_path)
    server = RecordsServer(MqttSettings(port=port, site="bench"), db)
    ready = asyncio.Event()
    server_task = asyncio.create_task(server.run(ready))

    async def monitor() -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", port, identifier="bench-monitor",
                                          keepalive=10) as c:
                    for kind in tm.KINDS:
                        await c.subscribe(f"{tm.TOPIC_PREFIX}/+/+/{kind}", qos=1)
                    async for m in c.messages:
                        now = time.time()
                        payload = bytes(m.payload)
                        if fleet.apply(str(m.topic), payload, now, bool(m.retain)) and \
                                str(m.topic).endswith("/telemetry"):
                            lags.append(now - json.loads(payload)["time_unix_s"])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.5)

    mon_task = asyncio.create_task(monitor())
    await ready.wait()
    out.put(("ready", None))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(measure_s)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    await asyncio.sleep(drain_s)
    mon_task.cancel()
    server_task.cancel()
    stored = [r.id for r in db.sessions()]
    out.put(("done", {"lags": lags, "cpu_s": cpu, "wall_s": wall, "stored": stored,
                      "duplicates": server.duplicates, "refused": server.refused,
                      "bad": fleet.ignored, "rows": len(fleet.rows)}))


# -- the treadmills ---------------------------------------------------------------------------

@dataclass
class Counts:
    ended: list[str]


async def treadmill(i: int, port: int, workdir: Path, run_s: float, sim_step_s: float,
                    counts: Counts, rng: random.Random) -> None:
    from controller.net import telemetry as tm
    from controller.net.publisher import MqttPublisher, MqttSettings
    from controller.net.records_link import RecordsLink
    from controller.protocol import Session
    from controller.records.store import Store
    from controller.sim import Belt, VirtualPatient, make_patient

    settings = MqttSettings(port=port, site="bench", device=f"tm-{i:03d}")
    store = Store(workdir / f"tm-{i:03d}.db")
    pub = MqttPublisher(settings, max_backoff_s=2.0)

    async def export(sid: str) -> dict:
        return store.export_session(sid)

    link = RecordsLink(settings, pending=store.pending_upload, export=export,
                       acked=store.mark_uploaded, resend_s=5.0)
    tasks = [asyncio.create_task(pub.run()), asyncio.create_task(link.run())]
    await asyncio.sleep(rng.random())
    end_at = time.monotonic() + run_s
    n = 0
    while time.monotonic() < end_at:
        truth, profile = make_patient(rng, "typical", rng.randrange(10**6))
        patient, belt, session = VirtualPatient(truth), Belt(), Session(profile)
        sid = f"b{i:03d}x{n}"
        n += 1
        store.begin_session(sid, profile, session.plan.to_dict() if session.plan else {})
        stop_at = time.monotonic() + rng.uniform(20.0, 50.0)
        t, seq, ev = 0.0, 0, 0
        pub.set_activity("running")
        while True:
            tick = time.monotonic()
            if tick >= min(stop_at, end_at) and session.run_state.value not in ("stopping",
                                                                                 "done"):
                session.stop("bench: next patient")
            reading = patient.step(sim_step_s, belt.speed_kmh, belt.incline_pct)
            sp = session.step(t, reading, belt.speed_kmh, belt.incline_pct)
            store.record(sid, sp, belt.speed_kmh, belt.incline_pct)
            for e in sp.events:
                pub.offer_event(tm.event_payload(sid, ev, e))
                ev += 1
            seq += 1
            pub.offer_telemetry(tm.telemetry_payload(sid, seq, sp, belt.speed_kmh,
                                                     belt.incline_pct))
            if sp.events or seq % 10 == 1:
                pub.set_retained("session", tm.session_payload(sid, profile.pseudonym, sp))
            if sp.state == "done":
                break
            belt.step(sim_step_s, sp.speed_kmh, sp.incline_pct)
            t += sim_step_s
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        store.end_session(sid, "stopped" if session.ended_by != "plan" else "finished", None)
        counts.ended.append(sid)
        pub.set_activity("idle")
        link.wake()
    try:
        async with asyncio.timeout(60):
            while store.pending_upload():
                await asyncio.sleep(0.2)
    except TimeoutError:
        pass
    await pub.close(tasks[0], "normal", timeout_s=5.0)
    tasks[1].cancel()
    store.close()


async def treadmills(n: int, port: int, workdir: Path, run_s: float, sim_step_s: float,
                     broker: Mosquitto, restart_at_s: float) -> Counts:
    counts = Counts([])
    rng = random.Random(n)

    async def restart() -> None:
        await asyncio.sleep(restart_at_s)
        await asyncio.to_thread(broker.stop)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(broker.start)

    r = asyncio.create_task(restart())
    await asyncio.gather(*(treadmill(i, port, workdir, run_s, sim_step_s, counts,
                                     random.Random(rng.random())) for i in range(n)))
    await r
    return counts


def one_size(n: int, run_s: float, sim_step_s: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="fourbyfour-fleet-"))
    broker = Mosquitto(workdir / "broker", free_port())
    broker.start()
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    drain_s = 45.0
    proc = ctx.Process(target=central, args=(broker.port, str(workdir / "clinic.db"),
                                             run_s, drain_s, out))
    proc.start()
    assert out.get(timeout=60)[0] == "ready"
    cpu_broker0 = broker.cpu_s()
    counts = asyncio.run(treadmills(n, broker.port, workdir, run_s, sim_step_s, broker,
                                    run_s / 2))
    cpu_broker = broker.cpu_s_before + broker.cpu_s() - cpu_broker0
    _kind, res = out.get(timeout=run_s + drain_s + 120)
    proc.join(30)
    broker.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    lags = sorted(res["lags"])
    def p(q):
        return (lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan"))
    lost = sorted(set(counts.ended) - set(res["stored"]))
    return {"n": n, "sessions": len(counts.ended), "stored": len(res["stored"]),
            "lost": len(lost), "duplicates": res["duplicates"], "bad": res["bad"],
            "lag_p50_s": p(0.5), "lag_p99_s": p(0.99), "lag_n": len(lags),
            "central_cpu_pct_per_tm": 100 * res["cpu_s"] / res["wall_s"] / n,
            "broker_cpu_pct_per_tm": 100 * cpu_broker / res["wall_s"] / n,
            "holds": bool(lags) and p(0.99) <= LAG_LIMIT_S and not lost}


def main() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)  # reconnect warnings during the restart
    logging.getLogger("mqtt").setLevel(logging.CRITICAL)  # paho: resets at the restart
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50, help="treadmills (without --scan)")
    ap.add_argument("--scan", default="", help="comma-separated sizes, e.g. 10,25,50,100")
    ap.add_argument("--duration", type=float, default=90.0, help="seconds of telemetry")
    ap.add_argument("--sim-step", type=float, default=30.0,
                    help="simulated seconds per 1 Hz tick")
    a = ap.parse_args()
    sizes = [int(x) for x in a.scan.split(",") if x] or [a.n]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start "
          "(shared: other work may run)")
    print(f"{a.duration:g} s of 1 Hz telemetry per treadmill, broker restarted at "
          f"{a.duration / 2:g} s for 2 s; holds = p99 lag ≤ {LAG_LIMIT_S:g} s and 0 lost")
    print()
    print("    N  sessions  stored  lost  dup  lag p50  lag p99  central CPU/tm  "
          "broker CPU/tm  holds")
    largest = None
    for n in sizes:
        r = one_size(n, a.duration, a.sim_step)
        print(f"{r['n']:5d}  {r['sessions']:8d}  {r['stored']:6d}  {r['lost']:4d}  "
              f"{r['duplicates']:3d}  {r['lag_p50_s'] * 1000:5.0f} ms  "
              f"{r['lag_p99_s'] * 1000:5.0f} ms  {r['central_cpu_pct_per_tm']:11.2f} %  "
              f"{r['broker_cpu_pct_per_tm']:10.2f} %  {'yes' if r['holds'] else 'no'}",
              flush=True)
        if r["holds"]:
            largest = n
    print()
    print(f"largest N that holds: {largest if largest is not None else 'none'}"
          f" (of {', '.join(map(str, sizes))})")


if __name__ == "__main__":
    main()
