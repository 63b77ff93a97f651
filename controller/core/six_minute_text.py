"""What a 6-minute test measured and what became of its HRmax proposal, in the reader's
language: the console's end summary and the session report say the same lines (the trial: the
report had none of them)."""

from __future__ import annotations

from typing import Any

from controller.core.i18n import _


def six_minute_measure_lines(measures: dict[str, Any] | None) -> list[str]:
    """What a 6-minute test measured (``core.summary.six_minute_measures``): the distance
    in the test and its highest heart rate, in the UI's language. The test's end summary
    says these, never zone figures: a 6-minute test has no zone (issue 21)."""
    from controller.core.i18n import format_number

    if not measures:
        return []
    lines = [_("Distance in the test: {metres} m").format(
        metres=format_number(measures["distance_m"], 0))]
    if measures.get("peak_hr_bpm") is not None:
        lines.append(_("Highest heart rate in the test: {hr} bpm").format(
            hr=format_number(measures["peak_hr_bpm"], 0)))
    return lines


def six_minute_length_line(ran_s: float, extended_s: float) -> str | None:
    """A 6-minute test staff extended: by how much and how long it ran, as its distance and
    highest heart rate are over that time (the trial: the report said «forlenget» with no
    «1 min»); None for a test not extended."""
    from controller.core.i18n import format_duration

    if extended_s < 1:
        return None
    return _("The test was extended by {extended}: it ran {ran}, and its distance is over "
             "that time").format(extended=format_duration(round(extended_s)),
                                 ran=format_duration(round(ran_s)))


def large_change_warning(proposed_bpm: float, in_use_bpm: float) -> str | None:
    """The warning on a proposal far from the HRmax in use (``LARGE_CHANGE_BPM``), said as
    what it means: the proposal screen at the desk and the pulstest demo say the same (issue
    21: the demo said nothing against the patient's makspuls in use); None for a small
    change."""
    from controller.core.hrmax import LARGE_CHANGE_BPM
    from controller.core.i18n import format_number

    change = proposed_bpm - in_use_bpm
    if abs(change) < LARGE_CHANGE_BPM:
        return None
    warning = _("Warning: the proposal is {change} bpm higher than the HRmax in "
                "use. Check the test (pace, medication, strap) before accepting "
                "it.") if change > 0 else \
        _("Warning: the proposal is {change} bpm lower than the HRmax in use. "
          "Check the test (pace, medication, strap) before accepting it.")
    return warning.format(change=format_number(abs(change), 0))


def hrmax_decision_text(proposal: dict[str, Any]) -> str:
    """What became of a 6-minute test's HRmax proposal, as the end summary says it."""
    from controller.core.i18n import format_number

    decision = proposal.get("decision")
    if decision == "accepted":
        return _("accepted by staff")
    if decision == "edited" and proposal.get("value_bpm") is not None:
        return _("edited by staff to {value} bpm").format(
            value=format_number(proposal["value_bpm"], 0))
    if decision == "edited":
        return _("edited by staff")
    if decision == "rejected":
        return _("rejected: the HRmax in use is kept")
    # after the proposal's own colon (trial 14: «…: ikke avgjort: ikke lagret»)
    return _("not decided, not stored")


def _no_proposal_decision(proposal: dict[str, Any]) -> str:
    """Staff's decision where the test proposed nothing (interrupted, or a Borg rating the
    method cannot use): nothing was proposed, so nothing was rejected (trial 9: «avvist»)."""
    from controller.core.i18n import format_number

    if proposal.get("decision") == "edited" and proposal.get("value_bpm") is not None:
        return _("HRmax typed by staff: {value} bpm").format(
            value=format_number(proposal["value_bpm"], 0))
    if proposal.get("decision") == "rejected":
        return _("the HRmax in use is kept")
    return hrmax_decision_text(proposal)


def six_minute_summary_lines(measures: dict[str, Any] | None,
                             proposal: dict[str, Any] | None) -> list[str]:
    """The console's end summary of a 6-minute test: distance, highest heart rate, the
    Borg rating, the proposed HRmax and staff's decision (or that it is still to come)."""
    from controller.core.i18n import format_number

    lines = six_minute_measure_lines(measures)
    if not proposal:
        lines.append(_("Borg rating not given yet: it makes the HRmax proposal (t)"))
        return lines
    if proposal.get("rpe") is not None:  # (never «None»: a proposal read without it)
        lines.append(_("Borg rating at the end: {rpe}.").format(rpe=proposal["rpe"])
                     .rstrip("."))  # a list, as the lines above: no full stop
    if proposal.get("no_estimate"):  # a rating the method cannot use: kept, no proposal
        lines.append(_("No HRmax proposal from this Borg rating; {decision}").format(
            decision=_no_proposal_decision(proposal)))
        return lines
    if proposal.get("hr_max_bpm") is None:  # an interrupted test proposes nothing
        from controller.core.i18n import format_duration

        lines.append(_("The test was interrupted after {time}: no HRmax proposal; "
                       "{decision}").format(
            time=format_duration(round(proposal.get("interrupted_after_s") or 0)),
            decision=_no_proposal_decision(proposal)))
        return lines
    if proposal.get("uncertainty_bpm") is None:  # a record keeps the value, not its ±
        lines.append(_("Proposed HRmax {hr_max} bpm: {decision}").format(
            hr_max=format_number(proposal["hr_max_bpm"], 0),
            decision=hrmax_decision_text(proposal)))
    else:
        lines.append(_("Proposed HRmax {hr_max} ± {unc} bpm: {decision}").format(
            hr_max=format_number(proposal["hr_max_bpm"], 0),
            unc=format_number(proposal["uncertainty_bpm"], 0),
            decision=hrmax_decision_text(proposal)))
    return lines
