"""The motor board's safety supervisor: pure logic, time passed in, no I/O.

Runs unchanged on MicroPython (the RP2040) and CPython (the emulator and the tests).

Theory of operation
-------------------
The supervisor owns the belt. The host only *asks*; every request is checked here, whatever
the host does. Run states (``linkcodec.S_*``)::

    FAULT ──local reset, belt stopped, host clear, key in, e-stop healthy──▶ IDLE
    IDLE ──ARM──▶ ARMED (relay on; the incline is homed first: START waits for it)
    ARMED ──START speed ≤ start cap──▶ RUNNING ──SET──▶ RUNNING
    ARMED/RUNNING ──STOP──▶ STOPPING ──belt at 0──▶ IDLE (relay off)
    any ──fault──▶ FAULT (latched)

Nothing else changes the state, so nothing restarts the belt: after a stop or a fault the host
must ARM and START again, and after a fault a person must first press the local reset.

Checks run on every control tick (``tick``), in this order: e-stop, safety key (both open
the relay at once in every state, a host-silence ramp included), host silence
(500 ms → controlled ramp to 0 and a latched fault), belt faster than commanded for 300 ms
(relay opened), commanded but no tach pulses for 2 s, incline driven but no pulses for 2 s.
"Faster than commanded" compares the tach reading with the command *of the time it measured*:
a reading is the belt's mean over its last pulse period (up to ~0.9 s at 1 km/h), so while
the command ramps down (a STOP, host silence) it is the speed of up to a period ago, and
compared with today's command a belt that follows the ramp — or already stands — read as a
runaway (a stop from 2 km/h ended in ``overspeed`` one time in ten).
``tick_ok`` is True only after a tick ran every check: the hardware watchdog is fed on that
alone. Out-of-range commands are refused with a result code, never clamped; the speed ramp
limits apply whatever the host asks.
"""

import linkcodec as lc

FIRMWARE_VERSION = (1, 1)  # major, minor: sent in HELLO


class Config:
    """Per-treadmill settings. Units are in the names (centi = 0.01, deci = 0.1)."""

    def __init__(self):
        self.max_speed_centi_kmh = 1600  # hard cap 16.0 km/h
        self.max_incline_deci_pct = 150  # 15.0 %
        self.start_max_centi_kmh = 300  # START at most 3.0 km/h
        self.accel_centi_kmh_per_s = 50  # 0.5 km/h per s
        self.decel_centi_kmh_per_s = 100  # 1.0 km/h per s (controlled stop)
        self.host_timeout_ms = 500
        self.retransmit_window_ms = 1000  # a repeat of the last command within this is a copy
        self.overspeed_margin_centi_kmh = 100
        self.overspeed_ms = 300
        self.no_tach_ms = 2000
        self.incline_timeout_ms = 2000
        self.homing_quiet_ms = 1200
        self.homing_timeout_ms = 45000  # full travel (54 pulses at 1.8/s) is 30 s
        self.incline_dwell_ms = 800  # motor off and no pulse this long before reversing
        self.incline_pulses_per_pct = 3.6  # 54 pulses over 15 %
        self.belt_m_per_pulse = 0.25
        self.max_duty_pct = 85.0
        # (speed in 0.01 km/h, PWM duty %) — measure for every treadmill
        self.calibration = [(0, 0.0), (100, 22.0), (200, 25.4), (1000, 52.8), (2000, 85.0)]


class Inputs:
    """What the hardware layer reads each tick."""

    def __init__(self, estop_healthy=True, key_present=True, reset_pressed=False,
                 tach_period_us=0, tach_age_ms=100000, incline_pulses=0):
        self.estop_healthy = estop_healthy
        self.key_present = key_present
        self.reset_pressed = reset_pressed
        self.tach_period_us = tach_period_us
        self.tach_age_ms = tach_age_ms
        self.incline_pulses = incline_pulses


class Outputs:
    """What the hardware layer drives after each tick."""

    def __init__(self, duty_pct=0.0, relay_on=False, incline_dir=0):
        self.duty_pct = duty_pct
        self.relay_on = relay_on
        self.incline_dir = incline_dir

    def __repr__(self):
        return "Outputs(duty=%.1f, relay=%s, incline_dir=%d)" % (
            self.duty_pct, self.relay_on, self.incline_dir)


SAFE = Outputs()

HARD_FAULTS = (lc.F_ESTOP, lc.F_KEY, lc.F_OVERSPEED, lc.F_NO_TACH)
"""Faults that open the motor relay at once; the others ramp the belt down first."""

