"""Heart-rate path benchmark: CPU use of the ANT+ path at 4 Hz, and the time from a page on
the wire to the sample in asyncio.

    python -m bench.hr_path [--seconds 20]

openant's real Node/HeartRate code runs against the emulated stick
(``controller.devices.antstick``);
a page is "on the wire" when the stick hands its bytes to openant's driver.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time

from controller.devices.antstick import StickHub, Strap
from controller.hr import AntSource, HrSample


class TimedHub(StickHub):
    """Remembers when each beat count went on the wire."""

    def __init__(self, straps: list[Strap]) -> None:
        super().__init__(straps)
        self.sent_at: dict[int, float] = {}

    def read(self) -> bytes:
        out = super().read()
        if out:
            now = time.monotonic()
            i = 0
            while i + 4 <= len(out):
                n = out[i + 1]
                if out[i + 2] == 0x4E and n >= 9:
                    beat_count = out[i + 3 + 7]
                    self.sent_at.setdefault(beat_count, now)
                i += n + 4
        return out


async def measure(seconds: float) -> tuple[float, list[float], int]:
    hub = TimedHub([Strap(4242, lambda t: 150.0)])
    src = AntSource(driver_factory=hub.driver)
    lat: list[float] = []
    seen: set[int] = set()
    n = 0
    cpu0 = None
    t0 = 0.0
    async for item in src.stream():
        if not isinstance(item, HrSample):
            continue
        n += 1
        if cpu0 is None:  # start measuring once the channel runs (the set-up is one-off)
            r = resource.getrusage(resource.RUSAGE_SELF)
            cpu0, t0 = r.ru_utime + r.ru_stime, time.monotonic()
        bc = item.beat_count
        if bc is not None and bc not in seen and bc in hub.sent_at:
            seen.add(bc)
            lat.append(item.now_s - hub.sent_at[bc])
        if time.monotonic() - t0 >= seconds:
            break
    r = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r.ru_utime + r.ru_stime - (cpu0 or 0.0)) / (time.monotonic() - t0)
    return cpu, lat, n


async def unplugged(seconds: float) -> tuple[float, float, int]:
    """Pull the stick once samples flow: (seconds until staff are told, CPU use while it
    stays out, log lines while it stays out)."""
    import logging

    hub = StickHub([Strap(4242, lambda t: 150.0)])
    src = AntSource(driver_factory=hub.driver)
    lines = [0]

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines[0] += 1

    handler = Count(logging.INFO)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    told = None
    t_out = cpu0 = 0.0
    try:
        async for item in src.stream():
            if isinstance(item, HrSample) and not t_out:
                hub.unplug()
                t_out = time.monotonic()
                r = resource.getrusage(resource.RUSAGE_SELF)
                cpu0 = r.ru_utime + r.ru_stime
                lines[0] = 0
            elif t_out and told is None and "unplugged" in getattr(item, "message", ""):
                told = time.monotonic() - t_out
            if t_out and time.monotonic() - t_out >= seconds:
                break
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    r = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r.ru_utime + r.ru_stime - cpu0) / (time.monotonic() - t_out)
    return (told if told is not None else float("inf")), cpu, lines[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args(argv)
    cpu, lat, n = asyncio.run(measure(a.seconds))
    lat_ms = sorted(x * 1000 for x in lat)
    print("heart-rate path benchmark (openant Node + HeartRate, emulated stick, 4 Hz)")
    print(f"{'what':52s} {'value':>10s}")
    print("-" * 63)
    print(f"{'samples received':52s} {n:10d} ({n / a.seconds:.1f}/s)")
    print(f"{'CPU use of the whole process, % of one core':52s} {cpu * 100:10.1f}")
    print(f"{'page on the wire → sample in asyncio, p50 ms':52s} "
          f"{statistics.median(lat_ms):10.1f}")
    print(f"{'page on the wire → sample in asyncio, p99 ms':52s} "
          f"{lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))]:10.1f}")
    print(f"{'  (new beats timed)':52s} {len(lat_ms):10d}")
    told, cpu_out, lines = asyncio.run(unplugged(10.0))
    print(f"{'USB stick pulled → staff told, s':52s} {told:10.2f}")
    print(f"{'CPU use while it stays out (10 s), % of one core':52s} {cpu_out * 100:10.1f}")
    print(f"{'log lines (INFO and up) while it stays out (10 s)':52s} {lines:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
