"""Caps and rate limits hold for any heart-rate stream, tick pattern and staff commands."""

import contextlib
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.safety import RateLimits
from controller.protocol import PatientProfile, Session, SessionError
from controller.sim import Belt

hr_values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.floats(min_value=30, max_value=230),
    st.floats(min_value=30, max_value=230),
)

profiles = st.builds(
    PatientProfile,
    hr_max=st.floats(min_value=140, max_value=210),
    hr_rest=st.one_of(st.none(), st.floats(min_value=45, max_value=95)),
    max_speed_kmh=st.floats(min_value=3.0, max_value=14.0),
    max_incline_pct=st.floats(min_value=5.0, max_value=15.0),
    walk_only=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    profile=profiles,
    ticks=st.lists(
        st.tuples(hr_values, st.floats(min_value=0.05, max_value=1.0),
                  st.sampled_from([None, None, None, None, "pause", "resume", "skip",
                                   "extend", "stop"])),
        min_size=50, max_size=400,
    ),
    start_s=st.floats(min_value=0, max_value=1e6),
)
def test_setpoints_stay_within_caps_and_rates(profile, ticks, start_s):
    s = Session(profile)
    lim = RateLimits()
    belt = Belt()
    t = start_s
    prev = None
    done = False
    for hr, dt, cmd in ticks:
        if cmd:
            with contextlib.suppress(SessionError):
                getattr(s, cmd)()
        sp = s.step(t, hr, belt.speed_kmh, belt.incline_pct)
        assert 0.0 <= sp.speed_kmh <= profile.speed_cap_kmh + 1e-9
        assert 0.0 <= sp.incline_pct <= profile.max_incline_pct + 1e-9
        assert sp.hr_bpm is None or (30 <= sp.hr_bpm <= 230 and math.isfinite(sp.hr_bpm))
        if prev is not None:
            ddt = t - prev.now_s
            dv = sp.speed_kmh - prev.speed_kmh
            assert dv <= lim.speed_up_kmh_per_s * ddt + 1e-6
            assert -dv <= lim.stop_kmh_per_s * ddt + 1e-6, (prev, sp)
            assert abs(sp.incline_pct - prev.incline_pct) <= lim.incline_pct_per_s * ddt + 1e-6
        if done:
            assert sp.speed_kmh == 0.0 and sp.phase == "done"
        done = done or sp.state == "done"
        belt.step(dt, sp.speed_kmh, sp.incline_pct)
        prev = sp
        t += dt