FAULT_RANK = (lc.F_NONE, lc.F_BOOT, lc.F_WATCHDOG, lc.F_HOST_SILENT, lc.F_INCLINE,
              lc.F_NO_TACH, lc.F_OVERSPEED, lc.F_KEY, lc.F_ESTOP)
"""Weakest to strongest. A latched fault is replaced by a stronger one (an e-stop during a
host-silence ramp opens the relay and is what the board reports), never by a weaker one."""


class CommandHistory:
    """The highest speed command in force over a recent span of time, one slot per 20 ms
    (a fixed ring: no allocation per tick on the RP2040).

    The overspeed check compares the tach reading with ``max_since(start of what it
    measured)``: a belt's mean over a pulse period can only exceed every command in force
    while it was measured (plus the margin) if the motor drove it faster — a runaway.
    """

    SLOT_MS = 20
    SLOTS = 120  # 2.4 s: the longest span a reading above the 1 km/h margin can describe

    def __init__(self, now_ms):
        self._max = [0.0] * self.SLOTS
        self._slot = now_ms // self.SLOT_MS
        self._last = 0.0

    def note(self, now_ms, centi_kmh):
        """The command is ``centi_kmh`` from ``now_ms`` on (the previous one held until then)."""
        b = now_ms // self.SLOT_MS
        n = self.SLOTS
        if b > self._slot:
            for i in range(min(b - self._slot, n)):  # slots that held the last command
                self._max[(b - i) % n] = self._last
            self._slot = b
        i = b % n
        if centi_kmh > self._max[i]:
            self._max[i] = centi_kmh
        self._last = centi_kmh

    def max_since(self, start_ms):
        """The highest command from ``start_ms`` to the last note (the whole ring at most)."""
        span = self._slot - start_ms // self.SLOT_MS
        if span >= self.SLOTS:
            span = self.SLOTS - 1
        n = self.SLOTS
        best = self._last
        for i in range(max(span, 0) + 1):
            v = self._max[(self._slot - i) % n]
            if v > best:
                best = v
        return best


def duty_for(cal, centi_kmh):
    """PWM duty % for a speed, by linear interpolation in the calibration table."""
    if centi_kmh <= 0:
        return 0.0
    for i in range(1, len(cal)):
        s0, d0 = cal[i - 1]
        s1, d1 = cal[i]
        if centi_kmh <= s1:
            return d0 + (d1 - d0) * (centi_kmh - s0) / (s1 - s0)
    return cal[-1][1]


