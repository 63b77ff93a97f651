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

from controller.core.refusals import refusal_text

KINDS = ("e-stop", "key")
_REFUSALS = {  # (tripped, the board latched it) → the refusal code (controller.core.refusals)
    ("e-stop", True): "start_estop_latched", ("key", True): "start_key_latched",
    ("e-stop", False): "start_estop_unlatched", ("key", False): "start_key_unlatched",
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

    def refusal_code(self) -> str | None:
        """Why a Start is refused now, as a refusal code, or None."""
        if self.tripped is None:
            return None
        return _REFUSALS[(self.tripped, self.board_faulted)]

    def refusal(self) -> str | None:
        """Why a Start is refused now (a whole sentence for staff), or None."""
        code = self.refusal_code()
        return None if code is None else refusal_text(code)
