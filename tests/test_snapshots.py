"""A few layout snapshots (pytest-textual-snapshot) at 80×24, from fixed states.

The apps' network workers are replaced by a fixed state here: these tests are about layout;
the behaviour is tested against real services in test_console.py and test_monitor.py."""

from controller.app.console import StaffConsole
from controller.app.monitor import CentralMonitor
from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings
from controller.protocol import Event
from tests.test_mqtt import a_setpoint

STATE = {
    "type": "state", "session_id": "abc123", "pseudonym": "P-17", "plan": "4x4",
    "started": True, "hr_max": 183, "hr_max_source": "measured", "max_speed_kmh": 6.0,
    "max_incline_pct": 15, "walk_only": False, "phase": "interval", "interval": 2,
    "state": "running", "phase_remaining_s": 151, "hr_bpm": 163, "target_bpm": 164.7,
    "zone_low_bpm": 155.6, "zone_high_bpm": 173.9, "speed_set_kmh": 5.8,
    "incline_set_pct": 9.5, "speed_kmh": 5.79, "incline_pct": 9.4, "treadmill": "running",
    "strap": "connected", "strap_message": "", "mqtt": "online",
    "paired_strap": {"kind": "ant", "device_number": 4242},
    "alarms": {"hrmax_underestimated": "heart rate 186 bpm is above the profile's max 183"},
    "events": ["info: interval 2 of 4 begins (240 s, zone 156–174 bpm)"],
    "hr_history": [120 + i * 0.4 for i in range(120)],
}


class FixedConsole(StaffConsole):
    def listen(self):  # no control service: a fixed state
        self.state = STATE
        self.refresh_view()


def test_console_layout(snap_compare):
    assert snap_compare(FixedConsole("/nonexistent.sock"), terminal_size=(80, 24))


def test_console_stop_confirmation(snap_compare):
    assert snap_compare(FixedConsole("/nonexistent.sock"), press=["x"], terminal_size=(80, 24))


class FixedMonitor(CentralMonitor):
    def listen(self):
        sp = a_setpoint()
        f = self.fleet
        for dev, online in (("tm-1", True), ("tm-2", True), ("tm-3", False)):
            f.apply(tm.topic("oslo", dev, "status"), tm.status_payload(online), 0.0)
            f.apply(tm.topic("oslo", dev, "session"), tm.session_payload("S", f"P-{dev}", sp),
                    0.0)
            if dev != "tm-3":
                f.apply(tm.topic("oslo", dev, "telemetry"),
                        tm.telemetry_payload("S", 1, sp, 3.0, 5.0), 0.0 if dev == "tm-1"
                        else -60.0)
        f.apply(tm.topic("oslo", "tm-1", "event"),
                tm.event_payload("S", 0, Event(0, "hr_lost", "x", "alarm")), 0.0)
        self.connected = True
        self.redraw()


def test_monitor_layout(snap_compare):
    assert snap_compare(FixedMonitor(MqttSettings(), clock=lambda: 1.0), terminal_size=(80, 24))
