"""E-stop, safety key and patient cues with gpiozero's MockFactory."""

import asyncio
import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from controller.devices.gpio import COLOURS, PatientCues, SafetyInputs, TripFilter
from controller.protocol import PatientProfile, Session
from controller.sim import PatientParams, VirtualPatient, simulate


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


def healthy(f, *pins):
    for p in pins:
        f.pin(p).drive_low()  # NC contact closed to ground


@pytest.mark.parametrize(("pin", "why"), [(17, "e-stop was pressed"),
                                          (27, "safety key was pulled")])
def test_a_trip_or_a_cut_wire_is_seen_at_once(factory, pin, why):
    inputs = SafetyInputs(17, 27, pin_factory=factory)
    healthy(factory, 17, 27)
    assert inputs.tripped() is None

    async def main():
        waiter = asyncio.create_task(inputs.wait_tripped(poll_s=5.0))  # callback, not poll
        await asyncio.sleep(0.1)
        assert not waiter.done()
        factory.pin(pin).drive_high()  # pressed, pulled, or the wire cut
        return await asyncio.wait_for(waiter, 1.0)

    trip = asyncio.run(main())
    assert why in trip.message and trip.kind == ("e-stop" if pin == 17 else "key")
    inputs.close()


def test_the_trip_rule_asks_an_opening_to_persist_20_ms():
    f = TripFilter()
    assert not f.update(10.000, True)       # a 1 ms glitch …
    assert not f.update(10.001, False)      # … closed again: forgotten
    assert not f.update(10.015, True)       # a second glitch does not add to the first
    assert not f.update(10.016, False)
    assert not f.update(10.030, True)
    assert f.due_in_s(10.030) == pytest.approx(0.020)
    assert not f.update(10.049, True)
    assert f.update(10.050, True)           # open for 20 ms: a trip
    assert f.update(10.051, False) and f.due_in_s(10.051) == 0.0  # latched (issue 22.8)


def test_an_opening_longer_than_the_debounce_latches_however_the_contact_bounces_after():
    # issue 22.8: opened at 0 and closed at 100 ms reported nothing
    f = TripFilter()
    assert not f.update(0.000, True)
    assert f.update(0.100, False)        # it was open 100 ms: a trip, though closed again
    assert f.update(0.101, True) and f.update(0.102, False) and f.update(5.0, False)
    assert f.tripped_at_s == pytest.approx(0.020)
    f.reset()                            # what a person's re-arm does (interlock: the
    assert not f.update(6.0, False)      # treadmill's reset), nothing else
    assert not f.update(6.0, True) and not f.update(6.001, False)  # a glitch again


def test_chatter_mostly_open_is_a_trip_though_no_single_opening_lasts_20_ms():
    # issue 22.8: 2 s of chatter at 90 % open was never seen
    f = TripFilter()
    seen = False
    t = 0.0
    while t < 2.0:  # 9 ms open, 1 ms closed
        seen = f.update(t, True) or seen
        seen = f.update(t + 0.009, False) or seen
        t += 0.010
    assert seen and f.tripped_at_s is not None and f.tripped_at_s < 0.1


