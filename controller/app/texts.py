"""Words for the UIs: the shared tables live in ``controller.core.words`` (the records use
them too); here the service's refusals (rendered from their codes) and the OS's errors, as
staff read them."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from controller.core.i18n import N_, _
from controller.core.refusals import REFUSALS, refusal_text
from controller.core.six_minute_text import (  # noqa: F401  (the UIs' one import for words)
    hrmax_decision_text,
    six_minute_measure_lines,
    six_minute_summary_lines,
)
from controller.core.words import (  # noqa: F401  (the UIs' one import for words)
    EVENTS,
    FAULTS,
    LINKS,
    PHASES,
    SEVERITIES,
    SOURCES,
    STATES,
    event_text,
    word,
)


def reply_text(reply: dict[str, Any]) -> str:
    """Why the service refused a command, in the UI's language: rendered from the reply's
    refusal ``code`` and ``params`` (``controller.core.refusals``); a reply without a known
    code (an older service, a check with no code yet) shows its ``error`` as sent. Text
    from the service is data: never markup."""
    from rich.markup import escape

    code, params = reply.get("code"), reply.get("params")
    if isinstance(code, str) and code in REFUSALS:
        return escape(refusal_text(code, params if isinstance(params, dict) else {}))
    return escape(str(reply.get("error") or ""))


class CodedText(str):
    """A refusal rendered for a screen that also needs what it is about: the text, with the
    reply's ``code`` and ``params`` (the patient form puts it under its field by them)."""

    code: str | None = None
    params: dict[str, Any] = {}  # noqa: RUF012  (replaced per instance, never mutated)


def coded_reply_text(reply: dict[str, Any]) -> CodedText:
    """``reply_text`` with the refusal's code and params kept alongside."""
    said = CodedText(reply_text(reply))
    code, params = reply.get("code"), reply.get("params")
    said.code = code if isinstance(code, str) else None
    said.params = params if isinstance(params, dict) else {}
    return said


def error_text(error: str) -> str:
    """A refusal that reached a screen as text (the patient form): shown as it is. Refusals
    are rendered from their codes by ``reply_text``; no sentence is recognised here."""
    return error


def _detail(e: BaseException | str) -> str:
    """The technical detail, kept for the technician but shown second (and never as
    markup)."""
    from rich.markup import escape

    return " (" + escape(str(e)) + ")"


def service_unreachable_text(e: BaseException) -> str:
    """Why the console cannot reach the control service, in the UI's language, with what
    to do; the OS's own English (``[Errno 111] Connection refused``) only as the detail."""
    if isinstance(e, (FileNotFoundError, ConnectionRefusedError)):
        text = _("The control service is not running or is still starting: the console "
                 "tries again every second. If this lasts, ask the technician to check "
                 "'systemctl status fourbyfour'.")
    elif isinstance(e, PermissionError):
        text = _("The console may not open the control service's socket: the technician "
                 "must add this user to the fourbyfour group.")
    else:
        text = _("The control service does not answer: the console tries again every "
                 "second.")
    return text + _detail(e)


BELT_NOT_SERVED = re.compile(r"belt screen not served on (?P<host>\S+):(?P<port>\d+): "
                             r"(?P<detail>.*)")


def belt_screen_problem_text(port: int | str, detail: str) -> str:
    """The patient's screen could not start (best effort: the session runs without it)."""
    if "[Errno 98]" in detail or "address already in use" in detail.lower():
        text = _("The belt screen could not start: port {port} is in use by another "
                 "program. The session runs without it; close that program, or the "
                 "technician chooses another port for the belt screen in the config.")
    else:
        text = _("The belt screen could not start on port {port}. The session runs "
                 "without it; tell the technician.")
    return text.format(port=port) + _detail(detail)


def _mss(s: float | None) -> str:
    """An amount of time told after the fact, as people say it ("3 min 15 s", "25 s"): the
    rule for the console, the belt screen and the summaries (a running clock or countdown
    is m:ss, 3:05)."""
    from controller.core.i18n import format_duration

    if s is None:
        return "—"
    return format_duration(max(0, round(s)))


