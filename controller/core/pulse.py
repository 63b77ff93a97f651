"""The one decision about the heart rate during a dropout, which every screen follows.

Issue 21 (a bokmål trial): for a moment the belt screen showed «● 164 · I sonen» while the
staff console said «venter på puls – holder farten» with no number. Each read the dropout its
own way: the console took the tick's missing reading as a hold (the session still ran), the
belt screen kept its own memory of the last reading and, once the strap had a reading again,
showed it while the session still held the belt.

One rule now, decided on what the session publishes (sans-IO, the clock passed in):

* the session **holds or slows for a lost heart rate** (its state ``hr_hold`` / ``hr_slow``):
  there is no valid heart rate, on every screen: no number, no zone word; a reading the strap
  has again is shown from the session's next tick, when it resumes;
* otherwise the heart rate shown is the last one the session's gate believed, for
  ``KEEP_S`` after it (a short gap, a beat or two: the session runs on, and so does the
  screen); after that, none.

``KEEP_S`` is the session's own hold time (``protocol.HR_HOLD_AFTER_S``): while the session
runs, a gap the screens bridge is one the session has not yet called lost.
"""

from __future__ import annotations

LOST_STATES = ("hr_hold", "hr_slow")
"""The session's states of a lost heart rate (``protocol.Session._state_name``)."""
KEEP_S = 5.0
"""Seconds a believed reading stays shown (``protocol.HR_HOLD_AFTER_S``)."""


RUNNING_STATES = ("running", *LOST_STATES)
"""A running session's states: its heart-rate level (none, hold, slow) while it runs."""


def session_state(tick_state: str, session_now: str | None) -> str:
    """The state every screen shows: the last tick's (``tick_state``), with the heart-rate
    level the session holds now (``session_now``) while both say it runs. The session
    decides the level on a tick and holds its alarm from then on; the tick's snapshot is
    published only once its set-point went to the board (issue 21: the header said hold
    beside the slow alarm while the board was slow to answer).

    >>> session_state("hr_hold", "hr_slow"), session_state("paused", "hr_slow")
    ('hr_slow', 'paused')
    """
    if tick_state in RUNNING_STATES and session_now in RUNNING_STATES:
        return session_now
    return tick_state


def pulse_lost(state: str | None) -> bool:
    """The session holds or slows the belt because it has no valid heart rate."""
    return state in LOST_STATES


def shown_pulse(now_s: float, state: str | None,
                last: tuple[float, float] | None) -> float | None:
    """The heart rate a screen shows: ``last`` is (bpm, when) of the last reading the
    session's gate believed; none while the session says the heart rate is lost.

    >>> shown_pulse(10.0, "running", (150.0, 7.0)), shown_pulse(10.0, "hr_hold", (150.0, 9.9))
    (150.0, None)
    """
    if pulse_lost(state) or last is None:
        return None
    bpm, when = last
    return bpm if now_s - when < KEEP_S else None
