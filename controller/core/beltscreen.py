"""What the belt screen tells a patient who is running, decided without I/O (time passed in).

Theory of operation
-------------------
The belt screen is read from about 3 m by someone running, often anxious. Three rules shape
what it says, and they live here, sans-IO, so tests can walk them tick by tick:

1. **One number, one verdict.** The zone word is judged on the numbers the screen shows: the
   heart rate and the zone edges rounded the same way (``shown_bpm``), edges inclusive. 168
   beside "Target 168–188" is in the zone.
2. **Calm and true at an edge.** A heart rate wobbling at an edge must not make the word,
   colour and shape flicker, and the word must never contradict the number beside it (the
   trial: "I sonen" for 167 beside "Mål 168–188", held by a time hysteresis). The word is
   kept while it is true of the numbers shown; within ``EDGE_BPM`` of an edge the screen
   says "at the edge of the zone", which is true on both sides of it, so a wobble across the
   edge changes the word once. The good news follows once the heart rate has stayed in the
   zone for ``IN_ZONE_AFTER_S``; a word that stops being true within ``ZONE_SETTLE_S`` of the
   last change (a wide wobble) gives way to the neutral "your heart rate" until one word has
   held for ``ZONE_SETTLE_S``. In the warm-up the target shown is the controller's one
   number ("Mål 131"): the word is judged on it (from it up to the warm-up zone's top).
3. **Calm where the physiology is expected.** The warm-up climb, the first minutes of an
   interval (the clinic's allowance: 120 s for the first, 60 s later), a recovery and the
   cool-down (the heart rate comes down), a pause: no coloured verdict, a calm sentence. A
   missing reading is said ("can't find your heart rate") when no heart rate is shown: the
   one decision every screen follows (``core.pulse``): none while the session holds or slows
   for a lost heart rate, the last valid one through a shorter gap.

The seconds in the zone (each interval's positive counter, the line after it, the week's
goal while it happens) are not counted here: they are ``metrics.IntervalTally``'s, scored
over the ticks the store records, so the belt screen, the console and the report say one
number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controller.core.metrics import (  # shown_bpm, zone_of: the one rule, kept in metrics
    ALLOWANCE_FIRST_S,
    ALLOWANCE_LATER_S,
    shown_bpm,
    zone_of,
)
from controller.core.pulse import KEEP_S, pulse_lost

__all__ = ["shown_bpm", "zone_of"]

EDGE_BPM = 2
"""Shown slag/min either side of an edge of the target shown where the screen says "at the
edge of the zone": a strap's second-to-second wobble (a few slag/min) stays inside it."""
IN_ZONE_AFTER_S = 3.0
"""Seconds in the zone, without a break, before "at the edge" turns into "in the zone"."""
READING_GAP_S = 2.0
"""A gap between two readings longer than this breaks the time in the zone: a strap reads
about once a second, and two readings in the zone with nothing between them do not show
the heart rate stayed there."""
ZONE_SETTLE_S = 5.0
"""The least time between two forced changes of word; within it the neutral word is shown."""
HR_MISSING_S = KEEP_S
"""Seconds without a valid reading before the screen says it cannot find the heart rate:
the same moment the session starts holding the belt (``protocol.HR_HOLD_AFTER_S``). The
reading shown is decided before it comes here (``core.pulse.shown_pulse``)."""

VERDICTS = ("below", "in", "above")
CALM_KINDS = ("ready", "warmup", "climb", "down", "pause", "steady", "edge")
"""Why the screen is calm: before the start, the warm-up climb, the climb at the start of an
interval, a heart rate coming down (recovery, cool-down, stopping), a pause, a test (or the
neutral word at a wide wobble), a heart rate at the edge of the zone."""


def near_edge(hr_shown: int, low_shown: int, high_shown: int) -> bool:
    """Within ``EDGE_BPM`` of an edge of the target shown: "at the edge of the zone" is true
    on both sides of it."""
    return abs(hr_shown - low_shown) <= EDGE_BPM or abs(hr_shown - high_shown) <= EDGE_BPM


def word_true(word: str, hr_shown: int, low_shown: int, high_shown: int) -> bool:
    """Whether the zone word is true of the numbers shown ("steady", "your heart rate",
    says nothing about the target: always true)."""
    if word in VERDICTS:
        return zone_of(hr_shown, low_shown, high_shown) == word
    if word == "edge":
        return near_edge(hr_shown, low_shown, high_shown)
    return True