def interval_summary_line(iv: dict[str, Any]) -> str:
    """One interval of the end-of-session summary: seconds in and above the zone, not the
    rule's percentage (that counts only after the first minute, and read as "100 % in zone"
    beside 25 s above it); no time above the zone is left out, never "0:00 above"."""
    above = iv.get("above_95_s")
    if iv["time_to_zone_s"] is None:
        if above:
            return _("interval {n}: zone not reached · {above} above · peak {peak}").format(
                n=iv["interval"], above=_mss(above), peak=iv["peak_hr_bpm"])
        return _("interval {n}: zone not reached · peak {peak}").format(
            n=iv["interval"], peak=iv["peak_hr_bpm"])
    if above:
        return _("interval {n}: zone after {time} · {in_zone} in zone · {above} above "
                 "· peak {peak}").format(n=iv["interval"], time=_mss(iv["time_to_zone_s"]),
                                         in_zone=_mss(iv.get("in_zone_s")), above=_mss(above),
                                         peak=iv["peak_hr_bpm"])
    return _("interval {n}: zone after {time} · {in_zone} in zone · peak {peak}").format(
        n=iv["interval"], time=_mss(iv["time_to_zone_s"]), in_zone=_mss(iv.get("in_zone_s")),
        peak=iv["peak_hr_bpm"])


def hrmax_estimate_why(p: dict[str, Any]) -> str:
    """How a 6-minute test's HRmax proposal was made, from its numbers, in the UI's language
    (the estimate's own ``explanation`` is English, for logs): ``p`` has ``source``,
    ``rpe``, ``hr_end_bpm`` and ``floored`` as the proposal the service sends."""
    from controller.core.hrmax import rpe_to_hrmax_fraction
    from controller.core.i18n import format_number

    if p.get("source") != "six_minute_test" or p.get("hr_end_bpm") is None:
        return _("Borg {rpe} is too light for the Borg relation: the age formula's "
                 "HRmax.").format(rpe=p.get("rpe"))
    # '% HRmax', not '% of HRmax': Babel reads '% o' as a %-placeholder
    why = _("Mean heart rate in the last minute {hr} bpm at Borg {rpe} (≈ {pct} % "
            "HRmax).").format(hr=format_number(p["hr_end_bpm"], 0), rpe=p.get("rpe"),
                              pct=format_number(rpe_to_hrmax_fraction(p["rpe"]) * 100, 0))
    if p.get("floored"):
        why += " " + _("Raised to the peak seen + 5 bpm.")
    return why


PLAN_INCLINE_MIN = N_("the 4x4 plan needs a max incline of at least {value} %")
"""A patient whose incline cap the plan cannot meet, as the patient form and the demo say
it (issue 21: the demo's service failed on it, in English, in its log)."""


def plan_misfit_text(e: Any) -> str:
    """A ``PlanError`` of a plan that does not fit a patient's caps, in the UI's language:
    the form's short words for the incline, the coded refusal otherwise (never the English
    log text with a field's key)."""
    from controller.core.i18n import format_number

    if e.code == "plan_incline_min":
        needed = float(e.params.get("needed_pct", 0))
        return _(PLAN_INCLINE_MIN).format(
            value=format_number(needed, 0 if needed.is_integer() else 1))
    return refusal_text(e.code, e.params)


WARNING_COLOUR = "dark_orange"
"""A warning's colour on every screen (the console's alarm box and the monitor's row): amber,
the one the staff docs call «oransje» (issue 23: the console drew it yellow, the monitor
orange, and the docs said both). Alarms are red; yellow is a heart rate below its zone."""


WHOLE_NUMBER_WORDS = {"age": N_("age is in whole years, e.g. {example}"),
                      "hr_max": N_("HRmax is a whole number of bpm, e.g. {example}"),
                      "hr_rest": N_("HRrest is a whole number of bpm, e.g. {example}")}
"""Fields that take whole numbers only, and the words a fraction is refused with: one place
for the patient form and the CLI's ``patient`` (the trial: "45,5" years and bpm were taken;
issue 21: the CLI saved ``--makspuls 178,5`` as 179 without a word)."""
WHOLE_NUMBER_EXAMPLES = {"age": 45, "hr_max": 178, "hr_rest": 65}
"""The example each whole-number field's refusal gives (the form's own examples)."""


TERMINAL_WIDTH = 80
"""The terminal the command line's and the headless demo's text fits (trial 13: a phase line
of 143 characters; trial 15: `fremgang` 110 wide)."""


def terminal_lines(text: str, indent: int = 0) -> list[str]:
    """``text`` in lines of at most ``TERMINAL_WIDTH`` characters, the first as it begins and
    the later ones indented by ``indent``, broken between words only (a number with its unit
    is one word: the catalog joins them with a no-break space; a file's path stays whole)."""
    lead = len(text) - len(text.lstrip(" "))
    return textwrap.wrap(text[lead:], TERMINAL_WIDTH, initial_indent=" " * lead,
                         subsequent_indent=" " * indent, break_long_words=False,
                         break_on_hyphens=False) or [text]
