"""Hardware layer for the Raspberry Pi Pico (RP2040). Only this file touches ``machine``.

Pins (see firmware/README.md for the wiring): every input is active-low with a pull-up, and
the safety inputs are normally-closed loops to ground, so a cut wire reads as *tripped*.
"""

from pulses import EdgeInput
from supervisor import Inputs

PIN_PWM = 2  # speed PWM to the MC2100 opto buffer, 20 Hz
PIN_RELAY = 3  # energise-to-run motor relay driver
PIN_INCLINE_UP = 4
PIN_INCLINE_DOWN = 5
PIN_TACH = 6  # reed/optical tach on the front roller
PIN_INCLINE_PULSE = 7
PIN_ESTOP = 8  # NC chain to ground: low = healthy
PIN_KEY = 9  # NC key switch to ground: low = present
PIN_RESET = 10  # local reset button (NO to ground): low = pressed
PIN_MAINTENANCE = 11  # maintenance jumper to ground: fitted = low (see bootmode.py)
PWM_HZ = 20
TACH_DEBOUNCE_US = 20000  # 41 ms between pulses at 22 km/h
INCLINE_DEBOUNCE_US = 50000  # ~550 ms between position pulses; reed bounce lasts a few ms
WATCHDOG_MS = 1000


class PicoHal:
    """Pins, PWM, IRQs and the watchdog. ``machine`` and the tick functions are injected
    (``machine_mod``, ``ticks``: the ``machine`` and ``time`` modules on the Pico) so the
    same code runs on a PC against ``simpico`` — a clock that wraps as the RP2040's does.

        hal = PicoHal()                 # on the Pico (main.py starts the watchdog later)
        hal = PicoHal(sim_machine, sim_clock, watchdog=True)    # in a test
    """

    def __init__(self, machine_mod=None, ticks=None, watchdog=False):
        if machine_mod is None:
            import machine as machine_mod
        if ticks is None:
            import time as ticks
        machine = self._machine = machine_mod
        self._ticks_us = ticks.ticks_us
        self._pwm_pin = machine.Pin(PIN_PWM, machine.Pin.OUT, value=0)
        self._pwm = None
        self._relay = machine.Pin(PIN_RELAY, machine.Pin.OUT, value=0)
        self._up = machine.Pin(PIN_INCLINE_UP, machine.Pin.OUT, value=0)
        self._down = machine.Pin(PIN_INCLINE_DOWN, machine.Pin.OUT, value=0)
        self._estop = machine.Pin(PIN_ESTOP, machine.Pin.IN, machine.Pin.PULL_UP)
        self._key = machine.Pin(PIN_KEY, machine.Pin.IN, machine.Pin.PULL_UP)
        self._reset = machine.Pin(PIN_RESET, machine.Pin.IN, machine.Pin.PULL_UP)
        self._tach = machine.Pin(PIN_TACH, machine.Pin.IN, machine.Pin.PULL_UP)
        self._inc = machine.Pin(PIN_INCLINE_PULSE, machine.Pin.IN, machine.Pin.PULL_UP)
        self._maint = machine.Pin(PIN_MAINTENANCE, machine.Pin.IN, machine.Pin.PULL_UP)
        # Measure the tach's period, not counts per second (7–8 pulses/s at a walk).
        self._tach_in = EdgeInput(ticks.ticks_diff, TACH_DEBOUNCE_US)
        self._inc_in = EdgeInput(ticks.ticks_diff, INCLINE_DEBOUNCE_US)
        self._tach.irq(self._on_tach, machine.Pin.IRQ_FALLING)
        self._inc.irq(self._on_incline, machine.Pin.IRQ_FALLING)
        # The watchdog cannot be stopped once started: maintenance boots never start it.
        self._wdt = None
        if watchdog:
            self.start_watchdog()

    def start_watchdog(self):
        if self._wdt is None:
            self._wdt = self._machine.WDT(timeout=WATCHDOG_MS)

    def maintenance_jumper(self):
        return self._maint.value() == 0

    def reset_held(self):
        return self._reset.value() == 0

    def _on_tach(self, _pin):
        self._tach_in.edge(self._ticks_us())

    def _on_incline(self, _pin):
        self._inc_in.edge(self._ticks_us())

    def read_inputs(self, now_ms):
        irq = self._machine.disable_irq()  # a consistent view of what the IRQs updated
        try:
            now_us = self._ticks_us()
            age_ms = self._tach_in.sample(now_us)
            self._inc_in.sample(now_us)
            period_us = self._tach_in.period_us
            inc_count = self._inc_in.count
        finally:
            self._machine.enable_irq(irq)
        return Inputs(
            estop_healthy=self._estop.value() == 0,
            key_present=self._key.value() == 0,
            reset_pressed=self._reset.value() == 0,
            tach_period_us=period_us,
            tach_age_ms=age_ms,
            incline_pulses=inc_count,
        )

    def _stop_pwm(self):
        # A disabled RP2040 PWM slice can leave the pin high, and PWM.deinit() does not
        # give the pin back to GPIO: duty 0, deinit, then drive the pin low as an output.
        if self._pwm is not None:
            self._pwm.duty_u16(0)
            self._pwm.deinit()
            self._pwm = None
        machine = self._machine
        self._pwm_pin = machine.Pin(PIN_PWM, machine.Pin.OUT, value=0)

    def apply_safe(self):
        self._stop_pwm()
        self._relay.value(0)
        self._up.value(0)
        self._down.value(0)

    def apply(self, out):
        if out.duty_pct <= 0 or not out.relay_on:
            self._stop_pwm()
        else:
            if self._pwm is None:
                machine = self._machine
                self._pwm = machine.PWM(machine.Pin(PIN_PWM), freq=PWM_HZ)
            self._pwm.duty_u16(int(out.duty_pct * 655.35))
        self._relay.value(1 if out.relay_on else 0)
        self._up.value(1 if out.incline_dir > 0 else 0)
        self._down.value(1 if out.incline_dir < 0 else 0)

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()


class Uptime:
    """Milliseconds since boot that never wrap: ``ticks_ms()`` wraps every 2**30 ms (12.4
    days) and ``ticks_diff`` spans only half that, so the supervisor's clock (host silence,
    homing, every timer) is this counter, summed from the short spans between loop turns.

        up = Uptime(time); now_ms = up.update()     # once per loop turn
    """

    def __init__(self, ticks=None):
        if ticks is None:
            import time as ticks
        self._ticks = ticks
        self._last = ticks.ticks_ms()
        self.now_ms = 0

    def update(self):
        t = self._ticks.ticks_ms()
        dt = self._ticks.ticks_diff(t, self._last)
        self._last = t
        if dt > 0:
            self.now_ms += dt
        return self.now_ms


class UartPort:
    """UART0 at 115200 8N1 on GP0/GP1; reads never block."""

    def __init__(self, machine_mod=None):
        if machine_mod is None:
            import machine as machine_mod
        machine = machine_mod
        self._uart = machine.UART(0, baudrate=115200, bits=8, parity=None, stop=1,
                                  tx=machine.Pin(0), rx=machine.Pin(1), timeout=0)

    def read_available(self):
        if self._uart.any():
            return self._uart.read()
        return None

    def write(self, data):
        self._uart.write(data)
