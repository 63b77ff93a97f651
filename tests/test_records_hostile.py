"""The records server under hostile messages (issue 24.3–24.5): no message kills it, nothing
invalid is stored, a refusal comes back to the treadmill with its reason, a PostgreSQL restart
is survived — real mosquitto, real PostgreSQL."""

import asyncio
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from controller.net import records_link as rl
from controller.net.publisher import MqttSettings
from controller.records.clinic_db import PgClinicDb, SqliteClinicDb
from controller.records.store import Store
from controller.service.records_server import RecordsServer
from tests.conftest import free_port
from tests.test_records_service import link_for, treadmill_store, until


class Postgres:
    """A real PostgreSQL in a temporary directory that a test can restart."""

    def __init__(self) -> None:
        initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob(
            "*/bin/initdb"))), None)
        if initdb is None:
            pytest.skip("PostgreSQL is not installed")
        self.bindir = Path(os.path.realpath(initdb)).parent
        self.data = Path(f"/tmp/fourbyfour-pg24-{os.getpid()}-{free_port()}")
        self.data.mkdir(mode=0o700)
        self.port = free_port()
        self.user = []
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            self.user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.user, str(self.bindir / "initdb"), "-D", str(self.data / "db"),
                        "-U", "clinic", "--auth=trust", "-E", "UTF8"], check=True,
                       capture_output=True)
        self.url = f"postgresql://clinic@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run([*self.user, str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"),
                        "-l", str(self.data / "log"), "-o",
                        f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "-w",
                        "start"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.user, str(self.bindir / "pg_ctl"), "-D", str(self.data / "db"),
                        "-m", "fast", "-w", "stop"], capture_output=True)


@pytest.fixture
def pg():
    p = Postgres()
    p.start()
    try:
        yield p
    finally:
        p.stop()
        shutil.rmtree(p.data, ignore_errors=True)


def deep(n: int = 100_000) -> bytes:
    return b'{"schema": "fourbyfour.profile-request/1", "pseudonym": ' + b"[" * n + \
        b"]" * n + b"}"


def test_no_message_kills_the_records_server_on_postgresql(pg, broker, tmp_path):
    """A deeply nested profile request and a pseudonym with NUL, while the server runs and
    again queued while it is down: it stays up and still answers."""
    db = PgClinicDb(pg.url)
    store = treadmill_store(tmp_path / "pi.db", n=1)
    db.add_session("oslo", "tm-2", store.export_session("S0"))
    hostile = [
        deep(),
        rl.encode({"schema": rl.PROFILE_REQUEST_SCHEMA, "pseudonym": "P-\x003"}),
        rl.encode({"schema": rl.RECORD_SCHEMA, "site": "oslo", "device": "tm-1",
                   "session": {"schema": "fourbyfour.session-export/1",
                               "session": {"id": "S9", "pseudonym": "P-\x00"},
                               "samples": [], "events": []}}),
        b'{"schema": "fourbyfour.record/1", "site": "oslo", "device": "tm-1", "session": '
        + b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ]

    async def send_all(c):
        for i, payload in enumerate(hostile):
            what = "session" if b"record/1" in payload[:60] else "profile"
            await c.publish(rl.records_topic("oslo", "tm-1", what, f"h{i}"), payload, qos=1)

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await send_all(c)
        await until(lambda: srv.refused >= len(hostile) or st.done(), 20)
        assert not st.done(), st.exception()
        st.cancel()
        await asyncio.gather(st, return_exceptions=True)  # down: its session queues them
        # the same messages queued for the persistent session while the server is down
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await send_all(c)
        srv2 = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st2 = asyncio.create_task(srv2.run(ready))
        await until(ready.is_set)
        await until(lambda: srv2.refused >= len(hostile) or st2.done(), 20)
        assert not st2.done(), st2.exception()
        link = link_for(Store(tmp_path / "empty.db"), broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: link.online)
        await asyncio.sleep(0.3)
        profile = await link.request_profile("P-3")
        lt.cancel()
        st2.cancel()
        return profile

    profile = asyncio.run(asyncio.wait_for(main(), 90))
    assert profile is not None and profile["pseudonym"] == "P-3"
    assert [r.id for r in db.sessions()] == ["S0"]
    db.close()


def _record(session_doc):
    return rl.encode({"schema": rl.RECORD_SCHEMA, "site": "oslo", "device": "tm-1",
                      "session": session_doc})


