"""The Pi's own safety inputs and the patient's cues, with gpiozero.

Wiring (BCM numbers from the config): the e-stop's monitor contact and the safety key are
normally-closed loops to ground with the Pi's pull-up, so *healthy* reads low. A pressed
e-stop, a pulled key **or a cut wire** reads high: tripped. (The hardware chain also cuts the
motor and incline power on its own; this is the Pi's second, independent stop path.)

    inputs = SafetyInputs(estop_pin=17, key_pin=27)          # pin_factory= for tests
    trip = await inputs.wait_tripped()        # Trip("e-stop" | "key", message)

A contact counts as open only once it has stayed open for ``TRIP_PERSIST_S`` (20 ms): a
millisecond glitch on a long cable to the e-stop is not a stop, a real press lasts far longer.
gpiozero's ``bounce_time`` only ignores edges after an edge, it does not ask an opening to
persist, so the rule is ours (``TripFilter``, pure, clock passed in). An opening that lasted
that long, or chatter that kept the contact mostly open, **latches** however the contact
bounces after it, until a person re-arms (the treadmill's reset; issue 22).

Patient cues (the patient cannot read a screen while running): a buzzer and an RGB LED.
``cues_for`` is pure — set-point in, cues out — and ``PatientCues`` plays them: countdown beeps
in the last 10 s before a phase change (one a second for the last 3), a pattern per event
(interval starts: two long; recovery: one long; finished: three long; stopped: rapid), and the
LED's colour says below (blue), in (green) or above (red) the zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.core.i18n import N_
from controller.protocol import Setpoint

PATTERNS: dict[str, tuple[float, float, int]] = {
    # (on s, off s, times)
    "countdown": (0.08, 0.0, 1),
    "interval": (0.6, 0.25, 2),
    "recovery": (0.6, 0.0, 1),
    "finished": (0.6, 0.25, 3),
    "stopped": (0.1, 0.1, 6),
}
COLOURS = {"below": (0.0, 0.0, 1.0), "in": (0.0, 1.0, 0.0), "above": (1.0, 0.0, 0.0),
           "none": (0.0, 0.0, 0.0)}


@dataclass(frozen=True)
class Cues:
    beep: str | None
    led: str


def cues_for(sp: Setpoint, prev: Setpoint | None) -> Cues:
    """What the patient should hear and see for this tick (pure)."""
    beep = None
    kinds = {e.kind for e in sp.events}
    if "stop" in kinds:
        beep = "stopped"
    elif "stopping" in kinds:  # the plan ran out after the cool-down, or a fail-safe stop
        beep = "finished" if prev is not None and prev.phase == "cooldown" else "stopped"
    elif prev is not None and sp.phase != prev.phase and sp.phase in ("interval", "recovery"):
        beep = sp.phase
    elif prev is not None and sp.phase in ("warmup", "interval", "recovery") \
            and sp.state == "running" and int(sp.phase_remaining_s) != \
            int(prev.phase_remaining_s) and 0 < sp.phase_remaining_s <= 3.0:
        beep = "countdown"
    led = "none"
    if sp.hr_bpm is not None and sp.zone_low_bpm is not None and sp.zone_high_bpm is not None:
        led = "below" if sp.hr_bpm < sp.zone_low_bpm else \
            "above" if sp.hr_bpm > sp.zone_high_bpm else "in"
    return Cues(beep, led)


TRIP_PERSIST_S = 0.020
"""An e-stop or key contact must stay open this long to count as a trip."""

TRIP_MESSAGES = {"e-stop": N_("The e-stop was pressed (or its wire is cut): session stopped."),
                 "key": N_("The safety key was pulled (or its wire is cut): session stopped.")}
"""Marked for the catalog; translated with ``_()`` where shown."""


@dataclass(frozen=True)
class Trip:
    kind: str  # "e-stop" | "key"
    message: str


CHATTER_WINDOW_S = 0.050
CHATTER_OPEN_FRAC = 0.75
"""A contact open ≥ 75 % of the last 50 ms is tripped however often it bounced closed."""


@dataclass
class TripFilter:
    """Has a contact been open long enough to be a stop? Pure: time passed in.

    Feed it every observation (edges and polls) in order. It trips when one opening lasted
    ``persist_s`` — judged also when the contact is seen closed again, so an opening that
    ended between two looks is not forgotten — or when the contact chattered but was open
    ``CHATTER_OPEN_FRAC`` of the last ``CHATTER_WINDOW_S``. A trip **latches**: it reports
    True whatever the contact does after, until ``reset()`` — what a person's re-arm does
    (the treadmill's local reset, ``controller.core.interlock``; ``wait_tripped`` starts
    with fresh filters only for a session a person started after it). Two short glitches
    still never add up to a trip."""

    persist_s: float = TRIP_PERSIST_S
    open_since_s: float | None = None
    tripped_at_s: float | None = None
    """When the trip became due (None: not tripped); latched until ``reset``."""
    _openings: list[tuple[float, float]] = field(default_factory=list)
    _last_s: float | None = None

    def update(self, now_s: float, is_open: bool) -> bool:
        if self.tripped_at_s is not None:
            return True
        if is_open and self.open_since_s is not None and now_s < self.open_since_s:
            # the opening's own edge, come late from gpiozero's thread after a poll had
            # already seen the contact open: the edge's time dates the opening (dated by the
            # poll, a 22 ms opening looked like 2 ms under load and was forgotten)
            self.open_since_s = now_s
        if self._last_s is not None and now_s < self._last_s:
            now_s = self._last_s  # an edge seen late (another thread): keep the order
        self._last_s = now_s
        if self.open_since_s is not None:
            if now_s - self.open_since_s >= self.persist_s:
                self.tripped_at_s = self.open_since_s + self.persist_s
                return True
            if not is_open:
                self._openings.append((self.open_since_s, now_s))
                self.open_since_s = None
        elif is_open:
            self.open_since_s = now_s
        since = now_s - CHATTER_WINDOW_S
        self._openings = [(a, b) for a, b in self._openings if b > since]
        open_s = sum(b - max(a, since) for a, b in self._openings)
        if self.open_since_s is not None:
            open_s += now_s - max(self.open_since_s, since)
        if open_s >= CHATTER_OPEN_FRAC * CHATTER_WINDOW_S:
            self.tripped_at_s = now_s
            return True
        return False

    def due_in_s(self, now_s: float) -> float | None:
        """How long until an opening seen so far would count (None: nothing pending)."""
        if self.tripped_at_s is not None:
            return 0.0
        if self.open_since_s is None:
            return None
        return max(self.open_since_s + self.persist_s - now_s, 0.0)

    def reset(self) -> None:
        """A person re-armed the stop path: forget the trip and every opening."""
        self.open_since_s = self.tripped_at_s = self._last_s = None
        self._openings.clear()


class GpioUnavailable(RuntimeError):
    """No pin library or no access to the pins: one line saying what to do."""


def prepare_runtime_dir(runtime_dir: str) -> None:
    """lgpio creates its notification pipes in the working directory, which is ``/``
    (read-only) under the hardened unit: make the runtime directory the working directory
    (and tell lgpio through ``LG_WD``) before the pin factory is made."""
    os.environ.setdefault("LG_WD", runtime_dir)
    if not os.access(os.getcwd(), os.W_OK):
        os.chdir(runtime_dir)


class SafetyInputs:
    """E-stop and safety key (see the module docstring for the wiring)."""

    def __init__(self, estop_pin: int, key_pin: int, *, pin_factory: Any = None,
                 clock: Callable[[], float] = time.monotonic,
                 persist_s: float = TRIP_PERSIST_S) -> None:
        from gpiozero import Button

        self.estop = Button(estop_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self.key = Button(key_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self.clock = clock
        self.persist_s = persist_s

    @classmethod
    def open(cls, estop_pin: int, key_pin: int, **kw: Any) -> SafetyInputs:
        """Like the constructor, but a missing pin library or unusable pins raise
        ``GpioUnavailable`` with one line (gpiozero warns once per library it tried)."""
        from gpiozero import GPIOZeroError

        with warnings.catch_warnings(record=True) as tried:
            warnings.simplefilter("always")
            try:
                return cls(estop_pin, key_pin, **kw)
            except GPIOZeroError as e:
                why = "; ".join(str(w.message) for w in tried) or str(e)
                raise GpioUnavailable(
                    f"GPIO: no pin library could drive the pins ({why}): install the pin "
                    "library (sudo apt-get install python3-lgpio), or set [gpio] enabled = "
                    "false") from None
            except OSError as e:
                raise GpioUnavailable(f"GPIO: cannot use the pins ({e}): is this user in the "
                                      "'gpio' group?") from None

    @property
    def estop_healthy(self) -> bool:
        return bool(self.estop.is_pressed)

    @property
    def key_present(self) -> bool:
        return bool(self.key.is_pressed)

    def tripped(self) -> str | None:
        """What the contacts say right now (no persistence): for refusing a Start."""
        if not self.estop_healthy:
            return TRIP_MESSAGES["e-stop"]
        if not self.key_present:
            return TRIP_MESSAGES["key"]
        return None

    async def wait_tripped(self, poll_s: float = 0.05) -> Trip:
        """Return as soon as either contact has stayed open for ``persist_s``. gpiozero's
        edge callbacks come from its own thread and cross only with
        ``call_soon_threadsafe`` (with the time they saw the edge); a periodic poll backs
        them up in case an edge is missed."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        filters = {"e-stop": TripFilter(self.persist_s), "key": TripFilter(self.persist_s)}
        buttons = {"e-stop": self.estop, "key": self.key}

        def observe(kind: str, t_s: float, is_open: bool) -> None:
            filters[kind].update(t_s, is_open)
            wake.set()

        def edge(kind: str, is_open: bool) -> Callable[[], None]:
            def fire() -> None:
                loop.call_soon_threadsafe(observe, kind, self.clock(), is_open)
            return fire

        for kind, b in buttons.items():
            b.when_released = edge(kind, True)   # the NC loop opened
            b.when_pressed = edge(kind, False)   # closed again
        try:
            while True:
                wake.clear()
                now = self.clock()
                for kind, b in buttons.items():
                    if filters[kind].update(now, not b.is_pressed):
                        return Trip(kind, TRIP_MESSAGES[kind])
                due = [d for f in filters.values() if (d := f.due_in_s(now)) is not None]
                timeout = min([poll_s, *(d + 0.001 for d in due)])
                # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancel that
                # comes in the loop step of an edge's wake-up (the session's group, and the
                # STOP after it, then waited for this watch for ever)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await wake.wait()
        finally:
            for b in buttons.values():
                b.when_released = None
                b.when_pressed = None

    def close(self) -> None:
        self.estop.close()
        self.key.close()


class PatientCues:
    """Buzzer and RGB LED, played from the set-points (best effort, never blocking)."""

    def __init__(self, buzzer_pin: int, led_pins: tuple[int, int, int], *,
                 pin_factory: Any = None) -> None:
        from gpiozero import RGBLED, Buzzer

        self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self.led = RGBLED(*led_pins, pin_factory=pin_factory)
        self._prev: Setpoint | None = None
        self.played: list[str] = []

    def show(self, sp: Setpoint) -> Cues:
        cues = cues_for(sp, self._prev)
        self._prev = sp
        if cues.beep:
            on, off, n = PATTERNS[cues.beep]
            self.buzzer.beep(on_time=on, off_time=max(off, 0.01), n=n, background=True)
            self.played.append(cues.beep)
        self.led.color = COLOURS[cues.led]
        return cues

    def close(self) -> None:
        self.buzzer.close()
        self.led.close()
