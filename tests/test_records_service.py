"""One clinic record: finished sessions go from each treadmill's store to the records service
over a real mosquitto, kept on the Pi until acknowledged — across broker, treadmill and server
restarts, without duplicates — into SQLite or a real PostgreSQL; profiles at session start."""

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import aiomqtt
import pytest

from controller.net import records_link as rl
from controller.net.publisher import MqttSettings
from controller.net.records_link import RecordsLink
from controller.records import report
from controller.records.clinic_db import PgClinicDb, SqliteClinicDb
from controller.records.store import Store
from controller.service.records_server import RecordsServer
from tests.conftest import free_port
from tests.test_report import record_sim

DAY = 86400.0


def treadmill_store(path, n=2, first=1_790_000_000.0):
    s = Store(path)
    for i in range(n):
        record_sim(s, f"S{i}", 30 + i, first + i * 7 * DAY, seed=i + 1)
    return s


def link_for(store, port, device="tm-1", resend_s=1.0):
    async def export(sid):
        return store.export_session(sid)
    return RecordsLink(MqttSettings(port=port, site="oslo", device=device),
                       pending=store.pending_upload, export=export,
                       acked=store.mark_uploaded, resend_s=resend_s)


async def until(pred, timeout_s=30.0):
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.05)


def test_sessions_reach_the_clinic_db_exactly_once_across_restarts(broker, tmp_path):
    store = treadmill_store(tmp_path / "pi.db")
    db = SqliteClinicDb(tmp_path / "clinic.db")
    assert store.pending_upload() == ["S0", "S1"]

    async def server_once(ready_only=False):
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        task = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        return srv, task

    async def main():
        # the server has connected once: the broker keeps its persistent session
        srv, st = await server_once()
        st.cancel()
        await asyncio.sleep(0.3)
        link = link_for(store, broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: link.sent >= 2)
        assert store.pending_upload() == ["S0", "S1"]  # nobody acknowledged: kept
        await asyncio.sleep(1.5)  # the broker's autosave
        broker.stop()
        broker.start()  # broker restart, messages queued for the server kept
        lt.cancel()  # the treadmill restarts too: a new link, the same store
        link = link_for(store, broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: link.sent >= 2)  # sent again: duplicates on the way
        srv, st = await server_once()
        await until(lambda: not store.pending_upload())
        await asyncio.sleep(1.5)  # let every duplicate arrive
        lt.cancel()
        st.cancel()
        return srv

    srv = asyncio.run(asyncio.wait_for(main(), 90))
    assert [r.id for r in db.sessions()] == ["S0", "S1"]
    assert srv.refused == 0
    for sid in ("S0", "S1"):
        assert len(db.samples(sid)) == len(store.samples(sid)) > 1000
        assert len(db.events(sid)) == len(store.events(sid))
        assert db.origin(sid) == ("oslo", "tm-1")
    prog = report.progression(db, "P-3")  # reports run on the clinic record
    assert len(prog["sessions"]) == 2


def test_profile_request_and_bad_messages(broker, tmp_path):
    store = treadmill_store(tmp_path / "pi.db", n=1)
    db = SqliteClinicDb(tmp_path / "clinic.db")
    db.add_session("oslo", "tm-2", store.export_session("S0"))

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            for payload in (b"{nope", b'{"schema": "fourbyfour.record/1", "site": 3}',
                            rl.encode({"schema": rl.RECORD_SCHEMA, "site": "oslo",
                                       "device": "tm-1", "session": {"x": 1}})):
                await c.publish(rl.records_topic("oslo", "tm-1", "session", "S9"), payload,
                                qos=1)
        await until(lambda: srv.refused == 3)
        link = link_for(Store(tmp_path / "empty.db"), broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: link.online)
        await asyncio.sleep(0.3)
        known = await link.request_profile("P-3")
        unknown = await link.request_profile("P-404")
        lt.cancel()
        st.cancel()
        return srv, known, unknown

    _srv, known, unknown = asyncio.run(asyncio.wait_for(main(), 60))
    assert known is not None and known["hr_max"] == 183.0 and known["pseudonym"] == "P-3"
    assert unknown is None
    assert db.sessions()[0].id == "S0" and len(db.sessions()) == 1


