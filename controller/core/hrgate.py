"""The one heart-rate gate: every strap reading, from every source, passes here once.

Theory of operation
-------------------
``HrGate.update(reading) -> GateVerdict`` is the only way a reading enters; time comes in with
the reading (``now_s``), nothing here sleeps or reads a clock. The session owns one gate per
session; sources and the runtime only convert what the strap sent into an ``HrReading`` with
whatever **beat evidence** it carries: the beat count and beat time (ANT+), RR intervals (ANT+
page 4, BLE) and the sensor-contact bit (BLE). Nothing else may change the gate's state.

The beats are the evidence, the value is the claim. When a strap sends beat timing, a reading
whose value disagrees with the heart rate of its own beats by more than max(12 bpm, 15 %) is
refused — for as long as it lasts, so a persistent halving or doubling of the *value* is never
believed. A smaller disagreement than that but more than max(5 bpm, 4 %) (a value that sticks
while the beats go on) is steered on the beats: the verdict carries the beats' rate.
"Frozen" means no new beat for 5 s, judged on the beats; only a strap that sends no beat
timing at all is judged on its value (the very same value for 20 s).

**Beats from the same detector are not independent evidence** (issue 22). A dry or badly
placed strap that misses every other R-wave halves its beat count, beat times, RR intervals
*and* value together; one that counts T-waves doubles them. So every reading, confirmed by its
beats or not, must also be a change physiology allows (``physiology`` check): compared with
every reading believed in the last ``TRUST_WINDOW_S`` it may not have fallen by more than
``FALL_FRAC`` (25 %) or risen by more than ``RISE_FRAC`` (45 %), the band widening by
``TRAJECTORY_FALL_BPM_PER_S`` / ``TRAJECTORY_RISE_BPM_PER_S`` for every second since that
reading (a plausible trajectory). A reading outside is **suspect** (``missing_beats`` when it
fell, ``double_counting`` when it rose, or ``halved`` / ``doubled`` near 0.5× / 2× of the
believed level) until it is inside the band (it came back, or the band widened to it). A
reading near 0.5× or 2× of the believed level is never admitted by widening (nor after a
dropout, where only this ratio rule applies and the level check judges the rest): only when the
session's own model of the patient's response at the current load (``expected_bpm``, set by
the session on every tick its control law ran) expects it rather than the old level.
``suspect_since`` says since when the strap has given nothing but such artefacts; the session
holds the workload (it never rises) while it is set and alarms staff (``strap_alarm``) once it
lasted ``STRAP_ALARM_AFTER_S``.

Without beat evidence (the research API's one reading per tick, a simulated strap, a strap
that sends no timing), a reading is judged against the reference level (median of recent
accepted readings): within max(20 bpm, 15 %) it is accepted; otherwise a candidate new level
must agree with itself for 8 s (20 s when it looks doubled or halved). After a dropout the
old level is only a hint: within the tolerance widened by 1.5 bpm per second of gap (at most
20 bpm more) a reading is accepted at once and becomes the new reference; farther away it is
accepted once it agreed with itself for 3 s.

Checks, in order (the first that fails refuses the reading with its reason):

=========  =====================================================================  =============
check      refuses when                                                           reason
=========  =====================================================================  =============
reading    value missing or 0                                                     no_reading
contact    the strap says it has no skin contact (BLE contact bits)               no_contact
range      outside 30–230 bpm or not a number                                     out_of_range
frozen     no new beat for 5 s (beats) / same value for 20 s (value-only straps)  frozen
beats      value ≠ beats' heart rate by > max(12 bpm, 15 %)                       doubled,
                                                                                  halved,
                                                                                  beats_mismatch,
                                                                                  rr_mismatch
physiology a change physiology does not allow (see above)                          missing_beats,
                                                                                  double_counting,
                                                                                  halved, doubled
level      the state table below                                                  jump, doubled,
                                                                                  halved
=========  =====================================================================  =============

State table of the level check (``TRANSITIONS``; a reading the beats confirmed is ``CONFIRMED``):

==========  ================================  ===========  =================================
state       reading                           next state   verdict
==========  ================================  ===========  =================================
EMPTY       any                               TRACKING     accepted, becomes the reference
TRACKING    NEAR or CONFIRMED                 TRACKING     accepted
TRACKING    FAR                               SUSPECT      refused, candidate starts
SUSPECT     NEAR or CONFIRMED                 TRACKING     accepted, candidate dropped
SUSPECT     FAR, candidate held long enough   TRACKING     accepted, candidate = reference
SUSPECT     FAR otherwise                     SUSPECT      refused (candidate restarts when
                                                           the reading disagrees with it)
REACQUIRE   NEAR_WIDENED or CONFIRMED         TRACKING     accepted, reference reset to it
REACQUIRE   FAR, agreed with itself for 3 s   TRACKING     accepted, reference reset
REACQUIRE   FAR otherwise                     REACQUIRE    refused
==========  ================================  ===========  =================================

Any state but EMPTY moves to REACQUIRE first when no reading passed the checks above the
level for ``REACQUIRE_AFTER_S`` (a dropout: nothing, no contact, out of range, frozen).

The fail-safes count from ``last_beat_s``: the time of the last accepted reading that brought
a new beat (or of the last accepted reading, when the strap sends no beat timing).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from controller.core.fastinit import frozen_init

HR_MIN_BPM = 30.0
HR_MAX_BPM = 230.0
FROZEN_BEATS_S = 5.0
"""No new beat for this long: the strap is not measuring."""
FROZEN_VALUE_S = 20.0
"""A strap without beat timing that repeats the very same value this long is not a heart."""
JUMP_PERSIST_S = 8.0
RATIO_PERSIST_S = 20.0
REACQUIRE_AFTER_S = 3.0
"""No accepted reading for this long is a dropout: the old level becomes only a hint."""
REACQUIRE_CONFIRM_S = 3.0
WIDEN_BPM_PER_S = 1.5
WIDEN_MAX_BPM = 20.0
CANDIDATE_AGREE_BPM = 12.0
BEATS_WINDOW_S = 4.0
"""The beat count and beat time are read over this much of the strap's recent messages: long
enough for a few beats at rest, short enough that the rate after a detector fault is the new
one within seconds (8 s refused genuine readings for up to 7 s after one; issue 22)."""
STEER_AGREE_BPM = 5.0
STEER_AGREE_FRAC = 0.04
"""Value and beats further apart than max(5 bpm, 4 %) (but within the beats check's
tolerance): the value is stuck or lags, the beats are the evidence — steer on them."""
TRUST_WINDOW_S = 15.0
"""Every reading believed this recently bounds how far the next may have moved."""
FALL_FRAC = 0.25
"""A fall of more than 25 % within seconds is not a heart (recovery τ is ~40–130 s)."""
RISE_FRAC = 0.45
"""A rise of more than 45 % within seconds neither (phase I is 10–25 % of a step)."""
TRAJECTORY_FALL_BPM_PER_S = 0.5
TRAJECTORY_RISE_BPM_PER_S = 1.0
"""How fast the plausible band widens with the age of the reading it is drawn from."""
RATIO_BANDS = ((0.4, 0.62), (1.6, 2.3))
"""Near 0.5× or 2× of the believed level: what a detector that misses every other beat or
counts T-waves produces; never admitted by a widening band alone."""
MODEL_AGREE_BPM = 15.0
MODEL_AGREE_FRAC = 0.12
STRAP_ALARM_AFTER_S = 2.0
"""Nothing but artefacts for this long: staff are asked to wet or move the strap."""
SUSPECT_REASONS = frozenset({"doubled", "halved", "beats_mismatch", "rr_mismatch",
                             "missing_beats", "double_counting"})
"""Refusals that say the strap's detector (or its value) is wrong, not merely absent."""


