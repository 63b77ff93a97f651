"""Fault drills: the whole stack — `fourbyfour run` on the emulated firmware and ANT stick, a
real mosquitto — with faults injected. Each drill adds a row to the fault matrix printed at
the end of the test run (see conftest.pytest_terminal_summary).

The drills whose subject is the session's own response (heart rate gone or frozen, e-stop,
cable pulled) run the service on simulated time (``SIM_SCALE``: the session, the plan, the
strap and the board's physics 10× faster; the heartbeat and the firmware's 500 ms host timeout
stay real), and so do the drills whose subject is real time anyway: systemd's watchdog pings
and the MQTT reconnect back-off are real seconds at any scale. The drills that measure the
board's own ramp and the controlled stop — kill -9, SIGTERM, Ctrl-C — run at real time, as
`fourbyfour run` does in a clinic."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from controller.devices.antstick import StickHub, StickPty, Strap
from controller.devices.emulator import Emulator
from controller.records.store import Store
from controller.service.simclock import ScaledClock
from tests.conftest import FAULT_MATRIX, run_as_service

SIM_SCALE = 10.0
"""Simulated time for the drills of the session's own response (see the module docstring)."""
AT_SCALE = """\
import asyncio, logging, sys
from controller.service.config import load
from controller.service.service import run_service
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
asyncio.run(run_service(load(sys.argv[1]), time_scale=float(sys.argv[2])))
"""
"""`fourbyfour run` on simulated time (the command line never offers it)."""


class Console:
    """A minimal synchronous client of the control socket (what a console sends)."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.state: dict = {}
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                doc = json.loads(line)
                if doc.get("type") == "state":
                    self.state = doc
                else:
                    self.replies.put(doc)

    def cmd(self, name: str, **kw) -> dict:
        self.sock.sendall(json.dumps({"cmd": name, **kw}).encode() + b"\n")
        return self.replies.get(timeout=70)

    def wait(self, pred, timeout_s: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.state and pred(self.state):
                return self.state
            time.sleep(0.1)
        raise AssertionError(f"timed out; last state: {self.state}")


class Rig:
    def __init__(self, tmp: Path, broker_port: int | None = None,
                 env: dict[str, str] | None = None, mqtt_extra: str = "",
                 time_scale: float = 1.0) -> None:
        env = {**os.environ, **(env or {})}
        self.hr = [110.0]
        self.hub = StickHub([Strap(2020, lambda t: self.hr[0])],
                            **({"clock": ScaledClock(time_scale)} if time_scale != 1 else {}))
        self.stick = StickPty(self.hub)
        self.emu = Emulator(time_scale=time_scale, host_in_process=False)  # the service's
        self.emu.start()
        self.tmp = tmp
        self.sock = tmp / "control.sock"
        self.db = tmp / "sessions.db"
        mqtt = f"port = {broker_port}\n{mqtt_extra}" if broker_port else "enabled = false"
        (tmp / "cfg.toml").write_text(f"""
