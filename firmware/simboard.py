"""A simulated MC2100-class motor board, belt and incline motor (for the emulator and the
tests; never deployed). Portable like the firmware: runs on MicroPython and CPython.

It stands behind the same ``read_inputs``/``apply``/``apply_safe``/``feed_watchdog``
interface as ``hal.PicoHal``, and its pulse inputs go through the same ``pulses.EdgeInput``
as the Pico's IRQs, on a simulated Pico clock that wraps at 2**30 µs as the RP2040's does.

What it models, because real hardware does it:

* Belt: speed follows the PWM duty (through the calibration table) with the motor board's
  inertia (2 km/h/s up, 3 km/h/s down); a tach edge every ``belt_m_per_pulse`` of belt.
* Incline motor: 1.8 pulses/s (0.5 %/s). Position pulses at fixed points of the travel
  (half a pulse inside each end stop). Switched off, the motor and gearbox **coast**
  ``incline_coast_pulses`` (± a third, drawn per stop) before they stand — a coast can cross
  a pulse point *after* the drive was switched off or reversed. A reversal goes through that
  coast (the board switches the motor off, then on the other way). Every position pulse
  **bounces**: 0–3 extra falling edges within 4 ms. The end stops block the motor: no pulses.
* Faults to inject: e-stop, key pulled, runaway belt, broken tach, jammed incline, and a
  chattering position sensor (pulses with the motor standing).

Not modelled: the reed's open/close band, electrical noise on long cables, belt slip.
"""

from pulses import EdgeInput
from simpico import PicoClock
from supervisor import Config, Inputs

