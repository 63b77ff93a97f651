"""Supervisor tests with the simulated board; run under MicroPython and CPython."""

import linkcodec as lc
from app import Firmware
from simboard import SimBoard
from supervisor import CommandHistory, Config, Supervisor, duty_for


class Rig:
    """Supervisor + simulated board + a host that sends frames, on a 20 ms tick."""

    def __init__(self, boot_fault=lc.F_BOOT):
        self.now = 0
        self.board = SimBoard(now_ms=0)
        self.sup = Supervisor(Config(), boot_fault, 0)
        self.seq = 0
        self.host_alive = True
        self.outputs = None

    def send(self, ftype, payload=b"", seq=None):
        if seq is None:
            self.seq = (self.seq + 1) & 0xFF
            seq = self.seq
        replies = self.sup.on_frame(lc.Frame(ftype, seq, 0, payload), self.now)
        results = [f for f in replies if f.type == lc.T_RESULT]
        if ftype == lc.T_HEARTBEAT:
            assert not results
            return None
        assert len(results) == 1
        return lc.unpack_result(results[0].payload)[2]

    def run(self, ms):
        end = self.now + ms
        while self.now < end:
            self.now += 20
            if self.host_alive and self.now % 100 == 0:
                self.sup.on_frame(lc.Frame(lc.T_HEARTBEAT, 0, 0), self.now)
            self.outputs = self.sup.tick(self.now, self.board.read_inputs(self.now))
            self.board.apply(self.outputs)

    def reset_press(self):
        self.board.reset_pressed = True
        self.run(60)
        self.board.reset_pressed = False
        self.run(60)

    def ready(self):
        """Boot → local reset → ARM → homed; returns the rig in ARMED."""
        self.run(200)
        self.reset_press()
        assert self.sup.state == lc.S_IDLE, self.sup.state
        assert self.send(lc.T_ARM) == lc.R_SUCCESS
        self.run(20000)
        assert self.sup.homed
        return self

    def running(self, kmh=3.0):
        self.ready()
        assert self.send(lc.T_START, sp(min(kmh, 3.0))) == lc.R_SUCCESS
        if kmh > 3.0:
            assert self.send(lc.T_SET, sp(kmh)) == lc.R_SUCCESS
        self.run(8000 + int(kmh * 2000))
        return self


def sp(kmh, incline_pct=0.0):
    return lc.pack_setpoint(round(kmh * 100), round(incline_pct * 10))


def test_boots_stopped_and_latched():
    for cause in (lc.F_BOOT, lc.F_WATCHDOG):
        r = Rig(cause)
        r.run(500)
        assert r.sup.state == lc.S_FAULT and r.sup.fault == cause
        assert not r.outputs.relay_on and r.outputs.duty_pct == 0.0
        assert r.send(lc.T_ARM) == lc.R_NOT_PERMITTED
        assert r.send(lc.T_START, sp(2)) == lc.R_NOT_PERMITTED


def test_reset_needs_host_key_estop_and_a_press():
    r = Rig()
    r.host_alive = False
    r.run(1000)
    r.reset_press()
    assert r.sup.state == lc.S_FAULT  # host not there
    r.host_alive = True
    r.board.key_present = False
    r.reset_press()
    assert r.sup.state == lc.S_FAULT  # key out
    r.board.key_present = True
    r.board.reset_pressed = True  # held down: only the edge counts after faults clear
    r.run(100)
    r.board.reset_pressed = False
    r.run(100)
    r.reset_press()
    assert r.sup.state == lc.S_IDLE and r.sup.fault == lc.F_NONE


def test_arm_homes_the_incline_before_start():
    r = Rig()
    r.run(200)
    r.reset_press()
    assert r.send(lc.T_ARM) == lc.R_SUCCESS
    r.run(200)
    assert r.sup.homing and r.outputs.incline_dir == -1
    assert r.send(lc.T_START, sp(2)) == lc.R_NOT_PERMITTED
    r.run(20000)
    assert r.sup.homed and r.board.incline_pos == 0.0 and r.sup.incline_deci() == 0
    assert r.send(lc.T_START, sp(2)) == lc.R_SUCCESS