[treadmill]
port = "{self.emu.link}"
[heart_rate]
source = "ant"
ant_serial_path = "{self.stick.path}"
ant_device_number = 2020
[mqtt]
{mqtt}
[site]
name = "drill"
device = "tm-1"
[service]
control_socket = "{self.sock}"
[store]
path = "{self.db}"
[patient]
pseudonym = "P-72"
hr_max = 180
hr_rest = 70
max_speed_kmh = 6
""")
        self.log = tmp / "service.log"
        cfg = str(tmp / "cfg.toml")
        argv = ["-m", "controller", "run", "--config", cfg] if time_scale == 1 else \
            ["-c", AT_SCALE, cfg, str(time_scale)]
        self.proc = subprocess.Popen([sys.executable, *argv], stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT, env=env)
        run_as_service(self.proc.pid)  # Nice=-5, as systemd/fourbyfour.service runs it
        try:
            deadline = time.monotonic() + 30
            while True:  # the socket's file appears at bind, before the server listens
                assert self.proc.poll() is None and time.monotonic() < deadline
                try:
                    self.console = Console(str(self.sock))
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.1)
            self.console.wait(lambda s: s["strap"] == "connected"
                              and s["treadmill"] != "offline")
        except BaseException:
            self.close()  # never leave a service running behind a failed set-up
            raise

    def start_interval(self) -> None:
        """Staff: reset at the treadmill, Start, skip the warm-up; the belt is moving."""
        self.emu.press_reset()
        # the service learns of the reset from the board's next status frame; on a loaded
        # machine Start could come before it and be refused as a faulted board (red once,
        # beside a demo and two hogs), as it would be for staff pressing that fast
        self.console.wait(lambda s: s["treadmill"] in ("idle", "armed"), 30)
        # staff choose the patient: no session runs on the config's [patient] (issue 21)
        reply = self.console.cmd("setup", profile={
            "pseudonym": "P-72", "hr_max": 180, "hr_max_source": "measured", "hr_rest": 70,
            "max_speed_kmh": 6})
        assert reply["ok"], reply
        reply = self.console.cmd("start")
        assert reply["ok"], reply
        self.console.wait(lambda s: (s["speed_kmh"] or 0) > 1.0)
        assert self.console.cmd("skip")["ok"]
        self.console.wait(lambda s: s["phase"] == "interval" and (s["speed_kmh"] or 0) > 2.5)

    def tap_frames(self) -> list[int]:
        """Every frame type the firmware receives from now on (a tap, the firmware runs on)."""
        seen: list[int] = []
        sup = self.emu.sup
        real = sup.on_frame

        def on_frame(frame, now_ms):  # type: ignore[no-untyped-def]
            seen.append(frame.type)
            return real(frame, now_ms)

        sup.on_frame = on_frame
        return seen

    def belt_samples(self, seconds: float, still_for_s: float | None = None
                     ) -> list[tuple[float, float]]:
        """(board time s, belt km/h) every 0.1 s for ``seconds``, or until the belt has stood
        still for ``still_for_s`` of the board's time. The board's own clock, not this
        process's: the firmware's 1 km/h/s is a ramp in its time, and on a loaded machine a
        board thread held up 0.5 s then catching up looked, on the wall clock, like a ramp
        of 1.5 km/h/s."""
        out: list[tuple[float, float]] = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            board_s, belt_kmh, _incline = self.emu.reading()
            out.append((board_s, belt_kmh))
            moving = [t for t, b in out if b != 0.0]
            if still_for_s is not None and out[-1][0] - (moving[-1] if moving else out[0][0]) \
                    >= still_for_s:
                break
            time.sleep(0.1)
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(20)
        self.emu.close()
        self.stick.close()


def max_decel(samples) -> float:
    rates = []
    for i, a in enumerate(samples):
        b = next((b for b in samples[i + 1:] if b[0] - a[0] >= 1.0), None)
        if b is not None and min(a[1], b[1]) >= 1.0:
            rates.append((a[1] - b[1]) / (b[0] - a[0]))
    return max(rates, default=0.0)


@pytest.fixture
def rig(tmp_path):
    """The service at real time."""
    r = Rig(tmp_path)
    yield r
    r.close()


@pytest.fixture
def sim_rig(tmp_path):
    """The service, the strap and the board's physics on simulated time (``SIM_SCALE``)."""
    r = Rig(tmp_path, time_scale=SIM_SCALE)
    yield r
    r.close()


def record(fault: str, expected: str, observed: str, ok: bool) -> None:
    FAULT_MATRIX.append((fault, expected, observed, "ok" if ok else "FAILED"))
    assert ok, f"{fault}: expected {expected}, observed {observed}"


def test_kill_9_of_the_control_process_mid_interval(rig):
    rig.start_interval()
    speed = rig.emu.board.belt_kmh
    rig.proc.send_signal(signal.SIGKILL)
    rig.proc.wait()
    s = rig.belt_samples(12.0, still_for_s=1.0)
    fault = rig.emu.sup.fault
    time.sleep(2.0)
    still = rig.emu.board.belt_kmh == 0.0 and rig.emu.sup.state == 0
    store = Store(rig.db, recover=True)  # what the service's next start does
    status = store.sessions()[-1].status
    store.close()
    observed = (f"belt {speed:.1f}→{s[-1][1]:.1f} km/h, max decel {max_decel(s):.2f} km/h/s, "
                f"fault {fault} latched={still}, record {status}")
    record("kill -9 of the control service mid-interval",
           "firmware ramps to 0 (≤ 1 km/h/s), stays latched; record marked incomplete",
           observed, s[-1][1] == 0.0 and max_decel(s) <= 1.25 and fault == 3 and still
           and status == "incomplete")