@pytest.mark.realtime  # openings of 22 ms and 9 ms in wall time, from another thread
@pytest.mark.parametrize("pin", [17, 27])
def test_a_22_ms_opening_and_chatter_are_seen_every_time(factory, pin):
    # issue 22.8: a 22 ms opening was seen 3 of 5 times; 2 s of chatter at 90 % open 0 of 2
    def opening(seconds):  # as gpiozero's own thread delivers edges on a Pi
        factory.pin(pin).drive_high()
        time.sleep(seconds)
        factory.pin(pin).drive_low()

    def chatter(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            opening(0.009)
            time.sleep(0.001)

    async def once(act):
        inputs = SafetyInputs(17, 27, pin_factory=factory)
        healthy(factory, 17, 27)
        try:
            waiter = asyncio.create_task(inputs.wait_tripped())
            await asyncio.sleep(0.05)
            await asyncio.to_thread(act)
            await asyncio.sleep(0.1)   # closed again for a while: the trip is not forgotten
            return await asyncio.wait_for(waiter, 1.0)
        finally:
            inputs.close()

    for _ in range(5):
        assert asyncio.run(once(lambda: opening(0.022))).kind == \
            ("e-stop" if pin == 17 else "key")
    for _ in range(2):
        assert asyncio.run(once(lambda: chatter(2.0))).kind == ("e-stop" if pin == 17 else "key")


class StepClock:
    """The clock the inputs stamp edges with, moved only by the test: a "1 ms" glitch from
    a thread is 1 ms however long the loaded machine kept that thread from its second edge
    (in wall time a 1 ms sleep took over 20 ms under load — a real 20 ms opening, and a
    trip the rule rightly made)."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.mark.parametrize("pin", [17, 27])
def test_a_1_ms_glitch_does_not_trip_and_a_30_ms_opening_does(factory, pin):
    clock = StepClock()
    inputs = SafetyInputs(17, 27, pin_factory=factory, clock=clock)
    healthy(factory, 17, 27)

    def opening(seconds):  # edges from another thread, as gpiozero's own delivers them
        factory.pin(pin).drive_high()
        clock.now_s += seconds
        factory.pin(pin).drive_low()

    async def main():
        waiter = asyncio.create_task(inputs.wait_tripped())
        await asyncio.sleep(0.05)
        for _ in range(5):  # glitches on the line, each 1 ms, 30 ms apart
            await asyncio.to_thread(opening, 0.001)
            clock.now_s += 0.030
            await asyncio.sleep(0.03)
        assert not waiter.done(), "a 1 ms glitch tripped"
        await asyncio.to_thread(opening, 0.030)  # a real opening, closed again after 30 ms
        trip = await asyncio.wait_for(waiter, 5.0)
        return trip

    trip = asyncio.run(main())
    assert trip.kind == ("e-stop" if pin == 17 else "key")
    inputs.close()


def test_inputs_read_tripped_with_nothing_connected(factory):
    inputs = SafetyInputs(17, 27, pin_factory=factory)  # pull-ups, no loop: a cut wire
    assert not inputs.estop_healthy and not inputs.key_present
    assert "e-stop" in inputs.tripped()


def test_cues_over_a_whole_session(factory):
    profile = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0)
    cues = PatientCues(12, (5, 6, 13), pin_factory=factory)
    session = Session(profile)
    leds = []

    class Tap:
        plan = session.plan

        def step(self, *a):
            sp = session.step(*a)
            leds.append((sp.hr_bpm, sp.zone_low_bpm, sp.zone_high_bpm, cues.show(sp).led,
                         cues.led.color))
            return sp

    simulate(VirtualPatient(PatientParams(seed=4)), profile, session=Tap())
    played = cues.played
    assert played.count("interval") == 4 and played.count("recovery") == 3
    assert played[-1] == "finished" and "stopped" not in played
    assert played.count("countdown") >= 3 * 8  # 3 beeps before each phase change
    i = played.index("interval")
    assert played[i - 3:i] == ["countdown"] * 3
    for hr, lo, hi, led, colour in leds:
        if hr is not None and lo is not None:
            want = "below" if hr < lo else "above" if hr > hi else "in"
            assert led == want
            assert tuple(colour) == COLOURS[want]
    cues.close()


def test_a_stop_has_its_own_pattern(factory):
    cues = PatientCues(12, (5, 6, 13), pin_factory=factory)
    s = Session(PatientProfile(hr_max=183))
    for t in range(20):
        cues.show(s.step(float(t), 100.0, 2.0, 0.0))
    s.stop()
    cues.show(s.step(20.0, 100.0, 2.0, 0.0))
    assert cues.played[-1] == "stopped"
    cues.close()


def test_a_watch_cancelled_as_an_edge_wakes_it_is_cancelled(factory):
    """The session's safety group cancels the e-stop/key watch when the session ends and
    waits for it before its clean-up sends the STOP. Python 3.11's ``asyncio.wait_for``
    returned the edge's wake-up and dropped a cancel arriving in the same loop step (as in
    the link's commands: tests/test_treadmill_link.py): the watch then polled on and the
    group, and the STOP behind it, waited for ever. Made certain here: the cancel rides on
    the wake-up itself (a done-callback on what the watch's event hands out)."""
    inputs = SafetyInputs(17, 27, pin_factory=factory)
    healthy(factory, 17, 27)

    async def main():
        for _ in range(20):
            watch = asyncio.create_task(inputs.wait_tripped(poll_s=5.0))
            await asyncio.sleep(0.01)  # waiting for an edge
            wake = watch.get_coro().cr_frame.f_locals["wake"]
            (woken,) = wake._waiters
            woken.add_done_callback(lambda _, t=watch: t.cancel())
            wake.set()  # an edge's wake-up … and the cancel in the same step
            done, _ = await asyncio.wait({watch}, timeout=2.0)
            assert done and watch.cancelled(), "the watch went on after its cancel"

    try:
        asyncio.run(main())
    finally:
        inputs.close()


def test_an_opening_edge_that_arrives_after_the_poll_saw_it_open_dates_the_opening():
    """Under load the edge callback's hop into the loop (``call_soon_threadsafe``) came
    after the periodic poll had already seen the contact open: the opening was dated by the
    poll, 20 ms late, and a 22 ms opening then looked like 2 ms and was forgotten (full run,
    ``test_a_22_ms_opening_and_chatter_are_seen_every_time``, with a demo beside it). The
    edge's own time dates the opening."""
    f = TripFilter()
    assert not f.update(10.000, False)
    assert not f.update(10.030, True)    # the poll sees it open
    f.update(10.010, True)               # the edge, stamped when it happened, comes late
    assert f.update(10.032, False)       # closed after 22 ms: a trip
    assert f.tripped_at_s == pytest.approx(10.030)  # 20 ms after the edge