def test_the_reported_incline_is_never_below_the_bottom_stop_while_homing():
    # trial 11: the console said «stigning -0,8 % (satt 0,0)» at the start. The board powers
    # up with the incline 4.3 pulses above its bottom stop and the count at 0; homing drives
    # down and counted each pulse as -1, so the status said -1.1 % until it was homed. No
    # incline is below the bottom end stop: the status never says one.
    r = Rig()
    r.run(200)
    r.reset_press()
    assert r.board.incline_pos > 4.0 and r.sup.incline_pos_pulses == 0
    assert r.send(lc.T_ARM) == lc.R_SUCCESS
    lowest = 0
    for _ in range(1000):
        r.run(20)
        lowest = min(lowest, lc.unpack_status(r.sup.status_frame().payload)[5])
        if r.sup.homed:
            break
    assert r.sup.homed and r.sup.incline_deci() == 0
    assert lowest == 0, lowest


def test_start_only_at_low_speed_and_ramps_are_enforced():
    r = Rig().ready()
    assert r.send(lc.T_START, sp(6)) == lc.R_INVALID_PARAMETER
    assert r.sup.state == lc.S_ARMED
    assert r.send(lc.T_START, sp(3)) == lc.R_SUCCESS
    r.run(8000)
    assert abs(r.board.belt_kmh - 3.0) < 0.2
    assert r.send(lc.T_SET, sp(10)) == lc.R_SUCCESS
    r.run(1000)
    assert r.sup.ramped_centi_kmh <= 300 + 50 + 1  # 0.5 km/h per s whatever the host asked
    r.run(15000)
    assert abs(r.board.belt_kmh - 10.0) < 0.3


def test_out_of_range_is_refused_not_clamped():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(16.5)) == lc.R_INVALID_PARAMETER
    assert r.send(lc.T_SET, sp(5, 16)) == lc.R_INVALID_PARAMETER
    assert r.send(lc.T_SET, lc.pack_setpoint(300, -5)) == lc.R_INVALID_PARAMETER
    assert r.sup.target_centi_kmh == 300 and r.sup.target_incline_deci == 0
    assert r.send(lc.T_SET, b"\x01") == lc.R_INVALID_PARAMETER
    assert r.send(0x7E) == lc.R_NOT_SUPPORTED


def test_incline_follows_by_pulse_count():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(3, 5)) == lc.R_SUCCESS
    r.run(15000)
    assert abs(r.board.incline_pct - 5.0) < 0.4
    assert abs(r.sup.incline_deci() - 50) <= 3
    assert r.outputs.incline_dir == 0


def test_host_silence_ramps_to_zero_and_latches():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(8)) == lc.R_SUCCESS
    r.run(12000)
    r.host_alive = False
    r.run(520)
    assert r.sup.state == lc.S_FAULT and r.sup.fault == lc.F_HOST_SILENT
    assert r.outputs.relay_on  # controlled ramp, not a cut
    speeds = []
    for _ in range(60):
        r.run(200)
        speeds.append(r.sup.ramped_centi_kmh)
    assert all(b <= a for a, b in zip(speeds, speeds[1:]))
    assert speeds[0] >= 8 * 100 - 100 * 0.7 - 1  # 1 km/h per s, not a slam
    assert r.board.belt_kmh == 0.0 and not r.outputs.relay_on
    r.host_alive = True
    r.run(1000)
    assert r.sup.state == lc.S_FAULT  # still latched when the host is back
    assert r.send(lc.T_START, sp(2)) == lc.R_NOT_PERMITTED
    assert r.send(lc.T_ARM) == lc.R_NOT_PERMITTED


