"""The boot decision (bootmode.py) on the real HAL over a simulated Pico. Run under
MicroPython and CPython."""

from bootmode import HOLD_MS, MAINTENANCE, RUN, boot, boot_mode
from hal import PIN_MAINTENANCE, PIN_PWM, PIN_RELAY, PIN_RESET, PicoHal
from simpico import Machine, PicoClock


class Button:
    """A reset button held from power-on for ``held_ms`` of the clock's time."""

    def __init__(self, clock, held_ms):
        self.clock = clock
        self.t0 = clock.now_us
        self.held_ms = held_ms

    def __call__(self):
        return (self.clock.now_us - self.t0) // 1000 < self.held_ms


def pico(reset_held_ms=0, jumper=False):
    clock = PicoClock(0)
    m = Machine(clock)
    hal = PicoHal(m, clock)
    m.pins[PIN_RELAY].value(1)  # whatever the pins did before: boot() must drive them off
    if jumper:
        m.pins[PIN_MAINTENANCE].value(0)
    button = Button(clock, reset_held_ms)
    hal.reset_held = button  # the reset pin's level over time
    return clock, m, hal


def test_a_plain_power_on_runs_at_once_with_the_watchdog():
    clock, m, hal = pico()
    assert boot(hal, clock.sleep_ms) == RUN
    assert clock.now_us == 0  # no delay without the button
    assert m.wdt is not None and m.wdt.timeout_ms == 1000
    assert m.pins[PIN_RELAY].level == 0 and m.pins[PIN_PWM].level == 0


def test_the_jumper_gives_a_maintenance_boot_without_watchdog_and_outputs_off():
    clock, m, hal = pico(jumper=True)
    assert boot(hal, clock.sleep_ms) == MAINTENANCE
    assert m.wdt is None
    assert m.pins[PIN_RELAY].level == 0 and m.pins[PIN_PWM].level == 0


def test_the_reset_button_held_two_seconds_from_power_on_gives_maintenance():
    clock, m, hal = pico(reset_held_ms=HOLD_MS + 500)
    assert boot(hal, clock.sleep_ms) == MAINTENANCE
    assert m.wdt is None
    assert HOLD_MS * 1000 <= clock.now_us <= (HOLD_MS + 100) * 1000


def test_a_tap_or_a_bounce_of_the_button_is_a_normal_boot():
    for held_ms in (1, 40, 300, HOLD_MS - 60):
        clock, m, hal = pico(reset_held_ms=held_ms)
        assert boot(hal, clock.sleep_ms) == RUN, held_ms
        assert m.wdt is not None
        assert clock.now_us < HOLD_MS * 1000


def test_boot_mode_reads_the_real_pins():
    clock = PicoClock(0)
    m = Machine(clock)
    hal = PicoHal(m, clock)
    assert not hal.maintenance_jumper() and not hal.reset_held()  # pull-ups: open = high
    m.pins[PIN_RESET].value(0)
    assert boot_mode(hal.maintenance_jumper, hal.reset_held, clock.sleep_ms) == MAINTENANCE
    m.pins[PIN_RESET].value(1)
    m.pins[PIN_MAINTENANCE].value(0)
    assert boot_mode(hal.maintenance_jumper, hal.reset_held, clock.sleep_ms) == MAINTENANCE