class GateState(StrEnum):
    EMPTY = "empty"
    TRACKING = "tracking"
    SUSPECT = "suspect"
    REACQUIRE = "reacquire"


class Level(StrEnum):
    """How a reading that passed the checks relates to the reference level."""

    CONFIRMED = "confirmed"  # the strap's own beats confirm it
    NEAR = "near"  # within the tolerance (widened after a dropout)
    FAR = "far"


TRANSITIONS: dict[GateState, dict[Level, GateState]] = {
    GateState.EMPTY: {Level.CONFIRMED: GateState.TRACKING, Level.NEAR: GateState.TRACKING,
                      Level.FAR: GateState.TRACKING},
    GateState.TRACKING: {Level.CONFIRMED: GateState.TRACKING, Level.NEAR: GateState.TRACKING,
                         Level.FAR: GateState.SUSPECT},
    GateState.SUSPECT: {Level.CONFIRMED: GateState.TRACKING, Level.NEAR: GateState.TRACKING,
                        Level.FAR: GateState.SUSPECT},
    GateState.REACQUIRE: {Level.CONFIRMED: GateState.TRACKING, Level.NEAR: GateState.TRACKING,
                          Level.FAR: GateState.REACQUIRE},
}
"""Where a reading of each level takes the gate; a FAR reading that persisted long enough
(``_persisted``) goes to TRACKING instead. Nothing else changes the state."""


