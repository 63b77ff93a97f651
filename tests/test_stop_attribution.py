"""A belt stop by the treadmill is the treadmill's, not staff's (issue 21, h21safe #4).

The trial: the emulated motor board latched a fault mid-session; the console said "ALARM
Båndet stoppet utenfor økten" (it was during the session), the record then "Stoppet av
personalet" and the English log "ending (staff)", though nobody pressed Stop.
"""

from __future__ import annotations

from controller.core.i18n import set_language
from controller.core.words import ALARMS, event_text, word
from controller.protocol import PatientProfile, Session
from controller.sim import Belt

PROFILE = PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0, max_incline_pct=15.0)


def _running_session() -> tuple[Session, Belt, float]:
    s, belt, t = Session(PROFILE), Belt(), 0.0
    while t < 60.0:
        sp = s.step(t, 100.0, belt.speed_kmh, belt.incline_pct)
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    return s, belt, t


def _nb(kind: str, message: str, params: dict) -> str:
    set_language("nb")
    try:
        return event_text(kind, message, params)
    finally:
        set_language("en")


def test_a_latched_board_fault_is_said_as_the_treadmill_stopping_the_belt():
    s, belt, t = _running_session()
    s.belt_fault("host_silent")
    sp = s.step(t, 100.0, belt.speed_kmh, belt.incline_pct)
    (ev,) = [e for e in sp.events if e.kind == "belt_stopped"]
    assert "outside the session" not in ev.message
    assert "treadmill stopped the belt" in ev.message
    nb = _nb(ev.kind, ev.message, ev.params)
    assert "utenfor økten" not in nb, nb
    assert "Tredemøllen stoppet båndet" in nb and "mistet kontakt med Pi-en" in nb, nb
    set_language("nb")
    try:
        short = word(ALARMS, "belt_stopped")
    finally:
        set_language("en")
    assert "utenfor økten" not in short, short


def test_the_belt_watch_says_the_treadmill_stopped_it_too():
    s, belt, t = _running_session()
    events = []
    for _ in range(8):  # the belt stands whatever we ask
        sp = s.step(t, 100.0, 0.0, belt.incline_pct)
        events += list(sp.events)
        t += 1.0
    (ev,) = [e for e in events if e.kind == "belt_stopped"]
    assert "outside the session" not in ev.message
    nb = _nb(ev.kind, ev.message, ev.params)
    assert "utenfor økten" not in nb and "Tredemøllen stoppet båndet" in nb, nb


def test_a_stop_after_the_treadmill_stopped_the_belt_is_not_put_on_staff():
    """The headless demo ends a session the treadmill paused (no console to resume it):
    the stop event must say so, in both languages, not "Stopped by staff"."""
    s, belt, t = _running_session()
    s.belt_fault("host_silent")
    s.step(t, 100.0, belt.speed_kmh, belt.incline_pct)
    s.stop("paused with no console to resume it", by="treadmill")
    sp = s.step(t + 1.0, 100.0, 0.0, belt.incline_pct)
    (ev,) = [e for e in sp.events if e.kind == "stop"]
    assert ev.params.get("by") == "treadmill"
    assert s.ended_by != "stopped by staff"
    nb = _nb(ev.kind, ev.message, ev.params)
    assert "personalet" not in nb and "tredemøllen stoppet båndet" in nb.lower(), nb
    # and staff's own stop still says staff
    s2, belt2, t2 = _running_session()
    s2.stop()
    sp2 = s2.step(t2, 100.0, belt2.speed_kmh, belt2.incline_pct)
    (ev2,) = [e for e in sp2.events if e.kind == "stop"]
    assert _nb(ev2.kind, ev2.message, ev2.params) == "Stoppet av personalet"
