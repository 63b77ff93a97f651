"""`fourbyfour run`: the hardware path with real ports — the treadmill client on a serial
device (the emulated firmware's pty) and openant's serial driver on an ANT stick (the
emulated stick's pty) — steered from a console through the control socket."""

import asyncio
import os
import subprocess
import sys
import time

from controller.devices.antstick import StickHub, StickPty, Strap
from controller.devices.emulator import Emulator
from controller.service.control_socket import ControlClient


def test_run_drives_real_ports_and_waits_for_a_person(tmp_path):
    hub = StickHub([Strap(3131, lambda t: 96.0)])
    stick = StickPty(hub)
    sock = tmp_path / "control.sock"
    with Emulator() as emu:
        cfg = tmp_path / "fourbyfour.toml"
        cfg.write_text(f"""
[treadmill]
port = "{emu.link}"
[heart_rate]
source = "ant"
ant_serial_path = "{stick.path}"
[mqtt]
enabled = false
[service]
control_socket = "{sock}"
[store]
path = "{tmp_path / 'sessions.db'}"
[patient]
pseudonym = "P-5"
hr_max = 180
max_speed_kmh = 6
""")
        proc = subprocess.Popen([sys.executable, "-m", "controller", "run", "--config",
                                 str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            async def main():
                async with asyncio.timeout(60):
                    while not sock.exists():
                        assert proc.poll() is None, proc.stdout.read()
                        await asyncio.sleep(0.1)
                c = ControlClient(str(sock))
                await c.connect()
                updates = c.updates()
                states = []

                async def watch():
                    async for d in updates:
                        states.append(d)
                watcher = asyncio.create_task(watch())
                async with asyncio.timeout(60):
                    while not (states and states[-1]["strap"] == "connected"):
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(3)
                    # nothing moves until a person acts
                    assert emu.board.belt_kmh == 0.0 and not states[-1]["started"]
                    emu.press_reset()  # at the treadmill
                    assert (await c.command("start"))["ok"]
                    while not (states[-1]["speed_kmh"] or 0) > 1.0:
                        await asyncio.sleep(0.2)
                    assert states[-1]["hr_bpm"] == 96.0
                    assert states[-1]["phase"] == "warmup"
                    assert (await c.command("stop"))["ok"]
                    while states[-1]["state"] != "done":
                        await asyncio.sleep(0.2)
                    t0 = time.monotonic()
                    while emu.board.belt_kmh > 0 and time.monotonic() - t0 < 20:
                        await asyncio.sleep(0.2)
                assert emu.board.belt_kmh == 0.0
                watcher.cancel()
                await c.close()

            asyncio.run(main())
        finally:
            proc.terminate()
            proc.wait(20)
            stick.close()
            if sock.exists():
                os.unlink(sock)


def test_the_next_session_starts_from_the_chosen_patients_profile(tmp_path):
    """After a session the service makes the next runtime with no patient: Start is refused
    until staff choose one, and a known pseudonym brings its own profile from the register,
    never the previous patient's."""
    import json

    from controller.protocol import PatientProfile
    from controller.records.register import PatientRecord, Register
    from controller.records.store import Store
    from controller.service.config import load
    from controller.service.control_socket import ControlServer
    from controller.service.service import next_runtime

    store = Store(tmp_path / "s.db")
    Register(store).save(PatientRecord("P-17", 172, "six_minute_test", "2026-11-20",
                                       max_speed_kmh=5.0, walk_only=True))
    cfg = load(None)
    previous = PatientProfile(hr_max=195, max_speed_kmh=12.0, pseudonym="P-99")
    rt = next_runtime(cfg, hr_source=None, treadmill=None, store=store)
    assert rt.profile is None and rt.session is None
    server = ControlServer(rt, str(tmp_path / "c.sock"))

    async def main():
        async def cmd(**kw):
            return await server._command(json.dumps(kw).encode())
        r = await cmd(cmd="start")
        assert not r["ok"] and "no patient chosen" in r["error"]
        r = await cmd(cmd="setup", profile={"pseudonym": "P-17", "hr_max_source": "measured"})
        assert r["ok"], r
        assert (rt.profile.hr_max, rt.profile.hr_max_source) == (172, "six_minute_test")
        assert rt.profile.walk_only and rt.profile.max_speed_kmh == 5.0
        assert rt.profile != previous
        r = await cmd(cmd="setup", profile={"pseudonym": "P-5"})
        assert not r["ok"] and "not in the register" in r["error"]
        r = await cmd(cmd="setup", profile={"pseudonym": "KariNordmann"})
        assert not r["ok"] and "name" in r["error"]
        r = await cmd(cmd="adjust", speed_delta_kmh=0.5)
        assert not r["ok"] and "only during the 6-minute test" in r["error"]
        r = await cmd(cmd="rpe", rpe=15)
        assert not r["ok"] and "after a 6-minute test only" in r["error"]

    asyncio.run(main())
