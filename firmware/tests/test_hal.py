"""hal.py on a simulated Pico whose tick counters wrap at 2**30 as the RP2040's do (the unix
port's wrap only after 2**62). Run under MicroPython and CPython."""

import linkcodec as lc
from hal import (
    PIN_ESTOP,
    PIN_INCLINE_PULSE,
    PIN_KEY,
    PIN_RELAY,
    PIN_RESET,
    PIN_TACH,
    PicoHal,
    Uptime,
)
from pulses import EdgeInput
from simboard import speed_for_duty
from simpico import TICKS_PERIOD, Machine, PicoClock
from supervisor import Config, Supervisor

WRAP_S = TICKS_PERIOD / 1e6  # 1073.7 s


class PicoRig:
    """The real HAL + supervisor on a simulated Pico, a belt and a host, ticked like app.py.

    The belt follows the PWM duty through the calibration with the motor board's inertia;
    the tach fires the HAL's IRQ every ``belt_m_per_pulse`` of belt."""

    def __init__(self, start_us):
        self.clock = PicoClock(start_us)
        self.m = Machine(self.clock)
        self.hal = PicoHal(self.m, self.clock, watchdog=True)
        self.m.pins[PIN_ESTOP].value(0)  # NC loops closed: healthy
        self.m.pins[PIN_KEY].value(0)
        self.cfg = Config()
        self.sup = Supervisor(self.cfg, lc.F_BOOT, 0)
        self.now_ms = 0
        self.belt_kmh = 0.0
        self.tach_broken = False
        self._dist_m = 0.0
        self.seq = 0
        self.worst = None

    def _belt(self, dt_s):
        pwm = self.m.pwm.get(2)
        duty = pwm.duty / 655.35 if pwm is not None and pwm.active else 0.0
        goal = speed_for_duty(self.cfg.calibration, duty) if self.m.pins[PIN_RELAY].level \
            else 0.0
        dv = min(max(goal - self.belt_kmh, -3.0 * dt_s), 2.0 * dt_s)
        self.belt_kmh = max(0.0, self.belt_kmh + dv)
        self._dist_m += self.belt_kmh / 3.6 * dt_s
        if self._dist_m >= self.cfg.belt_m_per_pulse:
            self._dist_m -= self.cfg.belt_m_per_pulse
            if not self.tach_broken:
                self.m.pins[PIN_TACH].fire()

    def run(self, ms, step_ms=20, check=None):
        end = self.now_ms + ms
        while self.now_ms < end:
            for _ in range(step_ms // 5):  # the belt moves in 5 ms steps between ticks
                self.clock.advance_us(5000)
                self._belt(0.005)
            self.now_ms += step_ms
            if self.now_ms % 100 == 0:
                self.send(lc.T_HEARTBEAT)
            out = self.sup.tick(self.now_ms, self.hal.read_inputs(self.now_ms))
            self.hal.apply(out)
            if check is not None:
                check(self)
            if self.sup.tick_ok:
                self.hal.feed_watchdog()

    def send(self, ftype, payload=b""):
        self.seq = (self.seq + 1) & 0xFF
        replies = self.sup.on_frame(lc.Frame(ftype, self.seq, 0, payload), self.now_ms)
        return lc.unpack_result(replies[-1].payload)[2] if ftype != lc.T_HEARTBEAT else None

    def press_reset(self):
        self.m.pins[PIN_RESET].value(0)
        self.run(100)
        self.m.pins[PIN_RESET].value(1)
        self.run(100)


def _still_and_fine(rig):
    s = rig.sup
    assert s.measured_centi_kmh == 0, "a still belt read as %d" % s.measured_centi_kmh
    assert s.state != lc.S_FAULT, "fault %s while standing still" % lc.FAULT_NAMES[s.fault]
    assert s.inputs.tach_age_ms >= 1200


def _start(rig, kmh):
    rig.press_reset()
    assert rig.sup.state == lc.S_IDLE, lc.FAULT_NAMES[rig.sup.fault]
    assert rig.send(lc.T_ARM) == lc.R_SUCCESS
    rig.run(4000)  # homing (no incline pulses on this rig: done after 1.2 s quiet)
    assert rig.send(lc.T_START, lc.pack_setpoint(int(kmh * 100), 0)) == lc.R_SUCCESS
    rig.run(8000)
    assert abs(rig.sup.measured_centi_kmh - kmh * 100) < 25, rig.sup.measured_centi_kmh
    assert rig.sup.state == lc.S_RUNNING


def _stop(rig):
    assert rig.send(lc.T_STOP) == lc.R_SUCCESS
    rig.run(5000)
    assert rig.sup.state == lc.S_IDLE and rig.belt_kmh == 0.0


def test_edge_age_saturates_and_never_turns_negative_across_wraps():
    clock = PicoClock(TICKS_PERIOD - 3000000)
    e = EdgeInput(clock.ticks_diff, 20000)
    e.edge(clock.ticks_us())
    e.edge(clock.ticks_us())  # bounce: ignored
    assert e.count == 1 and e.bounces == 1
    last = -1
    for _ in range(int(3.5 * WRAP_S * 10)):  # 3.5 wraps, sampled every 100 ms
        clock.advance_us(100000)
        age = e.sample(clock.ticks_us())
        assert age >= last, (age, last)
        last = age
    assert last == 600000  # saturated at 10 min
    clock.advance_us(300000)
    e.edge(clock.ticks_us())  # the first edge after a standstill: counted, no period
    assert e.count == 2 and e.period_us == 0
    clock.advance_us(300000)
    e.edge(clock.ticks_us())
    assert e.count == 3 and e.period_us == 300000
    assert e.sample(clock.ticks_us()) == 0


def test_belt_standing_still_for_minutes_stays_still_through_tick_wraps():
    rig = PicoRig(TICKS_PERIOD - 20000000)  # 20 s before the first wrap
    rig.run(500)
    _start(rig, 3.0)
    _stop(rig)
    rig.run(10 * 60 * 1000, step_ms=100, check=_still_and_fine)  # 10 min: past ±2**29 µs
    rig.press_reset()  # nothing latched: still idle, a reset press changes nothing
    assert rig.sup.state == lc.S_IDLE and rig.sup.fault == lc.F_NONE
    _start(rig, 2.0)  # the first pulses after the standstill measure the belt again
    _stop(rig)
    rig.run(int(2.2 * WRAP_S * 1000), step_ms=100, check=_still_and_fine)
    _start(rig, 3.0)
    rig.run(int(WRAP_S * 1000 / 3), step_ms=20)  # running across a wrap
    assert rig.sup.state == lc.S_RUNNING
    assert abs(rig.sup.measured_centi_kmh - 300) < 25


def test_no_tach_fires_after_a_long_standstill():
    rig = PicoRig(TICKS_PERIOD - 10000000)
    rig.run(500)
    _start(rig, 3.0)
    _stop(rig)
    rig.run(15 * 60 * 1000, step_ms=100, check=_still_and_fine)
    _start(rig, 3.0)
    rig.tach_broken = True
    rig.run(2600)
    assert rig.sup.state == lc.S_FAULT and rig.sup.fault == lc.F_NO_TACH
    assert rig.m.pins[PIN_RELAY].level == 0
    rig.run(5000)
    rig.tach_broken = False
    rig.press_reset()  # the belt is still: a person can clear the fault
    assert rig.sup.state == lc.S_IDLE, lc.FAULT_NAMES[rig.sup.fault]


def test_watchdog_is_fed_by_ticks_and_not_started_in_maintenance():
    rig = PicoRig(0)
    rig.run(200)
    assert rig.m.wdt is not None and rig.m.wdt.timeout_ms == 1000 and rig.m.wdt.fed == 10
    m = Machine(PicoClock(0))
    hal = PicoHal(m, m.clock, watchdog=False)
    hal.feed_watchdog()
    assert m.wdt is None


def test_incline_pulses_are_debounced_in_the_irq():
    rig = PicoRig(TICKS_PERIOD - 1000)
    pin = rig.m.pins[PIN_INCLINE_PULSE]
    for _ in range(5):
        for _bounce in range(4):  # one pulse, three bounces within 3 ms
            pin.fire()
            rig.clock.advance_us(1000)
        rig.clock.advance_us(550000)  # 1.8 pulses per second
        rig.hal.read_inputs(0)
    assert rig.hal.read_inputs(0).incline_pulses == 5


def test_the_supervisor_clock_runs_through_the_ticks_ms_wrap():
    """ticks_ms() wraps every 2**30 ms (12.4 days); the supervisor's clock must not, or the
    host-silence timer would misfire on the day it wraps."""
    clock = PicoClock((TICKS_PERIOD - 3000) * 1000)  # 3 s before ticks_ms wraps
    up = Uptime(clock)
    sup = Supervisor(Config(), lc.F_BOOT, up.now_ms)
    last = 0
    for i in range(300):  # 6 s in 20 ms loop turns, across the wrap
        clock.advance_us(20000)
        now = up.update()
        assert now == last + 20
        last = now
        if i < 200:
            sup.on_frame(lc.Frame(lc.T_HEARTBEAT, i & 255, 0), now)
        assert sup.host_clear(now) == (i < 224), (i, now)
    assert clock.ticks_ms() < 4000  # it did wrap