def test_estop_and_key_cut_at_once():
    for attr in ("estop_healthy", "key_present"):
        r = Rig().running(5.0)
        setattr(r.board, attr, False)
        r.run(20)
        assert r.sup.state == lc.S_FAULT
        assert r.sup.fault == (lc.F_ESTOP if attr == "estop_healthy" else lc.F_KEY)
        assert not r.outputs.relay_on and r.outputs.duty_pct == 0.0
        setattr(r.board, attr, True)
        r.run(5000)
        assert r.sup.state == lc.S_FAULT and not r.outputs.relay_on


def test_runaway_belt_opens_the_relay():
    r = Rig().running(3.0)
    r.board.runaway_kmh = 6.0
    r.run(600)  # the belt passes 3 + 1 km/h after ~0.5 s: not 300 ms over the margin yet
    assert r.sup.fault != lc.F_OVERSPEED
    r.run(2000)
    assert r.sup.state == lc.S_FAULT and r.sup.fault == lc.F_OVERSPEED
    assert not r.outputs.relay_on


def test_no_tach_pulses_is_a_fault():
    r = Rig().running(3.0)
    r.board.tach_broken = True
    r.run(2600)
    assert r.sup.state == lc.S_FAULT and r.sup.fault == lc.F_NO_TACH


def test_jammed_incline_is_a_fault():
    r = Rig().running(3.0)
    r.board.incline_jammed = True
    r.send(lc.T_SET, sp(3, 5))
    r.run(2600)
    assert r.sup.fault == lc.F_INCLINE


def test_stop_then_no_restart_without_arm():
    r = Rig().running(4.0)
    assert r.send(lc.T_STOP) == lc.R_SUCCESS
    r.run(8000)
    assert r.sup.state == lc.S_IDLE and r.board.belt_kmh == 0.0 and not r.outputs.relay_on
    assert r.send(lc.T_SET, sp(3)) == lc.R_NOT_PERMITTED
    assert r.send(lc.T_START, sp(2)) == lc.R_NOT_PERMITTED
    assert r.send(lc.T_ARM) == lc.R_SUCCESS
    assert r.sup.homing  # every run starts from a fresh homing
    assert r.send(lc.T_START, sp(2)) == lc.R_NOT_PERMITTED
    r.run(5000)
    assert r.sup.homed
    assert r.send(lc.T_START, sp(2)) == lc.R_SUCCESS


def test_retransmission_is_answered_not_executed_twice():
    r = Rig().ready()
    assert r.send(lc.T_START, sp(2), seq=100) == lc.R_SUCCESS
    assert r.send(lc.T_START, sp(2), seq=100) == lc.R_SUCCESS  # the answer was lost: again
    r.run(3000)
    assert r.send(lc.T_STOP, seq=101) == lc.R_SUCCESS
    r.run(6000)
    assert r.sup.state == lc.S_IDLE
    assert r.send(lc.T_STOP, seq=101) == lc.R_SUCCESS  # duplicate: same answer
    # A late copy of the old START never restarts the belt.
    assert r.send(lc.T_START, sp(2), seq=100) == lc.R_NOT_PERMITTED
    r.run(1000)
    assert r.sup.state == lc.S_IDLE and r.board.belt_kmh == 0.0


def test_tick_ok_only_after_checks():
    r = Rig()
    assert not r.sup.tick_ok
    r.run(20)
    assert r.sup.tick_ok


def test_calibration_interpolates_and_caps():
    cal = Config().calibration
    assert duty_for(cal, 0) == 0.0
    assert abs(duty_for(cal, 150) - 23.7) < 0.01
    assert duty_for(cal, 5000) == 85.0