@dataclass
class ZoneWord:
    """The zone word (below / edge / in / above, or the neutral steady), always true of the
    numbers shown and calm: first the verdict, then kept while it is true; when it stops
    being true, "edge" if the heart rate is near an edge, else the verdict. Leaving the edge
    onwards (the way the heart rate was going) is at once; back the way it came, or from one
    verdict straight to another, within ``settle_s`` of the last change is the neutral word
    instead, left when one word has held for ``settle_s``. "Edge" turns into "in" after
    ``in_after_s`` in the zone, without a break: a reading outside it, or a gap of more
    than ``READING_GAP_S`` between readings (``now_s`` is the reading's time).

    >>> z = ZoneWord()
    >>> [z.update(float(t), hr, 168, 188) for t, hr in enumerate((172, 167, 168, 167))]
    ['in', 'edge', 'edge', 'edge']
    """

    settle_s: float = ZONE_SETTLE_S
    in_after_s: float = IN_ZONE_AFTER_S
    word: str | None = None
    _changed_s: float = -math.inf
    _edge_from: str | None = None  # the verdict before the edge: which side it came from
    _best_since: tuple[str, float] | None = None  # the word that would be said, since when
    _in_since: float | None = None
    _last_s: float | None = None  # the time of the last look (the reading's, on the screen)

    def update(self, now_s: float, hr: int | None, low: int | None,
               high: int | None) -> str | None:
        if hr is None or low is None or high is None:
            self.reset()
            return None
        raw = zone_of(hr, low, high)
        if self._last_s is not None and now_s - self._last_s > READING_GAP_S:
            self._in_since = None  # no readings in between: the time in the zone starts again
        self._last_s = now_s
        self._in_since = (self._in_since if self._in_since is not None else now_s) \
            if raw == "in" else None
        best = "edge" if near_edge(hr, low, high) else raw
        if self._best_since is None or self._best_since[0] != best:
            self._best_since = (best, now_s)
        w = self.word
        if w is None:  # the first look: the plain verdict (168 beside 168–188 is in)
            self._set(raw, now_s)
        elif w == "steady":
            if now_s - self._best_since[1] >= self.settle_s:
                self._set(best, now_s)
        elif not word_true(w, hr, low, high):
            onwards = w == "edge" and best != self._edge_from
            if best == "edge" or onwards or now_s - self._changed_s >= self.settle_s:
                self._set(best, now_s)
            else:
                self._set("steady", now_s)
        elif w == "edge" and self._in_since is not None and \
                now_s - self._in_since >= self.in_after_s:
            self._set("in", now_s)
        return self.word

    def _set(self, word: str, now_s: float) -> None:
        if word == "edge":
            self._edge_from = self.word if self.word in VERDICTS else None
        self.word, self._changed_s = word, now_s

    def reset(self) -> None:
        self.word, self._changed_s, self._edge_from = None, -math.inf, None
        self._best_since, self._in_since, self._last_s = None, None, None


@dataclass(frozen=True)
class Inputs:
    """One look at the session: what the runtime knows now."""

    now_s: float
    phase: str
    state: str
    interval: int
    phase_elapsed_s: float
    hr_bpm: float | None
    """The heart rate to show, as every screen shows it (``core.pulse.shown_pulse``)."""
    zone_low_bpm: float | None
    zone_high_bpm: float | None
    hr_max_bpm: float | None
    target_bpm: float | None = None
    """The controller's target: in the warm-up, the one number the screen shows."""
    hr_at_s: float | None = None
    """When the reading shown was taken (``now_s`` when not known): the zone word's clock.
    Its hysteresis counts the heart rate's time, so a reading held on screen through a
    short gap never turns into "in the zone for 3 s"."""


@dataclass(frozen=True)
class Shown:
    """What the heart panel shows. ``kind`` is a verdict (below / in / above), a calm reason
    (``CALM_KINDS``) or ``missing`` (no heart rate to show: ``core.pulse``); ``low_bpm`` to
    ``high_bpm`` is the target the word was judged on (in the warm-up from the controller's
    target up)."""

    hr_bpm: int | None
    kind: str
    low_bpm: int | None
    high_bpm: int | None