@frozen_init
@dataclass(frozen=True)
class HrReading:
    """One reading as the strap sent it, with its beat evidence where there is any."""

    now_s: float
    hr_bpm: float | None
    beat_count: int | None = None
    """ANT+: the strap's beat counter (wraps at 256)."""
    beat_time_s: float | None = None
    """ANT+: the time of that beat on the strap's clock (wraps at 64 s)."""
    rr_ms: tuple[float, ...] = ()
    contact: bool | None = None
    """BLE: False when the strap reports no skin contact; None when it cannot tell."""
    value_only: bool = False
    """The strap sends no beat timing at all (a BLE strap without RR): judge "frozen" on
    the value. Simulated and per-tick readings leave it False."""


@frozen_init
@dataclass(frozen=True)
class GateVerdict:
    now_s: float
    hr_bpm: float | None
    """The reading, if believed; None otherwise."""
    reason: str
    """ok, no_reading, no_contact, out_of_range, frozen, doubled, halved, beats_mismatch
    (beat count and time), rr_mismatch (RR intervals), jump."""
    state: GateState
    beats_bpm: float | None = None
    """The heart rate of the strap's own beats, when it sent beat timing."""
    value_bpm: float | None = None
    """The strap's own value when the gate steered on the beats instead (issue 22)."""

    @property
    def valid(self) -> bool:
        return self.hr_bpm is not None


(_HALF_LO, _HALF_HI), (_DOUBLE_LO, _DOUBLE_HI) = RATIO_BANDS


def _in_ratio_band(ratio: float) -> bool:
    """``ratio`` lies in one of ``RATIO_BANDS`` (a detector's half or double): compared
    without a generator, as every reading passes here."""
    return _HALF_LO <= ratio <= _HALF_HI or _DOUBLE_LO <= ratio <= _DOUBLE_HI