def test_status_frame_reports_flags():
    r = Rig().running(3.0)
    st = lc.unpack_status(r.sup.status_frame().payload)
    assert st[0] == lc.S_RUNNING
    assert st[6] & lc.FLAG_RELAY_ON and st[6] & lc.FLAG_KEY_PRESENT
    assert st[6] & lc.FLAG_INCLINE_HOMED and not st[6] & lc.FLAG_RESET_NEEDED
    assert abs(st[3] - 300) < 20


def test_estop_or_key_during_the_host_silence_ramp_opens_the_relay_at_once():
    for attr, fault in (("estop_healthy", lc.F_ESTOP), ("key_present", lc.F_KEY)):
        r = Rig().running(3.0)
        assert r.send(lc.T_SET, sp(8)) == lc.R_SUCCESS
        r.run(12000)
        r.host_alive = False
        r.run(1000)
        assert r.sup.fault == lc.F_HOST_SILENT and r.outputs.relay_on  # ramping down
        setattr(r.board, attr, False)
        r.run(20)
        assert not r.outputs.relay_on and r.outputs.duty_pct == 0.0
        assert r.sup.fault == fault, lc.FAULT_NAMES[r.sup.fault]
        assert lc.unpack_status(r.sup.status_frame().payload)[1] == fault


def test_estop_and_key_open_the_relay_in_every_state_and_the_strongest_cause_is_reported():
    r = Rig()
    r.run(200)
    r.board.key_present = False
    r.run(20)
    assert r.sup.fault == lc.F_KEY  # stronger than the boot fault
    r.board.estop_healthy = False
    r.run(20)
    assert r.sup.fault == lc.F_ESTOP  # stronger than the key
    r.board.key_present = True
    r.run(200)
    assert r.sup.fault == lc.F_ESTOP  # a weaker cause never replaces it
    r = Rig().running(3.0)
    r.board.runaway_kmh = 6.0
    r.host_alive = False
    r.run(3000)
    assert r.sup.fault == lc.F_OVERSPEED and not r.outputs.relay_on  # runaway beats silence
    for state in ("idle", "armed", "stopping"):
        r = Rig()
        r.run(200)
        r.reset_press()
        if state != "idle":
            r.send(lc.T_ARM)
            r.run(8000)
        if state == "stopping":
            r.send(lc.T_START, sp(3))
            r.run(6000)
            r.send(lc.T_STOP)
            r.run(200)
        assert lc.STATE_NAMES[r.sup.state] == state
        r.board.estop_healthy = False
        r.run(20)
        assert r.sup.fault == lc.F_ESTOP and not r.outputs.relay_on
        assert r.outputs.duty_pct == 0.0 and r.outputs.incline_dir == 0


def test_only_a_true_retransmission_is_a_duplicate():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(3.0), seq=7) == lc.R_SUCCESS
    assert r.send(lc.T_SET, sp(1.5), seq=7) == lc.R_SUCCESS  # same number, other bytes
    assert r.sup.target_centi_kmh == 150
    r.run(500)
    assert r.send(lc.T_SET, sp(1.5), seq=7) == lc.R_SUCCESS  # a true copy: not acted on again
    r.board.key_present = False
    r.run(1000)
    assert r.send(lc.T_SET, sp(1.5), seq=7) == lc.R_NOT_PERMITTED  # window over: a new request


