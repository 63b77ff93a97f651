"""A few layout snapshots (pytest-textual-snapshot) at 80×24 and 120×40, in bokmål and
English, from fixed states.

The apps' network workers are replaced by a fixed state here: these tests are about layout;
the behaviour is tested against real services in test_console.py and test_monitor.py."""

from typing import ClassVar

import pytest

from controller.app.console import StaffConsole
from controller.app.monitor import CentralMonitor
from controller.core import i18n
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
    "event_list": [{"kind": "phase", "severity": "info",
                    "message": "interval 2 of 4 begins (240 s, zone 156–174 bpm)"}],
    "alarm_list": [{"kind": "hrmax_underestimated",
                    "message": "heart rate 186 bpm is above the profile's max 183"}],
    "hr_history": [120 + i * 0.4 for i in range(120)],
}


PAUSED_AFTER_ESTOP = dict(
    STATE, state="paused", hr_bpm=121, speed_kmh=0.0, incline_pct=9.4, treadmill="fault: estop",
    alarms={"belt_stopped": "the belt stopped outside the session"},
    alarm_list=[{"kind": "belt_stopped", "message": "the belt stopped outside the session (e-stop,"
                 " key or treadmill fault): session paused; staff must resume"}])
RESET_REFUSAL = ("cannot resume: the motor board has a latched fault (estop); release the "
                 "e-stop / insert the key, then press the reset on the treadmill")
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


class FixedConsole(StaffConsole):
    fixed: ClassVar[dict] = STATE

    def listen(self):  # no control service: a fixed state
        self.state = self.fixed
        self.refresh_view()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_console_layout(snap_compare, lang, size):
    assert snap_compare(FixedConsole("/nonexistent.sock"), terminal_size=size)


def test_console_stop_confirmation(snap_compare, lang):
    assert snap_compare(FixedConsole("/nonexistent.sock"), press=["x"], terminal_size=(80, 24))


class RefusedResume(FixedConsole):
    """After an e-stop: the belt is paused, staff press r, the service refuses and asks for
    the reset on the treadmill — the whole message must be readable at 80×24."""

    fixed: ClassVar[dict] = PAUSED_AFTER_ESTOP

    def listen(self):
        super().listen()
        from controller.app import texts
        from controller.app.console import COMMANDS

        refused = i18n._("{command} refused").format(command=i18n._(COMMANDS["resume"]))
        self.say(f"[b red]{refused}[/]: " + texts.reply_text(
            {"ok": False, "code": "resume_fault", "params": {"fault": "estop"},
             "error": RESET_REFUSAL}))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_console_reset_message_is_whole(snap_compare, lang, size):
    assert snap_compare(RefusedResume("/nonexistent.sock"), terminal_size=size)


class BeforeStart(FixedConsole):
    fixed: ClassVar[dict] = dict(STATE, started=False, phase="ready", state="ready", interval=0,
                 phase_remaining_s=None, hr_bpm=72, alarms={}, alarm_list=[], event_list=[],
                 hr_history=[], strap_choice=True)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_patient_form(snap_compare, lang, size):
    async def open_form(pilot):
        from textual.widgets import Input

        await pilot.press("n")
        await pilot.pause()
        for box in pilot.app.screen.query(Input):  # a blinking cursor makes two pictures
            box.cursor_blink = False
        await pilot.pause()

    assert snap_compare(BeforeStart("/nonexistent.sock"), run_before=open_form,
                        terminal_size=size)


P17 = {"pseudonym": "P-17", "hr_max_bpm": 171.0, "hr_max_source": "six_minute_test",
       "hr_max_date": "2026-11-20", "hr_rest_bpm": 62.0, "max_speed_kmh": 6.5,
       "max_incline_pct": 12.0, "walk_only": False, "age_years": 52.0}


class ReturningPatient(BeforeStart):
    """The form after typing a returning patient's pseudonym: the register's profile (a
    layout test: the lookup is fixed here, the real one is tested in test_console.py)."""

    fixed: ClassVar[dict] = dict(BeforeStart.fixed, pseudonym="", hr_max=None,
                                 hr_max_source="", max_speed_kmh=None, max_incline_pct=None)

    def action_patient(self):
        from controller.app.screens import PatientScreen

        async def submit(result):
            return None

        async def lookup(pseudonym):
            return dict(P17) if pseudonym == "P-17" else None

        self.push_screen(PatientScreen(self.state, submit, lookup))


def test_patient_form_with_a_returning_patient(snap_compare, lang):
    async def type_p17(pilot):
        from textual.widgets import Input

        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"P-17")
        await pilot.pause(0.6)
        await pilot.pause()
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    assert snap_compare(ReturningPatient("/nonexistent.sock"), run_before=type_p17,
                        terminal_size=(80, 24))


SIX_MINUTE_DONE = dict(STATE, plan="6-minute test", phase="cooldown", interval=0,
                       state="running", alarms={}, alarm_list=[], hrmax_proposal=None,
                       hr_max=171, hr_max_source="tanaka")
PROPOSAL = {"hr_max_bpm": 198, "source": "six_minute_test", "uncertainty_bpm": 16.0,
            "method": "6-minute test: last-minute HR / Borg",
            "explanation": "mean HR in the last minute 163 bpm at Borg 15 (≈82 % HRmax) → 198 "
                           "bpm", "rpe": 15, "hr_end_bpm": 163.0, "floored": False,
            "current_hr_max_bpm": 171,
            "current_source": "tanaka", "large_change": True}


class SixMinuteDone(FixedConsole):
    fixed: ClassVar[dict] = SIX_MINUTE_DONE