class Supervisor:
    def __init__(self, config=None, boot_fault=lc.F_BOOT, now_ms=0):
        self.cfg = config or Config()
        self.state = lc.S_FAULT
        self.fault = boot_fault
        self.boot_fault = boot_fault
        self.target_centi_kmh = 0
        self.ramped_centi_kmh = 0.0
        self.target_incline_deci = 0
        self.incline_pos_pulses = 0
        self.homed = False
        self.homing = False
        self.measured_centi_kmh = 0
        self.last_host_ms = None
        self.tick_ok = False
        self.relay_on = False
        self.incline_dir = 0
        self._last_tick_ms = now_ms
        self._last_pulses = 0
        self._pulse_seen_ms = now_ms
        self._over_since = None
        self._commanded = CommandHistory(now_ms)
        self._moving_since = None
        self._move_dir = -1  # the incline coasts in the direction it last moved
        self._incline_off_ms = now_ms  # when the incline drive was last switched off
        self._drive_since_ms = now_ms
        self._homing_since_ms = now_ms
        self.incline_resyncs = 0  # end-stop re-synchronisations (a count was one off)
        self._reset_was = False
        self._stopped_since = None
        self._tx_seq = 0
        self._rx_seq = 0
        self._last_cmd = None  # (type, seq, payload, result, at_ms): duplicate detection
        self.inputs = Inputs()

    # -- frames from the host ---------------------------------------------------------------

    def host_clear(self, now_ms):
        return self.last_host_ms is not None and \
            now_ms - self.last_host_ms < self.cfg.host_timeout_ms

    def on_frame(self, frame, now_ms):
        """Handle one decoded frame; returns the reply frames (a result for commands).

        HELLO goes to a host that just appeared — the first frame after boot or after a
        silence — and on request: sent at boot it would reach nobody (the Pi opens the port
        later)."""
        replies = [] if self.host_clear(now_ms) else [self.hello_frame()]
        self.last_host_ms = now_ms
        self._rx_seq = frame.seq
        if frame.type == lc.T_HEARTBEAT:
            return replies
        if frame.type == lc.T_HELLO_REQUEST:
            return replies or [self.hello_frame()]
        # Heartbeats and commands share the host's 8-bit counter, so a number comes round
        # again every 256 frames (25.6 s at 10 Hz, sooner in a burst): only the same number
        # *and* the same bytes within a short window is a retransmission.
        last = self._last_cmd
        if last is not None and last[0] == frame.type and last[1] == frame.seq and \
                last[2] == frame.payload and \
                now_ms - last[4] <= self.cfg.retransmit_window_ms:
            code = last[3]  # a retransmission: answer again, do not act again
        else:
            code = self._command(frame)
            self._last_cmd = (frame.type, frame.seq, bytes(frame.payload), code, now_ms)
        replies.append(self._frame(lc.T_RESULT, lc.pack_result(frame.type, frame.seq, code)))
        return replies

    def on_too_long(self, ftype, seq):
        """An intact frame the decoder refused for its payload length: a command is answered
        "invalid parameter" and not acted on. It does not count as host activity."""
        if ftype in lc.COMMAND_PAYLOAD_LEN and ftype != lc.T_HEARTBEAT:
            return [self._frame(lc.T_RESULT,
                                lc.pack_result(ftype, seq, lc.R_INVALID_PARAMETER))]
        return []

    def _command(self, frame):
        t = frame.type
        want = lc.COMMAND_PAYLOAD_LEN.get(t)
        if want is None:
            return lc.R_NOT_SUPPORTED
        st = self.state
        if t == lc.T_STOP:  # always acted on and always answered success, whatever it carries
            if st in (lc.S_ARMED, lc.S_RUNNING, lc.S_STOPPING):
                self.state = lc.S_STOPPING
                self.target_centi_kmh = 0
            return lc.R_SUCCESS
        if len(frame.payload) != want:
            return lc.R_INVALID_PARAMETER
        if t == lc.T_ARM:
            if st == lc.S_IDLE:
                self.state = lc.S_ARMED
                if not self.homed:
                    self.homing = True
                    self._homing_since_ms = self._last_tick_ms
                return lc.R_SUCCESS
            return lc.R_SUCCESS if st in (lc.S_ARMED, lc.S_RUNNING) else lc.R_NOT_PERMITTED
        if t == lc.T_DISARM:
            if st in (lc.S_IDLE, lc.S_ARMED):
                self.state = lc.S_IDLE
                return lc.R_SUCCESS
            return lc.R_NOT_PERMITTED
        speed, incline = lc.unpack_setpoint(frame.payload)
        if not (0 <= speed <= self.cfg.max_speed_centi_kmh and
                0 <= incline <= self.cfg.max_incline_deci_pct):
            return lc.R_INVALID_PARAMETER
        if t == lc.T_START:
            if st == lc.S_ARMED:
                if self.homing:
                    return lc.R_NOT_PERMITTED
                if speed > self.cfg.start_max_centi_kmh:
                    return lc.R_INVALID_PARAMETER
                self.state = lc.S_RUNNING
                self._set(speed, incline)
                return lc.R_SUCCESS
            if st == lc.S_RUNNING:
                self._set(speed, incline)
                return lc.R_SUCCESS
            return lc.R_NOT_PERMITTED
        if t == lc.T_SET:
            if st != lc.S_RUNNING:
                return lc.R_NOT_PERMITTED
            self._set(speed, incline)
            return lc.R_SUCCESS
        return lc.R_NOT_SUPPORTED

    def _set(self, speed, incline):
        self.target_centi_kmh = speed
        self.target_incline_deci = incline

    def _frame(self, ftype, payload):
        self._tx_seq = (self._tx_seq + 1) & 0xFF
        return lc.Frame(ftype, self._tx_seq, self._rx_seq, payload)

    def hello_frame(self):
        return self._frame(lc.T_HELLO, bytes([FIRMWARE_VERSION[0], FIRMWARE_VERSION[1],
                                              self.boot_fault]))

    def status_frame(self):
        flags = 0
        if self.inputs.key_present:
            flags |= lc.FLAG_KEY_PRESENT
        if self.inputs.estop_healthy:
            flags |= lc.FLAG_ESTOP_HEALTHY
        if self.relay_on:
            flags |= lc.FLAG_RELAY_ON
        if self.homed:
            flags |= lc.FLAG_INCLINE_HOMED
        if self.state == lc.S_FAULT:
            flags |= lc.FLAG_RESET_NEEDED
        payload = lc.pack_status(self.state, self.fault, int(self.ramped_centi_kmh),
                                 int(self.measured_centi_kmh), self.target_incline_deci,
                                 self.incline_deci(), flags)
        return self._frame(lc.T_STATUS, payload)

    def incline_deci(self):
        return round(self.incline_pos_pulses * 10 / self.cfg.incline_pulses_per_pct)

    # -- the control tick -------------------------------------------------------------------

    def _latch(self, fault):
        if self.state != lc.S_FAULT or FAULT_RANK.index(fault) > FAULT_RANK.index(self.fault):
            self.state = lc.S_FAULT
            self.fault = fault
            self.target_centi_kmh = 0
            self.homing = False

    def tick(self, now_ms, inp):
        """Run every check, then compute the outputs. Call at ~50 Hz."""
        self.tick_ok = False
        cfg = self.cfg
        dt_ms = max(0, now_ms - self._last_tick_ms)
        self._last_tick_ms = now_ms
        self.inputs = inp

        # Belt speed from the tach period (a pulse older than 1.2 s means standstill). While
        # the next pulse is late the belt is slower than one pulse per age: a slowing belt
        # must not keep reading its last period (that would look faster than commanded).
        if inp.tach_period_us > 0 and 0 <= inp.tach_age_ms < 1200:
            period_us = max(inp.tach_period_us, inp.tach_age_ms * 1000)
            self.measured_centi_kmh = int(cfg.belt_m_per_pulse / (period_us * 1e-6)
                                          * 3.6 * 100)
        else:
            self.measured_centi_kmh = 0
        pulses = inp.incline_pulses - self._last_pulses
        self._last_pulses = inp.incline_pulses
        if pulses:
            self._pulse_seen_ms = now_ms
            # never below the bottom end stop (0 once homed): homing drives down from where
            # the power-up or the last run left it, with the count at 0 or drifted, and the
            # status said -1.1 % until homed (trial 11: «stigning -0,8 % (satt 0,0)»)
            self.incline_pos_pulses = max(0, self.incline_pos_pulses + pulses * self._move_dir)

        # 1–2. Hardware stop chain and key: the relay opens at once.
        if not inp.estop_healthy:
            self._latch(lc.F_ESTOP)
        elif not inp.key_present:
            self._latch(lc.F_KEY)
        # 3. Host silence while the belt is ours to run: controlled ramp, latched.
        if self.state in (lc.S_ARMED, lc.S_RUNNING, lc.S_STOPPING) and \
                not self.host_clear(now_ms):
            self._latch(lc.F_HOST_SILENT)
        # 4. Runaway: faster than commanded for 300 ms — than every command in force over the
        # span the reading describes (its pulse period and the age since), not just today's.
        # A reading is one pulse per age (the age is the longer) or the mean over the pulse
        # period that ended ``age`` ago; the history is searched only when today's command is
        # exceeded (rare: a ramp-down, a runaway), so a tick stays short on the RP2040.
        self._commanded.note(now_ms, self.ramped_centi_kmh)
        limit = self.ramped_centi_kmh + cfg.overspeed_margin_centi_kmh
        if self.measured_centi_kmh > limit:
            since_ms = now_ms - inp.tach_age_ms
            if inp.tach_age_ms * 1000 < inp.tach_period_us:
                since_ms -= inp.tach_period_us // 1000
            limit = self._commanded.max_since(since_ms) + cfg.overspeed_margin_centi_kmh
        if self.measured_centi_kmh > limit:
            if self._over_since is None:
                self._over_since = now_ms
            if now_ms - self._over_since >= cfg.overspeed_ms:
                self._latch(lc.F_OVERSPEED)
        else:
            self._over_since = None
        # 5. Commanded to move but no tach pulses (counted from when motion was commanded).
        if self.ramped_centi_kmh >= 100 and self.relay_on:
            if self._moving_since is None:
                self._moving_since = now_ms
            if min(inp.tach_age_ms, now_ms - self._moving_since) >= cfg.no_tach_ms:
                self._latch(lc.F_NO_TACH)
        else:
            self._moving_since = None
        # 6. Incline driven but not moving, or homing that never ends: in _incline().

        # Speed ramp (limits hold whatever was asked).
        target = self.target_centi_kmh if self.state == lc.S_RUNNING else 0
        step_up = cfg.accel_centi_kmh_per_s * dt_ms / 1000.0
        step_down = cfg.decel_centi_kmh_per_s * dt_ms / 1000.0
        if target > self.ramped_centi_kmh:
            self.ramped_centi_kmh = min(target, self.ramped_centi_kmh + step_up)
        else:
            self.ramped_centi_kmh = max(target, self.ramped_centi_kmh - step_down)

        hard = self.state == lc.S_FAULT and self.fault in HARD_FAULTS
        if hard:
            self.ramped_centi_kmh = 0.0
        self._commanded.note(now_ms, self.ramped_centi_kmh)
        stopped = self.ramped_centi_kmh == 0 and self.measured_centi_kmh == 0
        if stopped:
            if self._stopped_since is None:
                self._stopped_since = now_ms
        else:
            self._stopped_since = None

        if self.state == lc.S_STOPPING and stopped:
            self.state = lc.S_IDLE
            self.homed = False  # counts drift: every run starts from a fresh homing
        self._incline(now_ms)
        if self.state == lc.S_FAULT:
            self.incline_dir = 0
            self.target_incline_deci = self.incline_deci()

        # Leaving a fault needs a person: a reset press (edge) with everything safe.
        pressed = inp.reset_pressed and not self._reset_was
        self._reset_was = inp.reset_pressed
        if pressed and self.state == lc.S_FAULT and stopped and self.host_clear(now_ms) \
                and inp.estop_healthy and inp.key_present:
            self.state = lc.S_IDLE
            self.fault = lc.F_NONE
            self.homed = False

        if self.state in (lc.S_ARMED, lc.S_RUNNING, lc.S_STOPPING):
            self.relay_on = True
        elif self.state == lc.S_FAULT and not hard and not stopped:
            self.relay_on = True  # ramping down under control after host silence
        else:
            self.relay_on = False
        if not (inp.estop_healthy and inp.key_present):
            self.relay_on = False  # whatever the state: the stop chain wins
            self.incline_dir = 0
        duty = duty_for(cfg.calibration, self.ramped_centi_kmh) if self.relay_on else 0.0
        self.tick_ok = True
        return Outputs(min(duty, cfg.max_duty_pct), self.relay_on, self.incline_dir)

    def _steer(self, want, now_ms):
        """Drive the incline motor in direction ``want`` (0: off). Pulses are counted in the
        direction the motor last moved; it coasts on after the drive stops, so a reversal
        waits until it was off and no pulse came for ``incline_dwell_ms`` — a coasting pulse
        counted the wrong way would leave the count two short."""
        if want == self.incline_dir:
            return
        if self.incline_dir:
            self.incline_dir = 0
            self._incline_off_ms = now_ms
        if want == 0:
            return
        if want != self._move_dir and \
                now_ms - max(self._incline_off_ms, self._pulse_seen_ms) < \
                self.cfg.incline_dwell_ms:
            return  # dwell: let it coast to a stand
        self.incline_dir = want
        self._move_dir = want
        self._drive_since_ms = now_ms

    def _incline(self, now_ms):
        cfg = self.cfg
        if self.state == lc.S_FAULT:
            self._steer(0, now_ms)
            return
        quiet_ms = now_ms - max(self._pulse_seen_ms, self._drive_since_ms)
        if self.homing:
            # Down to the bottom end stop until the pulses stop; a sensor that never goes
            # quiet (chatter, a slipping magnet) must not keep the motor running for ever.
            if now_ms - self._homing_since_ms >= cfg.homing_timeout_ms:
                self._latch(lc.F_INCLINE)
                self._steer(0, now_ms)
            elif self.incline_dir != -1:
                self._steer(-1, now_ms)
            elif quiet_ms >= cfg.homing_quiet_ms:
                self._steer(0, now_ms)
                self.incline_pos_pulses = 0
                self.homed = True
                self.homing = False
                self.target_incline_deci = 0
            return
        if self.state not in (lc.S_RUNNING, lc.S_ARMED, lc.S_STOPPING) or not self.homed:
            self._steer(0, now_ms)
            return
        top = int(cfg.max_incline_deci_pct * cfg.incline_pulses_per_pct / 10.0 + 0.5)
        goal = int(self.target_incline_deci * cfg.incline_pulses_per_pct / 10.0 + 0.5)
        if self.incline_dir and quiet_ms >= cfg.incline_timeout_ms:
            end = top if self.incline_dir > 0 else 0
            if goal == end and abs(self.incline_pos_pulses - end) <= 1:
                # Against the end stop it was driven to, one pulse from it: that is the end
                # (a pulse point lies half a pulse inside each stop). Re-synchronise there.
                self.incline_pos_pulses = end
                self.incline_resyncs += 1
                self._steer(0, now_ms)
                return
            self._latch(lc.F_INCLINE)  # driven but not moving: jammed or sensor lost
            self._steer(0, now_ms)
            return
        err = goal - self.incline_pos_pulses
        self._steer(1 if err > 0 else (-1 if err < 0 else 0), now_ms)
