"""After the Pi's own e-stop or key input tripped, a new Start waits for the treadmill's reset.

Why: the Pi's inputs are a second, independent stop path. When they trip, the session ends at
once; a console Start must not re-arm the belt behind the back of the person who pressed the
e-stop. The motor board latches its own fault for the same press and leaves it only when
someone presses the local reset at the treadmill, so "the board left a latched fault after
the trip" is the proof that a person was there. Pure: the board's state is passed in.

    lock = RestartInterlock()
    lock.trip("e-stop")                     # the Pi's input tripped
    lock.observe("fault"); lock.observe("idle")   # the board latched, then was reset
    lock.refusal()  # None: Start is allowed again
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.i18n import N_, _

KINDS = ("e-stop", "key")
_REFUSALS = {
    ("e-stop", True): N_("Cannot start: the e-stop was pressed. Release the e-stop, then press "
                         "the reset on the treadmill."),
    ("key", True): N_("Cannot start: the safety key was pulled. Insert the safety key, then "
                      "press the reset on the treadmill."),
    ("e-stop", False): N_("Cannot start: the e-stop was pressed (the Pi's input), but the motor "
                          "board has not latched it. Release the e-stop and check its wiring "
                          "to the motor board; a start is possible again after the reset on "
                          "the treadmill once the board sees the stop, or after a restart of "
                          "the control service."),
    ("key", False): N_("Cannot start: the safety key was pulled (the Pi's input), but the motor "
                       "board has not latched it. Insert the safety key and check its wiring "
                       "to the motor board; a start is possible again after the reset on the "
                       "treadmill once the board sees the stop, or after a restart of the "
                       "control service."),
}


@dataclass
class RestartInterlock:
    tripped: str | None = None
    """'e-stop' or 'key' while a Start must wait for the local reset; None otherwise."""
    board_faulted: bool = False

    def trip(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown trip {kind!r} (e-stop or key)")
        self.tripped = kind
        self.board_faulted = False

    def observe(self, board_state: str | None) -> None:
        """Every motor-board status (None while the link is down)."""
        if self.tripped is None or board_state is None:
            return
        if board_state == "fault":
            self.board_faulted = True
        elif self.board_faulted:  # the board left its latched fault: the local reset
            self.tripped = None
            self.board_faulted = False

    def refusal(self) -> str | None:
        """Why a Start is refused now (a whole sentence for staff), or None."""
        if self.tripped is None:
            return None
        return _(_REFUSALS[(self.tripped, self.board_faulted)])
