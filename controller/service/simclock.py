"""Simulated time for the demo, drills and researchers: a clock that runs faster than the wall.

The session, the plan, the heart-rate source and the emulated motor board's physics can run on
it; the link's safety timers never do (the heartbeat and the firmware's 500 ms host timeout
stay real at any speed), so simulated time never thins a safety margin.
"""

from __future__ import annotations

import time

MAX_TIME_SCALE = 30.0
"""At 30× one session tick (1 s) is 33 ms of real time, still well above a set-point's round
trip over the link plus this PC's scheduling jitter; the safety timers stay real anyway."""


class ScaledClock:
    """Seconds since it was made, times ``speedup`` (monotonic, like ``time.monotonic``)."""

    def __init__(self, speedup: float) -> None:
        if not 0 < speedup <= MAX_TIME_SCALE:
            raise ValueError(f"a time scale must be > 0 and ≤ {MAX_TIME_SCALE:g}, got "
                             f"{speedup!r}")
        self.speedup = speedup
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self._t0) * self.speedup
