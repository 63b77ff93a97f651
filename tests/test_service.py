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
[store]
path = "{tmp_path / 'sessions.db'}"
[service]
control_socket = "{sock}"
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
                    # no strap until a person pairs one: Start is refused, then staff scan
                    # and choose
                    refused = await c.command("start")
                    assert not refused["ok"] and "No strap is paired" in refused["error"]
                    scan = await c.command("scan", seconds=2)
                    assert [s["device_number"] for s in scan["straps"]] == [3131]
                    pair = await c.command("pair", strap={"kind": "ant",
                                                          "device_number": 3131})
                    assert pair["ok"], pair
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
