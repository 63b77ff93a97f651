"""Simulated time never shrinks a safety margin (issue 10): the firmware's host timeout stays
≥ 500 ms of real time at any demo speed, and a headless demo never hangs in a pause."""

import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import time
from pathlib import Path

import pytest

from controller.app.demo import DemoAborted, run_demo
from controller.devices.emulator import Emulator
from controller.service.config import load
from controller.treadmill import LOOP_DEAD_S, Treadmill
from tests.test_runtime import SHORT

# stalls of 200 ms that must not trip the 500 ms host timeout: `./run tests` runs these in the
# quieter phase, where a busy machine does not stretch them
pytestmark = pytest.mark.realtime


async def running_belt(emu: Emulator, tm: Treadmill) -> None:
    await tm.wait_status(lambda s: s.reset_needed, 10)
    emu.press_reset(0.2)
    await tm.wait_status(lambda s: s.state == "idle", 10)
    await tm.arm()
    await tm.wait_status(lambda s: s.incline_homed and s.state == "armed", 30)
    await tm.start(2.0)
    await tm.wait_status(lambda s: s.state == "running", 5)


def test_simulated_time_never_shrinks_the_firmwares_host_timeout():
    """At 10× a loop stall of 200 ms (a PDF, a slow disk) once latched ``host_silent``: the
    timeout was 50 ms of real time. It is ≥ 500 ms real at any speed, and still enforced."""
    async def main():
        with Emulator(time_scale=10) as emu:
            async with Treadmill(emu.link) as tm:
                await running_belt(emu, tm)
                time.sleep(0.2)  # the event loop stalls: no heartbeat for 200 ms
                await asyncio.sleep(0.3)
                assert tm.status.fault == "none" and tm.status.state == "running"
                # hung: no heartbeat after the loop's liveness bound, for longer than the
                # firmware's limit (a loop merely busy for 0.7 s no longer stops the belt:
                # tests/test_heartbeat_thread.py)
                time.sleep(LOOP_DEAD_S + 1.0)
                st = await tm.wait_status(lambda s: s.fault != "none", 5)
                assert st.fault == "host_silent"

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_headless_demo_never_hangs_in_a_pause():
    """Headless, nobody can resume a paused session: the run ends with a clear reason and the
    belt at rest, instead of waiting for ever."""
    cfg = dataclasses.replace(load(None), plan=SHORT)

    def on_ready(rt, emu):
        asyncio.get_running_loop().call_later(1.0, emu.set_estop, True)

    async def main():
        with pytest.raises(DemoAborted, match=r"paused.*no console") as info:
            await run_demo(cfg, speedup=30, seed=3, category="typical", use_mqtt=False,
                           on_ready=on_ready)
        return info

    asyncio.run(asyncio.wait_for(main(), 60))


# -- issue 10 §1: nothing on the control loop may delay the heartbeat ------------------------

def recorded_session(db) -> None:
    """One finished session of the demo patient in the store (a report to write)."""
    from controller.protocol import Session
    from controller.records.store import Store
    from tests.helpers import drive

    cfg = load(None)
    store = Store(db)
    session = Session(cfg.profile, SHORT)
    sps = drive(session, lambda t: 80 + 0.3 * t if t < 240 else 150, 400)
    store.begin_session("earlier", cfg.profile, SHORT.to_dict())
    for sp in sps:
        store.record("earlier", sp, sp.speed_kmh, sp.incline_pct)
    store.end_session("earlier", "finished", {"intervals": []})
    store.close()


async def _drain(updates):
    async for _ in updates:
        pass