TACH_DEBOUNCE_US = 20000  # as hal.py
INCLINE_DEBOUNCE_US = 50000
START_US = (1 << 30) - 60000000  # the simulated ticks wrap a minute after power-up


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
    def __init__(self, config=None, now_ms=0, seed=1):
        self.cfg = config or Config()
        self.clock = PicoClock(START_US)
        self._t0_ms = now_ms
        self.belt_kmh = 0.0
        self.incline_pos = 4.3  # in pulses above the bottom end stop at power-up
        self.incline_v = 0.0  # pulses per second, signed
        self.incline_rate_pulses_per_s = 1.8  # 0.5 %/s
        self.incline_accel = 18.0  # pulses/s² while driven
        self.incline_coast_pulses = 0.45
        self.incline_bounce_max = 3
        self.incline_max_pulses = 54.0
        self.estop_healthy = True
        self.key_present = True
        self.reset_pressed = False
        self.runaway_kmh = None
        self.tach_broken = False
        self.incline_jammed = False
        self.incline_chatter = False
        self.relay_on = False
        self.duty = 0.0
        self.incline_dir = 0
        self.end_stop_hits = 0
        self.watchdog_fed_ms = now_ms
        self._now_ms = now_ms
        self._dist_m = 0.0
        self._rng = (seed * 2654435761 & 0xFFFFFFFF) or 1
        self._coast_decel = self._draw_decel()
        self._chatter_ms = 0
        self.tach = EdgeInput(PicoClock.ticks_diff, TACH_DEBOUNCE_US)
        self.incline_edges = EdgeInput(PicoClock.ticks_diff, INCLINE_DEBOUNCE_US)

    # -- the hal interface ------------------------------------------------------------------

    def read_inputs(self, now_ms):
        self.advance(now_ms)
        now_us = self._ticks_us(now_ms)
        age_ms = self.tach.sample(now_us)
        self.incline_edges.sample(now_us)
        return Inputs(self.estop_healthy, self.key_present, self.reset_pressed,
                      self.tach.period_us, age_ms, self.incline_edges.count)

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

    def _ticks_us(self, ms):
        return (START_US + (ms - self._t0_ms) * 1000) & ((1 << 30) - 1)

    def _random(self):
        """A small portable PRNG (xorshift32), so runs are reproducible on both interpreters."""
        x = self._rng
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._rng = x
        return x / 4294967296.0

    def _draw_decel(self):
        coast = self.incline_coast_pulses * (2 / 3 + self._random() * 2 / 3)
        v = self.incline_rate_pulses_per_s
        return v * v / (2 * coast)

    def advance(self, now_ms):
        dt = (now_ms - self._now_ms) / 1000.0
        if dt <= 0:
            return
        t0_ms = self._now_ms
        self._now_ms = now_ms
        powered = self.relay_on and self.estop_healthy and self.key_present
        goal = speed_for_duty(self.cfg.calibration, self.duty) if powered else 0.0
        if self.runaway_kmh is not None:
            goal = self.runaway_kmh
        # The motor board's own inertia: at most 2 km/h/s up, 3 km/h/s down (coasting).
        dv = goal - self.belt_kmh
        dv = min(max(dv, -3.0 * dt), 2.0 * dt)
        v0 = self.belt_kmh
        self.belt_kmh = max(0.0, self.belt_kmh + dv)
        v_mean = (v0 + self.belt_kmh) / 2 / 3.6
        if v_mean > 0:
            step = self.cfg.belt_m_per_pulse
            need = step - self._dist_m  # belt to the next tach pulse
            travel = v_mean * dt
            at_ms = float(t0_ms)
            while travel >= need:
                travel -= need
                at_ms += need / v_mean * 1000.0
                if not self.tach_broken:
                    self.tach.edge(self._ticks_us(int(at_ms)))
                need = step
            self._dist_m = step - need + travel
        self._incline(t0_ms, now_ms)

    def _incline(self, t0_ms, now_ms):
        # Powered only with the stop chain healthy (cut in hardware).
        drive = self.incline_dir if (self.estop_healthy and self.key_present and
                                     not self.incline_jammed) else 0
        if self.incline_jammed:
            self.incline_v = 0.0
        if self.incline_chatter and now_ms - self._chatter_ms >= 300:
            self._chatter_ms = now_ms
            self.incline_edges.edge(self._ticks_us(now_ms))
        v_max = self.incline_rate_pulses_per_s
        t = t0_ms
        while t < now_ms:
            h = 2 if now_ms - t >= 2 else now_ms - t
            t += h
            dt = h / 1000.0
            v = self.incline_v
            if drive and (v == 0 or (v > 0) == (drive > 0)):
                v = v + drive * self.incline_accel * dt  # driven: up to speed in ~0.1 s
                v = min(max(v, -v_max), v_max)
            elif v != 0:  # off, or driven the other way: the board lets it coast to a stand
                dec = self._coast_decel * dt
                v = 0.0 if abs(v) <= dec else (v - dec if v > 0 else v + dec)
                if v == 0.0:
                    self._coast_decel = self._draw_decel()
            else:
                continue
            x0 = self.incline_pos
            x1 = x0 + (self.incline_v + v) / 2 * dt
            if x1 <= 0.0 or x1 >= self.incline_max_pulses:
                x1 = min(max(x1, 0.0), self.incline_max_pulses)
                if drive:
                    self.end_stop_hits += 1 if v != 0 else 0
                v = 0.0
            self.incline_v = v
            self.incline_pos = x1
            # Pulse points at k + 0.5: an edge (and its bounce) at every crossing.
            k0 = int(x0 + 0.5)
            k1 = int(x1 + 0.5)
            if k0 != k1:
                at = self._ticks_us(t)
                self.incline_edges.edge(at)
                for i in range(int(self._random() * (self.incline_bounce_max + 1))):
                    self.incline_edges.edge((at + 500 + i * 1000) & ((1 << 30) - 1))

    @property
    def incline_pct(self):
        return self.incline_pos / self.cfg.incline_pulses_per_pct

    @property
    def incline_true_count(self):
        """The pulse points below the incline: what a perfect count would read."""
        return int(self.incline_pos + 0.5)
