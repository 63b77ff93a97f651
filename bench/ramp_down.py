"""Ramp-down benchmark: how often a controlled stop ends in a fault other than its own.

The firmware (``app.Firmware`` with the supervisor) runs on the simulated motor board in
simulated time — no pty, no real time, deterministic. For each belt speed the belt is brought
to speed, then a STOP (or host silence: the last frame, then nothing) comes at 100 phases
20 ms apart, and the run counts the ramp-downs that ended in ``overspeed``: the belt followed
the ramp, so every one of them is a wrong cause.

    python -m bench.ramp_down
"""

from __future__ import annotations

import argparse
import copy

from controller.core.fwpath import linkcodec as lc
from controller.core.fwpath import load

fw_app = load("app")
simboard = load("simboard")
supervisor = load("supervisor")

SPEEDS_KMH = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


class _Port:
    """The host's side of the line: frames the test queues, replies dropped."""

    def __init__(self) -> None:
        self.rx = b""
        self._seq = 0

    def read_available(self) -> bytes | None:
        data, self.rx = self.rx, b""
        return data or None

    def write(self, data: bytes) -> None:
        return None

    def send(self, ftype: int, payload: bytes = b"") -> None:
        self._seq = (self._seq + 1) & 0xFF
        self.rx += lc.encode_frame(lc.Frame(ftype, self._seq, 0, payload))


def _run(fw, port: _Port, now_ms: int, until_ms: int, heartbeat: bool = True) -> int:  # type: ignore[no-untyped-def]
    while now_ms < until_ms:
        now_ms += fw_app.TICK_MS
        if heartbeat and now_ms % 100 < fw_app.TICK_MS:
            port.send(lc.T_HEARTBEAT)
        fw.poll(now_ms)
    return now_ms


def _running(speed_kmh: float):  # type: ignore[no-untyped-def]
    port = _Port()
    board = simboard.SimBoard(now_ms=0)
    fw = fw_app.Firmware(board, port, lc.F_BOOT, 0, supervisor.Config())
    now = _run(fw, port, 0, 500)
    board.reset_pressed = True
    now = _run(fw, port, now, now + 100)
    board.reset_pressed = False
    now = _run(fw, port, now, now + 100)
    port.send(lc.T_ARM)
    now = _run(fw, port, now, now + 20000)  # homing
    centi = round(speed_kmh * 100)
    port.send(lc.T_START, lc.pack_setpoint(min(centi, 300), 0))
    now = _run(fw, port, now, now + 100)
    port.send(lc.T_SET, lc.pack_setpoint(centi, 0))
    now = _run(fw, port, now, now + 25000)
    assert fw.sup.state == lc.S_RUNNING and abs(board.belt_kmh - speed_kmh) < 0.1
    return fw, now


def wrong_causes(speed_kmh: float, how: str, phases: int = 100) -> int:
    """Ramp-downs (``stop`` or ``silence``) from ``speed_kmh`` that ended in overspeed."""
    fw, now = _running(speed_kmh)
    wrong = 0
    for i in range(phases):
        f2 = copy.deepcopy(fw)
        t = _run(f2, f2.port, now, now + i * 20)
        f2.port.send(lc.T_STOP if how == "stop" else lc.T_HEARTBEAT)
        _run(f2, f2.port, t, t + int(speed_kmh * 1000) + 4000, heartbeat=how == "stop")
        wrong += f2.sup.fault == lc.F_OVERSPEED
    return wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", type=int, default=100, help="phases per speed (20 ms apart)")
    a = ap.parse_args(argv)
    print(f"ramp-downs ending in 'overspeed' (of {a.phases} phases each)")
    print(f"{'belt km/h':>10} {'STOP':>6} {'host silence':>13}")
    for kmh in SPEEDS_KMH:
        print(f"{kmh:>10.1f} {wrong_causes(kmh, 'stop', a.phases):>6} "
              f"{wrong_causes(kmh, 'silence', a.phases):>13}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