def test_six_minute_test_borg_prompt(snap_compare, lang):
    """Asked once when the test ends; fits 80×24 (issue 21.7)."""
    assert snap_compare(SixMinuteDone("/nonexistent.sock"), terminal_size=(80, 24))


def test_six_minute_test_proposal_with_a_large_change(snap_compare, lang):
    async def propose(pilot):
        from controller.app.screens import HrMaxProposalScreen

        pilot.app.push_screen(HrMaxProposalScreen(PROPOSAL, SIX_MINUTE_DONE))
        await pilot.pause()
        from controller.app.screens.confirm import yes_key

        await pilot.press(yes_key())  # once: the second press is asked for
        await pilot.pause()

    class Quiet(SixMinuteDone):
        fixed: ClassVar[dict] = dict(SIX_MINUTE_DONE, hrmax_proposal=PROPOSAL)

    assert snap_compare(Quiet("/nonexistent.sock"), run_before=propose,
                        terminal_size=(80, 24))


def test_borg_prompt(snap_compare, lang):
    async def ask(pilot):
        pilot.app.rate(2)
        await pilot.pause()

    assert snap_compare(FixedConsole("/nonexistent.sock"), run_before=ask,
                        terminal_size=(80, 24))


STRAPS_IN_RANGE = [
    {"kind": "ant", "device_number": 2000, "rssi_dbm": -44, "hr_bpm": 100, "battery_pct": 80,
     "battery_low": False, "in_use_by": None, "remembered": False},
    {"kind": "ble", "address": "C0:FF:EE:00:00:01", "name": "Polar H10 1A2B3C",
     "rssi_dbm": -48, "hr_bpm": None, "battery_pct": None, "battery_low": False,
     "in_use_by": None, "remembered": True},
    {"kind": "ant", "device_number": 2001, "rssi_dbm": -53, "hr_bpm": 105, "battery_pct": 15,
     "battery_low": True, "in_use_by": "tm-2", "remembered": False},
    {"kind": "ant", "device_number": 2002, "rssi_dbm": -62, "hr_bpm": 110, "battery_pct": None,
     "battery_low": False, "in_use_by": None, "remembered": False},
    {"kind": "ble", "address": "C0:FF:EE:00:00:02", "name": "Garmin HRM-Dual",
     "rssi_dbm": -66, "hr_bpm": None, "battery_pct": 12, "battery_low": True,
     "in_use_by": "tm-3", "remembered": False},
]


class PickingStrap(BeforeStart):
    """The strap picker with ANT+ and BLE straps, one of them in use elsewhere and chosen
    once (the question for the second keypress shows): readable at 80×24."""

    def action_strap(self):
        import asyncio

        from controller.app.screens import StrapScreen

        calls = []

        async def scan(seconds):
            calls.append(seconds)
            if len(calls) > 1:
                await asyncio.sleep(3600)  # the live list waits for the next scan
            return {"ok": True, "straps": STRAPS_IN_RANGE, "note": None}

        self.push_screen(StrapScreen(scan))


def test_strap_picker(snap_compare, lang):
    async def choose_in_use(pilot):
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(PickingStrap("/nonexistent.sock"), run_before=choose_in_use,
                        terminal_size=(80, 24))


class LowStrapBattery(FixedConsole):
    fixed: ClassVar[dict] = dict(
        BeforeStart.fixed, paired_strap={"kind": "ble", "address": "C0:FF:EE:00:00:02"},
        strap_battery_pct=12, strap_battery_low=True, hr_live_bpm=96, strap_needed=False)


def test_console_warns_of_a_low_strap_battery_before_start(snap_compare, lang):
    assert snap_compare(LowStrapBattery("/nonexistent.sock"), terminal_size=(80, 24))


class FixedMonitor(CentralMonitor):
    def listen(self):
        sp = a_setpoint()
        f = self.fleet
        for dev, online in (("tm-1", True), ("tm-2", True), ("tm-3", False)):
            f.apply(tm.topic("oslo", dev, "status"), tm.status_payload(online), 0.0)
            f.apply(tm.topic("oslo", dev, "session"), tm.session_payload("S", f"P-{dev[-1]}", sp),
                    0.0)
            if dev != "tm-3":
                f.apply(tm.topic("oslo", dev, "telemetry"),
                        tm.telemetry_payload("S", 1, sp, 3.0, 5.0), 0.0 if dev == "tm-1"
                        else -60.0)
        f.apply(tm.topic("oslo", "tm-1", "event"),
                tm.event_payload("S", 0, Event(0, "hr_lost", "x", "alarm")), 0.0)
        self.connected = True
        self.redraw()


def test_monitor_layout(snap_compare, lang):
    assert snap_compare(FixedMonitor(MqttSettings(), clock=lambda: 1.0), terminal_size=(80, 24))


HOST_SILENT = dict(
    PAUSED_AFTER_ESTOP, treadmill="fault: host_silent", strap_battery_pct=85,
    paired_strap={"kind": "ant", "device_number": 123456, "transmission_type": 5},
    event_list=[*STATE["event_list"],
                {"kind": "belt_stopped", "severity": "alarm",
                 "message": "the belt stopped outside the session (e-stop, key or treadmill "
                            "fault): session paused; staff must resume"}])


class HostSilent(FixedConsole):
    """A motor-board fault during a session (the board lost contact with the Pi): the
    status line with the fault in words, the alarm and its event, at 80×24 nothing wraps."""

    fixed: ClassVar[dict] = HOST_SILENT


def test_console_with_a_treadmill_fault(snap_compare, lang):
    assert snap_compare(HostSilent("/nonexistent.sock"), terminal_size=(80, 24))