def test_an_export_mid_session_never_delays_the_heartbeat(tmp_path):
    """`w` in the console drew the PDF on the control loop: the line went silent for
    0.47–0.65 s and the firmware latched ``host_silent``. The export was then refused during
    a session; now it is drawn in a worker process, allowed mid-session, and the line's
    largest gap stays below half the firmware's 500 ms."""
    from controller.service.control_socket import ControlClient

    db = tmp_path / "sessions.db"
    recorded_session(db)
    sock = tmp_path / "control.sock"
    cfg = dataclasses.replace(load(None), plan=SHORT)
    emus, written = [], []

    async def main():
        service = asyncio.create_task(run_demo(
            cfg, speedup=1, seed=2, category="typical", use_mqtt=False,
            control_socket=str(sock), store_path=str(db), linger=True,
            on_ready=lambda rt, emu: emus.append(emu)))
        async with asyncio.timeout(30):
            while not sock.exists():
                await asyncio.sleep(0.05)
        client = ControlClient(str(sock))
        await client.connect()
        drain = asyncio.create_task(_drain(client.updates()))
        assert (await client.command("start"))["ok"]
        (emu,) = emus
        async with asyncio.timeout(30):
            while emu.sup.state != 3:  # running
                await asyncio.sleep(0.05)
        for _ in range(2):
            emu.port.max_rx_gap_s = 0.0
            reply = await client.command("export")
            # the whole reply (its params hold the store's reason): run 28 saw one refusal
            # «no_recorded_session» here under the full suite's load, cut short by pytest
            assert reply["ok"], json.dumps(reply, ensure_ascii=False)
            assert [f.rsplit(".", 1)[1] for f in reply["files"]] == ["pdf", "csv"]
            written.extend(reply["files"])
            gap = emu.port.max_rx_gap_s
            assert gap < 0.25, f"the host was silent for {gap * 1000:.0f} ms during an export"
            assert emu.sup.fault == 0
        history = await client.command("history")
        assert history["ok"] and len(history["history"]["sessions"]) >= 1
        assert (await client.command("stop"))["ok"]
        drain.cancel()
        await client.close()
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service

    asyncio.run(asyncio.wait_for(main(), 90))
    assert all(Path(f).stat().st_size > (1000 if f.endswith(".pdf") else 100) for f in written)


PROBE = """
import asyncio, dataclasses, json, sys
from controller.app.demo import run_demo
from controller.service.config import load
from controller.service.control_socket import ControlClient
from tests.test_runtime import SHORT

async def main(db, sock):
    cfg = dataclasses.replace(load(None), plan=SHORT)
    rts = []
    service = asyncio.create_task(run_demo(cfg, speedup=30, seed=2, category="typical",
        use_mqtt=False, control_socket=sock, store_path=db, linger=True,
        on_ready=lambda rt, emu: rts.append(rt)))
    while not rts or not __import__("os").path.exists(sock):
        await asyncio.sleep(0.05)
    client = ControlClient(sock)
    await client.connect()

    async def drain():
        async for _ in client.updates():
            pass
    drainer = asyncio.create_task(drain())
    assert (await client.command("start"))["ok"]
    while not rts[0].done:  # staff skip each phase: warm-up, interval, cool-down, then done
        await client.command("skip")
        await asyncio.sleep(0.1)
    reply = await client.command("export")
    service.cancel()
    print(json.dumps({"export": reply, "summary": rts[0].summary is not None,
                      "matplotlib": "matplotlib" in sys.modules}))

asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 120))
"""