def _retained_status(port: int) -> str | None:
    import asyncio

    import aiomqtt

    async def get():
        async with aiomqtt.Client("127.0.0.1", port) as c:
            await c.subscribe("clinic/v1/drill/tm-1/status", qos=1)
            try:
                async with asyncio.timeout(5):
                    async for m in c.messages:
                        return json.loads(m.payload)["state"]
            except TimeoutError:
                return None

    return asyncio.run(get())


def _controlled_stop_drill(r: Rig, signals: list[signal.Signals]) -> tuple[str, bool]:
    """Send ``signals`` mid-interval (the later ones during the ramp); what happened."""
    from controller.core.fwpath import linkcodec as lc
    from controller.service.service import SHUTDOWN_BOUND_S

    r.start_interval()
    speed = r.emu.board.belt_kmh
    frames = r.tap_frames()
    t0 = time.monotonic()
    r.proc.send_signal(signals[0])
    samples = []
    for sig in signals[1:]:
        samples += r.belt_samples(1.5)
        assert r.proc.poll() is None and r.emu.board.belt_kmh > 0.3, "the ramp is over"
        r.proc.send_signal(sig)
    while r.proc.poll() is None and time.monotonic() - t0 < SHUTDOWN_BOUND_S + 10:
        samples += r.belt_samples(0.5)
    took_s = time.monotonic() - t0
    rc = r.proc.wait(5)
    time.sleep(1.5)  # the board, with the host now silent, must stay idle without a fault
    fault = lc.FAULT_NAMES[r.emu.sup.fault]
    state = lc.STATE_NAMES[r.emu.sup.state]
    store = Store(r.db)
    rec = store.sessions()[-1]
    stop_events = [e["message"] for e in store.events(rec.id) if e["kind"] == "stop"]
    store.close()
    stops = frames.count(lc.T_STOP)
    decel = max_decel(samples)
    observed = (f"belt {speed:.1f}→{r.emu.board.belt_kmh:.1f} km/h (max decel {decel:.2f} "
                f"km/h/s), STOP frames {stops}, board {state}/{fault}, exit {rc} after "
                f"{took_s:.1f} s, record {rec.status} ({rec.stop_reason}), summary "
                f"{'yes' if rec.summary else 'no'}")
    ok = (r.emu.board.belt_kmh == 0.0 and stops >= 1 and fault == "none" and state == "idle"
          and rc == 0 and took_s < SHUTDOWN_BOUND_S and decel <= 1.25
          and rec.status == "stopped" and rec.stop_reason == "shutdown"
          and rec.summary is not None and len(stop_events) == 1)
    return observed + f", stop events {len(stop_events)}", ok


def test_systemctl_stop_mid_interval_is_a_controlled_stop(tmp_path, broker):
    r = Rig(tmp_path, broker.port)
    try:
        assert _retained_status(broker.port) == "online"
        observed, ok = _controlled_stop_drill(r, [signal.SIGTERM])
        status = _retained_status(broker.port)
    finally:
        r.close()
    record("systemctl stop / reboot (SIGTERM) mid-interval",
           "ramp to 0, STOP to the board (no host_silent), summary, record stopped "
           "(shutdown), MQTT status offline", f"{observed}, MQTT status {status}",
           ok and status == "offline")


def test_ctrl_c_then_sigterm_during_the_ramp_still_stops_under_control(rig):
    observed, ok = _controlled_stop_drill(rig, [signal.SIGINT, signal.SIGTERM])
    record("Ctrl-C, then SIGTERM during the ramp",
           "the second signal does not skip the ramp or the STOP", observed, ok)


def test_serial_cable_pulled(sim_rig):
    rig = sim_rig
    rig.start_interval()
    rig.emu.unplug()
    s = rig.belt_samples(2.0)  # 0.5 s real to the host timeout, then the board's ramp at 10×
    rig.emu.replug()
    st = rig.console.wait(lambda s: s["treadmill"] != "offline", 30)
    later = rig.belt_samples(2.0)  # 20 s of the session's time
    st = rig.console.wait(lambda s: "belt_stopped" in s["alarms"], 20)
    observed = (f"belt → {s[-1][1]:.1f} km/h; after replug: link {st['treadmill']}, belt max "
                f"{max(b for _, b in later):.1f} km/h, session {st['state']}, "
                f"alarms {list(st['alarms'])}")
    record("serial cable pulled, then replugged",
           "belt stops; alarm; the reconnect does not restart the belt", observed,
           s[-1][1] == 0.0 and max(b for _, b in later) == 0.0 and st["state"] == "paused")


