"""Words for the session's phases, states, HRmax sources, links and events, in the UI's
language — shared by the console, the monitor and the records (reports), so a report in bokmål
never shows a raw key like ``hr_lost`` or ``six_minute_test``.

The core (``controller.protocol``) speaks English in its event messages; the UIs translate
them by event *kind* (the message's numbers are lost in translation, the meaning is not).
English keeps the core's own, more detailed message. Every text is marked with ``N_`` here
and translated with ``_()`` where it is shown.
"""

from __future__ import annotations

import re
from typing import Any

from controller.core.i18n import N_, _, language

PHASES = {"ready": N_("ready"), "warmup": N_("warm-up"), "interval": N_("interval"),
          "recovery": N_("recovery"), "cooldown": N_("cool-down"), "done": N_("done"),
          "test": N_("6-minute test")}
STATES = {"ready": N_("ready"), "running": N_("running"),
          "hr_hold": N_("holding (no heart rate)"), "hr_slow": N_("slowing (no heart rate)"),
          "paused": N_("paused"), "stopping": N_("stopping"), "done": N_("done")}
TEST_INTERRUPTED = N_("interrupted")
"""A 6-minute test whose test part did not run to its end (skipped on to the cool-down, or
stopped in it): one word in the console's header, the report chooser, ``økter`` and the
report's title (issue 21: they said «fullført» while the report said «Testen ble avbrutt»)."""
HR_STATUSES = {  # the heart-rate gate's verdict on a reading (core/hrgate.py)
    "ok": N_("accepted"), "no_reading": N_("no reading"), "no_contact": N_("no skin contact"),
    "out_of_range": N_("out of range"), "frozen": N_("unchanged for too long"),
    "doubled": N_("doubled"), "halved": N_("halved"),
    # said of the strap and its readings, never of the patient's heart (issue 21: "mangler
    # slag" read as an arrhythmia)
    "beats_mismatch": N_("the strap's figures disagree"),
    "rr_mismatch": N_("the strap's figures disagree"),
    "missing_beats": N_("the strap reads too low"),
    "double_counting": N_("the strap reads too high"), "jump": N_("sudden jump")}
SOURCES = {"measured": N_("measured"), "tanaka": N_("Tanaka formula"),
           "nes": N_("Nes formula"), "keteyian": N_("Keteyian formula"),
           "six_minute_test": N_("6-minute test"),
           # one name everywhere (header, form, hand-over, report), short enough for the
           # console's header at 80 columns beside an 11-character pseudonym (issue 21: it
           # was "endret av personalet" there and "6-minutters pulstest endret av
           # personalet" elsewhere)
           "six_minute_test_edited": N_("6-minute test, edited"),
           "observed_peak": N_("observed peak"),
           "staff_entered": N_("set by staff")}
LINKS = {"searching": N_("searching"), "connected": N_("connected"), "stale": N_("stale"),
         "lost": N_("lost"), "stick_missing": N_("no ANT stick"), "offline": N_("offline"),
         "online": N_("online"), "off": N_("off"), "idle": N_("idle"), "armed": N_("armed"),
         "running": N_("running"), "still": N_("on, belt still"), "fault": N_("fault"),
         "?": N_("unknown")}
