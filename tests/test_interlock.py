"""The restart interlock after the Pi's own e-stop or key input tripped (pure)."""

import pytest

from controller.core.interlock import RestartInterlock


def test_start_waits_for_the_board_to_leave_its_latched_fault():
    lock = RestartInterlock()
    assert lock.refusal() is None
    lock.trip("e-stop")
    lock.observe("running")          # the board has not latched (yet)
    assert "has not latched" in lock.refusal()
    lock.observe("fault")            # it latched the same press
    lock.observe(None)               # link down: tells nothing
    lock.observe("fault")
    assert "press the reset on the treadmill" in lock.refusal()
    assert "e-stop" in lock.refusal()
    lock.observe("idle")             # a person pressed the local reset
    assert lock.refusal() is None


def test_a_board_that_never_latches_keeps_start_refused():
    lock = RestartInterlock()
    lock.trip("key")
    for state in ("stopping", "idle", "idle", "armed"):
        lock.observe(state)
    assert "safety key" in lock.refusal()


def test_a_new_trip_needs_a_new_reset():
    lock = RestartInterlock()
    lock.trip("key")
    lock.observe("fault")
    lock.trip("e-stop")              # again, before the reset
    lock.observe("idle")             # not a fault left since this trip
    assert lock.refusal() is not None
    with pytest.raises(ValueError, match="unknown trip"):
        lock.trip("door")
