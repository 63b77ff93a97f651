"""Why the service says no: a refusal is a *code* with parameters, rendered into the reader's
language by the reader (the console), never a sentence the reader has to recognise.

    raise refused("adjust_speed_step", step_kmh=0.5)        # controller.protocol.refused
    → {"ok": false, "code": "adjust_speed_step", "params": {"step_kmh": 0.5},
       "error": "Speed can change by at most 0.5 km/h per press."}   (English, for logs)
    refusal_text("adjust_speed_step", {"step_kmh": 0.5})    # in the UI's language

The codes and their texts live here, in the core, because the session core (protocol.py)
refuses too; ``controller.service.messages`` (the wire between console and service)
re-exports them. A new refusal is one line in ``REFUSALS`` (and its bokmål in the catalog:
``tests/test_messages.py`` fails until both exist). Parameters are data: numbers are
formatted for the language, a session state or alarm key is shown in words; a parameter a
text does not name (``detail``) travels for the log and the technician only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core.hrmax import FORMULA_CONFLICT
from controller.core.i18n import N_, format_number, language, translations
from controller.core.words import ALARMS, FAULTS, LINKS, PHASES, STATES

REFUSALS: dict[str, str] = {
    # the wire itself
    "bad_json": N_("The command was not understood (not JSON)."),
    "bad_command": N_("The command was not understood."),
    "unknown_command": N_("Unknown command {command}."),
    "line_too_long": N_("The command was too long."),
    "bad_field": N_("The command {command} has a wrong value for {field}."),
    "timeout": N_("The service did not answer in time: try again."),
    "failed": N_("The service could not do it. Tell the technician."),
    "invalid": N_("{detail}"),  # a check without a code of its own yet: its English text
    # patient, plan and the session's state
    "no_patient": N_("No patient chosen: enter the patient first (n)."),
    "session_fixed": N_("The session has started: patient and plan are fixed."),
    "already_started": N_("The session has already started."),
    "bad_pseudonym": N_("A pseudonym is the clinic's code: 1–4 capital letters, a hyphen and "
                        "1–6 digits (P-17, OUS-0042), never a name or a date."),
    "unknown_patient": N_("{pseudonym} is not in the register: give the HRmax and its "
                          "source."),
    "hrmax_source_needed": N_("A changed HRmax needs its source."),
    "hrmax_formula_conflict": FORMULA_CONFLICT,  # the patient form's and the CLI's words
    "not_now": N_("Not possible while the session is {state}."),
    "extend_limit": N_("A phase can be extended by 1–600 s, at most 600 s in total."),
    "no_alarm": N_("There is no active alarm {alarm}."),
    # starting and resuming
    "no_strap": N_("No strap is paired: choose the patient's strap first (b) and check its "
                   "heart rate."),
    "start_link_down": N_("Cannot start: the treadmill link is down. Check the cable to the "
                          "motor board."),
    "start_key_out": N_("Cannot start: the safety key is out. Insert it, then press the reset "
                        "on the treadmill."),
    "start_estop": N_("Cannot start: the e-stop is pressed. Release it, then press the reset "
                      "on the treadmill."),
    "start_fault": N_("Cannot start: the motor board has a latched fault ({fault}). Press the "
                      "reset on the treadmill."),
    "start_board_busy": N_("Cannot start: the motor board is {board}. Wait until the belt is "
                           "still."),
    "start_pi_key_out": N_("Cannot start: the safety key is out (the Pi's key input). Insert "
                           "it, then press the reset on the treadmill."),
    "start_pi_estop": N_("Cannot start: the e-stop is pressed (the Pi's e-stop input). "
                         "Release it, then press the reset on the treadmill."),
    "start_estop_latched": N_("Cannot start: the e-stop was pressed. Release the e-stop, then "
                              "press the reset on the treadmill."),
    "start_key_latched": N_("Cannot start: the safety key was pulled. Insert the safety key, "
                            "then press the reset on the treadmill."),
    "start_estop_unlatched": N_(
        "Cannot start: the e-stop was pressed (the Pi's input), but the motor board has not "
        "latched it. Release the e-stop and check its wiring to the motor board; a start is "
        "possible again after the reset on the treadmill once the board sees the stop, or "
        "after a restart of the control service."),
    "start_key_unlatched": N_(
        "Cannot start: the safety key was pulled (the Pi's input), but the motor board has "
        "not latched it. Insert the safety key and check its wiring to the motor board; a "
        "start is possible again after the reset on the treadmill once the board sees the "
        "stop, or after a restart of the control service."),
    "resume_not_paused": N_("Cannot resume: the session is {state}."),
    "resume_link_down": N_("Cannot resume: the treadmill link is down."),
    "resume_fault": N_("Cannot resume: the motor board has a latched fault. Release the e-stop "
                       "or insert the key, then press the reset on the treadmill, then "
                       "resume."),
    # the patient's strap
    "strap_fixed": N_("The session has started: the strap is fixed until it ends."),
    "cannot_pair": N_("This service cannot pair straps (its heart-rate source is fixed)."),
    "cannot_scan": N_("This service cannot scan for straps (its heart-rate source is "
                      "fixed)."),
    "strap_in_use": N_("Strap {strap} is in use on treadmill {treadmill}: confirm to pair it "
                       "here anyway."),
    "scan_seconds": N_("A scan lasts 1–15 seconds."),
    # the 6-minute test
    "adjust_not_test": N_("Speed and incline can be changed only in the test phase of the "
                          "6-minute test."),
    "adjust_speed_step": N_("Speed can change by at most {step_kmh} km/h per press."),
    "adjust_incline_step": N_("Incline can change by at most {step_pct} percentage points per "
                              "press."),
    "adjust_nothing": N_("Nothing to change."),
    "adjust_too_soon": N_("One load change every {seconds} s: wait a moment."),
    "adjust_speed_caps": N_("{speed_kmh} km/h is outside {low_kmh}–{high_kmh} km/h (the "
                            "patient's caps)."),
    "adjust_incline_caps": N_("Incline {incline_pct} %: outside 0–{high_pct} % (the "
                              "patient's caps)."),
    "rpe_not_test": N_("A Borg rating for HRmax is asked after a 6-minute test only."),
    "test_running": N_("The test is still running: ask the Borg rating at its end."),
    "rpe_range": N_("The Borg rating is a whole number 6–20."),
    "no_hrmax_estimate": N_("No HRmax from this test: the Borg rating and the heart rate do "
                            "not fit what the method can use. The HRmax in use is kept."),
    "proposal_decided": N_("The HRmax proposal has been decided already."),
    "no_proposal": N_("No HRmax proposal to decide on: ask the Borg rating first."),
    "hrmax_range": N_("An edited HRmax must be 100–230 bpm."),
    "hrmax_decision": N_("Decide: accepted, edited or rejected."),
    "hrmax_interrupted": N_("The test was interrupted: there is no HRmax proposal to accept. "
                            "Type the HRmax (e) or keep the one in use (n)."),
    "not_demo": N_("Only the demo's emulated treadmill has a reset button the console can "
                   "press: on a real treadmill, staff press its own reset."),
    # records
    "no_store": N_("This service records no sessions (no store configured)."),
    "not_recording": N_("No session is being recorded: start it first."),
    "interval_not_run": N_("Interval {interval} has not been run in this session."),
    "no_recorded_session": N_("No recorded session for this patient yet."),
    "no_records_service": N_("No clinic records service is configured."),
    "need_pseudonym": N_("Give the patient's pseudonym."),
    "borg_interval": N_("A Borg rating belongs to an interval of the session (0–20)."),
    "note_empty": N_("A note needs some text."),
    "note_too_long": N_("A note is at most {limit} characters; this one has {length}."),
    # the patient's profile (PatientProfile's checks)
    "profile_number": N_("{field} must be a number."),
    "profile_range": N_("{field} must be {low}–{high} {unit} (not {value})."),
    "profile_hr_rest": N_("The resting heart rate ({hr_rest} bpm) must be at least 40 bpm "
                          "below HRmax ({hr_max} bpm)."),
    "cap_above_treadmill": N_("{field} {value} {unit} is above the treadmill's limit of "
                              "{limit} {unit}."),
    "profile_min_speed": N_("The lowest speed must be below the speed cap."),
    "profile_source": N_("Unknown HRmax source {source}."),
    # the plan against the patient (a 6-minute test's load, a warm-up's length)
    "plan_incline_min": N_("The {phase} needs an incline of at least {needed_pct} %, above "
                           "the patient's incline cap of {cap_pct} %."),
    "plan_speed_cap": N_("The {phase} runs at {speed_kmh} km/h, above the patient's speed "
                         "cap of {cap_kmh} km/h."),
    "plan_incline_cap": N_("The {phase} uses an incline of {incline_pct} %, above the "
                           "patient's incline cap of {cap_pct} %."),
    "plan_fixed_speed": N_("The speed of the {phase} must be {low}–{high} km/h, not "
                           "{speed_kmh} km/h."),
    "plan_fixed_incline": N_("The incline of the {phase} must be {low}–{high} %, not "
                             "{incline_pct} %."),
    "plan_duration": N_("The {phase} must last {low}–{high} s, not {seconds} s."),
    "plan_warmup_short": N_("Warm up at least 3 minutes before the intervals."),
    # the patient's strap (hr.check_strap)
    "strap_not_object": N_("A strap is an object with 'kind' and its number or address."),
    "strap_ant_number": N_("An ANT+ strap needs its device number, 1–65535."),
    "strap_ant_type": N_("An ANT+ strap's transmission type is 0–255 (0: any)."),
    "strap_ble_address": N_("A Bluetooth strap needs its address."),
    "strap_kind": N_("Unknown strap kind {kind}: ant or ble."),
}

PROFILE_FIELDS = {"hr_max": N_("HRmax"), "hr_rest": N_("The resting heart rate"),
                  "max_speed_kmh": N_("The max speed"),
                  "max_incline_pct": N_("The max incline"),
                  "min_speed_kmh": N_("The lowest speed"), "age_years": N_("The age")}
"""A profile's fields as a refusal names them (never ``max_speed_kmh``): the words of the
console's patient form (maks fart, maks stigning), so the CLI and the console say one thing."""
UNITS = {"bpm": N_("bpm"), "km/h": N_("km/h"), "%": "%", "years": N_("years")}