EVENTS = {
    "phase": N_("The next phase begins"),
    "stopping": N_("The belt slows to a stop"),
    "done": N_("Session finished: belt stopped"),
    "hr_restored": N_("Heart rate is back; control resumes"),
    "hrmax_underestimated": N_("Heart rate above the profile's HRmax: HRmax is likely "
                               "underestimated"),
    "hr_above_max": N_("Heart rate above HRmax for 10 s: load reduced"),
    # each step of a lost heart rate begins with its words in the header and the alarm line
    # (``ALARMS``), then when and what to do (issue 21: the report said «Finner ikke pulsen på
    # 5 s: …» beside the console's «venter på puls – holder farten»)
    "hr_lost_stop": N_("Heart rate lost: session stopped (after 60 s) – check that the chest "
                       "strap sits snugly"),
    "hr_lost": N_("Heart rate lost: slowing to a walk (after 15 s) – check that the chest strap "
                  "sits snugly"),
    "hr_hold": N_("Waiting for heart rate: holding speed (after 5 s) – check that the chest "
                  "strap sits snugly"),
    # the strap's detector misses beats: said of the strap's readings (issue 21: "kan miste
    # slag" read as the patient's heart skipping beats)
    "strap_missing_beats": N_("The chest strap's readings are unreliable — wet it or move it "
                              "a little"),
    "belt_stopped": N_("The treadmill stopped the belt (e-stop, safety key or a fault): "
                       "session paused; staff must resume"),
    "store_failed": N_("The session record could not be written: the session goes on. Tell "
                       "the technician."),
    "zone_unreachable": N_("The zone is out of reach within the patient's caps"),
    "hrmax_maybe_high": N_("Heart rate stays below the zone at a load that should reach it: "
                           "HRmax is likely set too high; please check it"),
    "pause": N_("Paused by staff: belt slowing to a stop"),
    "resume": N_("Resumed by staff"),
    "skip": N_("Phase skipped by staff"),
    "extend": N_("Phase extended by staff"),
    "stop": N_("Stopped by staff"),
    "acknowledged": N_("Alarm acknowledged"),
    "adjust": N_("Test load changed by staff"),
    "response_model_dropped": N_("The heart rate answers differently from the learned "
                                 "response: it is learned afresh today"),
}
ALARMS = {  # short, for a monitor's alarm column and its acknowledge question
    "hr_lost": N_("heart rate lost: slowing to a walk"),
    "hr_lost_stop": N_("heart rate lost: session stopped"),
    "hr_hold": N_("waiting for heart rate: holding speed"),
    "hr_above_max": N_("heart rate above HRmax: load reduced"),
    "belt_stopped": N_("the treadmill stopped the belt"),
    "store_failed": N_("session record not written"),
    "hrmax_underestimated": N_("HRmax likely too low"),
    "hrmax_maybe_high": N_("HRmax likely too high"),
    "zone_unreachable": N_("zone out of reach"),
    "strap_missing_beats": N_("unreliable chest strap readings – wet or move it"),
}
FAULTS = {  # the motor board's latched faults (firmware/linkcodec.py FAULT_NAMES)
    "boot": N_("just powered on"), "watchdog_reset": N_("restarted by its watchdog"),
    "host_silent": N_("lost contact with the Pi"), "estop": N_("e-stop"),
    "key_pulled": N_("safety key out"), "overspeed": N_("overspeed"),
    "no_tach": N_("no speed signal"), "incline": N_("incline motor fault"),
}
SEVERITIES = {"info": N_("info"), "warning": N_("warning"), "alarm": N_("alarm")}


def word(table: dict[str, str], key: str | None) -> str:
    """``key`` in the UI's language (unknown keys are shown as they are)."""
    if key is None:
        return ""
    return _(table[key]) if key in table else key


EVENT_DETAILS = {  # the event with what it is about, from its params (protocol.Event.params)
    "interval": N_("Interval {interval} of {total} begins ({minutes} min, zone {low}–{high} "
                   "bpm)"),
    "phase_zone": N_("{phase} begins ({minutes} min, zone {low}–{high} bpm)"),
    "phase": N_("{phase} begins ({minutes} min)"),
    "skip": N_("{phase} skipped by staff"),
    "extend": N_("{phase} extended by {time} by staff"),  # "1 min", as the console says
    "adjust": N_("Test load set by staff to {speed} km/h at {incline} %"),
    "acknowledged": N_("Alarm acknowledged: {alarm}"),
    "acknowledged_warning": N_("Warning acknowledged: {alarm}"),
    "hrmax_underestimated": N_("Heart rate {hr} bpm is above the profile's HRmax {hr_max}: "
                               "HRmax is likely underestimated"),
    "hr_above_max": N_("Heart rate above HRmax {hr_max} for {seconds} s: load reduced"),
    "belt_stopped": N_("The treadmill stopped the belt ({fault}): session paused; staff must "
                       "resume"),
    "stop_treadmill": N_("Ended after the treadmill stopped the belt"),
    # systemctl stop, a reboot, the demo's SIGTERM or Ctrl-C: no person at the console chose
    # it (a demo ended by `timeout` said «Stoppet av personalet»)
    "stop_service": N_("Stopped: the control service was shut down"),
    # a session stopped before its plan ran out is "avsluttet" (glossary), never "ferdig"
    "done_stopped": N_("Session ended: belt stopped"),
}