def test_matplotlib_is_never_imported_by_the_control_process(tmp_path):
    """Reports, exports and the end-of-session summary run in a worker process (``spawn``):
    after a session run to its end (staff skip its phases) and an export, the control
    process has not imported matplotlib (a fresh process, so that no other test's import
    counts)."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "s.db"),
                          str(tmp_path / "c.sock")], capture_output=True, text=True,
                         timeout=150, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["export"]["ok"], doc
    assert doc["summary"]
    assert not doc["matplotlib"], "matplotlib was imported by the control process"


def test_a_slow_disk_never_blocks_the_tick_and_loses_no_rows(tmp_path, caplog):
    """The tick wrote each sample to SQLite on the event loop: a slow disk held the loop. The
    store's writer thread owns the database; ``record`` is fire-and-forget and batched, other
    calls are awaited. A failed write is logged and counted and loses no other row."""
    from controller.protocol import PatientProfile, Session
    from controller.records.store import Store
    from controller.service.store_writer import StoreWriter
    from tests.helpers import drive

    db = tmp_path / "s.db"
    profile = PatientProfile(hr_max=180)
    sps = drive(Session(profile, SHORT), lambda t: 100.0, 40)

    async def main():
        w = StoreWriter(db, write_delay_s=0.3)  # every commit takes 0.3 s
        try:
            await w.call(lambda s: s.begin_session("s1", profile, SHORT.to_dict()))
            slowest = 0.0
            for i, sp in enumerate(sps):
                t0 = time.monotonic()
                w.record("nope" if i == 7 else "s1", sp, sp.speed_kmh, sp.incline_pct)
                slowest = max(slowest, time.monotonic() - t0)
                await asyncio.sleep(0.02)
            assert slowest < 0.01, f"record() blocked for {slowest * 1000:.0f} ms"
            await w.flush()
            assert w.failures == 1 and "nope" in (w.last_error or "")
        finally:
            w.close()

    with caplog.at_level(logging.ERROR, logger="controller.service.store_writer"):
        asyncio.run(asyncio.wait_for(main(), 30))
    assert any("store" in r.getMessage() for r in caplog.records)
    store = Store(db)
    assert len(store.samples("s1")) == len(sps) - 1
    store.close()


def test_a_late_tick_is_counted_logged_once_and_shown(tmp_path, caplog):
    """A loop stall of 300 ms while the tick waits for its deadline makes the tick > 100 ms
    late: counted, logged once, and in the status the console and the monitor see. (A stall
    timed 20 ms before the deadline was a race: a tick whose own work took > 20 ms — the
    set-point's round trip to a loaded board — had the stall fall inside the next tick's
    work, which is not a late start.)"""
    from controller.service.control_socket import snapshot_doc

    cfg = dataclasses.replace(load(None), plan=SHORT)
    rts, docs = [], []

    def on_tick(snap, row):
        rt = rts[0]
        if row.t_s > 10 and not hasattr(on_tick, "stalled"):
            on_tick.stalled = True  # the loop stalls as soon as the tick sleeps till its due
            asyncio.get_running_loop().call_soon(time.sleep, 0.3)
        if row.t_s > 20 and snap.setpoint.state == "running":
            # the count as the doc showed it: a loaded machine may make a later tick late
            # too (the stop's ramp still ticks), which the doc taken here cannot show
            docs.append((snapshot_doc(rt, snap, collections.deque()), rt.late_ticks))
            rt.stop()

    async def main():
        return await run_demo(cfg, speedup=10, seed=3, category="typical", use_mqtt=False,
                              on_tick=on_tick, on_ready=lambda rt, emu: rts.append(rt),
                              store_path=str(tmp_path / "s.db"))

    with caplog.at_level(logging.WARNING, logger="controller.service.runtime"):
        rt, _rows = asyncio.run(asyncio.wait_for(main(), 60))
    doc, late_then = docs[0]
    assert late_then >= 1
    assert doc["late_ticks"] == late_then
    assert rt.late_ticks >= late_then
    assert sum("late" in r.getMessage() for r in caplog.records) == 1
    assert rt.summary is not None and rt.summary.get("late_ticks") == rt.late_ticks


def test_the_control_service_goes_before_other_processes():
    """Under two CPU hogs the heartbeat still has to go out every 100 ms: systemd starts the
    control service at nice -5 (the hogs of bench-live run at 0, as an ordinary process
    would), and the worker process for reports lowers itself below both."""
    from controller.service.worker import WORKER_NICE
    from tests.test_systemd import unit_values

    assert unit_values("fourbyfour.service", "Nice") == ["-5"]
    assert -5 + WORKER_NICE > 0
