"""A simulated Pico for running ``hal.py`` on a PC (tests only; never deployed).

``PicoClock`` has the RP2040 port's tick arithmetic: ``ticks_us``/``ticks_ms`` wrap at 2**30
and ``ticks_diff`` spans ±2**29 — unlike the MicroPython unix port, whose ticks wrap only
after 2**62, so code run there never meets a wrap. ``Machine`` stands in for the ``machine``
module with the parts hal.py uses: pins with IRQ handlers the test fires, PWM, WDT, UART.
Portable: runs under MicroPython and CPython.
"""

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2


class PicoClock:
    """Simulated time in µs; ``start_us`` lets a test begin just before a wrap."""

    def __init__(self, start_us=0):
        self.now_us = start_us

    def advance_us(self, us):
        self.now_us += us

    def ticks_us(self):
        return self.now_us & TICKS_MAX

    def ticks_ms(self):
        return (self.now_us // 1000) & TICKS_MAX

    @staticmethod
    def ticks_diff(a, b):
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    @staticmethod
    def ticks_add(a, b):
        return (a + b) & TICKS_MAX

    def sleep_ms(self, ms):
        self.now_us += ms * 1000


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 1
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, machine, num, mode=None, pull=None, value=None):
        self._m = machine
        self.num = num
        self.mode = mode
        self.handler = None
        prior = machine.pins.get(num)
        self.level = prior.level if prior is not None else (1 if pull else 0)
        if value is not None:
            self.level = value
        machine.pins[num] = self

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        return None

    def irq(self, handler=None, trigger=None):
        self.handler = handler

    def fire(self):
        """A falling edge on this input: run its IRQ handler as the hardware would."""
        self.level = 0
        if self.handler is not None:
            self.handler(self)
        self.level = 1


class PWM:
    def __init__(self, pin, freq=0):
        self.pin = pin
        self.freq = freq
        self.duty = 0
        self.active = True
        pin._m.pwm[pin.num] = self

    def duty_u16(self, d):
        self.duty = d

    def deinit(self):
        self.active = False


class WDT:
    def __init__(self, machine, timeout):
        self.timeout_ms = timeout
        self.fed = 0
        machine.wdt = self

    def feed(self):
        self.fed += 1


class UART:
    def __init__(self, *args, **kw):
        self.rx = bytearray()
        self.tx = bytearray()

    def any(self):
        return len(self.rx)

    def read(self):
        data = bytes(self.rx)
        self.rx = bytearray()
        return data

    def write(self, data):
        self.tx.extend(data)


class Machine:
    """The subset of ``machine`` hal.py and main.py use, on a ``PicoClock``."""

    PWRON_RESET = 1
    WDT_RESET = 3

    def __init__(self, clock, reset_cause=1):
        self.clock = clock
        self.pins = {}
        self.pwm = {}
        self.wdt = None
        self._cause = reset_cause
        machine = self

        class _Pin(Pin):
            def __init__(self, num, mode=None, pull=None, value=None):
                Pin.__init__(self, machine, num, mode, pull, value)

        class _WDT(WDT):
            def __init__(self, id=0, timeout=5000):
                WDT.__init__(self, machine, timeout)

        self.Pin = _Pin
        self.PWM = PWM
        self.WDT = _WDT
        self.UART = UART

    def reset_cause(self):
        return self._cause

    def disable_irq(self):
        return 0

    def enable_irq(self, state):
        return None