def _event_detail(kind: str, params: dict[str, Any]) -> str | None:
    from controller.core.i18n import format_duration, format_number
    from controller.core.metrics import shown_bpm

    def n(key: str, decimals: int = 0) -> str:
        return format_number(float(params[key]), decimals)

    def bpm(key: str) -> str:  # a zone edge as the belt screen shows it (half up)
        return format_number(shown_bpm(float(params[key])), 0)

    try:
        if kind == "phase":
            phase = word(PHASES, params.get("phase"))
            minutes = format_number(float(params["duration_s"]) / 60, 0)
            if params.get("phase") == "interval" and "interval" in params:
                return _(EVENT_DETAILS["interval"]).format(
                    interval=params["interval"], total=params["total"], minutes=minutes,
                    low=bpm("zone_low_bpm"), high=bpm("zone_high_bpm"))
            key = "phase_zone" if "zone_low_bpm" in params else "phase"
            return _(EVENT_DETAILS[key]).format(
                phase=phase[:1].upper() + phase[1:], minutes=minutes,
                low=bpm("zone_low_bpm") if key == "phase_zone" else "",
                high=bpm("zone_high_bpm") if key == "phase_zone" else "")
        if kind in ("skip", "extend"):
            phase = word(PHASES, params.get("phase"))
            return _(EVENT_DETAILS[kind]).format(phase=phase[:1].upper() + phase[1:],
                                                 time=format_duration(
                                                     round(float(params["seconds"])))
                                                 if kind == "extend" else "")
        if kind == "adjust":
            return _(EVENT_DETAILS[kind]).format(speed=n("speed_kmh", 1),
                                                 incline=n("incline_pct", 1))
        if kind == "acknowledged":
            key = "acknowledged_warning" if params.get("severity") == "warning" else kind
            return _(EVENT_DETAILS[key]).format(alarm=word(ALARMS, str(params["alarm"])))
        if kind == "hrmax_underestimated":
            return _(EVENT_DETAILS[kind]).format(hr=n("hr_bpm"), hr_max=n("hr_max_bpm"))
        if kind == "hr_above_max":
            return _(EVENT_DETAILS[kind]).format(hr_max=n("hr_max_bpm"), seconds=n("seconds"))
        if kind == "belt_stopped" and "fault" in params:
            return _(EVENT_DETAILS[kind]).format(fault=word(FAULTS, str(params["fault"])))
        if kind == "stop" and params.get("by", "staff") in ("treadmill", "service"):
            return _(EVENT_DETAILS[f"stop_{params['by']}"])
        if kind == "done" and params.get("ended") in ("plan", "stopped", "interrupted"):
            return _(EVENTS["done"] if params["ended"] == "plan" else
                     EVENT_DETAILS["done_stopped"])
        if kind == "borg":
            return _(_FROM_MESSAGE["borg"][1][None]).format(rpe=n("rpe"))
        if kind == "hrmax_decision" and params.get("no_estimate"):
            # a Borg rating the method could not use with the heart rate: no proposal
            return _(NO_ESTIMATE_DECISION[str(params["decision"])]).format(
                rpe=n("rpe"), value=n("value_bpm") if "value_bpm" in params else "")
        if kind == "hrmax_decision" and params.get("proposed_bpm") is None:
            # an interrupted test proposed nothing (issue 21): staff typed or kept one
            return _(INTERRUPTED_DECISION[str(params["decision"])]).format(
                time=format_duration(round(float(params["interrupted_after_s"]))),
                value=n("value_bpm") if "value_bpm" in params else "")
        if kind == "hrmax_decision":
            text = _FROM_MESSAGE["hrmax_decision"][1][str(params["decision"])]
            return _(text).format(proposed=n("proposed_bpm"),
                                  value=n("value_bpm") if "value_bpm" in params else "")
    except (KeyError, TypeError, ValueError):  # params from an older service: no detail
        return None
    return None


INTERRUPTED_DECISION = {
    "edited": N_("Interrupted test (after {time}), no HRmax proposal: HRmax {value} bpm typed "
                 "by staff"),
    "rejected": N_("Interrupted test (after {time}), no HRmax proposal: the HRmax in use is "
                   "kept")}
"""Staff's decision after a 6-minute test that was interrupted (``core.hrmax``)."""

NO_ESTIMATE_DECISION = {
    "edited": N_("No HRmax proposal from Borg {rpe}: HRmax {value} bpm typed by staff"),
    "rejected": N_("No HRmax proposal from Borg {rpe}: the HRmax in use is kept")}
"""Staff's decision after a Borg rating the method could not use with the heart rate
measured (issue 21: the rating is kept, it only made no proposal)."""

PLANS = {"6-minute test": N_("6-minute test")}
"""Plan names as the store keeps them (core/plan.py)."""