def test_watchdog_pings_go_on_while_the_cable_is_out(tmp_path):
    """systemd's watchdog watches the process: after a cable pull the session waits paused
    for staff, and the pings (from the event loop, while the tick runs) must go on."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.2)
    msgs: list[tuple[float, bytes]] = []
    done = threading.Event()

    def collect() -> None:
        while not done.is_set():
            try:
                msgs.append((time.monotonic(), notify.recv(4096)))
            except TimeoutError:
                continue

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    r = Rig(tmp_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify"),
                           "WATCHDOG_USEC": "2000000"},  # WatchdogSec=2: a ping every 1 s
            time_scale=SIM_SCALE)  # the pings are real time at any scale
    try:
        r.start_interval()
        r.emu.unplug()
        t0 = time.monotonic()
        st = r.console.wait(lambda s: s["state"] == "paused", 30)
        time.sleep(6.0)
        t1 = time.monotonic()
        alive = r.proc.poll() is None
    finally:
        r.close()
        done.set()
        collector.join(2)
        notify.close()
    pings = [t for t, m in msgs if m == b"WATCHDOG=1" and t0 <= t <= t1]
    gaps = [b - a for a, b in zip([t0, *pings], [*pings, t1], strict=True)]
    observed = (f"session {st['state']}, link {st['treadmill']}, {len(pings)} pings in "
                f"{t1 - t0:.1f} s with the cable out, longest gap {max(gaps):.1f} s, "
                f"READY={any(m.startswith(b'READY=1') for _, m in msgs)}")
    record("watchdog while the serial cable is out",
           "pings go on (the process is alive), the session waits paused for staff",
           observed, alive and st["state"] == "paused" and max(gaps) < 2.0
           and any(m.startswith(b"READY=1") for _, m in msgs))


def test_heart_rate_gone(sim_rig):
    rig = sim_rig
    rig.start_interval()
    rig.hub.stick.straps[0].in_range = False
    seen = []
    for state, timeout in (("hr_hold", 10), ("hr_slow", 20), ("done", 70)):
        st = rig.console.wait(lambda s, w=state: s["state"] == w, timeout)
        seen.append(f"{state} (speed set {st['speed_set_kmh']:.1f})")
    time.sleep(1)  # 10 s of the board's time
    observed = " → ".join(seen) + f"; belt {rig.emu.board.belt_kmh:.1f} km/h"
    record("heart rate gone (strap off)",
           "hold at 5 s → easy walk + alarm at 15 s → stop at 60 s", observed,
           rig.emu.board.belt_kmh == 0.0)


def test_heart_rate_frozen(sim_rig):
    rig = sim_rig
    rig.start_interval()
    rig.hub.stick.straps[0].frozen = True  # the strap repeats its last page
    st = rig.console.wait(lambda s: s["state"] == "hr_hold", 15)
    st = rig.console.wait(lambda s: s["state"] == "hr_slow", 20)
    record("heart rate frozen (strap repeats its last beat)",
           "treated as no reading: hold → easy walk + alarm", f"{st['state']}, alarms "
           f"{list(st['alarms'])}, speed set {st['speed_set_kmh']:.1f}",
           st["state"] == "hr_slow" and "hr_lost" in st["alarms"])


def test_estop_on_the_treadmill(sim_rig):
    rig = sim_rig
    rig.start_interval()
    rig.emu.set_estop(True)
    s = rig.belt_samples(1.0)
    st = rig.console.wait(lambda s: s["state"] == "paused", 15)
    rig.emu.set_estop(False)
    refused = rig.console.cmd("resume")
    time.sleep(1.0)
    stayed = rig.emu.board.belt_kmh == 0.0
    rig.emu.press_reset()  # a person at the treadmill
    resumed = rig.console.cmd("resume")
    moving = rig.console.wait(lambda s: (s["speed_kmh"] or 0) > 0.3, 30)
    observed = (f"belt 0 after {next(t for t, b in s if b == 0.0) - s[0][0]:.1f} s, session "
                f"{st['state']}; resume before the local reset: "
                f"{'refused' if not refused['ok'] else 'accepted'}; after it: "
                f"{'ok' if resumed['ok'] else resumed.get('error')}")
    record("e-stop pressed on the treadmill", "immediate stop; re-arm needs a human",
           observed, not refused["ok"] and stayed and resumed["ok"] and
           moving["state"] == "running")


RECONNECT_MAX_S = 2
"""The drill's publisher back-off ceiling ([mqtt] reconnect_max_s; a clinic's is 30 s)."""
OUTAGE_S = 15
"""Far longer than the back-off ceiling: the service has retried (and failed) many times."""


def test_broker_stopped_far_longer_than_the_reconnect_backoff(tmp_path, broker):
    import asyncio

    import aiomqtt

    async def subscribe_persistent():
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="drill-monitor",
                                  clean_session=False) as c:
            await c.subscribe("clinic/v1/drill/tm-1/event", qos=1)

    asyncio.run(subscribe_persistent())
    r = Rig(tmp_path, broker.port, mqtt_extra=f"reconnect_max_s = {RECONNECT_MAX_S}",
            time_scale=SIM_SCALE)  # the outage and the back-off are real time at any scale
    try:
        r.start_interval()
        broker.stop()
        down = time.monotonic()
        for _ in range(3):  # staff actions while the broker is down make events
            r.console.cmd("extend", seconds=60)
            time.sleep(1)
        time.sleep(OUTAGE_S - (time.monotonic() - down))
        broker.start()

        async def collect():
            """Until the three extensions made while the broker was down have arrived and
            no sequence number is missing up to them (or 60 s: then the check below says
            what was lost). The backlog queued in the broker comes at once; the service's
            own comes when its reconnect back-off (up to RECONNECT_MAX_S) retries."""
            seqs, extends = [], 0
            async with aiomqtt.Client("127.0.0.1", broker.port, identifier="drill-monitor",
                                      clean_session=False) as c:
                await c.subscribe("clinic/v1/drill/tm-1/event", qos=1)
                try:
                    async with asyncio.timeout(60):
                        async for m in c.messages:
                            doc = json.loads(m.payload)
                            seqs.append(doc["seq"])
                            extends += doc["kind"] == "extend"
                            got = sorted(set(seqs))
                            if extends >= 3 and got == list(range(len(got))):
                                break
                except TimeoutError:
                    pass
            return seqs

        seqs = sorted(set(asyncio.run(collect())))
    finally:
        r.close()
    observed = f"events received: seq {seqs[0] if seqs else '—'}…{seqs[-1] if seqs else '—'}"
    record(f"MQTT broker stopped for {OUTAGE_S} s ({RECONNECT_MAX_S} s reconnect back-off)",
           "no events lost (seq without gaps)",
           observed + f", {len(seqs)} events, gaps: {seqs != list(range(len(seqs)))}",
           bool(seqs) and seqs == list(range(len(seqs))) and len(seqs) >= 6)


def test_resume_after_an_estop_comes_back_at_the_earlier_pace(sim_rig):
    """h21safe #2 through the service: after the treadmill stopped the belt and staff
    resumed, the set-point ramps back to at most where it was before (the trial: 2.7 km/h
    before, 0 → 3.5 km/h in ~14 s after "r Fortsett", on to 5.6)."""
    rig = sim_rig
    rig.start_interval()  # early in interval 1: the law wants much more than now
    # the set-points as the board takes them: the console's state, polled, missed the last
    # ticks before the stop on a loaded machine (full run at load 12: "before" 3.75 km/h
    # read from the console, 4.25 after resume)
    taken: list[float] = []
    sup = rig.emu.sup
    real = sup.on_frame

    def on_frame(frame, now_ms):  # type: ignore[no-untyped-def]
        out = real(frame, now_ms)
        taken.append(sup.target_centi_kmh / 100)
        return out

    sup.on_frame = on_frame
    before = sup.target_centi_kmh / 100  # the set-point the belt had when the e-stop came
    rig.emu.set_estop(True)
    rig.console.wait(lambda s: s["state"] == "paused")
    before = max([before, *taken])
    rig.emu.set_estop(False)
    rig.emu.press_reset()  # a person at the treadmill
    mark = len(taken)
    assert rig.console.cmd("resume")["ok"]
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:  # ~25 s of the session's time: 3-2-1, ramp, hold
        time.sleep(0.05)
    seen = taken[mark:]
    # one tick's ramp (0.25 km/h) of slack: a set-point frame may be on its way when the
    # e-stop comes (on main before the fix: 4.33 before, 4.75 after; 3.00 → 3.25 with the cap)
    over = [v for v in seen if v > before + 0.26]
    record("resume after an e-stop", f"back to at most {before:.2f} km/h",
           f"max set-point {max(seen):.2f} km/h in ~25 s after resume", not over and
           max(seen) > 0.5)