class Refusal(ValueError):
    """A check's no as a code with parameters, for checks below the session (a strap, a
    Borg rating in the store): a ValueError, so every caller that catches one still does;
    the control socket sends its code and parameters, and the console renders them."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(refusal_text(code, params, "en"))
        self.code = code
        self.params = params


def _param(key: str, value: Any, lang: str) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        whole = float(value).is_integer()
        return format_number(value, 0 if whole else 1, lang)
    if key == "state":
        return translations(lang).gettext(STATES[value]) if value in STATES else str(value)
    if key == "fault":
        return translations(lang).gettext(FAULTS[value]) if value in FAULTS else str(value)
    if key == "board":
        return translations(lang).gettext(LINKS[value]) if value in LINKS else str(value)
    if key == "phase":
        return translations(lang).gettext(PHASES[value]) if value in PHASES else str(value)
    if key == "field":
        return translations(lang).gettext(PROFILE_FIELDS[value]) \
            if value in PROFILE_FIELDS else str(value)
    if key == "unit":
        return translations(lang).gettext(UNITS[value]) if value in UNITS else str(value)
    if key == "alarm":
        return translations(lang).gettext(ALARMS[value]) if value in ALARMS else str(value)
    return str(value)


def refusal_text(code: str, params: Mapping[str, Any] | None = None,
                 lang: str | None = None) -> str:
    """The refusal in ``lang`` (default: the process's language); an unknown code (a newer
    service) shows its ``detail`` or the code itself, never nothing."""
    lang = lang or language()
    params = dict(params or {})
    template = REFUSALS.get(code)
    if template is None:
        return str(params.get("detail") or code)
    shown = {k: _param(k, v, lang) for k, v in params.items()}
    try:
        return translations(lang).gettext(template).format(**shown)
    except (KeyError, IndexError):  # a parameter missing: the text without it
        return translations(lang).gettext(template)