def hostile_copies(good):
    """A valid export changed in one way each: what the issue found stored."""
    def changed(fn):
        doc = json.loads(json.dumps(good))
        fn(doc)
        return doc

    def name(d):
        d["session"]["pseudonym"] = d["session"]["profile"]["pseudonym"] = "Kari Nordmann"

    def nin(d):
        d["session"]["pseudonym"] = d["session"]["profile"]["pseudonym"] = "12345678901"

    def text_time(d):
        d["session"]["started_unix_s"] = "2026-12-01 10:00"

    def hr_999(d):
        d["samples"][3]["hr_bpm"] = 999

    def control(d):
        d["samples"][5]["hr_status"] = "\x1b[2J ALL OK\x00"

    out = [_record(changed(f)) for f in (name, nin, text_time, hr_999, control)]
    inf = _record(good).replace(b'"hr_bpm":', b'"hr_bpm":1e999,"x":', 1)
    out.append(inf)
    return out


def test_the_records_server_stores_only_valid_sessions_and_says_why(broker, tmp_path):
    store = treadmill_store(tmp_path / "pi.db", n=1)
    good = store.export_session("S0")
    db = SqliteClinicDb(tmp_path / "clinic.db")

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        acks = []
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            await c.subscribe("clinic/v1/oslo/tm-1/records/ack/+", qos=1)
            for payload in hostile_copies(good):
                await c.publish(rl.records_topic("oslo", "tm-1", "session", "S0"), payload,
                                qos=1)
            async with asyncio.timeout(20):
                async for m in c.messages:
                    acks.append(json.loads(m.payload))
                    if len(acks) == len(hostile_copies(good)):
                        break
        st.cancel()
        return srv, acks

    srv, acks = asyncio.run(asyncio.wait_for(main(), 60))
    assert db.sessions() == []
    assert srv.refused == len(acks) == 6 and srv.stored == 0
    reasons = [a.get("refused", "") for a in acks]
    assert all(reasons), acks
    assert "pseudonym" in reasons[0] and "pseudonym" in reasons[1]
    assert "started_unix_s" in reasons[2] and "hr_bpm" in reasons[3]


def test_a_refused_session_stays_on_the_treadmill_flagged_with_the_reason(broker, tmp_path,
                                                                          caplog):
    store = treadmill_store(tmp_path / "pi.db", n=2)
    db = SqliteClinicDb(tmp_path / "clinic.db")

    async def export(sid):
        doc = store.export_session(sid)
        if sid == "S1":  # a treadmill whose record is broken
            doc["samples"][0]["hr_bpm"] = 999
        return doc

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        link = rl.RecordsLink(MqttSettings(port=broker.port, site="oslo", device="tm-1"),
                              pending=store.pending_upload, export=export,
                              acked=store.mark_uploaded, resend_s=0.5)
        lt = asyncio.create_task(link.run())
        await until(lambda: "S1" in link.refused and store.pending_upload() == ["S1"])
        sent = link.sent
        await asyncio.sleep(2.0)  # not re-sent every resend_s for ever
        lt.cancel()
        st.cancel()
        return link, sent

    with caplog.at_level(logging.WARNING):
        link, sent = asyncio.run(asyncio.wait_for(main(), 60))
    assert [r.id for r in db.sessions()] == ["S0"]
    assert store.pending_upload() == ["S1"]  # kept on the treadmill
    assert "hr_bpm" in link.refused["S1"]
    assert link.sent == sent
    assert "refused session S1" in caplog.text and "hr_bpm" in caplog.text


def test_uploads_go_on_after_a_postgresql_restart(pg, broker, tmp_path):
    store = treadmill_store(tmp_path / "pi.db", n=2)
    db = PgClinicDb(pg.url)
    first = Store(tmp_path / "first.db")
    first_doc = store.export_session("S0")

    async def main():
        srv = RecordsServer(MqttSettings(port=broker.port, site="oslo"), db)
        ready = asyncio.Event()
        st = asyncio.create_task(srv.run(ready))
        await until(ready.is_set)
        assert first_doc  # the database works before the restart
        pg.stop()
        pg.start()
        link = link_for(store, broker.port)
        lt = asyncio.create_task(link.run())
        await until(lambda: not store.pending_upload(), 30)
        lt.cancel()
        st.cancel()
        return srv

    srv = asyncio.run(asyncio.wait_for(main(), 90))
    first.close()
    check = PgClinicDb(pg.url)
    assert [r.id for r in check.sessions()] == ["S0", "S1"]
    check.close()
    assert srv.stored == 2
