"""Treadmill-link benchmark: decoder throughput, and set-point → belt response through the
emulated firmware on a pty.

    python -m bench.link
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from controller.core.fwpath import FIRMWARE_DIR
from controller.core.fwpath import linkcodec as lc
from controller.devices.emulator import Emulator
from controller.treadmill import Treadmill

MP_SCRIPT = """
import sys, time
sys.path.insert(0, {fw!r})
import linkcodec as lc
wire = b"".join(lc.encode(lc.T_STATUS, i & 255, 0, lc.pack_status(3, 0, 500, 498, 50, 49, 7))
                for i in range({n}))
d = lc.Decoder()
t = time.ticks_us() if hasattr(time, "ticks_us") else int(time.time() * 1e6)
n = len(d.feed(wire))
t2 = time.ticks_us() if hasattr(time, "ticks_us") else int(time.time() * 1e6)
print(n, len(wire), (t2 - t) / 1e6)
"""


def decoder_throughput(n: int = 20000) -> tuple[float, float]:
    wire = b"".join(lc.encode(lc.T_STATUS, i & 255, 0, lc.pack_status(3, 0, 500, 498, 50, 49, 7))
                    for i in range(n))
    d = lc.Decoder()
    t0 = time.perf_counter()
    frames = d.feed(wire)
    dt = time.perf_counter() - t0
    assert len(frames) == n
    return n / dt, len(wire) / dt


def micropython_throughput(n: int = 5000) -> tuple[float, float] | None:
    exe = shutil.which("micropython", path=str(Path(sys.executable).parent))
    if exe is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(MP_SCRIPT.format(fw=str(FIRMWARE_DIR), n=n))
        f.flush()
        out = subprocess.run([exe, "-X", "heapsize=32M", f.name], capture_output=True, text=True,
                             timeout=120).stdout.split()
    frames, nbytes, secs = int(out[0]), int(out[1]), float(out[2])
    return frames / secs, nbytes / secs


async def response() -> dict[str, float]:
    with Emulator() as emu:
        async with Treadmill(emu.link) as tm:
            await tm.wait_status(lambda s: s.reset_needed)
            emu.press_reset()
            await tm.wait_status(lambda s: s.state == "idle")
            await tm.arm()
            await tm.wait_status(lambda s: s.incline_homed, 30)
            await tm.start(2.0)
            await tm.wait_status(lambda s: s.speed_kmh >= 1.9, 20)
            rtts = []
            for _ in range(50):
                t0 = time.perf_counter()
                await tm.set(2.0, 0.0)
                rtts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await tm.set(6.0, 0.0)
            t_sent = time.perf_counter()
            t50 = t90 = t_in = None
            while True:
                v = emu.board.belt_kmh
                now = time.perf_counter() - t0
                if t50 is None and v >= 4.0:
                    t50 = now
                if t90 is None and v >= 5.6:
                    t90 = now
                if v >= 5.9:
                    t_in = now
                    break
                await asyncio.sleep(0.005)
            await tm.wait_status(lambda s: s.speed_kmh >= 5.9, 5)
            return {
                "ack_p50_ms": statistics.median(rtts) * 1000,
                "ack_p99_ms": sorted(rtts)[int(0.99 * len(rtts))] * 1000,
                "send_ms": (t_sent - t0) * 1000,
                "t50_s": t50 or 0.0, "t90_s": t90 or 0.0, "t_within_0.1_s": t_in or 0.0,
            }


def main() -> int:
    fps, bps = decoder_throughput()
    print("treadmill link benchmark")
    print(f"{'what':46s} {'value':>12s}")
    print("-" * 59)
    print(f"{'decoder, CPython: frames/s':46s} {fps:12,.0f}")
    print(f"{'decoder, CPython: bytes/s':46s} {bps:12,.0f}")
    mp = micropython_throughput()
    if mp:
        print(f"{'decoder, MicroPython (unix port): frames/s':46s} {mp[0]:12,.0f}")
        print(f"{'  needed at 115200 baud, 10 Hz status: frames/s':46s} {10:12d}")
    r = asyncio.run(response())
    print(f"{'SET → RESULT round trip over the pty, p50 ms':46s} {r['ack_p50_ms']:12.1f}")
    print(f"{'SET → RESULT round trip over the pty, p99 ms':46s} {r['ack_p99_ms']:12.1f}")
    print(f"{'step 2 → 6 km/h: belt at 4 km/h after s':46s} {r['t50_s']:12.2f}")
    print(f"{'step 2 → 6 km/h: belt at 5.6 km/h after s':46s} {r['t90_s']:12.2f}")
    print(f"{'step 2 → 6 km/h: belt within 0.1 km/h after s':46s} {r['t_within_0.1_s']:12.2f}")
    print("(the firmware's ramp limit, 0.5 km/h/s, makes 7.8 s the floor for the last line;")
    print(" the MicroPython figure is the unix port on this PC, not an RP2040)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