@pytest.fixture
def postgres(tmp_path):
    """A real PostgreSQL server in a temporary directory, run as an unprivileged user."""
    initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob(
        "*/bin/initdb"))), None)
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql; .ci/run "
                    "installs it)")
    bindir = Path(os.path.realpath(initdb)).parent
    data = Path(f"/tmp/fourbyfour-pg-{os.getpid()}-{free_port()}")
    data.mkdir(mode=0o700)
    port = free_port()
    user = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*user, str(bindir / "initdb"), "-D", str(data / "db"), "-U", "clinic",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*user, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l",
                    str(data / "log"), "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                    "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://clinic@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*user, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_the_clinic_record_on_a_real_postgresql(postgres, broker, tmp_path):
    store = treadmill_store(tmp_path / "pi.db")
    db = PgClinicDb(postgres)

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        link = link_for(store, broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: not store.pending_upload())
        profile = await link.request_profile("P-3")
        lt.cancel()
        st.cancel()
        return profile

    t0 = time.monotonic()
    profile = asyncio.run(asyncio.wait_for(main(), 90))
    assert time.monotonic() - t0 < 90
    assert [r.id for r in db.sessions()] == ["S0", "S1"]
    assert db.add_session("oslo", "tm-1", store.export_session("S0")) is False  # no duplicate
    assert len(db.samples("S1")) == len(store.samples("S1"))
    assert profile is not None and profile["pseudonym"] == "P-3"
    assert len(report.progression(db, "P-3")["sessions"]) == 2
    db.close()


def test_the_console_asks_the_clinic_record_for_a_profile_at_setup(broker, tmp_path):
    """Console → control socket → records link → records service → clinic database."""
    from controller.service.config import load
    from controller.service.control_socket import ControlClient, ControlServer
    from controller.service.runtime import Runtime
    from controller.treadmill import Treadmill

    store = treadmill_store(tmp_path / "pi.db", n=1)
    db = SqliteClinicDb(tmp_path / "clinic.db")
    db.add_session("oslo", "tm-2", store.export_session("S0"))
    db.set_profile("P-8", {"pseudonym": "P-8", "hr_max": 171.0})
    cfg = load(None)

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        link = link_for(Store(tmp_path / "empty.db"), broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: link.online)
        rt = Runtime(cfg.profile, cfg.plan, hr_source=None, treadmill=Treadmill("/dev/null"),
                     store=Store(tmp_path / "this-pi.db"))
        server = ControlServer(rt, str(tmp_path / "control.sock"))
        unconfigured = await server._command(b'{"cmd": "profile", "pseudonym": "P-3"}')
        server.profile_lookup = link.request_profile
        sv = asyncio.create_task(server.serve())
        await until(lambda: (tmp_path / "control.sock").exists())
        client = ControlClient(str(tmp_path / "control.sock"))
        await client.connect()

        async def drain():
            async for _ in client.updates():
                pass
        dr = asyncio.create_task(drain())
        p3 = await client.command("profile", pseudonym="P-3")
        p8 = await client.command("profile", pseudonym="P-8")
        # A patient who trained on another treadmill: this Pi's register does not know P-8,
        # so the setup takes the clinic record's profile (staff enter only the pseudonym).
        setup = await client.command("setup", profile={"pseudonym": "P-8"})
        for t in (dr, sv, lt, st):
            t.cancel()
        await client.close()
        assert setup["ok"], setup
        assert rt.profile.pseudonym == "P-8" and rt.profile.hr_max == 171.0
        assert rt.register.get("P-8").hr_max_bpm == 171.0  # kept on this Pi from now on
        return unconfigured, p3, p8

    unconfigured, p3, p8 = asyncio.run(asyncio.wait_for(main(), 60))
    assert not unconfigured["ok"] and unconfigured["code"] == "no_records_service"
    assert p3["ok"] and p3["profile"]["pseudonym"] == "P-3"  # from the latest session
    assert p8["profile"] == {"pseudonym": "P-8", "hr_max": 171.0}  # set in the register


def test_the_records_server_command_stores_uploads_and_ends_on_sigterm(broker, tmp_path):
    import signal
    import sys

    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[mqtt]\nport = {broker.port}\n")
    clinic = tmp_path / "clinic" / "clinic.db"
    proc = subprocess.Popen([sys.executable, "-m", "controller", "records-server", "--config",
                             str(cfg), "--db", str(clinic)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    store = treadmill_store(tmp_path / "pi.db", n=1)
    try:
        async def main():
            link = link_for(store, broker.port)
            lt = asyncio.create_task(link.run())
            await until(lambda: not store.pending_upload())
            lt.cancel()
        asyncio.run(asyncio.wait_for(main(), 60))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "stored session S0 from oslo/tm-1" in out
    assert [r.id for r in SqliteClinicDb(clinic).sessions()] == ["S0"]
