"""Pulse inputs (tach, incline position): debounced edges, the last period and an age that
never wraps. Portable: the Pico's hal.py feeds it from pin IRQs with ``time.ticks_us()``,
the simulated board feeds it from its physics with a simulated Pico clock.

Why not ``ticks_diff(now, last_edge)``: on the RP2040 ``ticks_us()`` wraps every 2**30 µs
and ``ticks_diff`` only spans ±2**29 µs (~537 s). A belt that stood still for ten minutes
would then read a *negative* age — a moving belt. So ``ticks_diff`` is only ever taken over
short spans here: between two samples (the main loop samples every 20 ms, and the 1 s
hardware watchdog resets a loop that stalls longer), and between two edges known to be
recent. Long ages are a saturating counter summed from those short spans.

    counter = EdgeInput(time.ticks_diff, debounce_us=20000)
    counter.edge(time.ticks_us())           # in the pin IRQ
    age_ms = counter.sample(time.ticks_us())  # in the main loop, every tick
"""

AGE_CAP_US = 600000000  # ages saturate at 10 min, far above every threshold that uses them
RECENT_US = 2000000  # edges closer than this are "recent": ticks_diff over them is exact


class EdgeInput:
    """Edges in (from an IRQ), a debounced count, the last period and the age out.

    An edge within ``debounce_us`` of the last accepted one is contact bounce and is
    ignored. ``period_us`` is the time between the last two accepted edges, 0 when the
    previous edge is not recent (the first edge after a standstill has no period).
    """

    def __init__(self, ticks_diff, debounce_us):
        self._diff = ticks_diff
        self.debounce_us = debounce_us
        self.count = 0
        self.period_us = 0
        self.bounces = 0
        self._last_us = 0
        self._age_us = AGE_CAP_US  # since the last accepted edge, as of the last sample/edge
        self._seen = 0
        self._sampled_us = None

    def edge(self, now_us):
        """One falling edge at ``now_us`` (IRQ context: no allocation beyond small ints)."""
        if self._age_us < RECENT_US:
            dt = self._diff(now_us, self._last_us)
            if dt < self.debounce_us:
                self.bounces += 1
                return
            self.period_us = dt if dt < RECENT_US else 0
        else:
            self.period_us = 0
        self._last_us = now_us
        self._age_us = 0
        self.count += 1

    def sample(self, now_us):
        """Age of the last accepted edge in ms, saturating at ``AGE_CAP_US``. Call at least
        every ~1 s (the main loop does, every 20 ms): only the span since the previous call
        goes through ``ticks_diff``."""
        first = self._sampled_us is None
        elapsed = 0 if first else self._diff(now_us, self._sampled_us)
        if elapsed < 0:
            elapsed = 0
        self._sampled_us = now_us
        if self.count != self._seen:
            self._seen = self.count
            age = self._diff(now_us, self._last_us)  # the edge came after the last sample
            if age < 0:
                age = 0
            elif not first and age > elapsed:
                age = elapsed
        else:
            age = self._age_us + elapsed
            if age > AGE_CAP_US:
                age = AGE_CAP_US
        self._age_us = age
        return age // 1000
