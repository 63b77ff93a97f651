"""The gate's plausibility check, made quicker for the simulated history (issue 23), gives
the verdicts the check before it gave: the same readings through a gate with today's
``_implausible`` and one with the earlier text (kept here as the reference) agree reading by
reading, over strap patterns with halves, doubles, spikes, dropouts, out-of-order clocks and
the session's model expectation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core import hrgate
from controller.core.hrgate import GateState, HrGate, HrReading

# subclasses the gate to keep the earlier check: on the Python source (./run tests' pure pass)
pytestmark = pytest.mark.pure_core


class ReferenceGate(HrGate):
    """``HrGate`` with ``_implausible`` as it was before issue 23's speed-ups."""

    def _implausible(self, now_s: float, hr: float) -> str | None:
        self._vouched = False
        if not self._trusted:
            return None
        if self._trusted_in_order:
            pts = []
            for p in reversed(self._trusted):
                if now_s - p[0] > hrgate.TRUST_WINDOW_S:
                    break
                pts.append(p)
        else:
            pts = [(t, v) for t, v in self._trusted if now_s - t <= hrgate.TRUST_WINDOW_S]
        if not pts:
            pts = [self._trusted[-1]]
        lo, hi = -math.inf, math.inf
        for t, v in pts:
            a = v * (1.0 - hrgate.FALL_FRAC) - hrgate.TRAJECTORY_FALL_BPM_PER_S * (now_s - t)
            b = v * (1.0 + hrgate.RISE_FRAC) + hrgate.TRAJECTORY_RISE_BPM_PER_S * (now_s - t)
            if a > lo:
                lo = a
            if b < hi:
                hi = b
        level = sorted([v for _, v in pts])[len(pts) // 2]
        ratio = hr / level
        in_ratio_band = any(a <= ratio <= b for a, b in hrgate.RATIO_BANDS)
        exp = self.expected_bpm
        model_tol = None if exp is None else max(hrgate.MODEL_AGREE_BPM,
                                                 hrgate.MODEL_AGREE_FRAC * exp)
        if in_ratio_band:
            if exp is not None and model_tol is not None and \
                    abs(hr - exp) <= model_tol and abs(hr - exp) < abs(level - exp):
                self._vouched = True
                return None
            return "halved" if ratio < 1.0 else "doubled"
        if lo <= hr <= hi or self.state is GateState.REACQUIRE:
            return None
        return "missing_beats" if hr < level else "double_counting"


_tick = st.tuples(
    st.sampled_from([1.0, 1.0, 1.0, 0.5, 2.0, 4.0, -1.0]),  # clock step (a step back too)
    st.one_of(st.none(), st.sampled_from([0.5, 0.62, 1.0, 1.0, 1.0, 1.6, 2.0, 2.3]),
              st.floats(0.3, 2.5)),  # the reading against the heart (None: a dropout)
    st.floats(-4.0, 4.0),  # the heart's change this tick, bpm
    st.one_of(st.none(), st.floats(0.4, 2.2)),  # the model's expectation against the heart
)


@settings(max_examples=300, deadline=None)
@given(st.floats(50.0, 180.0), st.lists(_tick, min_size=1, max_size=120))
def test_the_quicker_check_gives_the_verdicts_it_gave(heart0, ticks):
    new, ref = HrGate(), ReferenceGate()
    now, heart = 0.0, heart0
    for dt, factor, change, expect in ticks:
        now += dt
        heart = min(max(heart + change, 40.0), 200.0)
        hr = None if factor is None else round(heart * factor, 1)
        for gate in (new, ref):
            gate.expected_bpm = None if expect is None else heart * expect
        a, b = new.update(HrReading(now, hr)), ref.update(HrReading(now, hr))
        assert (a.hr_bpm, a.reason, a.state) == (b.hr_bpm, b.reason, b.state)
        assert new.suspect_since == ref.suspect_since
