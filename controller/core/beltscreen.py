"""What the belt screen tells a patient who is running, decided without I/O (time passed in).

Theory of operation
-------------------
The belt screen is read from about 3 m by someone running, often anxious. Three rules shape
what it says, and they live here, sans-IO, so tests can walk them tick by tick:

1. **One number, one verdict.** The zone word is judged on the numbers the screen shows: the
   heart rate and the zone edges rounded the same way (``shown_bpm``), edges inclusive. 168
   beside "Target 168–188" is in the zone.
2. **Hysteresis.** A heart rate wobbling at an edge must not make the word, colour and shape
   flicker. Entering the zone shows at once (it agrees with the numbers and is good news);
   leaving it shows only after the heart rate stayed outside for ``ZONE_LEAVE_S``, so the word
   changes at most once per that many seconds however the reading wobbles.
3. **Calm where the physiology is expected.** The warm-up climb, the first minutes of an
   interval (the clinic's allowance: 120 s for the first, 60 s later), a recovery and the
   cool-down (the heart rate comes down), a pause: no coloured verdict, a calm sentence. A
   missing reading is said ("can't find your heart rate") only when there has been no valid
   one for ``HR_MISSING_S`` (the session holds the belt at the same moment); a shorter gap
   keeps the last value.

The seconds in the zone (each interval's positive counter, the line after it, the week's
goal while it happens) are not counted here: they are ``metrics.IntervalTally``'s, scored
over the ticks the store records, so the belt screen, the console and the report say one
number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.core.metrics import (  # shown_bpm, zone_of: the one rule, kept in metrics
    ALLOWANCE_FIRST_S,
    ALLOWANCE_LATER_S,
    shown_bpm,
    zone_of,
)

__all__ = ["shown_bpm", "zone_of"]

ZONE_LEAVE_S = 5.0
"""Seconds outside the zone before the screen says so (and the least time between changes)."""
HR_MISSING_S = 5.0
"""Seconds without a valid reading before the screen says it cannot find the heart rate:
the same moment the session starts holding the belt (``protocol.HR_HOLD_AFTER_S``)."""

VERDICTS = ("below", "in", "above")
CALM_KINDS = ("ready", "warmup", "climb", "down", "pause", "steady")
"""Why the screen is calm: before the start, the warm-up climb, the climb at the start of an
interval, a heart rate coming down (recovery, cool-down, stopping), a pause, a test."""


@dataclass
class ZoneHysteresis:
    """The zone word with hysteresis: into the zone at once, out of it after ``leave_s``
    outside without a break; between below and above at once (it passes through the zone)."""

    leave_s: float = ZONE_LEAVE_S
    zone: str | None = None
    _out_since: float | None = None

    def update(self, now_s: float, raw: str | None) -> str | None:
        if raw is None:
            self.zone, self._out_since = None, None
        elif self.zone != "in" or raw == "in":
            self.zone, self._out_since = raw, None
        else:
            if self._out_since is None:
                self._out_since = now_s
            if now_s - self._out_since >= self.leave_s:
                self.zone, self._out_since = raw, None
        return self.zone

    def reset(self) -> None:
        self.zone, self._out_since = None, None


@dataclass(frozen=True)
class Inputs:
    """One look at the session: what the runtime knows now."""

    now_s: float
    phase: str
    state: str
    interval: int
    phase_elapsed_s: float
    hr_bpm: float | None
    zone_low_bpm: float | None
    zone_high_bpm: float | None
    hr_max_bpm: float | None


@dataclass(frozen=True)
class Shown:
    """What the heart panel shows. ``kind`` is a verdict (below / in / above), a calm reason
    (``CALM_KINDS``) or ``missing`` (no valid reading for ``HR_MISSING_S``)."""

    hr_bpm: int | None
    kind: str
    low_bpm: int | None
    high_bpm: int | None


@dataclass
class BeltScreen:
    """The screen's memory between looks: hysteresis, the last valid reading and how long
    each interval ran.

    >>> screen = BeltScreen()
    >>> shown = screen.update(Inputs(now_s, "interval", "running", 1, 130.0, 150.0, 155.6,
    ...                              173.9, 183.0))
    """

    zone: ZoneHysteresis = field(default_factory=ZoneHysteresis)
    ran_s: dict[int, float] = field(default_factory=dict)
    """How long each interval ran (its phase clock, which a pause freezes): a skipped one
    shows as short, and only a session whose intervals ran is called complete."""
    _last_hr: tuple[float, float] | None = None  # (bpm, when)
    _where: tuple[str, int] | None = None

    def update(self, i: Inputs) -> Shown:
        if (i.phase, i.interval) != self._where:  # a new phase starts its own verdict
            self._where = (i.phase, i.interval)
            self.zone.reset()
        if i.hr_bpm is not None:
            self._last_hr = (i.hr_bpm, i.now_s)
        hr: float | None = i.hr_bpm
        if hr is None and self._last_hr is not None and \
                i.now_s - self._last_hr[1] < HR_MISSING_S:
            hr = self._last_hr[0]  # a short gap: keep the last value, say nothing
        hr_shown = None if hr is None else shown_bpm(hr)
        lo = None if i.zone_low_bpm is None else shown_bpm(i.zone_low_bpm)
        hi = None if i.zone_high_bpm is None else shown_bpm(i.zone_high_bpm)
        raw = None if hr_shown is None or lo is None or hi is None else zone_of(hr_shown, lo, hi)
        running = i.state == "running"
        counting = i.phase == "interval" and i.interval > 0
        if counting:
            self.ran_s[i.interval] = max(self.ran_s.get(i.interval, 0.0), i.phase_elapsed_s)
        verdict = self.zone.update(i.now_s, raw) if running else None
        if self.zone.zone is not None and not running:
            self.zone.reset()
        kind = self._kind(i, hr_shown, verdict)
        return Shown(hr_shown, kind, lo, hi)

    @staticmethod
    def _kind(i: Inputs, hr_shown: int | None, verdict: str | None) -> str:
        if hr_shown is None or i.state in ("hr_hold", "hr_slow"):
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
            return verdict
        return "steady"


RAN_FRAC = 0.75
"""An interval counts as run when it ran at least this share of its planned time (a skip in
its last minute still leaves a session of four intervals; a skip at the start does not)."""


def intervals_ran_count(ran_s: dict[int, float], planned_s: list[float]) -> int:
    """How many intervals of the plan (``planned_s``, in order) ran ``RAN_FRAC`` of their
    time (``ran_s``: interval → seconds it ran, a pause not counted)."""
    return sum(1 for k, p in enumerate(planned_s, 1) if ran_s.get(k, 0.0) >= RAN_FRAC * p)


def intervals_ran(ran_s: dict[int, float], planned_s: list[float]) -> bool:
    """Every interval of the plan (``planned_s``, in order) ran ``RAN_FRAC`` of its time:
    the one rule for "the session is complete" on the belt screen, in the streak and in
    the store (``records.stats.session_complete``)."""
    return intervals_ran_count(ran_s, planned_s) == len(planned_s)
