"""Hostile-network benchmark: 10,000 generated hostile messages for each subscriber (the
treadmill service's listeners, the central monitor, the records server) through a real
mosquitto, the records server on a real PostgreSQL.

    python -m bench.hostile [--n 10000] [--seed 24]

The messages are mutated valid ones (a field of the wrong type, out of range, a non-finite
number written as ``1e999`` or ``NaN``, control characters and escape sequences in text, deep
nesting, a huge payload, truncated or binary junk, wrong schema) and valid ones, on the
subscriber's own topics and on junk topic names (thousands of made-up devices). Measured:

- crashes: the subscriber's task (or the monitor app) ended;
- control characters reaching a screen (the monitor's rendered table and status line) or a
  log line (every record our loggers wrote);
- invalid rows stored: sessions in the clinic database that the import's rules refuse, or
  more rows than valid sessions sent;
- refusals not counted: hostile messages neither handled nor counted by the subscriber;
- live rows fresh: a real treadmill publishes telemetry at 5 Hz during the burst; the
  monitor's lag behind it (p99, max) and how far behind it is 3 s after the burst.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fleet import Mosquitto, free_port
from controller.core.text import has_control

N_DEFAULT = 10_000
CONTROL = ["\x1b[2J\x1b[H\x1b[42m ALL OK", "line\nbreak", "\x00nul", "\u202eright-to-left",
           "\x9b31mred", "bell\x07", "\r\rover"]


# -- the generator ---------------------------------------------------------------------------

def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            if isinstance(v, dict | list) and len(prefix) < 3:
                out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out.append((*prefix, i))
            if isinstance(v, dict | list) and len(prefix) < 3:
                out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple, value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


INF = "__INF__"
NAN = "__NAN__"


def mutate(valid: dict, rng: random.Random) -> tuple[bytes, str]:
    """One hostile variant of ``valid``: (payload, what was done)."""
    doc = json.loads(json.dumps(valid))
    how = rng.choice(["type", "range", "nonfinite", "control", "nested", "huge", "junk",
                      "truncated", "schema", "valid", "control", "nonfinite"])
    paths = _paths(doc) or [("x",)]
    path = rng.choice(paths)
    if how == "type":
        _set(doc, path, rng.choice(["text", [1, 2], {"a": 1}, True, None, 12]))
    elif how == "range":
        _set(doc, path, rng.choice([-1e9, 1e12, -5, 10**30, 99999]))
    elif how == "nonfinite":
        _set(doc, path, rng.choice([INF, NAN]))
    elif how == "control":
        _set(doc, path, rng.choice(CONTROL) + str(rng.randint(0, 99)))
    elif how == "nested":
        depth = rng.choice([50, 1000, 100_000])
        return (b'{"schema": ' + json.dumps(doc.get("schema")).encode() + b', "x": ' +
                b"[" * depth + b"]" * depth + b"}", how)
    elif how == "huge":
        _set(doc, path, "x" * rng.choice([20_000, 300_000]))
    elif how == "junk":
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200))), how
    elif how == "truncated":
        raw = json.dumps(doc).encode()
        return raw[:rng.randint(0, max(0, len(raw) - 1))], how
    elif how == "schema":
        doc["schema"] = rng.choice(["fourbyfour.status/9", "other", 7, "\x1b[2Jx"])
    raw = json.dumps(doc).replace(f'"{INF}"', "1e999").replace(f'"{NAN}"', "NaN")
    return raw.encode(), how


def _refuse(text: str) -> Any:
    raise ValueError(text)


def _finite(text: str) -> float:
    x = float(text)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(text)
    return x


def junk_topic(rng: random.Random, i: int) -> str:
    return rng.choice([
        f"clinic/v1/oslo/junk-{i}/status", f"clinic/v1/oslo/junk-{i}/telemetry",
        f"clinic/v1/junk{i % 50}/tm-{i}/meta", "clinic/v1/oslo/tm-1/x/y/z",
        f"clinic/v1/oslo/{'a' * 70}/status", "clinic/v1/oslo/tm-1/unknown"])


# -- a log handler that looks for control characters -----------------------------------------

class LogWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines = 0
        self.with_control = 0
        self.example = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "mqtt":  # paho's own lines: not shown to staff
            return
        self.lines += 1
        text = record.getMessage()
        if has_control(text.replace("\n", " ")):
            self.with_control += 1
            self.example = self.example or repr(text[:120])


# -- PostgreSQL ----------------------------------------------------------------------------------

class Postgres:
    def __init__(self) -> None:
        initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob(
            "*/bin/initdb"))), None)
        if initdb is None:
            raise SystemExit("PostgreSQL is not installed")
        self.bindir = Path(os.path.realpath(initdb)).parent
        self.data = Path(tempfile.mkdtemp(prefix="fourbyfour-pg-bench-"))
        self.data.chmod(0o700)
        self.port = free_port()
        self.user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            self.user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.user, str(self.bindir / "initdb"), "-D", str(self.data / "db"),
                        "-U", "clinic", "--auth=trust", "-E", "UTF8"], check=True,
                       capture_output=True)
        subprocess.run([*self.user, str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"),
                        "-l", str(self.data / "log"), "-o",
                        f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "-w",
                        "start"], check=True, capture_output=True)
        self.url = f"postgresql://clinic@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.user, str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"),
                        "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.data, ignore_errors=True)


# -- the three subscribers ----------------------------------------------------------------------

async def blast(port: int, messages: list[tuple[str, bytes]]) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, max_queued_outgoing_messages=0) as c:
        for i, (topic, payload) in enumerate(messages):
            await c.publish(topic, payload, qos=1)
            if i % 100 == 0:
                await asyncio.sleep(0)


def _sp() -> Any:
    from tests.test_mqtt import a_setpoint

    return a_setpoint()


async def bench_service(port: int, n: int, rng: random.Random, logs: LogWatch) -> dict:
    """The treadmill's own subscribers: command listener, strap guard, records link."""
    from controller.net import records_link as rl
    from controller.net import telemetry as tm
    from controller.net.mqtt import MqttSettings
    from controller.net.records_link import RecordsLink
    from controller.net.remote import Verifier, listen, sign
    from controller.net.straps import SiteStraps, watch

    s = MqttSettings(port=port, site="oslo", device="tm-1")
    secret = b"s" * 24
    acted: list[str] = []
    v = Verifier(secret, site="oslo", device="tm-1", session_id=lambda: "S1")
    refusals = [0]
    orig_check = v.check

    def counting(payload: bytes, retained: bool = False) -> tuple[str, str | None]:
        try:
            return orig_check(payload, retained)
        except Exception:
            refusals[0] += 1
            raise

    v.check = counting  # type: ignore[method-assign]
    straps = SiteStraps("oslo", "tm-1")
    link = RecordsLink(s, pending=lambda: [], export=lambda sid: None,  # type: ignore
                       acked=lambda sid: None)
    tasks = [asyncio.create_task(listen(s, v, lambda c, a: acted.append(c))),
             asyncio.create_task(watch(s, straps)),
             asyncio.create_task(link.run())]
    await asyncio.sleep(1.5)
    valid_cmd = json.loads(sign(secret, "stop", site="oslo", device="tm-1", session_id="S1",
                                nonce="n" * 16))
    valid_meta = json.loads(tm.meta_payload("oslo", "tm-2", "1", "4x4",
                                            {"kind": "ant", "device_number": 5}))
    valid_ack = {"schema": rl.ACK_SCHEMA, "session_id": "S1", "time_unix_s": time.time()}
    msgs: list[tuple[str, bytes]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:  # commands: none carries a valid signature for a fresh nonce
            payload, _how = mutate(valid_cmd, rng)
            msgs.append(("clinic/v1/oslo/tm-1/command", payload))
        elif kind == 1:
            payload, _how = mutate(valid_meta, rng)
            msgs.append((f"clinic/v1/oslo/tm-{2 + i % 40}/meta", payload))
        elif kind == 2:
            payload, _how = mutate(valid_ack, rng)
            msgs.append(("clinic/v1/oslo/tm-1/records/ack/S1", payload))
        else:
            payload, _how = mutate(valid_meta, rng)
            msgs.append((junk_topic(rng, i), payload))
    n_cmd = sum(1 for t, _ in msgs if t.endswith("/command"))
    t0 = time.monotonic()
    await blast(port, msgs)
    deadline = time.monotonic() + 120
    while refusals[0] + len(acted) < n_cmd and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    took = time.monotonic() - t0
    crashed = sum(1 for t in tasks if t.done())
    for t in tasks:
        t.cancel()
    as_sent = json.dumps(valid_cmd).encode()
    exact = sum(1 for t, p in msgs if t.endswith("/command") and p == as_sent)
    return {"subscriber": "service", "sent": n, "crashes": crashed,
            "screen_ctrl": 0, "log_ctrl": logs.with_control,
            "invalid_stored": len(acted) - min(exact, 1),
            "uncounted": n_cmd - refusals[0] - len(acted), "live": "—", "s": took,
            "note": f"{len(acted)} commands acted on: the one validly signed command, once "
                    f"({exact} exact copies sent, the rest refused as replays); "
                    f"{link.acks} acks taken, strap guard: "
                    f"{straps.problem or 'sees the site'}"}


async def bench_monitor(port: int, n: int, rng: random.Random, logs: LogWatch) -> dict:
    from controller.app.monitor import CentralMonitor
    from controller.net import fleet
    from controller.net import telemetry as tm
    from controller.net.mqtt import MqttSettings
    from controller.net.publisher import MqttPublisher

    class Counting(CentralMonitor):
        handled = 0

        def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
            if "/tm-1/" not in topic:
                Counting.handled += 1
            super().on_message(topic, payload, retained)

    sp = _sp()
    valid = {"telemetry": json.loads(tm.telemetry_payload("S1", 1, sp, 3.0, 5.0)),
             "session": json.loads(tm.session_payload("S1", "P-7", sp)),
             "status": json.loads(tm.status_payload(True, activity="running")),
             "meta": json.loads(tm.meta_payload("oslo", "tm-2", "1", "4x4")),
             "event": {"schema": "fourbyfour.event/1", "session_id": "S1", "seq": 1,
                       "t_s": 1.0, "kind": "phase", "severity": "info", "message": "x",
                       "time_unix_s": time.time()}}
    msgs = []
    for i in range(n):
        kind = rng.choice(list(valid))
        payload, _how = mutate(valid[kind], rng)
        topic = junk_topic(rng, i) if i % 3 == 0 else f"clinic/v1/oslo/tm-{2 + i % 23}/{kind}"
        msgs.append((topic, payload))
    subscribed = sum(1 for t, _ in msgs if len(t.split("/")) == 5 and
                     t.split("/")[4] in tm.KINDS)
    app = Counting(MqttSettings(port=port, site="oslo"))
    screen_ctrl = 0
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.connected:
            await asyncio.sleep(0.05)
        pub = MqttPublisher(MqttSettings(port=port, site="oslo", device="tm-1"))
        pt = asyncio.create_task(pub.run())
        pub.set_activity("running")
        pub.set_retained("session", tm.session_payload("S1", "P-1", sp))
        sent_at: dict[int, float] = {}

        async def live() -> None:
            seq = 0
            while True:
                seq += 1
                sent_at[seq] = time.monotonic()
                pub.offer_telemetry(tm.telemetry_payload("S1", seq, sp, 3.0, 5.0))
                await asyncio.sleep(0.2)

        lt = asyncio.create_task(live())
        while ("oslo", "tm-1") not in app.fleet.rows or \
                not app.fleet.rows[("oslo", "tm-1")].telemetry:
            await asyncio.sleep(0.05)

        def screen_check() -> int:
            from textual.widgets import DataTable

            table = app.query_one(DataTable)
            lines = [table.render_line(y).text for y in range(table.size.height)]
            lines += str(app.query_one("#status").render()).split("\n")
            return sum(1 for ln in lines if has_control(ln))

        t0 = time.monotonic()
        sender = asyncio.create_task(blast(port, msgs))
        burst_end = None
        while True:
            row = app.fleet.rows.get(("oslo", "tm-1"))
            seen = row.telemetry.get("seq", 0) if row else 0
            newest = max(sent_at)
            lags.append(0.0 if seen >= newest else time.monotonic() - sent_at[seen + 1])
            app.redraw()
            await pilot.pause()
            screen_ctrl += screen_check()
            if sender.done() and burst_end is None:
                burst_end = time.monotonic()
            waiting = len(app._newcomers)
            if burst_end is not None and (
                    (Counting.handled + app.newcomers_dropped >= subscribed and not waiting)
                    or time.monotonic() - burst_end > 120):
                break
            await asyncio.sleep(0.25)
        took = time.monotonic() - t0
        await asyncio.sleep(3.0)
        row = app.fleet.rows[("oslo", "tm-1")]
        behind = max(sent_at) - row.telemetry.get("seq", 0)
        crashed = 0 if app.is_running else 1
        rows = len(app.fleet.rows)
        lt.cancel()
        pt.cancel()
    lags.sort()
    p99 = lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    return {"subscriber": "monitor", "sent": n, "crashes": crashed, "screen_ctrl": screen_ctrl,
            "log_ctrl": logs.with_control, "invalid_stored": 0,
            "uncounted": subscribed - Counting.handled - app.newcomers_dropped,
            "live": f"p99 {p99:.1f} s, max {max(lags):.1f} s, {behind * 0.2:.1f} s behind "
                    "3 s after",
            "s": took, "note": f"{subscribed} on subscribed topics (the rest the broker "
                               f"does not deliver); {rows} rows (max {fleet.MAX_ROWS}), ignored "
                               f"{app.fleet.ignored}, newcomers dropped {app.newcomers_dropped}"}


async def bench_records(port: int, n: int, rng: random.Random, logs: LogWatch,
                        pg_url: str) -> dict:
    import jsonschema

    from controller.net import records_link as rl
    from controller.net import telemetry as tm
    from controller.net.mqtt import MqttSettings
    from controller.records.clinic_db import PgClinicDb
    from controller.records.store import Store
    from controller.service.records_server import RecordsServer, check_upload
    from tests.test_report import record_sim

    tmp = Path(tempfile.mkdtemp(prefix="fourbyfour-hostile-"))
    store = Store(tmp / "pi.db")
    record_sim(store, "S0", 30, 1_790_000_000.0, seed=1)
    good = store.export_session("S0")
    good["samples"] = good["samples"][:30]
    db = PgClinicDb(pg_url)
    srv = RecordsServer(MqttSettings(port=port, site="oslo"), db)
    ready = asyncio.Event()
    st = asyncio.create_task(srv.run(ready))
    await ready.wait()
    msgs = []
    valid_ids: set[str] = set()
    for i in range(n):
        sid = f"H{i}"
        session = json.loads(json.dumps(good))
        session["session"]["id"] = sid
        if i % 5 == 4:  # a profile request
            payload, _how = mutate({"schema": rl.PROFILE_REQUEST_SCHEMA, "pseudonym": "P-3",
                                    "time_unix_s": time.time()}, rng)
            msgs.append((rl.records_topic("oslo", "tm-1", "profile", f"r{i}"), payload))
            continue
        doc = {"schema": rl.RECORD_SCHEMA, "site": "oslo", "device": "tm-1",
               "session": session, "time_unix_s": time.time()}
        payload, _how = mutate(doc, rng)
        topic = rl.records_topic("oslo", "tm-1", "session", sid) if i % 7 else \
            f"clinic/v1/oslo/tm-1/records/session/{'x' * 80}"
        msgs.append((topic, payload))
        try:
            d = json.loads(payload, parse_constant=_refuse, parse_float=_finite)
            jsonschema.validate(d, tm.validator("record").schema)  # the envelope
            check_upload(d["session"], time.time())
            if topic.endswith("/" + sid) and d.get("site") == "oslo" and \
                    d.get("device") == "tm-1" and d["session"]["session"]["id"] == sid and \
                    d.get("schema") == rl.RECORD_SCHEMA:
                valid_ids.add(sid)
        except Exception:
            pass
    t0 = time.monotonic()
    await blast(port, msgs)
    deadline = time.monotonic() + 300
    while srv.stored + srv.duplicates + srv.refused + srv.failed + srv.profiles_answered < n \
            and time.monotonic() < deadline and not st.done():
        await asyncio.sleep(0.2)
    took = time.monotonic() - t0
    crashed = 1 if st.done() else 0
    st.cancel()
    stored = {r.id for r in srv.db.sessions()}
    invalid = len(stored - valid_ids)
    missing = sorted(valid_ids - stored)
    for rec in srv.db.sessions():  # what `fourbyfour sessions` reads must not crash
        json.dumps(rec.__dict__, allow_nan=False)
    handled = srv.stored + srv.duplicates + srv.refused + srv.failed + srv.profiles_answered
    srv.db.close()
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"subscriber": "records server", "sent": n, "crashes": crashed, "screen_ctrl": 0,
            "log_ctrl": logs.with_control, "invalid_stored": invalid,
            "uncounted": n - handled, "live": "—", "s": took,
            "note": f"stored {srv.stored} of {len(valid_ids)} valid (not stored: "
                    f"{missing[:5]}), refused {srv.refused}, "
                    f"answered {srv.profiles_answered} profiles"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=N_DEFAULT, help="messages per subscriber")
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--only", default="service,monitor,records")
    a = ap.parse_args()
    logs = LogWatch()
    root = logging.getLogger()
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    for h in root.handlers:
        if h is not logs:
            h.setLevel(logging.CRITICAL)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start "
          "(shared: other work may run)")
    work = Path(tempfile.mkdtemp(prefix="fourbyfour-hostile-mq-"))
    mq = Mosquitto(work, free_port())
    mq.start()
    pg = Postgres() if "records" in a.only else None
    results = []
    try:
        for name in a.only.split(","):
            rng = random.Random(f"{a.seed}-{name}")
            logs.with_control = 0
            if name == "service":
                r = asyncio.run(bench_service(mq.port, a.n, rng, logs))
            elif name == "monitor":
                r = asyncio.run(bench_monitor(mq.port, a.n, rng, logs))
            else:
                assert pg is not None
                r = asyncio.run(bench_records(mq.port, a.n, rng, logs, pg.url))
            results.append(r)
            print(f"  {name}: done in {r['s']:.0f} s", flush=True)
    finally:
        mq.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("subscriber      sent  crashes  ctrl→screen  ctrl→log  invalid stored  uncounted  "
          "live rows")
    for r in results:
        print(f"{r['subscriber']:14s} {r['sent']:5d}  {r['crashes']:7d}  {r['screen_ctrl']:11d}"
              f"  {r['log_ctrl']:8d}  {r['invalid_stored']:14d}  {r['uncounted']:9d}  "
              f"{r['live']}")
    print()
    for r in results:
        print(f"{r['subscriber']}: {r['note']}")
    if logs.example:
        print(f"first log line with a control character: {logs.example}")
    ok = all(r["crashes"] == 0 and r["screen_ctrl"] == 0 and r["log_ctrl"] == 0 and
             r["invalid_stored"] == 0 and r["uncounted"] <= 0 for r in results)
    print("holds" if ok else "DOES NOT HOLD")
    with contextlib.suppress(Exception):
        logging.shutdown()


if __name__ == "__main__":
    main()