@dataclass
class BeltScreen:
    """The screen's memory between looks: hysteresis, the last valid reading and how long
    each interval ran.

    >>> screen = BeltScreen()
    >>> screen.update(Inputs(0.0, "interval", "running", 1, 130.0, 150.0, 155.6, 173.9,
    ...                      183.0)).kind
    'below'
    """

    zone: ZoneWord = field(default_factory=ZoneWord)
    ran_s: dict[int, float] = field(default_factory=dict)
    """How long each interval ran (its phase clock, which a pause freezes): a skipped one
    shows as short, and only a session whose intervals ran is called complete."""
    _where: tuple[str, int] | None = None

    def update(self, i: Inputs) -> Shown:
        if (i.phase, i.interval) != self._where:  # a new phase starts its own verdict
            self._where = (i.phase, i.interval)
            self.zone.reset()
        # the heart rate shown is decided once, for every screen (``core.pulse``): none
        # while the session holds or slows for a lost heart rate, whatever the strap says
        hr = None if pulse_lost(i.state) else i.hr_bpm
        hr_shown = None if hr is None else shown_bpm(hr)
        lo = None if i.zone_low_bpm is None else shown_bpm(i.zone_low_bpm)
        hi = None if i.zone_high_bpm is None else shown_bpm(i.zone_high_bpm)
        # the warm-up shows its band (about 60–70 % of makspuls), as the console does: the
        # controller's rising target began at the start's heart rate («Mål 71», issue 21)
        running = i.state == "running"
        counting = i.phase == "interval" and i.interval > 0
        if counting:
            self.ran_s[i.interval] = max(self.ran_s.get(i.interval, 0.0), i.phase_elapsed_s)
        at_s = i.hr_at_s if i.hr_at_s is not None else i.now_s  # the reading's own time
        verdict = self.zone.update(at_s, hr_shown, lo, hi) if running else None
        if self.zone.word is not None and not running:
            self.zone.reset()
        kind = self._kind(i, hr_shown, verdict)
        return Shown(hr_shown, kind, lo, hi)

    @staticmethod
    def _kind(i: Inputs, hr_shown: int | None, verdict: str | None) -> str:
        # one truth in the heart panel: "can't find your heart rate" shows no number (the
        # trial: "?159" beside it); a reading the strap has again is shown from the
        # session's next tick, when it resumes (the trial: «● 164 · I sonen» on the belt
        # while the console said the session held for a lost pulse)
        if hr_shown is None:
            return "missing" if i.phase != "done" else "down"
        if i.state == "paused":
            return "pause"
        if i.state in ("stopping", "done") or i.phase in ("recovery", "cooldown", "done"):
            return "down" if verdict != "in" else "in"
        if i.phase == "ready":
            return "ready"
        if i.phase == "warmup":
            return "warmup" if verdict != "in" else "in"
        if i.phase == "interval" and verdict is not None:
            allowance = ALLOWANCE_FIRST_S if i.interval <= 1 else ALLOWANCE_LATER_S
            if verdict == "below" and i.phase_elapsed_s < allowance:
                return "climb"
            return verdict  # below / in / above, or the calm edge / steady
        return "steady"


RAN_FRAC = 0.75
"""An interval counts as run when it ran at least this share of its planned time (a skip in
its last minute still leaves a session of four intervals; a skip at the start does not)."""


def interval_ran(ran_s: float, planned_s: float) -> bool:
    """An interval planned for ``planned_s`` that ran ``ran_s`` (a pause not counted) ran:
    at least ``RAN_FRAC`` of its time."""
    return ran_s >= RAN_FRAC * planned_s


def intervals_ran_count(ran_s: dict[int, float], planned_s: list[float]) -> int:
    """How many intervals of the plan (``planned_s``, in order) ran ``RAN_FRAC`` of their
    time (``ran_s``: interval → seconds it ran, a pause not counted)."""
    return sum(1 for k, p in enumerate(planned_s, 1) if interval_ran(ran_s.get(k, 0.0), p))


def intervals_ran(ran_s: dict[int, float], planned_s: list[float]) -> bool:
    """Every interval of the plan (``planned_s``, in order) ran ``RAN_FRAC`` of its time:
    the one rule for "the session is complete" on the belt screen, in the streak and in
    the store (``records.stats.session_complete``)."""
    return intervals_ran_count(ran_s, planned_s) == len(planned_s)


def load_rising_for_interval(lead_s: float, remaining_s: float | None) -> bool:
    """Whether the control law is raising the load for the coming interval now (its
    preview: from ``lead_s`` before the interval begins, ``Session.change_lead_s``; 0 when
    it does not look ahead). The belt page and the console say so then: a patient told
    «gå rolig» while the belt got heavier read a contradiction (s10), and staff saw the set
    speed climb in an active pause with nothing saying why."""
    return lead_s > 0.0 and remaining_s is not None and remaining_s <= lead_s
