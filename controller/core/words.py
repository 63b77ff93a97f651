"""Words for the session's phases, states, HRmax sources, links and events, in the UI's
language — shared by the console, the monitor and the records (reports), so a report in bokmål
never shows a raw key like ``hr_lost`` or ``six_minute_test``.

The core (``controller.protocol``) speaks English in its event messages; the UIs translate
them by event *kind* (the message's numbers are lost in translation, the meaning is not).
English keeps the core's own, more detailed message. Every text is marked with ``N_`` here
and translated with ``_()`` where it is shown.
"""

from __future__ import annotations

from controller.core.i18n import N_, _, language

PHASES = {"ready": N_("ready"), "warmup": N_("warm-up"), "interval": N_("interval"),
          "recovery": N_("recovery"), "cooldown": N_("cool-down"), "done": N_("done"),
          "test": N_("6-minute test")}
STATES = {"ready": N_("ready"), "running": N_("running"),
          "hr_hold": N_("holding (no heart rate)"), "hr_slow": N_("slowing (no heart rate)"),
          "paused": N_("paused"), "stopping": N_("stopping"), "done": N_("done")}
SOURCES = {"measured": N_("measured"), "tanaka": N_("Tanaka formula"),
           "nes": N_("Nes formula"), "keteyian": N_("Keteyian formula"),
           "six_minute_test": N_("6-minute test"), "observed_peak": N_("observed peak")}
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
    "hr_lost_stop": N_("No valid heart rate for 60 s: session stopped"),
    "hr_lost": N_("No valid heart rate for 15 s: slowing to an easy walk; check the strap"),
    "hr_hold": N_("No valid heart rate for 5 s: holding speed and incline"),
    "belt_stopped": N_("The belt stopped outside the session (e-stop, key or treadmill "
                       "fault): session paused; staff must resume"),
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
SEVERITIES = {"info": N_("info"), "warning": N_("warning"), "alarm": N_("alarm")}


def word(table: dict[str, str], key: str | None) -> str:
    """``key`` in the UI's language (unknown keys are shown as they are)."""
    if key is None:
        return ""
    return _(table[key]) if key in table else key


def event_text(kind: str, message: str) -> str:
    if language() == "en" or kind not in EVENTS:
        return message
    return _(EVENTS[kind])


def response_words(model: dict) -> str:
    """A learned response (``fourbyfour.response/1``) in staff's words: how soon the heart
    rate answers a change of load (the dead time) and when it is nearly there (dead time plus
    three time constants, 95 % of the way), e.g. "the heart rate answers after about 12 s and
    is there after about 2 min"."""
    from controller.core.i18n import format_number
    from controller.core.response import describe_seconds, parse_response_model

    delay_s, settle_s = describe_seconds(parse_response_model(model))
    minutes = max(round(settle_s / 30.0) / 2.0, 0.5)
    return _("the heart rate answers after about {delay} s and is there after about "
             "{minutes} min").format(delay=f"{max(round(delay_s), 1):d}",
                                     minutes=format_number(minutes, 0 if minutes.is_integer()
                                                           else 1))
