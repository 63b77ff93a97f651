"""Issue 21 (14): after Stop the incline stayed up — the belt stopped, the incline set-point
stayed at the interval's %, and the next session's warm-up began at that leftover. A
controlled stop brings the incline down too (rate-limited, to 0 %: the flat the board's homing
also gives), and a new session starts from its own warm-up set-points."""

import itertools

import pytest

from controller.core.safety import RateLimits
from controller.protocol import PatientProfile, Session
from controller.sim import Belt
from tests.helpers import drive, events_of

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=6.0, max_incline_pct=15.0)


def _in_interval_with_incline(belt: Belt) -> tuple[Session, float]:
    """A session in interval 1 with the incline well up; (session, the next tick's time)."""
    s = Session(PROFILE)
    drive(s, lambda t: 120.0, 10, belt=belt)
    s.skip()
    sps = drive(s, lambda t: 130.0, 60, t0=11, belt=belt)
    assert sps[-1].phase == "interval" and sps[-1].incline_pct >= 4.0, sps[-1]
    return s, 72.0


def test_a_controlled_stop_brings_the_incline_down_rate_limited_before_it_is_done():
    belt = Belt()
    s, t0 = _in_interval_with_incline(belt)
    s.stop()
    sps = drive(s, lambda t: 130.0, 120, t0=t0, belt=belt)
    inclines = [sp.incline_pct for sp in sps]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(inclines)), inclines
    limit = RateLimits().incline_pct_per_s
    assert all(a - b <= limit * 1.0 + 1e-9 for a, b in itertools.pairwise(inclines))
    done = [sp for sp in sps if sp.state == "done"]
    assert done, "the session never ended"
    assert done[0].incline_pct == 0.0, f"done with the incline at {done[0].incline_pct} %"
    assert all(sp.incline_pct == 0.0 and sp.speed_kmh == 0.0 for sp in done)
    assert [k for _, k in events_of(sps)].count("done") == 1
    assert belt.incline_pct == pytest.approx(0.0, abs=0.01)


def test_a_stop_while_paused_brings_the_incline_down_too():
    belt = Belt()
    s, t0 = _in_interval_with_incline(belt)
    s.pause()
    drive(s, lambda t: 130.0, 20, t0=t0, belt=belt)
    s.stop()
    sps = drive(s, lambda t: 130.0, 60, t0=t0 + 21, belt=belt)
    assert sps[-1].state == "done" and sps[-1].incline_pct == 0.0, sps[-1]


def test_a_new_session_on_a_raised_belt_starts_from_its_own_warm_up_not_the_leftover():
    """The belt still stands at 1.9 % (a board left raised): the new session's warm-up
    set-points are those of a session begun on a flat belt, never the leftover."""
    fresh = drive(Session(PROFILE), lambda t: 95.0, 120, belt=Belt())
    left = drive(Session(PROFILE), lambda t: 95.0, 120, belt=Belt(incline_pct=1.9))
    assert left[0].incline_pct == 0.0, left[0]
    assert [sp.incline_pct for sp in left] == [sp.incline_pct for sp in fresh]


def test_through_the_service_the_board_stands_flat_after_stop_and_the_next_session_starts_flat():
    """The runtime over the real link (the firmware's supervisor emulated on a pty): stopped in
    interval 1 with the incline up, the board ends idle with its incline at 0 %, lowered at
    the rate limit; the next session (a new runtime, as the service makes) starts flat."""
    import asyncio

    from controller.app.demo import ScaledClock
    from controller.service.config import load
    from controller.service.runtime import Runtime
    from tests.test_runtime import SHORT, ScriptedStrap, reset_link

    async def one(tm, clock, stop_when):
        rows = []

        def on_tick(snap):
            sp = snap.setpoint
            rows.append(sp)
            if sp.state == "running" and stop_when(rt, sp):
                rt.stop()

        rt = Runtime(load(None).profile, SHORT, hr_source=ScriptedStrap(clock, lambda t: 150.0),
                     treadmill=tm, clock=clock, tick_s=0.1, on_tick=on_tick)
        rt.start()
        await asyncio.wait_for(rt.run(), 120)
        return rows

    def in_interval_and_up(rt, sp):
        if sp.phase == "warmup" and sp.speed_kmh > 1.0 and not getattr(rt, "_skipped", 0):
            rt._skipped = 1
            rt.skip()
        return sp.phase == "interval" and sp.incline_pct >= 4.0

    async def main():
        clock = ScaledClock(10)
        async with reset_link() as (_emu, tm):
            first = await one(tm, clock, in_interval_and_up)
            stopping = [sp for sp in first if sp.state in ("stopping", "done")]
            assert max(sp.incline_pct for sp in first) >= 4.0  # (a loaded machine's late
            # tick may lower it a few tenths before the first stopping row)
            assert first[-1].state == "done" and first[-1].incline_pct == 0.0, first[-1]
            inclines = [sp.incline_pct for sp in stopping]
            assert all(b <= a + 1e-9 for a, b in itertools.pairwise(inclines)), inclines
            await tm.wait_status(lambda s: s.state == "idle", 10)
            assert tm.status.incline_pct <= 0.3, f"board idle at {tm.status.incline_pct} %"
            second = await one(tm, clock, lambda rt, sp: sp.phase_elapsed_s > 20)
            warm = [sp for sp in second if sp.phase == "warmup" and sp.state == "running"]
            assert warm[0].incline_pct == 0.0, warm[0]
            assert max(sp.incline_pct for sp in warm) <= max(
                sp.incline_pct for sp in first if sp.phase == "warmup") + 1e-9

    asyncio.run(asyncio.wait_for(main(), 200))


def test_a_stop_after_a_latched_fault_does_not_wait_for_an_incline_the_board_cannot_move():
    """E-stop or key: the board's incline stands where it stopped (PROTOCOL.md). The stop
    that follows ends once the belt stands, as before: it does not ramp and settle 25 s for
    an incline nothing drives (a SIGTERM's controlled stop has 40 s in all)."""
    belt = Belt()
    s, t = _in_interval_with_incline(belt)
    raised = belt.incline_pct
    while belt.speed_kmh > 0.0:  # the e-stop: the belt stands within seconds, incline stays
        s.belt_fault("estop")
        s.step(t, 130.0, belt.speed_kmh, raised)
        belt.speed_kmh = max(belt.speed_kmh - 2.0, 0.0)
        t += 1.0
    s.stop()
    sps = []
    for k in range(40):
        s.belt_fault("estop")
        sps.append(s.step(t + k, 130.0, 0.0, raised))
        if sps[-1].state == "done":
            break
    standing = next(sp for sp in sps if sp.speed_kmh == 0.0)  # the speed set-point's ramp
    assert standing.state == "done", \
        [(sp.now_s - t, sp.state, sp.speed_kmh, sp.incline_pct) for sp in sps]
