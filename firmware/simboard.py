"""A simulated MC2100-class motor board, belt and incline motor (for the emulator and the
tests; never deployed). Portable like the firmware: runs on MicroPython and CPython.

It stands behind the same ``read_inputs``/``apply``/``apply_safe``/``feed_watchdog``
interface as ``hal.PicoHal``: belt speed follows the PWM duty (through the calibration table)
with motor-board inertia, the tach produces a pulse every ``belt_m_per_pulse`` of belt, the
incline motor moves at a fixed rate and produces position pulses, stopping at its end stops.
Faults can be injected: e-stop, key pulled, runaway belt, broken tach, jammed incline.
"""

from supervisor import Config, Inputs


def speed_for_duty(cal, duty):
    if duty <= cal[1][1] * 0.5:
        return 0.0
    for i in range(1, len(cal)):
        s0, d0 = cal[i - 1]
        s1, d1 = cal[i]
        if duty <= d1:
            return (s0 + (s1 - s0) * (duty - d0) / (d1 - d0)) / 100.0
    return cal[-1][0] / 100.0


class SimBoard:
    def __init__(self, config=None, now_ms=0):
        self.cfg = config or Config()
        self.belt_kmh = 0.0
        self.incline_pulses = 0
        self.incline_pos = 4.0  # pulses above the bottom end stop at power-up
        self.incline_rate_pulses_per_s = 1.8  # 0.5 %/s
        self.incline_max_pulses = 54.0
        self.estop_healthy = True
        self.key_present = True
        self.reset_pressed = False
        self.runaway_kmh = None
        self.tach_broken = False
        self.incline_jammed = False
        self.relay_on = False
        self.duty = 0.0
        self.incline_dir = 0
        self.watchdog_fed_ms = now_ms
        self._now_ms = now_ms
        self._dist_m = 0.0
        self._last_pulse_ms = now_ms - 100000
        self._period_us = 0
        self._inc_acc = 0.0

    # -- the hal interface ------------------------------------------------------------------

    def read_inputs(self, now_ms):
        self.advance(now_ms)
        return Inputs(self.estop_healthy, self.key_present, self.reset_pressed,
                      self._period_us, now_ms - self._last_pulse_ms, self.incline_pulses)

    def apply(self, out):
        self.duty = out.duty_pct
        self.relay_on = out.relay_on
        self.incline_dir = out.incline_dir

    def apply_safe(self):
        self.duty = 0.0
        self.relay_on = False
        self.incline_dir = 0

    def feed_watchdog(self):
        self.watchdog_fed_ms = self._now_ms

    # -- physics ----------------------------------------------------------------------------

    def advance(self, now_ms):
        dt = (now_ms - self._now_ms) / 1000.0
        if dt <= 0:
            return
        self._now_ms = now_ms
        powered = self.relay_on and self.estop_healthy and self.key_present
        goal = speed_for_duty(self.cfg.calibration, self.duty) if powered else 0.0
        if self.runaway_kmh is not None:
            goal = self.runaway_kmh
        # The motor board's own inertia: at most 2 km/h/s up, 3 km/h/s down (coasting).
        dv = goal - self.belt_kmh
        dv = min(max(dv, -3.0 * dt), 2.0 * dt)
        self.belt_kmh = max(0.0, self.belt_kmh + dv)
        if self.belt_kmh > 0 and not self.tach_broken:
            self._dist_m += self.belt_kmh / 3.6 * dt
            step = self.cfg.belt_m_per_pulse
            if self._dist_m >= step:
                self._dist_m -= step
                self._period_us = int(step / (self.belt_kmh / 3.6) * 1e6)
                self._last_pulse_ms = now_ms
        # Incline motor: powered only with the stop chain healthy (cut in hardware).
        if self.incline_dir and self.estop_healthy and self.key_present \
                and not self.incline_jammed:
            move = self.incline_dir * self.incline_rate_pulses_per_s * dt
            new = min(max(self.incline_pos + move, 0.0), self.incline_max_pulses)
            self._inc_acc += abs(new - self.incline_pos)
            self.incline_pos = new
            while self._inc_acc >= 1.0:
                self._inc_acc -= 1.0
                self.incline_pulses += 1

    @property
    def incline_pct(self):
        return self.incline_pos / self.cfg.incline_pulses_per_pct
