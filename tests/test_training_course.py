"""The demo's year of training is plausible (issue 23.10): VO2max rises fast and levels off
(not +60 % in a straight line), sessions are missed, illness costs weeks, some drop out."""

import random

from controller.app.simdemo import training_course


def test_a_year_of_4x4_levels_off_with_misses_illness_and_drop_outs():
    courses = [training_course(random.Random(seed), 29.0, 52) for seed in range(60)]
    stayed = [c for c in courses if c.dropped_out_week is None]
    assert 0.1 < 1 - len(stayed) / len(courses) < 0.4  # some patients stop coming
    assert sum(bool(c.ill_weeks) for c in courses) >= 20  # illness weeks happen
    for c in stayed:
        vo2 = {w: v for w, _day, v in c.sessions}
        first, last = c.sessions[0][2], c.sessions[-1][2]
        assert 0 < last - first <= 0.35 * first  # a plausible year: at most +35 %, not +60 %
        early = vo2[max(w for w in vo2 if w <= 12)] - first
        late = last - vo2[min(w for w in vo2 if w >= 39)]
        assert late < 0.35 * early, (early, late)  # the curve levels off
        attended = len(c.sessions) / (2 * 52)
        assert 0.6 < attended < 0.95  # misses and illness, never all 104
