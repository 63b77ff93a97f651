"""A simulated strap: samples from a function of time (a virtual patient)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from controller.hr.source import (
    LOST_AFTER_S,
    STALE_AFTER_S,
    HeartRateSource,
    HrSample,
    SourceState,
    SourceStatus,
)

# -- simulated ------------------------------------------------------------------------------


class SimulatedSource(HeartRateSource):
    """Samples at ~4 Hz from ``hr_of(now_s)`` (e.g. a virtual patient); None means no contact.

    >>> src = SimulatedSource(lambda t: 120.0)
    >>> async for item in src.stream(): ...
    """

    def __init__(self, hr_of: Callable[[float], float | None], *, rate_hz: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hr_of = hr_of
        self.period_s = 1.0 / rate_hz
        self.clock = clock

    async def stream(self) -> AsyncIterator[HrSample | SourceStatus]:
        last_ok = self.clock()
        state = SourceState.SEARCHING
        yield SourceStatus(state, "simulated strap", last_ok)
        while True:
            now = self.clock()
            hr = self.hr_of(now)
            if hr is not None:
                last_ok = now
                if state is not SourceState.CONNECTED:
                    state = SourceState.CONNECTED
                    yield SourceStatus(state, "simulated strap connected", now)
                yield HrSample(float(round(hr)), now, "simulated")
            else:
                new = state
                if now - last_ok >= LOST_AFTER_S:
                    new = SourceState.LOST
                elif now - last_ok >= STALE_AFTER_S:
                    new = SourceState.STALE
                if new is not state:
                    state = new
                    yield SourceStatus(state, f"simulated strap {state}", now)
            await asyncio.sleep(self.period_s)