class HrGate:
    """See the module docstring.

    >>> gate = HrGate()
    >>> v = gate.update(HrReading(now_s, 142.0, beat_count=17, beat_time_s=12.3))
    >>> v.hr_bpm, v.reason, now_s - gate.last_beat_s
    """

    def __init__(self) -> None:
        self.state = GateState.EMPTY
        self.last_valid_s: float | None = None
        self.last_beat_s: float | None = None
        self._recent: deque[float] = deque(maxlen=7)
        self._candidate: list[tuple[float, float]] = []
        self._beats: deque[tuple[int, float, float]] = deque(maxlen=12)  # count, time, now
        self._rr: deque[tuple[float, float]] = deque(maxlen=8)  # rr_ms, now
        self._new_beat_s: float | None = None
        self._value_since: tuple[float, float] | None = None
        self._last_seen_s: float | None = None
        self._last_count: int | None = None
        self._beats_from_count = False
        self._trusted: deque[tuple[float, float]] = deque(maxlen=64)  # now, hr believed
        self._trusted_in_order = True
        """Every reading in ``_trusted`` came no earlier than the one before (a session's
        clock): the recent ones are then the last ones (``_implausible`` reads only those)."""
        self.expected_bpm: float | None = None
        """The session's model of the patient's heart rate at the current load (set each
        tick; None: no model). Only consulted for suspect readings."""
        self._vouched = False
        """The last reading (near 0.5× or 2× of the believed level) passed the physiology
        check only because the session's model expects it: it needs no persistence on top."""
        self.suspect_since: float | None = None
        """Since when the strap gave nothing but artefacts (``SUSPECT_REASONS``); None while
        it gives believable readings."""
        """The last reading that passed the checks before the level: a gap in these of
        ``REACQUIRE_AFTER_S`` is a dropout."""

    @property
    def reference_bpm(self) -> float | None:
        if not self._recent:
            return None
        return sorted(self._recent)[len(self._recent) // 2]

    # -- beat evidence ------------------------------------------------------------------------

    def _note_beats(self, r: HrReading) -> bool:
        """Remember the beat evidence; True when the reading brought a new beat."""
        new = False
        if r.beat_count is not None and r.beat_count != self._last_count:
            self._last_count = r.beat_count
            new = True
            if self._beats and r.now_s - self._beats[-1][2] > FROZEN_BEATS_S:
                self._beats.clear()  # after a gap the counts cannot be compared
            if r.beat_time_s is not None and r.beat_time_s >= 0:
                self._beats.append((r.beat_count, r.beat_time_s, r.now_s))
        rr = [x for x in r.rr_ms if 250.0 <= x <= 2000.0] if r.rr_ms else None
        if rr:
            if self._rr and r.now_s - self._rr[-1][1] > FROZEN_BEATS_S:
                self._rr.clear()
            self._rr.extend([(x, r.now_s) for x in rr])
            new = new or r.beat_count is None
        if new:
            self._new_beat_s = r.now_s
        return new

    def _beats_bpm(self, now_s: float) -> float | None:
        """Heart rate from the strap's beat count and beat time (ANT+), else from its RR
        intervals; None without fresh timing."""
        if not self._beats and not self._rr:  # a strap without timing (and every sim tick)
            return None
        b = [x for x in self._beats if now_s - x[2] <= BEATS_WINDOW_S]
        if len(b) >= 2:
            c0, t0, n0 = b[0]
            c1, t1, n1 = b[-1]
            beats = (c1 - c0) & 0xFF
            dt = (t1 - t0) % 64.0
            if beats >= 2 and dt > 0.5 and abs(dt - (n1 - n0)) < 2.5:
                self._beats_from_count = True
                return 60.0 * beats / dt
        rr = sorted(x for x, t in list(self._rr)[-5:] if now_s - t <= 8.0)
        if rr:
            # the median of the last five: one ectopic or missed beat does not move it
            # (the mean of four refused 1–3 genuine readings after it; issue 22)
            self._beats_from_count = False
            n = len(rr)
            mid = rr[n // 2] if n % 2 else 0.5 * (rr[n // 2 - 1] + rr[n // 2])
            return 60000.0 / mid
        return None

    def _frozen(self, r: HrReading) -> bool:
        if self._last_count is not None or self._rr:
            return self._new_beat_s is None or r.now_s - self._new_beat_s >= FROZEN_BEATS_S
        if not r.value_only:
            return False
        assert r.hr_bpm is not None
        if self._value_since is None or self._value_since[0] != r.hr_bpm:
            self._value_since = (r.hr_bpm, r.now_s)
        return r.now_s - self._value_since[1] >= FROZEN_VALUE_S

    # -- the gate -------------------------------------------------------------------------------

    def update(self, r: HrReading) -> GateVerdict:
        hr = r.hr_bpm
        if hr is not None and not (isinstance(hr, (float, int)) and math.isfinite(hr)):
            return self._refuse(r, "out_of_range")
        new_beat = self._note_beats(r) if hr else False
        if hr is None or hr == 0:
            return self._refuse(r, "no_reading")
        if r.contact is False:
            return self._refuse(r, "no_contact")
        if not HR_MIN_BPM <= hr <= HR_MAX_BPM:
            return self._refuse(r, "out_of_range")
        if self._frozen(r):
            return self._refuse(r, "frozen")
        beats = self._beats_bpm(r.now_s)
        value: float | None = None
        if beats is not None and abs(hr - beats) > max(CANDIDATE_AGREE_BPM, 0.15 * beats):
            ratio = hr / beats
            why = "doubled" if 1.7 <= ratio <= 2.3 else "halved" if 0.4 <= ratio <= 0.6 \
                else "beats_mismatch" if self._beats_from_count else "rr_mismatch"
            return self._refuse(r, why, beats)
        if beats is not None and abs(hr - beats) > max(STEER_AGREE_BPM,
                                                       STEER_AGREE_FRAC * beats):
            value, hr = hr, round(beats, 1)  # the value sticks or lags: steer on the beats
        if self.state is not GateState.EMPTY and (
                self._last_seen_s is None or r.now_s - self._last_seen_s >= REACQUIRE_AFTER_S):
            if self.state is not GateState.REACQUIRE:
                self._candidate.clear()
            self.state = GateState.REACQUIRE
        self._last_seen_s = r.now_s
        why_not = self._implausible(r.now_s, hr)
        if why_not is not None:
            return self._refuse(r, why_not, beats)
        level = Level.CONFIRMED if beats is not None or self._vouched \
            else self._level(r.now_s, hr)
        nxt = TRANSITIONS[self.state][level]
        if level is Level.FAR:
            why = self._far_reason(hr)
            if self._persisted(r.now_s, hr, why):
                nxt = GateState.TRACKING
            else:
                self.state = nxt
                return self._refuse(r, why, beats)
        reset = self.state in (GateState.EMPTY, GateState.REACQUIRE) or level is Level.FAR \
            or (level is Level.CONFIRMED and self._level(r.now_s, hr) is Level.FAR)
        if self.state is GateState.REACQUIRE:
            self._trusted.clear()  # after a dropout the trajectory starts afresh here
        self.state = nxt
        if reset:
            self._recent.clear()
            for _, v in self._candidate[-4:]:
                if abs(v - hr) <= CANDIDATE_AGREE_BPM:
                    self._recent.append(v)
        self._candidate.clear()
        self._recent.append(hr)
        if self._trusted and r.now_s < self._trusted[-1][0]:
            self._trusted_in_order = False
        self._trusted.append((r.now_s, hr))
        self.suspect_since = None
        self.last_valid_s = r.now_s
        if new_beat or self.last_beat_s is None or (self._last_count is None and not self._rr):
            self.last_beat_s = r.now_s
        return GateVerdict(r.now_s, hr, "ok", self.state, beats, value)

    def _implausible(self, now_s: float, hr: float) -> str | None:
        """Why ``hr`` is a change physiology does not allow from what was believed (None: it
        is allowed). See the module docstring."""
        self._vouched = False
        if not self._trusted:
            return None
        fall, rise = 1.0 - FALL_FRAC, 1.0 + RISE_FRAC
        lo, hi = -math.inf, math.inf
        n = 0
        if self._trusted_in_order:  # every tick: the recent readings are the last ones
            # the band every recent reading allows (max and min: any order; the same
            # arithmetic as ever, the factors hoisted out of the loop) and the readings'
            # range, in the one pass that finds them (issue 23)
            last = self._trusted[-1]
            v_min = v_max = last[1]
            for t, v in reversed(self._trusted):
                if now_s - t > TRUST_WINDOW_S:
                    break
                n += 1
                a = v * fall - TRAJECTORY_FALL_BPM_PER_S * (now_s - t)
                b = v * rise + TRAJECTORY_RISE_BPM_PER_S * (now_s - t)
                if a > lo:
                    lo = a
                if b < hi:
                    hi = b
                if v < v_min:
                    v_min = v
                if v > v_max:
                    v_max = v
            # the last n readings are listed only where a median is needed
            pts: list[tuple[float, float]] | None = None if n else [last]
        else:
            pts = [(t, v) for t, v in self._trusted if now_s - t <= TRUST_WINDOW_S]
            if not pts:
                pts = [self._trusted[-1]]
        if pts is not None:
            v_min = v_max = pts[0][1]
            for t, v in pts:
                a = v * fall - TRAJECTORY_FALL_BPM_PER_S * (now_s - t)
                b = v * rise + TRAJECTORY_RISE_BPM_PER_S * (now_s - t)
                if a > lo:
                    lo = a
                if b < hi:
                    hi = b
                if v < v_min:
                    v_min = v
                if v > v_max:
                    v_max = v
        level: float | None = None
        # A half or double of the believed level (their median): when the ratio to every
        # reading lies between the bands, so does the ratio to the median (a rounded
        # division is monotonic), so the sort is needed only near a band.
        if not (hr / v_max > _HALF_HI and hr / v_min < _DOUBLE_LO):
            if pts is None:
                pts = list(self._trusted)[-n:]
            level = sorted([v for _, v in pts])[len(pts) // 2]
            ratio = hr / level
            if _in_ratio_band(ratio):
                # only the model can tell a heart at half (twice) the rate from a detector
                exp = self.expected_bpm
                if exp is not None and \
                        abs(hr - exp) <= max(MODEL_AGREE_BPM, MODEL_AGREE_FRAC * exp) and \
                        abs(hr - exp) < abs(level - exp):
                    self._vouched = True
                    return None
                return "halved" if ratio < 1.0 else "doubled"
        if self.state is GateState.REACQUIRE:
            # the first readings after a dropout (a strap put back on): the old level is
            # only a hint there, the level check below judges them
            return None
        if lo <= hr <= hi:
            # within seconds' reach of what was believed, or reached by a plausible trajectory
            return None
        if level is None:
            if pts is None:
                pts = list(self._trusted)[-n:]
            level = sorted([v for _, v in pts])[len(pts) // 2]
        return "missing_beats" if hr < level else "double_counting"

    def strap_alarm(self, now_s: float) -> bool:
        """The strap has given nothing but artefacts for ``STRAP_ALARM_AFTER_S``: staff
        should wet or move it (its detector may be missing beats or counting T-waves)."""
        return self.suspect_since is not None and \
            now_s - self.suspect_since >= STRAP_ALARM_AFTER_S

    def _level(self, now_s: float, hr: float) -> Level:
        ref = self.reference_bpm
        if ref is None:
            return Level.NEAR
        tol = max(20.0, 0.15 * ref)
        if self.state is GateState.REACQUIRE and self.last_valid_s is not None:
            if 0.4 <= hr / ref <= 0.6 or 1.7 <= hr / ref <= 2.3:
                return Level.FAR
            gap = now_s - self.last_valid_s
            tol += min(WIDEN_BPM_PER_S * max(gap - 1.0, 0.0), WIDEN_MAX_BPM)
        return Level.NEAR if abs(hr - ref) <= tol else Level.FAR

    def _far_reason(self, hr: float) -> str:
        ref = self.reference_bpm
        assert ref is not None
        ratio = hr / ref
        return "doubled" if 1.7 <= ratio <= 2.3 else "halved" if 0.4 <= ratio <= 0.6 \
            else "jump"

    def _persisted(self, now_s: float, hr: float, why: str) -> bool:
        """Track the candidate new level; True once it agreed with itself long enough."""
        if self._candidate and abs(hr - self._candidate[-1][1]) > CANDIDATE_AGREE_BPM:
            self._candidate.clear()
        self._candidate.append((now_s, hr))
        if why != "jump":
            need = RATIO_PERSIST_S
        elif self.state is GateState.REACQUIRE:
            need = REACQUIRE_CONFIRM_S
        else:
            need = JUMP_PERSIST_S
        return now_s - self._candidate[0][0] >= need

    def _refuse(self, r: HrReading, reason: str, beats: float | None = None) -> GateVerdict:
        if reason in SUSPECT_REASONS and self.suspect_since is None:
            self.suspect_since = r.now_s
        return GateVerdict(r.now_s, None, reason, self.state, beats)

    def lost_s(self, now_s: float) -> float:
        """Seconds since the last valid beat (0 before the first reading)."""
        return 0.0 if self.last_beat_s is None else max(now_s - self.last_beat_s, 0.0)