class Xorshift:
    def __init__(self, seed):
        self.x = seed

    def __call__(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x / 4294967296.0


def test_a_thousand_random_incline_setpoints_with_reversals_at_both_ends_and_no_fault():
    r = Rig().running(3.0)
    rnd = Xorshift(2026)
    cap = r.sup.cfg.max_incline_deci_pct
    checked = 0
    for i in range(1000):
        end = cap if (i // 2) % 2 == 0 else 0  # pairs: out to an end, then back from it
        if i % 2 == 0:
            deci = end
        else:
            away = 5 + int(rnd() * 40)  # 0.5–4.5 % back from the end: a reversal near it
            deci = end - away if end else away
        if rnd() < 0.15:
            deci = int(rnd() * (cap + 1))  # now and then anywhere
        assert r.send(lc.T_SET, lc.pack_setpoint(300, deci)) == lc.R_SUCCESS
        hold_ms = 20 * int(10 + rnd() * 200)  # 0.2–4.2 s: many reversals mid-travel
        r.run(hold_ms)
        assert r.sup.state == lc.S_RUNNING, "set-point %d (%d): fault %s" % (
            i, deci, lc.FAULT_NAMES[r.sup.fault])
        if i % 50 == 49:  # let it arrive, then the count must be the truth
            r.run(35000)
            assert r.sup.state == lc.S_RUNNING, lc.FAULT_NAMES[r.sup.fault]
            assert r.sup.incline_pos_pulses == r.board.incline_true_count, (
                i, r.sup.incline_pos_pulses, r.board.incline_pos)
            assert abs(r.board.incline_pct * 10 - deci) <= 3, (deci, r.board.incline_pct)
            checked += 1
    assert checked == 20
    assert r.sup.incline_resyncs == 0  # the count was right, not re-synchronised at a stop
    assert r.board.incline_edges.bounces > 1000  # the sensor bounced all along


def test_incline_is_rehomed_after_every_stop_and_homing_has_a_timeout():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(3, 6)) == lc.R_SUCCESS
    r.run(20000)
    assert r.send(lc.T_STOP) == lc.R_SUCCESS
    r.run(6000)
    assert r.sup.state == lc.S_IDLE and not r.sup.homed
    r.board.incline_pos += 1.0  # the count drifted a pulse while it stood (a knock, a slip)
    assert r.send(lc.T_ARM) == lc.R_SUCCESS
    r.run(30000)
    assert r.sup.homed and r.board.incline_pos == 0.0 and r.sup.incline_pos_pulses == 0
    r = Rig()
    r.run(200)
    r.reset_press()
    r.board.incline_chatter = True  # the position sensor never goes quiet
    assert r.send(lc.T_ARM) == lc.R_SUCCESS
    r.run(44000)
    assert r.sup.homing and r.sup.state == lc.S_ARMED
    r.run(2000)
    assert r.sup.state == lc.S_FAULT and r.sup.fault == lc.F_INCLINE
    assert r.outputs.incline_dir == 0 and not r.sup.homing


def test_a_reversal_waits_for_the_coasting_motor():
    r = Rig().running(3.0)
    assert r.send(lc.T_SET, sp(3, 10)) == lc.R_SUCCESS
    r.run(6000)
    assert r.outputs.incline_dir == 1
    assert r.send(lc.T_SET, sp(3, 0)) == lc.R_SUCCESS
    r.run(20)
    assert r.outputs.incline_dir == 0 and r.board.incline_v > 0  # off first; still coasting
    off_ms = r.now
    while r.outputs.incline_dir == 0:
        still = r.board.incline_v == 0
        r.run(20)
        assert r.now - off_ms < 3000
    assert still and r.now - off_ms >= r.sup.cfg.incline_dwell_ms  # then down, once it stood
    r.run(30000)
    assert r.sup.incline_pos_pulses == r.board.incline_true_count == 0


def test_hello_goes_to_a_host_that_appears_and_on_request():
    sup = Supervisor(Config(), lc.F_WATCHDOG, 0)
    first = sup.on_frame(lc.Frame(lc.T_HEARTBEAT, 1, 0), 5000)  # the Pi opened the port late
    assert [f.type for f in first] == [lc.T_HELLO]
    assert lc.unpack_result(first[0].payload) == (1, 1, lc.F_WATCHDOG)  # version 1.1, cause
    assert sup.on_frame(lc.Frame(lc.T_HEARTBEAT, 2, 0), 5100) == []  # once, not every frame
    asked = sup.on_frame(lc.Frame(lc.T_HELLO_REQUEST, 3, 0), 5200)
    assert [f.type for f in asked] == [lc.T_HELLO]
    back = sup.on_frame(lc.Frame(lc.T_ARM, 4, 0), 9000)  # the host was silent: it restarted
    assert [f.type for f in back] == [lc.T_HELLO, lc.T_RESULT]


class _Port:
    def __init__(self):
        self.rx = b""
        self.tx = bytearray()

    def read_available(self):
        data, self.rx = self.rx, b""
        return data or None

    def write(self, data):
        self.tx.extend(data)


def test_an_over_long_payload_is_answered_invalid_parameter_and_not_acted_on():
    port = _Port()
    fw = Firmware(SimBoard(), port, lc.F_BOOT, 0)
    assert bytes(port.tx) == b""  # no HELLO into the void at boot
    for n in (33, 34, 35):
        body = bytes([lc.VERSION, lc.T_ARM, n, 0, n]) + bytes(range(1, n + 1))
        body += bytes([lc.crc16(body) >> 8, lc.crc16(body) & 0xFF])
        port.rx = b"\x00" + lc.cobs_encode(body) + b"\x00"
        fw.poll(n * 10)
    replies = lc.Decoder().feed(bytes(port.tx))
    results = [lc.unpack_result(f.payload) for f in replies if f.type == lc.T_RESULT]
    assert results == [(lc.T_ARM, n, lc.R_INVALID_PARAMETER) for n in (33, 34, 35)]
    assert fw.decoder.oversize == 3 and fw.sup.last_host_ms is None


def test_stop_always_succeeds_and_always_stops():
    r = Rig()
    r.run(200)
    assert r.send(lc.T_STOP) == lc.R_SUCCESS  # in FAULT
    r.reset_press()
    assert r.send(lc.T_STOP) == lc.R_SUCCESS  # in IDLE
    r = Rig().running(3.0)
    assert r.send(lc.T_STOP, b"\x01") == lc.R_SUCCESS  # a stray payload byte: still a STOP
    assert r.sup.state == lc.S_STOPPING
    assert r.send(lc.T_STOP) == lc.R_SUCCESS  # in STOPPING
    r.run(6000)
    assert r.sup.state == lc.S_IDLE and r.board.belt_kmh == 0.0


def _ramp_down(r, how, ms):
    """STOP or silence the host, then run ``ms``; returns the longest spell (ms) in which the
    tach read more than today's ramped command + the margin: the stale reading of a belt that
    follows the ramp (its last pulse period is the speed of up to a period ago)."""
    if how == "stop":
        assert r.send(lc.T_STOP) == lc.R_SUCCESS
    else:
        r.host_alive = False
    margin = r.sup.cfg.overspeed_margin_centi_kmh
    spell = longest = 0
    for _ in range(ms // 20):
        ramped = r.sup.ramped_centi_kmh
        r.run(20)
        over = r.sup.measured_centi_kmh > ramped + margin
        spell = spell + 20 if over else 0
        longest = max(longest, spell)
    return longest


def test_a_controlled_ramp_down_never_ends_in_overspeed():
    """A STOP or host silence ramps the command down at 1 km/h/s and the belt follows, but a
    tach reading is the belt's mean over its last pulse period (0.86 s at 1.04 km/h) and
    stays until the next pulse or until its age passes it: compared with today's command, a
    belt that followed the ramp — or already stood — read as a runaway for more than 300 ms
    and the board reported ``overspeed`` (the pulse phases here did, about one stop in ten)."""
    cases = (("silence", 2.0, 500), ("silence", 2.0, 1400), ("stop", 2.0, 60),
             ("stop", 2.0, 500), ("silence", 5.0, 700), ("stop", 5.0, 80), ("stop", 8.0, 200))
    for how, kmh, phase_ms in cases:
        r = Rig().running(kmh)
        r.run(phase_ms)
        longest = _ramp_down(r, how, int(kmh * 1000) + 3000)
        case = "%s from %.0f km/h, +%d ms" % (how, kmh, phase_ms)
        assert longest >= r.sup.cfg.overspeed_ms, case  # the stale reading was there
        assert r.board.belt_kmh == 0.0 and not r.outputs.relay_on, case
        want = (lc.S_IDLE, lc.F_NONE) if how == "stop" else (lc.S_FAULT, lc.F_HOST_SILENT)
        got = (r.sup.state, r.sup.fault)
        assert got == want, "%s: %s/%s" % (case, lc.STATE_NAMES[got[0]], lc.FAULT_NAMES[got[1]])


def test_a_runaway_during_a_ramp_down_still_opens_the_relay_in_time():
    """Comparing with the commands in force while the tach measured adds at most one pulse
    period and its age of the ramp to the limit (0.1 km/h at 6 km/h): a belt that the motor
    drives faster during a STOP or a host-silence ramp, or that does not slow at all, is
    still a runaway within the same time as before."""
    for how in ("stop", "silence"):
        r = Rig().running(3.0)
        assert r.send(lc.T_SET, sp(8)) == lc.R_SUCCESS
        r.run(12000)
        _ramp_down(r, how, 2000 if how == "stop" else 500 + 2000)  # ramped down to ~6 km/h
        assert r.sup.fault != lc.F_OVERSPEED and r.sup.ramped_centi_kmh > 500
        r.board.runaway_kmh = 9.0  # the motor drives the belt up again
        t0 = r.now
        while r.sup.fault != lc.F_OVERSPEED:
            r.run(20)
            assert r.now - t0 <= 1000, how
        assert not r.outputs.relay_on and r.outputs.duty_pct == 0.0
        # A belt that keeps its speed while the command ramps down (the drive does not
        # respond): over the margin after 1 s of ramp (1 km/h at 1 km/h/s), latched 300 ms
        # later — and at most one reading's span later than that (its pulse period and its
        # age, two periods: 0.23 s at 8 km/h), the commands it was measured against.
        r = Rig().running(3.0)
        assert r.send(lc.T_SET, sp(8)) == lc.R_SUCCESS
        r.run(12000)
        r.board.runaway_kmh = r.board.belt_kmh
        cfg = r.sup.cfg
        period_ms = cfg.belt_m_per_pulse / (8.0 / 3.6) * 1000
        due_ms = (cfg.overspeed_margin_centi_kmh * 1000 // cfg.decel_centi_kmh_per_s +
                  cfg.overspeed_ms + 2 * period_ms + 2 * 20)
        t0 = r.now
        if how == "stop":
            assert r.send(lc.T_STOP) == lc.R_SUCCESS
        else:
            r.host_alive = False
            t0 += cfg.host_timeout_ms  # the ramp starts when the silence is noticed
        while r.sup.fault != lc.F_OVERSPEED:
            r.run(20)
            assert r.now - t0 <= due_ms, how
        assert not r.outputs.relay_on


def test_command_history_keeps_the_highest_command_of_a_span():
    """One slot per 20 ms; a slot holds every command in force during it (conservative by
    at most one slot: the old command, until the change)."""
    h = CommandHistory(1000)
    h.note(1000, 500.0)
    h.note(1020, 480.0)
    h.note(1500, 300.0)  # 480 held until now
    assert h.max_since(1490) == 480.0  # the 480 was in force until 1500
    assert h.max_since(1000) == 500.0
    h.note(1600, 200.0)
    assert h.max_since(1580) == 300.0
    assert h.max_since(1600) == 300.0  # the slot of the change: the 300 until 1600
    h.note(1620, 200.0)
    assert h.max_since(1620) == 200.0  # only the command in force now
    h.note(9000, 0.0)  # a long gap: the ring holds the last command, nothing older
    assert h.max_since(0) == 200.0
    h.note(9020, 0.0)
    assert h.max_since(9020) == 0.0
