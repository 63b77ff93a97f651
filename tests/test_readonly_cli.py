"""Read-only commands never write to the live store (issue 23.1): while the service holds a
session open and writes, ``sessions``/``patients``/``report`` run as subprocesses, exit 0
without a traceback, and the running session stays ``running``. Recovery of a session left
``running`` by a crash is the service's start's job only."""

import sqlite3
import subprocess
import sys
import textwrap

from controller.protocol import PatientProfile, Session
from controller.records.store import Store

WRITER = textwrap.dedent("""
    import sys, time
    from controller.protocol import PatientProfile, Session
    from controller.records.register import Register
    from controller.records.store import Store
    store = Store(sys.argv[1])
    profile = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0, pseudonym="P-9")
    Register(store).remember(profile)
    s = Session(profile)
    store.begin_session("S-live", profile, s.plan.to_dict())
    t = 0.0
    while True:
        sp = s.step(t, 130.0, 3.0, 2.0)
        store.record("S-live", sp, 3.0, 2.0)
        t += 1.0
        if t == 200:
            store._commit()  # what 2 s of ticks would have committed
            print("ready", flush=True)
        if t > 200:
            time.sleep(0.005)  # the service writes every tick and holds its batch open
""")


def _status(db) -> str:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return c.execute("SELECT status FROM sessions WHERE id = 'S-live'").fetchone()[0]
    finally:
        c.close()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=120)


def test_reports_during_a_running_session_leave_it_running(tmp_path):
    db = tmp_path / "sessions.db"
    w = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        for _ in range(2):
            for args in (("sessions", "--store", str(db), "P-9"),
                         ("patients", "--store", str(db)),
                         ("report", "--store", str(db), "--session", "S-live", "--out",
                          str(tmp_path / "r.png"))):
                r = _cli(*args)
                assert r.returncode == 0, (args, r.stderr)
                assert "Traceback" not in r.stderr and "locked" not in r.stderr
                assert _status(db) == "running", args
        assert "S-live" in _cli("sessions", "--store", str(db), "P-9").stdout
        # a writer beside the service (staff change a cap) waits for the batch, or says so
        r = _cli("patient", "--store", str(db), "P-9", "--max-speed", "5.5")
        assert "Traceback" not in r.stderr and (r.returncode == 0 or "busy" in r.stderr)
        assert _status(db) == "running"
        assert w.poll() is None  # the writer never lost its lock to a reader
    finally:
        w.kill()
        w.wait()


def test_only_the_service_start_marks_an_interrupted_session_incomplete(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db)
    profile = PatientProfile(hr_max=180, pseudonym="P-1")
    store.begin_session("S1", profile, Session(profile).plan.to_dict())
    store.db.close()  # a crash: the session is left 'running'
    Store(db).close()  # a tool (import, register) opening the store changes nothing
    assert _status_of(db, "S1") == "running"
    Store(db, recover=True).close()  # what the service does at its start
    assert _status_of(db, "S1") == "incomplete"


def _status_of(db, sid):
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()[0]
    finally:
        c.close()