# events stored before schema 7 kept their English message only: their sentence from the
# numbers it holds (newer rows carry params: ``_event_detail``)
_FROM_MESSAGE: dict[str, tuple[re.Pattern[str], dict[str | None, str]]] = {
    "borg": (re.compile(r"Borg rating at the end of the test: (?P<rpe>\d+)$"),
             {None: N_("Borg score at the end of the test: {rpe}")}),
    "hrmax_decision": (
        re.compile(r"HRmax proposal (?P<proposed>\d+) bpm (?P<decision>accepted|rejected|edited)"
                   r" by staff(?: as (?P<value>\d+) bpm)?$"),
        {"accepted": N_("HRmax proposal {proposed} bpm accepted by staff"),
         "rejected": N_("HRmax proposal {proposed} bpm rejected by staff"),
         "edited": N_("HRmax proposal {proposed} bpm changed by staff to {value} bpm")}),
}


_PHASE_MESSAGE = re.compile(r"(?:interval (?P<interval>\d+) of (?P<total>\d+)|(?P<phase>[a-z_]+))"
                            r" begins \((?P<seconds>\d+) s(?:, zone (?P<low>\d+)–(?P<high>\d+)"
                            r" bpm)?\)$")


def _phase_from_message(message: str) -> str | None:
    """A phase event without its params (a record from before schema 7, an older service):
    the phase it names, from its English message (issue 21: «Neste del begynner» named
    none, in the staff docs' screenshots too)."""
    m = _PHASE_MESSAGE.match(message)
    if m is None:
        return None
    found = m.groupdict()
    params: dict[str, Any] = {"phase": "interval" if found["interval"] else found["phase"],
                              "duration_s": float(found["seconds"])}
    if found["interval"]:
        params.update(interval=int(found["interval"]), total=int(found["total"]))
    if found["low"]:
        params.update(zone_low_bpm=float(found["low"]), zone_high_bpm=float(found["high"]))
    return _event_detail("phase", params)


def _from_message(kind: str, message: str) -> str | None:
    """A stored event's sentence in the UI's language, from the numbers in its message."""
    if kind not in _FROM_MESSAGE:
        return None
    pattern, texts = _FROM_MESSAGE[kind]
    m = pattern.match(message)
    if m is None:
        return None
    found = m.groupdict()
    text = texts.get(found.get("decision"))
    return None if text is None else _(text).format(**found)


REWORDED = frozenset({"strap_missing_beats", "acknowledged", "done", "hr_hold", "hr_lost",
                      "hr_lost_stop"})
"""Kinds said from the catalog in English too: the strap's warning was reworded since (issue
21: "strap may be missing beats" read as the patient's heart), also for a session recorded
before; an acknowledgement's message names the alarm by its key ("alarm
strap_missing_beats acknowledged"), its params by its words; the end of a session by how it
ended (a session recorded before said "finished" also when staff stopped it); a lost heart
rate's steps in the words the console's header and alarm line use (the core's message says
"no valid heart rate for 5 s: holding speed and incline")."""


def event_text(kind: str, message: str, params: dict[str, Any] | None = None) -> str:
    """An event in the UI's language, with its content when its ``params`` came along
    (the console's events do; a report's, read from the store, say the kind's sentence)."""
    if language() == "en" and kind not in REWORDED:
        return message
    detail = _event_detail(kind, params) if isinstance(params, dict) and params else None
    if detail is not None:
        return detail
    said = _from_message(kind, message) if kind != "phase" else _phase_from_message(message)
    if said is not None:
        return said
    if kind not in EVENTS:
        return message
    return _(EVENTS[kind])


def response_words(model: dict[str, Any]) -> str:
    """A learned response (``fourbyfour.response/1``) in staff's words: how soon the heart
    rate answers a change of load (the dead time) and when it is nearly there (dead time plus
    three time constants, 95 % of the way), e.g. "the heart rate answers after about 12 s and
    is there after about 2 min"."""
    from controller.core.i18n import format_duration
    from controller.core.response import describe_seconds, parse_response_model

    delay_s, settle_s = describe_seconds(parse_response_model(model))
    # to the half minute, said as every duration people read: «1 min 30 s», never «1,5 min»
    minutes = max(round(settle_s / 30.0) / 2.0, 0.5)
    return _("the heart rate answers after about {delay} s and is there after about "
             "{time}").format(delay=f"{max(round(delay_s), 1):d}",
                              time=format_duration(round(minutes * 60)))
